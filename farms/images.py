"""Uploaded photos, re-encoded: the one helper behind every image upload (village and recipe
photos through their model field, so the coordinators' form and the admin; quality-test photos
through the event form).

An upload is refused over MAX_BYTES or MAX_PIXELS (a 144-megapixel PNG of a few kB would take
gigabytes to decode), then decoded, turned upright, shrunk to at most LONG_SIDE pixels and saved
again as JPEG. Only that copy is stored and served: whatever else the file carried (EXIF with a
farmer's GPS position, HTML or a script appended after the image data) is gone.
"""

import io
from pathlib import PurePath

from django import forms
from django.core.files.base import ContentFile
from django.db import models
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000
LONG_SIDE = 2048
FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


def reencode(upload) -> ContentFile:
    """The photo in `upload` as a fresh JPEG of at most LONG_SIDE pixels a side, no metadata.
    Raises forms.ValidationError for a file that is too big or not a photo."""
    if upload.size is not None and upload.size > MAX_BYTES:
        raise forms.ValidationError(
            _("The photo is larger than %(mb)s MB.") % {"mb": MAX_BYTES // (1024 * 1024)}, code="too_large"
        )
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            if image.format not in FORMATS:
                raise forms.ValidationError(_("Upload a JPEG, PNG, WebP or GIF photo."), code="invalid_image")
            # The header gives the size before any pixel is decoded.
            if image.width * image.height > MAX_PIXELS:
                raise forms.ValidationError(
                    _("The photo has more than %(mp)s million pixels: send a smaller one.")
                    % {"mp": MAX_PIXELS // 1_000_000},
                    code="too_many_pixels",
                )
            image = ImageOps.exif_transpose(image)  # phones store "rotate me" in EXIF, which goes
            image.thumbnail((LONG_SIDE, LONG_SIDE))
            if image.mode != "RGB":
                image = _on_white(image)
            out = io.BytesIO()
            image.save(out, "JPEG", quality=85, optimize=True)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise forms.ValidationError(_("Upload a JPEG, PNG, WebP or GIF photo."), code="invalid_image")
    stem = PurePath(upload.name or "photo").stem[:80] or "photo"
    return ContentFile(out.getvalue(), name=f"{stem}.jpg")


def _on_white(image: Image.Image) -> Image.Image:
    image = image.convert("RGBA")
    background = Image.new("RGB", image.size, "white")
    background.paste(image, mask=image.getchannel("A"))
    return background


class PhotoFormField(forms.ImageField):
    """A form's photo upload: cleaned to the re-encoded copy."""

    def to_python(self, data):
        upload = super().to_python(data)
        return None if upload is None else reencode(upload)


class PhotoField(models.ImageField):
    """A model's photo: its forms (the coordinators' pages, the admin) re-encode the upload."""

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": PhotoFormField, **kwargs})

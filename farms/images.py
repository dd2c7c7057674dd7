"""Uploaded photos, re-encoded: the one helper behind every image upload (village, farm, field, crop and
recipe photos through their model field, so the coordinators' forms, the admin and any code that
saves one; quality-test photos through traceability.services.record_batch_event, which the event
form and the API both call).

An upload is refused over MAX_BYTES or MAX_PIXELS (a 144-megapixel PNG of a few kB would take
gigabytes to decode), then decoded, turned upright, shrunk to at most LONG_SIDE pixels and saved
again as JPEG. Whatever else the file carried (EXIF with a farmer's GPS position, HTML or a script
appended after the image data) is gone: the original is never stored, so never served.

Beside that copy go its renditions, named after it, so a name is all a page needs to build a
<picture> (no query, no file read): the stored copy's name carries its pixel size,
`villages/xj.1600x1200.jpg`, and each rendition is `villages/xj.1600x1200.480w.webp` (and
`.480w.jpg`), one per width of WIDTHS (never wider than the photo). They are written when the
photo is saved and deleted with it (replaced, cleared, or its row deleted, once that commits).
"""

import dataclasses
import io
import logging
import re
from pathlib import PurePath

from django import forms
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import models, transaction
from django.db.models.fields.files import ImageFieldFile
from django.db.models.signals import post_delete, post_init, post_save
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from PIL import Image, ImageOps, UnidentifiedImageError
from rest_framework import serializers

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000
LONG_SIDE = 2048
FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
# The widths a page may ask for: a thumbnail takes 240; a photo across a 360-411 px wide phone 480
# at 1x, 720 at 2x, 960 at 3x or on a wider screen (the photos sit in a column at most 560 px
# wide). A page may leave out the widest ones (Photo.picture(largest=...)): the consumer page's
# first photo stops at 720 to keep what shows before scrolling under its byte budget.
WIDTHS = (240, 480, 720, 960)
JPEG_QUALITY = 85  # the stored copy, the one a "bigger" link opens
RENDITION_QUALITY = {"webp": 72, "jpg": 78}
TYPES = {"webp": "image/webp", "jpg": "image/jpeg"}
_NAMED = re.compile(r"\.(?P<w>\d{1,5})x(?P<h>\d{1,5})(?:_[A-Za-z0-9]+)?\.jpg$")


class Reencoded(ContentFile):
    """The re-encoded JPEG, with the decoded picture kept to make the renditions from."""

    def __init__(self, content: bytes, name: str, image: Image.Image):
        super().__init__(content, name=name)
        self.image = image


def reencode(upload) -> Reencoded:
    """The photo in `upload` as a fresh JPEG of at most LONG_SIDE pixels a side, no metadata,
    named `<stem>.<width>x<height>.jpg`. Raises forms.ValidationError for a file that is too big
    or not a photo."""
    if isinstance(upload, Reencoded):
        return upload
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
            image.draft("RGB", (LONG_SIDE, LONG_SIDE))  # a big JPEG decodes at 1/2, 1/4 or 1/8 scale
            image = ImageOps.exif_transpose(image)  # phones store "rotate me" in EXIF, which goes
            image.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
            if image.mode != "RGB":
                image = _on_white(image)
            image.info.clear()
            out = io.BytesIO()
            image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise forms.ValidationError(_("Upload a JPEG, PNG, WebP or GIF photo."), code="invalid_image")
    stem = PurePath(upload.name or "photo").stem[:40] or "photo"  # the name fits the 100-character column
    stem = _NAMED.sub("", f"{stem}.jpg").removesuffix(".jpg")  # re-encoding a stored copy again
    return Reencoded(out.getvalue(), f"{stem}.{image.width}x{image.height}.jpg", image)


def _on_white(image: Image.Image) -> Image.Image:
    image = image.convert("RGBA")
    background = Image.new("RGB", image.size, "white")
    background.paste(image, mask=image.getchannel("A"))
    return background


# Renditions ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int
    format: str  # "webp" or "jpg"

    @property
    def type(self) -> str:
        return TYPES[self.format]


@dataclasses.dataclass(frozen=True)
class Photo:
    """A stored photo as its name describes it: the copy and its renditions."""

    name: str
    width: int
    height: int

    @classmethod
    def of(cls, name) -> "Photo | None":
        """None for no photo, or for one stored before renditions existed (see reencode_photos)."""
        name = str(name or "")
        match = _NAMED.search(name)
        if match is None:
            return None
        return cls(name, int(match["w"]), int(match["h"]))

    def widths(self) -> list[int]:
        return sorted({min(width, self.width) for width in WIDTHS})

    def renditions(self, format: str) -> list[Rendition]:
        base = self.name.removesuffix(".jpg")
        return [
            Rendition(f"{base}.{w}w.{format}", w, max(1, round(self.height * w / self.width)), format)
            for w in self.widths()
        ]

    def all_renditions(self) -> list[Rendition]:
        return [r for format in TYPES for r in self.renditions(format)]

    def picture(self, storage: Storage | None = None, largest: int | None = None) -> dict:
        """What a <picture> needs: each type's srcset (renditions up to `largest` px wide), the
        fallback <img>'s src and its size (the smallest rendition's: with CSS width:100% and
        height:auto it fixes the aspect ratio, so nothing shifts while it loads), and the stored
        copy's URL for a link to the bigger picture."""
        storage = storage or default_storage
        webp, jpeg = self.renditions("webp"), self.renditions("jpg")
        if largest is not None:
            webp, jpeg = ([r for i, r in enumerate(kind) if i == 0 or r.width <= largest] for kind in (webp, jpeg))
        return {
            "webp": ", ".join(f"{storage.url(r.name)} {r.width}w" for r in webp),
            "jpeg": ", ".join(f"{storage.url(r.name)} {r.width}w" for r in jpeg),
            "src": storage.url(jpeg[0].name),
            "width": jpeg[0].width,
            "height": jpeg[0].height,
            "large": storage.url(self.name),
        }


def picture(name, storage: Storage | None = None, largest: int | None = None) -> dict | None:
    """Photo.picture() for a stored name; a photo stored before renditions existed gets its one
    file as `src` (no srcset, no size); None without a photo."""
    name = str(getattr(name, "name", name) or "")
    if not name:
        return None
    photo = Photo.of(name)
    if photo is not None:
        return photo.picture(storage, largest)
    url = (storage or default_storage).url(name)
    return {"webp": "", "jpeg": "", "src": url, "width": None, "height": None, "large": url}


def make_renditions(storage: Storage, name: str, image: Image.Image) -> list[Rendition]:
    """Write the renditions of the stored copy `name` (whose pixels are `image`). Deterministic
    names: an existing one is overwritten, so running it twice leaves the same files."""
    photo = Photo.of(name)
    if photo is None:
        return []
    written = []
    for rendition in photo.all_renditions():
        size = (rendition.width, rendition.height)
        small = image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        if rendition.format == "webp":
            small.save(out, "WEBP", quality=RENDITION_QUALITY["webp"], method=4)
        else:
            small.save(out, "JPEG", quality=RENDITION_QUALITY["jpg"], optimize=True, progressive=True)
        if storage.exists(rendition.name):
            storage.delete(rendition.name)
        storage.save(rendition.name, ContentFile(out.getvalue()))
        written.append(rendition)
    return written


def missing_renditions(storage: Storage, name: str) -> bool:
    photo = Photo.of(name)
    return photo is not None and not all(storage.exists(r.name) for r in photo.all_renditions())


def remake_renditions(storage: Storage, name: str) -> None:
    """Write a stored copy's renditions again (after a restore that lost them, say)."""
    with storage.open(name) as handle, Image.open(handle) as image:
        make_renditions(storage, name, image.convert("RGB"))


def delete_photo(storage: Storage, name: str) -> None:
    """Delete a stored photo and its renditions (a missing file is no error)."""
    photo = Photo.of(name)
    for path in [name, *(r.name for r in photo.all_renditions())] if photo else [name]:
        try:
            storage.delete(path)
        except OSError:
            log.warning("Could not delete photo file %s", path, exc_info=True)


def store(upload, prefix: str, storage: Storage | None = None) -> str:
    """Re-encode `upload`, save it as `<prefix><name>.<w>x<h>.jpg` with its renditions; the
    stored name. For photos not held by a model field (a quality test's report, named in the
    event's data)."""
    storage = storage or default_storage
    photo = reencode(upload)
    name = storage.save(f"{prefix}{photo.name}", photo)
    make_renditions(storage, name, photo.image)
    return name


# Fields --------------------------------------------------------------------------------------


class PhotoFormField(forms.ImageField):
    """A form's photo upload: cleaned to the re-encoded copy."""

    def to_python(self, data):
        upload = super().to_python(data)
        return None if upload is None else reencode(upload)


class PhotoUploadField(serializers.ImageField):
    """An API upload: checked and re-encoded like a form's, refusals as field messages."""

    def to_internal_value(self, data):
        upload = super().to_internal_value(data)
        try:
            return reencode(upload)
        except forms.ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


_URL = {"type": "string", "format": "uri"}
_SIZE = {"width": {"type": "integer"}, "height": {"type": "integer"}}


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "readOnly": True,
        "properties": {
            **_SIZE,
            "url": _URL,
            "renditions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"url": _URL, **_SIZE, "type": {"type": "string", "enum": list(TYPES.values())}},
                },
            },
        },
    }
)
class PhotoRenditionsField(serializers.Field):
    """A photo in the API, read-only: its size and the URLs of its renditions (never a form of
    the upload itself). null without a photo."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        photo = Photo.of(getattr(value, "name", value))
        if photo is None:
            return None
        request = self.context.get("request")

        def url(name: str) -> str:
            path = default_storage.url(name)
            return request.build_absolute_uri(path) if request is not None else path

        return {
            "width": photo.width,
            "height": photo.height,
            "url": url(photo.name),
            "renditions": [
                {"url": url(r.name), "width": r.width, "height": r.height, "type": r.type}
                for r in photo.all_renditions()
            ],
        }


class PhotoFieldFile(ImageFieldFile):
    def save(self, name, content, save=True):
        """Re-encode whatever is saved here (a form's upload arrives re-encoded already), then
        write its renditions beside it."""
        if not isinstance(content, Reencoded) and not getattr(content, "name", None):
            content.name = name  # a ContentFile has none: the name given here
        content = reencode(content)
        super().save(content.name, content, save)
        make_renditions(self.storage, self.name, content.image)

    def delete(self, save=True):
        if self.name:
            delete_photo(self.storage, self.name)
        super().delete(save)


class PhotoField(models.ImageField):
    """A model's photo: every save re-encodes it and writes its renditions (PhotoFieldFile); its
    forms (the coordinators' pages, the admin) re-encode the upload while validating, so a bad
    file is a field message. The files of a photo replaced, cleared or whose row is deleted go
    once that commits."""

    attr_class = PhotoFieldFile

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": PhotoFormField, **kwargs})

    def contribute_to_class(self, cls, name, **kwargs):
        super().contribute_to_class(cls, name, **kwargs)
        if not cls._meta.abstract:
            post_init.connect(self._remember, sender=cls, weak=False)
            post_save.connect(self._saved, sender=cls, weak=False)
            post_delete.connect(self._deleted, sender=cls, weak=False)

    def _loaded(self) -> str:
        return f"_{self.attname}_loaded"

    def _remember(self, instance, **kwargs):
        instance.__dict__[self._loaded()] = str(instance.__dict__.get(self.attname) or "")

    def _saved(self, instance, update_fields=None, **kwargs):
        if update_fields is not None and self.name not in update_fields:
            return
        old = instance.__dict__.get(self._loaded(), "")
        new = str(instance.__dict__.get(self.attname) or "")
        if old and old != new:
            self._delete_on_commit(old)
        instance.__dict__[self._loaded()] = new

    def _deleted(self, instance, **kwargs):
        name = str(instance.__dict__.get(self.attname) or "")
        if name:
            self._delete_on_commit(name)

    def _delete_on_commit(self, name: str) -> None:
        storage = self.storage
        transaction.on_commit(lambda: delete_photo(storage, name))

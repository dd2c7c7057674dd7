"""Photos made in the tests (no picture is committed): a phone's camera photo with its EXIF."""

import io

from PIL import Image, ImageDraw

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def phone_photo(
    width: int = 4000, height: int = 3000, *, grain: int = 80, quality: int = 97, texture: float = 0, rotate=False
) -> bytes:
    """A camera-like JPEG: sky, hills, a sun, and sensor grain (random noise, which JPEG keeps at
    high quality: 4000x3000 is about 8.8 MB), with the EXIF a phone writes (maker, GPS position)
    and, with `rotate`, Orientation 6 (the pixels lie on their side: shown turned 90°).
    `texture` (0 to 1) blends in coarser random detail (leaves, fruit skin) that survives the
    shrinking to a phone-sized picture: at 0.3 its 480 px WebP weighs about what a real photo's
    does (20-35 KB), the grain alone shrinks to almost nothing."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 4):
        shade = int(200 - y * 150 / height)
        draw.rectangle([0, y, width, y + 4], fill=(shade - 40, shade, 235))
    hills = [(0, 0.6), (0.3, 0.45), (0.6, 0.62), (1, 0.5)]
    draw.polygon([(0, height), *((x * width, y * height) for x, y in hills), (width, height)], fill=(70, 124, 58))
    draw.ellipse([width * 0.7, height * 0.1, width * 0.8, height * 0.23], fill=(250, 230, 120))
    if texture:
        coarse = [Image.effect_noise((width // 6, height // 6), 90) for _ in range(3)]
        image = Image.blend(
            image, Image.merge("RGB", coarse).resize((width, height), Image.Resampling.BICUBIC), texture
        )
    image = Image.blend(image, Image.effect_noise((width, height), grain).convert("RGB"), 0.25)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[GPS_IFD] = {1: "N", 2: (28.0, 50.0, 49.0), 3: "E", 4: (120.0, 44.0, 3.0)}  # GPSInfo
    if rotate:
        exif[ORIENTATION] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()

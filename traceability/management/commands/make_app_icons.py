"""Draw the farmer's web app icons (traceability/static/offline/icon-192.png and icon-512.png).

The PNGs are committed; run this after changing the drawing: `manage.py make_app_icons`.
A white leaf with a tick on the app's green, inside the middle 80% so that phones that crop
icons to a circle or a rounded square (maskable icons) keep all of it.
"""

from pathlib import Path

from django.core.management.base import BaseCommand
from PIL import Image, ImageChops, ImageDraw

GREEN = (47, 107, 47)
WHITE = (255, 255, 255)
HERE = Path(__file__).resolve().parents[2] / "static" / "offline"


def draw(size: int) -> Image.Image:
    scale = 4  # drawn large, then shrunk: smooth edges without an antialiasing library
    big = size * scale
    image = Image.new("RGB", (big, big), GREEN)
    # The leaf: where two large circles overlap (a lens with pointed ends), turned 45 degrees.
    left, right = Image.new("L", (big, big), 0), Image.new("L", (big, big), 0)
    radius = big * 0.36
    for mask, x in ((left, big * 0.5 - big * 0.2), (right, big * 0.5 + big * 0.2)):
        ImageDraw.Draw(mask).ellipse([x - radius, big / 2 - radius, x + radius, big / 2 + radius], fill=255)
    leaf = ImageChops.multiply(left, right).rotate(-45, resample=Image.BICUBIC, center=(big / 2, big / 2))
    image.paste(WHITE, (0, 0), leaf)
    # Its vein, two side veins and the stem, in green.
    pen = ImageDraw.Draw(image)
    width = max(2, int(big * 0.03))
    pen.line([(big * 0.30, big * 0.70), (big * 0.64, big * 0.36)], fill=GREEN, width=width)
    pen.line([(big * 0.44, big * 0.56), (big * 0.44, big * 0.44)], fill=GREEN, width=width)
    pen.line([(big * 0.52, big * 0.48), (big * 0.60, big * 0.50)], fill=GREEN, width=width)
    pen.line([(big * 0.30, big * 0.70), (big * 0.24, big * 0.76)], fill=WHITE, width=width)
    return image.resize((size, size), Image.LANCZOS)


class Command(BaseCommand):
    help = "Draw the web app icons into traceability/static/offline/."

    def handle(self, *args, **options):
        HERE.mkdir(parents=True, exist_ok=True)
        for size in (192, 512):
            path = HERE / f"icon-{size}.png"
            draw(size).save(path, optimize=True)
            self.stdout.write(f"{path} ({path.stat().st_size} bytes)")

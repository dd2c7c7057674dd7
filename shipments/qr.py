"""QR codes for shipment URLs: URL in, bytes out. Knows nothing of requests or models.

Error correction M (15% of the symbol can be lost: a scuffed crate label still scans) and a
4-module quiet zone, as ISO/IEC 18004 asks. The URL is encoded exactly as given (some in-app
scanners do not open an upper-case "HTTPS://"); segment optimisation still puts the uppercase
public code in the denser alphanumeric mode, which keeps a typical URL at version 3.
"""

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 4
MIN_SCALE, MAX_SCALE = 1, 40


def _symbol(url: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE, box_size=1)
    qr.add_data(url, optimize=3)
    qr.make(fit=True)
    return qr


def matrix(url: str) -> list[list[bool]]:
    """The symbol's dark modules, row by row, without the quiet zone."""
    qr = _symbol(url)
    qr.border = 0
    return qr.get_matrix()


def version(url: str) -> int:
    return _symbol(url).version


def png(url: str, scale: int = 8) -> bytes:
    """A 1-bit PNG with `scale` pixels per module (clamped to 1..40) and the 4-module quiet zone."""
    scale = max(MIN_SCALE, min(MAX_SCALE, int(scale)))
    qr = _symbol(url)
    qr.box_size = scale
    buffer = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def svg(url: str) -> bytes:
    """A single-path SVG sized in modules (it scales to any size without blur)."""
    qr = _symbol(url)
    qr.box_size = 10
    image = qr.make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="utf-8")

"""The label fonts and text fitting: which font draws which character, the embedded CJK font,
and the largest size at which a line fits its width.

Chinese must render in any viewer, so a CJK TrueType font is embedded (subset to the glyphs
used): WenQuanYi Zen Hei from Debian's fonts-wqy-zenhei. reportlab's built-in CID font
STSong-Light was rejected as a fallback because it is never embedded: viewers without Adobe's
Asian font pack (pdfium, many printers' RIPs) show blanks or boxes, which is exactly the failure
a label must not have. A missing font file is a configuration error that names the package.
"""

from django.utils.translation import gettext as _
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from shipments.labels.errors import FontMissing
from shipments.labels.layouts import MM

CJK_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
CJK_FONT_PACKAGE = "fonts-wqy-zenhei"
CJK_FONT = "WenQuanYiZenHei"
LATIN_FONT = "Helvetica"  # one of the PDF base fonts: in every viewer, nothing to embed


def runs(text: str) -> list[tuple[str, str]]:
    """`text` cut into (text, font) runs: ASCII in the Latin font, everything else in the CJK font
    (its Latin glyphs are narrow and squat next to Chinese, so lot codes and URLs stay Helvetica)."""
    result: list[tuple[str, str]] = []
    for char in text:
        font = LATIN_FONT if ord(char) < 128 else CJK_FONT
        if result and result[-1][1] == font:
            result[-1] = (result[-1][0] + char, font)
        else:
            result.append((char, font))
    return result


_font_path: str | None = None


def register_fonts(path: str = CJK_FONT_PATH) -> None:
    """Register the embedded CJK font once per process; a missing file says which package to install."""
    global _font_path
    if _font_path == path:
        return
    try:
        pdfmetrics.registerFont(TTFont(CJK_FONT, path, subfontIndex=0))
    except (OSError, TTFError):
        raise FontMissing(
            _(
                "The Chinese label font %(path)s is missing: install Debian's %(package)s package "
                "(apt-get install %(package)s)."
            )
            % {"path": path, "package": CJK_FONT_PACKAGE}
        )
    _font_path = path


def width_mm(text: str, size: float) -> float:
    return sum(pdfmetrics.stringWidth(run, font, size) for run, font in runs(text)) / MM


def fit(text: str, size: float, width: float, min_size: float) -> tuple[str, float]:
    """The largest size up to `size` at which `text` fits `width` mm; below `min_size`, shorten it."""
    natural = width_mm(text, size)
    if natural <= width:
        return text, size
    fitted = size * width / natural
    if fitted >= min_size:
        return text, fitted
    while len(text) > 1 and width_mm(text + "…", min_size) > width:
        text = text[:-1]
    return text + "…", min_size

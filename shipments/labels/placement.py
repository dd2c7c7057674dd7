"""Where things go on one label: the QR box and each line of text, placed for a stock.

PDF and ZPL both draw this one design, so both print the same label. Why it always scans: the QR
keeps error correction M and a 4-module quiet zone (shipments.qr), its module is never smaller
than 0.396 mm, and it is snapped to whole printer dots (203 dpi on thermal printers) so every
module prints the same width.
"""

import math
from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from shipments import qr
from shipments.labels.errors import LabelError
from shipments.labels.fonts import fit, register_fonts, width_mm
from shipments.labels.layouts import INCH, MIN_MODULE_MM, MM, Layout


@dataclass(frozen=True)
class LabelData:
    """Everything printed on a label, as plain values.

    `url` is what the QR encodes: the short URL, or a GS1 Digital Link URI. For a Digital Link,
    `hri` holds the human-readable GS1 element strings, one per AI ("(01) 09506000134352",
    "(10) ABC"...), printed under the symbol in place of the URL, and the host goes in the text
    column so a shopper can still check the domain."""

    url: str
    crop_zh: str
    village_zh: str
    lot_codes: tuple[str, ...]
    crop_en: str = ""
    village_en: str = ""
    harvested_from: date | None = None
    harvested_to: date | None = None
    hri: tuple[str, ...] = ()

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def harvest_text(self) -> str:
        if self.harvested_from is None:
            return ""
        if self.harvested_to is None or self.harvested_to == self.harvested_from:
            return self.harvested_from.isoformat()
        if self.harvested_to.year == self.harvested_from.year:
            return f"{self.harvested_from.isoformat()}~{self.harvested_to.strftime('%m-%d')}"
        return f"{self.harvested_from.isoformat()}~{self.harvested_to.isoformat()}"


@dataclass(frozen=True)
class TextLine:
    text: str
    size: float  # points
    x: float  # mm from the label's left edge
    baseline: float  # mm from the label's top edge
    width: float  # mm available

    @property
    def cjk(self) -> bool:
        return any(ord(char) >= 128 for char in self.text)


@dataclass(frozen=True)
class Design:
    """One label, placed: the QR box (quiet zone included) and the text lines, in mm from top-left."""

    width: float
    height: float
    qr_x: float
    qr_y: float
    module: float  # mm
    modules: int  # symbol width in modules, quiet zone included
    matrix: list[list[bool]] = field(repr=False)
    lines: tuple[TextLine, ...]

    @property
    def qr_size(self) -> float:
        return self.module * self.modules


def _snap(value: float, dot: float, *, up: bool = False) -> float:
    dots = math.ceil(value / dot - 1e-9) if up else math.floor(value / dot + 1e-9)
    return dots * dot


def design(layout: Layout, data: LabelData) -> Design:
    """Place the QR and the text on one label of `layout`.

    Landscape labels put the QR on the left and the text in a column to its right; the 4 x 6 inch
    label puts a large QR on top. The URL runs along the bottom in plain text so a shopper can
    compare the domain. Raises LabelError when the QR cannot keep its minimum module size.
    """
    register_fonts()
    width, height = layout.label_width, layout.label_height
    matrix = qr.matrix(data.url)
    modules = len(matrix) + 2 * qr.QUIET_ZONE
    dot = INCH / layout.dpi
    portrait = height > width * 1.2
    pad = max(1.2, min(width, height) * 0.04)  # text keeps this far from the die cut
    edge = 0.5  # the quiet zone itself is blank, so the QR box may come closer to the edge

    # The URL line along the bottom, or for a Digital Link its element strings (one or two lines).
    if data.hri:
        bottom = _hri_lines(data.hri, min(12.0, height * 0.2), width - 2 * pad)
    else:
        url_text, url_size = fit(data.url, min(12.0, height * 0.2), width - 2 * pad, 4.5)
        if url_text != data.url:
            short = data.url.split("://", 1)[-1]  # the host is what a shopper checks
            url_text, url_size = fit(short, url_size, width - 2 * pad, 4.0)
        bottom = [(url_text, url_size)]
    url_size = bottom[0][1]
    url_baseline = height - pad
    url_top = url_baseline - url_size / MM * (0.95 + 1.15 * (len(bottom) - 1))

    if portrait:
        target = min(width - 2 * pad, height * 0.55)
        limit = width - 2 * edge
    else:
        target = min(url_top - edge, width * 0.5)
        limit = min(url_top - edge, width - 16.0)  # leave the text a usable column
    module = _snap(target / modules, dot)
    if module < MIN_MODULE_MM:
        module = _snap(MIN_MODULE_MM, dot, up=True)
    if module * modules > limit + 1e-6:
        raise LabelError(
            _(
                "The QR code for %(url)s needs %(modules)d modules and would print below the minimum "
                "module size of %(minimum)s mm on %(layout)s: choose a larger layout."
            )
            % {"url": data.url, "modules": modules, "minimum": MIN_MODULE_MM, "layout": layout.name},
            field="layout",
        )
    side = module * modules

    # Snap the QR's position to the dot grid too (the label's origin is a page origin on rolls).
    quiet = qr.QUIET_ZONE * module
    if portrait:
        qr_x = _snap((width - side) / 2, dot)
        qr_y = _snap(pad, dot)
        text_x, text_width = pad + quiet / 2, width - 2 * pad - quiet
        text_top, text_bottom = qr_y + side, url_top - quiet
        centre = (text_top + text_bottom) / 2
    else:
        qr_x = _snap(edge, dot, up=True)
        qr_y = _snap(max(edge, (url_top - side) / 2), dot, up=True)
        text_x = qr_x + side  # the quiet zone is the gap between symbol and text
        text_top, text_width = pad, width - pad - text_x
        text_bottom = url_top - 0.4
        centre = qr_y + side / 2  # the text block sits level with the symbol
    lines = _text_lines(data, text_x, text_top, text_width, text_bottom - text_top, roomy=text_width >= 40)
    block = lines[-1].baseline + lines[-1].size * 0.18 / MM - text_top
    shift = min(max(0.0, centre - block / 2 - text_top), text_bottom - text_top - block)
    lines = [replace(line, baseline=line.baseline + max(0.0, shift)) for line in lines]
    step = url_size / MM * 1.15
    bottom_lines = [
        TextLine(text, url_size, pad, url_baseline - step * (len(bottom) - 1 - n), width - 2 * pad)
        for n, (text, _size) in enumerate(bottom)
    ]
    return Design(width, height, qr_x, qr_y, module, modules, matrix, (*lines, *bottom_lines))


def _hri_lines(elements: tuple[str, ...], size: float, width: float) -> list[tuple[str, float]]:
    """The element strings on one line if it prints at 5 pt or more, else on two, broken between
    elements where the longer line is shortest; both lines at one size."""
    whole = " ".join(elements)
    text, fitted = fit(whole, size, width, 4.0)
    if fitted >= 5.0 or len(elements) == 1:
        return [(text, fitted)]
    splits = [(" ".join(elements[:n]), " ".join(elements[n:])) for n in range(1, len(elements))]
    first, second = min(splits, key=lambda pair: max(width_mm(pair[0], size), width_mm(pair[1], size)))
    longer = max(first, second, key=lambda line: width_mm(line, size))
    _text, fitted = fit(longer, size, width, 4.0)
    return [(fit(first, fitted, width, 4.0)[0], fitted), (fit(second, fitted, width, 4.0)[0], fitted)]


def _text_lines(data: LabelData, x: float, top: float, width: float, height: float, *, roomy: bool) -> list[TextLine]:
    """Crop, village, lot(s) and harvest date, as large as the column allows; English only if it fits."""
    lots = list(data.lot_codes)
    lot_label = "批次 Lot " if roomy else "批次 "
    harvest_label = "采收 Harvested " if roomy else "采收 "
    # (text, relative size, optional); the Chinese names lead, English follows each if room.
    wanted = [
        (data.crop_zh, 1.45, False),
        (data.crop_en, 0.9, True),
        (data.village_zh, 1.0, False),
        (data.village_en, 0.8, True),
    ]
    if roomy and len(lots) > 1:
        indent = " " * 14
        wanted += [(lot_label + lots[0], 0.9, False)]
        wanted += [(indent + lot, 0.9, False) for lot in lots[1:6]]
        if len(lots) > 6:
            wanted += [(f"{indent}+{len(lots) - 6}", 0.9, False)]
    elif lots:
        more = f" +{len(lots) - 1}" if len(lots) > 1 else ""
        wanted += [(lot_label + lots[0] + more, 0.9, False)]
    if data.harvest_text:
        wanted += [(harvest_label + data.harvest_text, 0.9, False)]
    if data.hri:  # the URL is no longer printed: the host is, for a shopper to check
        wanted += [(data.host, 0.75, False)]
    wanted = [line for line in wanted if line[0]]

    leading = 1.22
    max_base = 22.0 if roomy else 9.0
    min_base = 5.0
    for keep_optional in (True, False):
        chosen = [line for line in wanted if keep_optional or not line[2]]
        total = sum(rel for _, rel, _ in chosen) * leading
        base = min(max_base, height * MM / total)
        if base >= min_base or not keep_optional:
            break
    base = max(base, 4.0)

    lines, y = [], top
    for text, rel, _optional in chosen:
        size = base * rel
        y += size * leading / MM
        baseline = y - size * (leading - 1 + 0.18) / MM  # 0.18 em of descent below the baseline
        fitted, size_fitted = fit(text, size, width, min(size, 4.0))
        lines.append(TextLine(fitted, size_fitted, x, baseline, width))
    return lines

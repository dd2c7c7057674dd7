"""QR labels for shipments: plain label data in, PDF or ZPL bytes out.

The upper part is framework-light: layouts at the exact stock size, a design step that places the
QR and the text in a label (shared by PDF and ZPL so both print the same label), and the two
renderers. The short bridge at the end (`label_data`, `render_labels`) reads a
Shipment; views, the API and the print_labels command all call `render_labels`.

Why it always scans: the QR keeps error correction M and a 4-module quiet zone (shipments.qr),
its module is never smaller than 0.396 mm, and it is snapped to whole printer dots (203 dpi on
thermal printers) so every module prints the same width.

Why it is fast: every label of a shipment is identical, so the QR is drawn once as a PDF form
object (its dark modules merged into horizontal runs, all in one path), the whole label, text
included, is a second form that uses it, and each copy is a single "place form here" operator.

Font: Chinese must render in any viewer, so a CJK TrueType font is embedded (subset to the
glyphs used): WenQuanYi Zen Hei from Debian's fonts-wqy-zenhei. reportlab's built-in CID font
STSong-Light was rejected as a fallback because it is never embedded: viewers without Adobe's
Asian font pack (pdfium, many printers' RIPs) show blanks or boxes, which is exactly the failure
a label must not have. A missing font file is a configuration error that names the package.
"""

import io
import math
from dataclasses import dataclass, field, replace
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas

from shipments import qr

MM = 72 / 25.4  # PDF points per millimetre
INCH = 25.4  # millimetres
MIN_MODULE_MM = 0.396  # ISO/IEC 18004 print quality practice for retail QR codes (15.6 mil)
MIN_COPIES, MAX_COPIES = 1, 5000
FORMATS = ("pdf", "zpl")

CJK_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
CJK_FONT_PACKAGE = "fonts-wqy-zenhei"
CJK_FONT = "WenQuanYiZenHei"
LATIN_FONT = "Helvetica"  # one of the PDF base fonts: in every viewer, nothing to embed
ZPL_CJK_FONT = "E:ANMDS.TTF"  # Zebra's Andale Mono Simplified Chinese, on printers with the Asian font kit


class LabelError(ValueError):
    """Labels cannot be made as asked. `message` is for people; `field` names the bad input, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = [self]  # render_labels puts every problem with the request here, this one first


class FontMissing(LabelError):
    pass


# --- layouts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """A label stock: page size, label size and where each label sits, all in millimetres.

    Sheets hold `columns` x `rows` labels; rolls and shipping labels hold one label per page.
    `dpi` is the resolution the QR's modules are snapped to: thermal printers are 203 dpi; office
    printers are 600 dpi, so 300 keeps every module a whole number of their dots too.
    """

    name: str
    description: str
    page_width: float
    page_height: float
    label_width: float
    label_height: float
    columns: int = 1
    rows: int = 1
    left: float = 0.0
    top: float = 0.0
    pitch_x: float = 0.0
    pitch_y: float = 0.0
    dpi: int = 203

    @property
    def slots(self) -> int:
        return self.columns * self.rows

    @property
    def is_sheet(self) -> bool:
        return self.slots > 1

    def slot_origin(self, slot: int) -> tuple[float, float]:
        """The top-left corner of slot `slot` (0-based, row by row) in mm from the page's top-left."""
        row, column = divmod(slot, self.columns)
        return self.left + column * self.pitch_x, self.top + row * self.pitch_y


A4 = (210.0, 297.0)
LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in [
        # Avery L7160 and compatibles: 21 per sheet.
        Layout(
            "a4-3x7",
            gettext_lazy("A4 sheet, 3 × 7 labels of 63.5 × 38.1 mm (Avery L7160)"),
            *A4,
            63.5,
            38.1,
            columns=3,
            rows=7,
            left=7.2,
            top=15.15,
            pitch_x=66.04,
            pitch_y=38.1,
            dpi=300,
        ),
        # Avery L7159 and compatibles: 24 per sheet.
        Layout(
            "a4-3x8",
            gettext_lazy("A4 sheet, 3 × 8 labels of 63.5 × 33.9 mm (Avery L7159)"),
            *A4,
            63.5,
            33.9,
            columns=3,
            rows=8,
            left=7.2,
            top=12.9,
            pitch_x=66.04,
            pitch_y=33.9,
            dpi=300,
        ),
        # The common 40-up sheet without gaps (L7654-style 4 × 10).
        Layout(
            "a4-4x10",
            gettext_lazy("A4 sheet, 4 × 10 labels of 48.5 × 25.4 mm"),
            *A4,
            48.5,
            25.4,
            columns=4,
            rows=10,
            left=8.0,
            top=21.5,
            pitch_x=48.5,
            pitch_y=25.4,
            dpi=300,
        ),
        Layout("thermal-40x30", gettext_lazy("Thermal roll, 40 × 30 mm"), 40, 30, 40, 30),
        Layout("thermal-50x30", gettext_lazy("Thermal roll, 50 × 30 mm"), 50, 30, 50, 30),
        Layout("thermal-60x40", gettext_lazy("Thermal roll, 60 × 40 mm"), 60, 40, 60, 40),
        Layout(
            "shipping-4x6",
            gettext_lazy("Shipping label, 4 × 6 inch (101.6 × 152.4 mm)"),
            4 * INCH,
            6 * INCH,
            4 * INCH,
            6 * INCH,
        ),
    ]
}


def get_layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except (KeyError, TypeError):
        raise LabelError(
            _("Unknown layout “%(name)s”: choose one of %(layouts)s.") % {"name": name, "layouts": ", ".join(LAYOUTS)},
            field="layout",
        )


# --- what a label says ------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelData:
    """Everything printed on a label, as plain values."""

    url: str
    crop_zh: str
    village_zh: str
    lot_codes: tuple[str, ...]
    crop_en: str = ""
    village_en: str = ""
    harvested_from: date | None = None
    harvested_to: date | None = None

    @property
    def harvest_text(self) -> str:
        if self.harvested_from is None:
            return ""
        if self.harvested_to is None or self.harvested_to == self.harvested_from:
            return self.harvested_from.isoformat()
        if self.harvested_to.year == self.harvested_from.year:
            return f"{self.harvested_from.isoformat()}~{self.harvested_to.strftime('%m-%d')}"
        return f"{self.harvested_from.isoformat()}~{self.harvested_to.isoformat()}"


# --- design: where things go on one label -----------------------------------------------------


def _runs(text: str) -> list[tuple[str, str]]:
    """`text` cut into (text, font) runs: ASCII in the Latin font, everything else in the CJK font
    (its Latin glyphs are narrow and squat next to Chinese, so lot codes and URLs stay Helvetica)."""
    runs: list[tuple[str, str]] = []
    for char in text:
        font = LATIN_FONT if ord(char) < 128 else CJK_FONT
        if runs and runs[-1][1] == font:
            runs[-1] = (runs[-1][0] + char, font)
        else:
            runs.append((char, font))
    return runs


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


def _width_mm(text: str, size: float) -> float:
    return sum(pdfmetrics.stringWidth(run, font, size) for run, font in _runs(text)) / MM


def _fit(text: str, size: float, width: float, min_size: float) -> tuple[str, float]:
    """The largest size up to `size` at which `text` fits `width` mm; below `min_size`, shorten it."""
    natural = _width_mm(text, size)
    if natural <= width:
        return text, size
    fitted = size * width / natural
    if fitted >= min_size:
        return text, fitted
    while len(text) > 1 and _width_mm(text + "…", min_size) > width:
        text = text[:-1]
    return text + "…", min_size


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

    # The URL line along the bottom.
    url_text, url_size = _fit(data.url, min(12.0, height * 0.2), width - 2 * pad, 4.5)
    if url_text != data.url:
        short = data.url.split("://", 1)[-1]  # the host is what a shopper checks
        url_text, url_size = _fit(short, url_size, width - 2 * pad, 4.0)
    url_baseline = height - pad
    url_top = url_baseline - url_size / MM * 0.95

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
    url_line = TextLine(url_text, url_size, pad, url_baseline, width - 2 * pad)
    return Design(width, height, qr_x, qr_y, module, modules, matrix, (*lines, url_line))


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
        fitted, size_fitted = _fit(text, size, width, min(size, 4.0))
        lines.append(TextLine(fitted, size_fitted, x, baseline, width))
    return lines


# --- PDF ----------------------------------------------------------------------------------------


def _qr_path(pdf: canvas.Canvas, design: Design):
    """The dark modules as one path: each row's runs of dark modules merged into one rectangle."""
    path = pdf.beginPath()
    m = design.module * MM
    size = design.qr_size * MM
    quiet = qr.QUIET_ZONE
    for r, row in enumerate(design.matrix):
        y = size - (r + quiet + 1) * m
        c, n = 0, len(row)
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                path.rect((start + quiet) * m, y, (c - start) * m, m)
            else:
                c += 1
    return path


def _define_label_form(pdf: canvas.Canvas, design: Design) -> None:
    size = design.qr_size * MM
    pdf.beginForm("qr", 0, 0, size, size)
    pdf.setFillColorRGB(0, 0, 0)
    pdf.drawPath(_qr_path(pdf, design), stroke=0, fill=1)
    pdf.endForm()

    w, h = design.width * MM, design.height * MM
    pdf.beginForm("label", 0, 0, w, h)
    pdf.saveState()
    pdf.translate(design.qr_x * MM, h - (design.qr_y + design.qr_size) * MM)
    pdf.doForm("qr")
    pdf.restoreState()
    pdf.setFillColorRGB(0, 0, 0)
    for line in design.lines:
        text = pdf.beginText(line.x * MM, h - line.baseline * MM)
        for run, font in _runs(line.text):
            text.setFont(font, line.size)
            text.textOut(run)
        pdf.drawText(text)
    pdf.endForm()


def render_pdf(layout: Layout, data: LabelData, copies: int, start: int = 1) -> bytes:
    """`copies` labels starting at slot `start` (1-based) of the first page."""
    _check_counts(layout, copies, start)
    label = design(layout, data)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(
        buffer,
        pagesize=(layout.page_width * MM, layout.page_height * MM),
        pageCompression=1,
        invariant=1,
    )
    pdf.setTitle(f"{data.crop_zh} {data.village_zh} · {data.url}")
    pdf.setCreator("farm-to-table traceability labels")
    _define_label_form(pdf, label)
    page_height = layout.page_height * MM
    slot = start - 1
    for _copy in range(copies):
        if slot == layout.slots:
            pdf.showPage()
            slot = 0
        x, y = layout.slot_origin(slot)
        pdf.saveState()
        pdf.translate(x * MM, page_height - (y + layout.label_height) * MM)
        pdf.doForm("label")
        pdf.restoreState()
        slot += 1
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count_errors(layout: Layout, copies: int, start: int) -> list[LabelError]:
    errors = []
    if not _whole(copies) or not MIN_COPIES <= copies <= MAX_COPIES:
        errors.append(
            LabelError(
                _("The number of copies must be a whole number from %(min)d to %(max)d.")
                % {"min": MIN_COPIES, "max": MAX_COPIES},
                field="copies",
            )
        )
    if not _whole(start) or not 1 <= start <= layout.slots:
        if layout.is_sheet:
            message = _("The start slot must be from 1 to %(slots)d: %(layout)s has %(slots)d labels per sheet.") % {
                "slots": layout.slots,
                "layout": layout.name,
            }
        else:
            message = _("%(layout)s prints one label per page: the start slot must be 1.") % {"layout": layout.name}
        errors.append(LabelError(message, field="start"))
    return errors


def _check_counts(layout: Layout, copies: int, start: int) -> None:
    errors = _count_errors(layout, copies, start)
    if errors:
        raise _first(errors)


def _first(errors: list[LabelError]) -> LabelError:
    errors[0].errors = errors
    return errors[0]


# --- ZPL ----------------------------------------------------------------------------------------


def _zpl_text(text: str) -> str:
    """Field data with ZPL's command characters hex-escaped (used with ^FH_)."""
    return "".join(f"_{ord(char):02X}" if char in "^~_" else char for char in text)


def _check_zpl_layout(layout: Layout) -> None:
    if layout.is_sheet:
        raise LabelError(
            _("ZPL is for thermal printers: choose one of %(layouts)s.")
            % {"layouts": ", ".join(name for name, lay in LAYOUTS.items() if not lay.is_sheet)},
            field="format",
        )


def render_zpl(layout: Layout, data: LabelData, copies: int, start: int = 1, dpi: int = 203) -> bytes:
    """The same label as ZPL II for a Zebra printer at `dpi` (203 or 300), `copies` times via ^PQ.

    Chinese lines use the printer's Simplified Chinese font (^CW1 -> ZPL_CJK_FONT) with UTF-8
    text (^CI28); Latin lines use the built-in scalable font 0.
    """
    _check_zpl_layout(layout)
    _check_counts(layout, copies, start)
    label = design(layout, data)
    per_mm = dpi / INCH

    def dots(mm: float) -> int:
        return round(mm * per_mm)

    minimum = math.ceil(MIN_MODULE_MM * per_mm - 1e-9)
    magnification = max(minimum, min(10, math.floor(label.module * per_mm + 1e-6)))
    # ^BQ magnifies at most 10 times: centre the symbol in the box the PDF gives it.
    symbol = (label.modules - 2 * qr.QUIET_ZONE) * magnification
    qr_left = dots(label.qr_x) + (dots(label.qr_size) - symbol) // 2
    qr_top = dots(label.qr_y) + (dots(label.qr_size) - symbol) // 2
    commands = [
        "^XA",
        "^CI28",
        f"^CW1,{ZPL_CJK_FONT}",
        f"^PW{dots(label.width)}",
        f"^LL{dots(label.height)}",
        "^LH0,0",
        # ^BQ field data: error correction M, automatic input mode.
        f"^FO{qr_left},{qr_top}^BQN,2,{magnification}^FDMA,{data.url}^FS",
    ]
    for line in label.lines:
        height = max(10, dots(line.size / MM))
        top = dots(line.baseline - line.size / MM * 0.88)
        font = "^A1N" if line.cjk else "^A0N"
        commands.append(
            f"^FO{dots(line.x)},{top}{font},{height},{height}^FB{dots(line.width)},1,0,L^FH_^FD{_zpl_text(line.text)}^FS"
        )
    commands += [f"^PQ{copies},0,1,Y", "^XZ", ""]
    return "\n".join(commands).encode("utf-8")


# --- bridge to the models ---------------------------------------------------------------------


def label_data(shipment) -> LabelData:
    """What a shipment's labels say; refuses a shipment that has nothing in it."""
    items = list(shipment.items.select_related("batch__crop").order_by("batch__lot_code"))
    if not items:
        raise LabelError(
            _("Shipment %(code)s has no items: add at least one batch before printing labels.")
            % {"code": shipment.public_code}
        )
    crops = list(dict.fromkeys(item.batch.crop for item in items))
    harvests = sorted(item.batch.harvested_on for item in items if item.batch.harvested_on)
    village = shipment.origin_village
    return LabelData(
        url=shipment.public_url,
        crop_zh="、".join(crop.name_zh for crop in crops),
        crop_en=", ".join(crop.name_en for crop in crops if crop.name_en),
        village_zh=village.name_zh,
        village_en=village.name_en,
        lot_codes=tuple(item.batch.lot_code for item in items),
        harvested_from=harvests[0] if harvests else None,
        harvested_to=harvests[-1] if harvests else None,
    )


CONTENT_TYPES = {"pdf": "application/pdf", "zpl": "text/plain; charset=utf-8"}


def request_errors(layout: str, copies: int, start: int, fmt: str) -> list[LabelError]:
    """Everything wrong with a label request, in form order (empty when it can be printed)."""
    errors = []
    chosen = None
    try:
        chosen = get_layout(layout)
    except LabelError as error:
        errors.append(error)
    if chosen is not None:
        errors += _count_errors(chosen, copies, start)
    else:
        errors += [error for error in _count_errors(LAYOUTS["a4-3x7"], copies, 1) if error.field == "copies"]
    if fmt not in FORMATS:
        errors.append(
            LabelError(_("Unknown format “%(format)s”: choose pdf or zpl.") % {"format": fmt}, field="format")
        )
    elif fmt == "zpl" and chosen is not None:
        try:
            _check_zpl_layout(chosen)
        except LabelError as error:
            errors.append(error)
    return errors


def render_labels(shipment, layout: str, copies: int = 1, start: int = 1, fmt: str = "pdf") -> tuple[bytes, str, str]:
    """`copies` labels of `shipment` on `layout` as (bytes, content type, file name).

    `fmt` is "pdf" or "zpl". Raises LabelError (its `field` names the bad argument: layout,
    copies, start, format, or None for the shipment itself) with a message fit to show a user;
    its `errors` lists every problem with the request, this one first. The caller checks
    permission first (see Shipment.objects.printable_by).
    """
    errors = request_errors(layout, copies, start, fmt)
    if errors:
        raise _first(errors)
    from shipments.models import Shipment

    if shipment.status == Shipment.Status.CANCELLED:
        raise LabelError(
            _("Shipment %(code)s is cancelled: its labels cannot be printed.") % {"code": shipment.public_code}
        )
    chosen = LAYOUTS[layout]
    data = label_data(shipment)
    if fmt == "zpl":
        body = render_zpl(chosen, data, copies, start)
    else:
        body = render_pdf(chosen, data, copies, start)
    return body, CONTENT_TYPES[fmt], f"labels-{shipment.public_code}-{chosen.name}.{fmt}"

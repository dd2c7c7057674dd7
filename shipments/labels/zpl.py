"""Labels as ZPL II for Zebra thermal printers: the same design as the PDF, copies via ^PQ."""

import math

from django.utils.translation import gettext as _

from shipments import qr
from shipments.labels.errors import LabelError
from shipments.labels.layouts import INCH, LAYOUTS, MIN_MODULE_MM, MM, Layout, check_counts
from shipments.labels.placement import LabelData, design

ZPL_CJK_FONT = "E:ANMDS.TTF"  # Zebra's Andale Mono Simplified Chinese, on printers with the Asian font kit


def _zpl_text(text: str) -> str:
    """Field data with ZPL's command characters hex-escaped (used with ^FH_)."""
    return "".join(f"_{ord(char):02X}" if char in "^~_" else char for char in text)


def check_zpl_layout(layout: Layout) -> None:
    """Refuse a sheet layout: ZPL prints one label per page on a roll."""
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
    check_zpl_layout(layout)
    check_counts(layout, copies, start)
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

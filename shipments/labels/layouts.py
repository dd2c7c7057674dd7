"""Label stocks: page and label sizes in millimetres, where each label sits on a sheet, and how
many copies a print run may have on a stock."""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shipments.labels.errors import LabelError, first

MM = 72 / 25.4  # PDF points per millimetre
INCH = 25.4  # millimetres
MIN_MODULE_MM = 0.396  # ISO/IEC 18004 print quality practice for retail QR codes (15.6 mil)
MIN_COPIES, MAX_COPIES = 1, 5000


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


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def count_errors(layout: Layout, copies: int, start: int) -> list[LabelError]:
    """What is wrong with printing `copies` labels from slot `start` (1-based) of `layout`."""
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


def check_counts(layout: Layout, copies: int, start: int) -> None:
    errors = count_errors(layout, copies, start)
    if errors:
        raise first(errors)

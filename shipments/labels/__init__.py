"""QR labels for shipments: plain label data in, PDF or ZPL bytes out.

One module per job, each importing only those above it:

- `errors`: LabelError, the one error type, with a message fit to show a user;
- `layouts`: the label stocks at their exact sizes (A4 sheets, thermal rolls, 4 x 6 inch) and the
  copies and start slot a print run may have;
- `fonts`: the embedded CJK font and text fitting;
- `placement`: what a label says (LabelData) and where the QR and each text line go on one
  label (`design`), shared by PDF and ZPL so both print the same label;
- `pdf`: the PDF, each shipment's QR and label drawn once and placed on every slot;
- `zpl`: the same label as ZPL II for Zebra printers;
- `printing`: the bridge to the models: a shipment's print request checked, what its QR encodes
  (`QrContent`: the short URL, or a GS1 Digital Link of a lot or of the SSCC), its label data
  read, rendered (`render_labels`, which the label download view and `manage.py print_labels`
  call; the API links to the label page).

The names below are the package's public interface; import them from `shipments.labels`.
"""

from shipments.labels.errors import FontMissing, LabelError
from shipments.labels.fonts import CJK_FONT, CJK_FONT_PACKAGE, CJK_FONT_PATH, LATIN_FONT, register_fonts
from shipments.labels.layouts import (
    A4,
    INCH,
    LAYOUTS,
    MAX_COPIES,
    MIN_COPIES,
    MIN_MODULE_MM,
    MM,
    Layout,
    get_layout,
)
from shipments.labels.pdf import render_pdf
from shipments.labels.placement import Design, LabelData, TextLine, design
from shipments.labels.printing import (
    CONTENT_TYPES,
    DATE_AIS,
    FORMATS,
    QR_KINDS,
    QrContent,
    label_data,
    render_labels,
    request_errors,
)
from shipments.labels.zpl import ZPL_CJK_FONT, render_zpl

__all__ = [
    "A4",
    "CJK_FONT",
    "CJK_FONT_PACKAGE",
    "CJK_FONT_PATH",
    "CONTENT_TYPES",
    "DATE_AIS",
    "FORMATS",
    "INCH",
    "LATIN_FONT",
    "LAYOUTS",
    "MAX_COPIES",
    "MIN_COPIES",
    "MIN_MODULE_MM",
    "MM",
    "QR_KINDS",
    "ZPL_CJK_FONT",
    "Design",
    "FontMissing",
    "LabelData",
    "LabelError",
    "QrContent",
    "Layout",
    "TextLine",
    "design",
    "get_layout",
    "label_data",
    "register_fonts",
    "render_labels",
    "render_pdf",
    "render_zpl",
    "request_errors",
]

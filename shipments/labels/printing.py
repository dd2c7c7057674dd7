"""A shipment's print request: check it, read what its labels say, render PDF or ZPL.

The only part of the package that reads models; the label download view and the print_labels
command call `render_labels` (the API links to the label page).
"""

from django.utils.translation import gettext as _

from shipments.labels.errors import LabelError, first
from shipments.labels.layouts import LAYOUTS, count_errors, get_layout
from shipments.labels.pdf import render_pdf
from shipments.labels.placement import LabelData
from shipments.labels.zpl import check_zpl_layout, render_zpl

FORMATS = ("pdf", "zpl")
CONTENT_TYPES = {"pdf": "application/pdf", "zpl": "text/plain; charset=utf-8"}


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


def request_errors(layout: str, copies: int, start: int, fmt: str) -> list[LabelError]:
    """Everything wrong with a label request, in form order (empty when it can be printed)."""
    errors = []
    chosen = None
    try:
        chosen = get_layout(layout)
    except LabelError as error:
        errors.append(error)
    if chosen is not None:
        errors += count_errors(chosen, copies, start)
    else:
        errors += [error for error in count_errors(LAYOUTS["a4-3x7"], copies, 1) if error.field == "copies"]
    if fmt not in FORMATS:
        errors.append(
            LabelError(_("Unknown format “%(format)s”: choose pdf or zpl.") % {"format": fmt}, field="format")
        )
    elif fmt == "zpl" and chosen is not None:
        try:
            check_zpl_layout(chosen)
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
        raise first(errors)
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

"""A shipment's print request: check it, read what its labels say, render PDF or ZPL.

The only part of the package that reads models; the label download view and the print_labels
command call `render_labels` (the API links to the label page).

What the QR encodes is the retailer's choice (Retailer.label_qr, label_date, shelf_life_days),
which one print may override (`QrContent`): the short URL; a GS1 Digital Link of the product and
one lot (`/01/{GTIN}/10/{lot}`, with the packing date, AI 13, or the expiry date, AI 17, in the
query string), for consumer units a till scans; or the Digital Link of the shipment's SSCC
(`/00/{SSCC}`) for crates. Every Digital Link resolves (shipments.digital_link_views) to the
consumer page, like the short URL.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from shipments.labels.errors import LabelError, first
from shipments.labels.layouts import LAYOUTS, count_errors, get_layout
from shipments.labels.pdf import render_pdf
from shipments.labels.placement import LabelData
from shipments.labels.zpl import check_zpl_layout, render_zpl
from traceability import digital_link
from traceability.models import TraceEvent

FORMATS = ("pdf", "zpl")
CONTENT_TYPES = {"pdf": "application/pdf", "zpl": "text/plain; charset=utf-8"}
QR_KINDS = ("url", "item", "sscc")
DATE_AIS = ("", "13", "17")


@dataclass(frozen=True)
class QrContent:
    """What one print's QR encodes. `kind`: "url", "item" (GTIN and lot) or "sscc". For "item":
    `lot` (needed when the shipment has several), `date_ai` "" / "13" (packing) / "17" (expiry)
    and `day`, the date printed (default: the lot's packing date, plus the retailer's shelf life
    for an expiry)."""

    kind: str = "url"
    lot: str | None = None
    date_ai: str = ""
    day: date | None = None

    @classmethod
    def of_retailer(cls, retailer, **overrides) -> "QrContent":
        """The retailer's choice, with this print's overrides (None means "as the retailer says")."""
        chosen = {"kind": retailer.label_qr, "date_ai": retailer.label_date}
        chosen.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**chosen)


def label_data(shipment, content: QrContent | None = None) -> LabelData:
    """What a shipment's labels say; refuses a shipment that has nothing in it, and a Digital Link
    the shipment cannot have (no SSCC, no GTIN, several lots and none chosen...)."""
    content = content or QrContent()
    items = list(shipment.items.select_related("batch__crop").order_by("batch__lot_code"))
    if not items:
        raise LabelError(
            _("Shipment %(code)s has no items: add at least one batch before printing labels.")
            % {"code": shipment.public_code}
        )
    url, hri = shipment.public_url, ()
    if content.kind == "sscc":
        if not shipment.sscc:
            raise LabelError(
                _(
                    "Shipment %(code)s has no SSCC: its retailer needs a GS1 company prefix before crate labels "
                    "can carry one."
                )
                % {"code": shipment.public_code},
                field="qr",
            )
        link = digital_link.build_sscc(shipment.sscc)
        url, hri = link.uri(settings.PUBLIC_BASE_URL), _hri(link)
    elif content.kind == "item":
        item = _chosen_item(shipment, items, content.lot)
        items = [item]
        link = _item_link(shipment, item.batch, content)
        url, hri = link.uri(settings.PUBLIC_BASE_URL), _hri(link)
    crops = list(dict.fromkeys(item.batch.crop for item in items))
    harvests = sorted(item.batch.harvested_on for item in items if item.batch.harvested_on)
    village = shipment.origin_village
    return LabelData(
        url=url,
        hri=hri,
        crop_zh="、".join(crop.name_zh for crop in crops),
        crop_en=", ".join(crop.name_en for crop in crops if crop.name_en),
        village_zh=village.name_zh,
        village_en=village.name_en,
        lot_codes=tuple(item.batch.lot_code for item in items),
        harvested_from=harvests[0] if harvests else None,
        harvested_to=harvests[-1] if harvests else None,
    )


def _hri(link) -> tuple[str, ...]:
    return tuple(f"({ai}) {value}" for ai, value in link.pairs())


def _chosen_item(shipment, items, lot: str | None):
    if lot is None and len(items) == 1:
        return items[0]
    if lot is None:
        raise LabelError(
            _("Shipment %(code)s holds %(count)d lots: choose the lot these consumer-unit labels are for.")
            % {"code": shipment.public_code, "count": len(items)},
            field="lot",
        )
    for item in items:
        if item.batch.lot_code == lot:
            return item
    raise LabelError(_("Lot %(lot)s is not in this shipment.") % {"lot": lot}, field="lot")


def _item_link(shipment, batch, content: QrContent):
    if not batch.crop.gtin:
        raise LabelError(
            _("%(crop)s has no GTIN: give the crop its GTIN, or print the short URL or the crate's SSCC.")
            % {"crop": batch.crop.name_zh},
            field="qr",
        )
    attributes = ()
    if content.date_ai:
        day = content.day
        if day is None:
            packed = (
                TraceEvent.objects.effective()
                .filter(kind=TraceEvent.Kind.PACKING, batches=batch)
                .order_by("-occurred_at")
                .values_list("occurred_at", flat=True)
                .first()
            )
            day = timezone.localdate(packed) if packed else timezone.localdate()
            if content.date_ai == "17":
                day += timedelta(days=shipment.store.retailer.shelf_life_days)
        attributes = ((content.date_ai, day.strftime("%y%m%d")),)
    try:
        return digital_link.build(batch.crop.gtin, lot=batch.lot_code, attributes=attributes)
    except digital_link.MalformedLink as error:
        raise LabelError(
            _("Lot %(lot)s cannot go in a GS1 Digital Link: %(reason)s") % {"lot": batch.lot_code, "reason": error},
            field="lot",
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


def render_labels(
    shipment, layout: str, copies: int = 1, start: int = 1, fmt: str = "pdf", content: QrContent | None = None
) -> tuple[bytes, str, str]:
    """`copies` labels of `shipment` on `layout` as (bytes, content type, file name).

    `fmt` is "pdf" or "zpl"; `content` is what the QR encodes (default: the retailer's choice).
    Raises LabelError (its `field` names the bad argument: layout, copies, start, format, qr,
    lot, or None for the shipment itself) with a message fit to show a user; its `errors` lists
    every problem with the request, this one first. The caller checks permission first (see
    Shipment.objects.printable_by).
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
    data = label_data(shipment, content or QrContent.of_retailer(shipment.store.retailer))
    if fmt == "zpl":
        body = render_zpl(chosen, data, copies, start)
    else:
        body = render_pdf(chosen, data, copies, start)
    return body, CONTENT_TYPES[fmt], f"labels-{shipment.public_code}-{chosen.name}.{fmt}"

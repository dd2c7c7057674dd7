"""What the consumer page says about a shipment and each of its lots: decided here, once.

The page's banner, its authenticity card and each lot's badge all read the PageState this
module returns; nothing else on the page looks at a shipment's status or a lot's. The order of
precedence is the shopper's safety first:

1. void: the shipment was cancelled. The code is not valid; the page names the store to tell and
   shows no product, journey or recipe.
2. recalled: at least one lot is recalled. Each recalled lot is named with what to do and the
   store's phone; its recipes and its genuine badge go. The shipment's other lots say plainly that
   the recall does not concern them (or that they are on hold, see 3).
3. on hold: at least one lot is on a food-safety hold (a failed quality test, or a decision
   pending). "Do not eat it for now", no genuine badge.
4. otherwise the shipment's own status: preparing (draft, packed), on the way to the store
   (dispatched), arrived at the store on a date (delivered).

"Genuine ✓" is shown only in state 4: never on a void, recalled or held page.

Where in the journey the code was first opened (`first_opened`) is read from the first scan's
time and the shipment's own dispatch and arrival times, so nothing about the scanner is stored
and the page view asks the shared cache for nothing more than the first-scan time. A code opened
before its shipment was dispatched looks wrong (labels reach shoppers on the produce) and is one of
the authenticity card's plain warnings, with a cancelled code and a scan long after the shelf life.
"""

import dataclasses
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _

from farms.models import CropCategory
from shipments.models import Shipment
from traceability.models import Batch

PREPARING = "preparing"
ON_THE_WAY = "on_the_way"
ARRIVED = "arrived"
VOID = "void"
RECALLED = "recalled"
ON_HOLD = "on_hold"
KINDS = (PREPARING, ON_THE_WAY, ARRIVED, VOID, RECALLED, ON_HOLD)

LOT_OK = "ok"
LOT_UNAFFECTED = "unaffected"  # a sound lot on a page that also has a recalled or held lot

# How long after it reaches the store produce of each kind can still be on sale or in a kitchen,
# generously: a scan later than this looks like a copied label. Days.
SHELF_LIFE_DAYS = {
    CropCategory.FRUIT: 21,
    CropCategory.VEGETABLE: 21,
    CropCategory.MUSHROOM: 14,
    CropCategory.GRAIN: 365,
    CropCategory.TEA: 730,
    CropCategory.NUT: 365,
    CropCategory.OTHER: 60,
}


@dataclasses.dataclass(frozen=True)
class PageState:
    kind: str
    tone: str  # "ok", "info" or "bad": the banner's colour
    headline: str
    lines: tuple[str, ...]  # what to know / what to do, one paragraph each
    genuine: bool  # the authenticity card may say "genuine ✓"
    shows_products: bool  # lots, journey, quality, recipes
    lot_states: dict  # lot code -> LOT_OK, LOT_UNAFFECTED, Batch.Status.RECALLED or ON_HOLD


def lot_state(batch: Batch, page_kind: str) -> str:
    if batch.status == Batch.Status.RECALLED:
        return Batch.Status.RECALLED
    if batch.status == Batch.Status.ON_HOLD:
        return Batch.Status.ON_HOLD
    return LOT_UNAFFECTED if page_kind in (RECALLED, ON_HOLD) else LOT_OK


def decide(
    shipment: Shipment,
    batches: list[Batch],
    *,
    store: str,
    village: str,
    crop_names: dict,
    failed_tests: set,
) -> PageState:
    """The page's state, in the active language. `store` and `village` are names in that
    language, `crop_names` maps a lot code to its product's name, `failed_tests` holds the codes of
    lots held by a failed quality test (traceability.models.Hold) rather than a pending check."""
    phone = shipment.store.phone
    call = _("Call the store on %(phone)s.") % {"phone": phone} if phone else ""
    if shipment.status == Shipment.Status.CANCELLED:
        return PageState(
            kind=VOID,
            tone="bad",
            headline=_("This traceability code is not valid"),
            lines=(
                _("The shipment it was made for was cancelled before it left the village, so no produce carries it."),
                _("If you found it on produce, please tell %(store)s.") % {"store": store}
                + (" " + call if call else ""),
            ),
            genuine=False,
            shows_products=False,
            lot_states={b.lot_code: LOT_OK for b in batches},
        )
    recalled = [b for b in batches if b.status == Batch.Status.RECALLED]
    held = [b for b in batches if b.status == Batch.Status.ON_HOLD]
    kind = RECALLED if recalled else ON_HOLD if held else None
    if kind is not None:
        lot_states = {b.lot_code: lot_state(b, kind) for b in batches}
        unaffected = [crop_names[b.lot_code] for b in batches if lot_states[b.lot_code] == LOT_UNAFFECTED]
        lines = []
        if recalled:
            names = _names(crop_names[b.lot_code] for b in recalled)
            headline = _("Recall: do not eat %(product)s from this delivery") % {"product": names}
            lines.append(
                _("Take it back to %(store)s for a refund, or throw it away.") % {"store": store}
                + (" " + call if call else "")
            )
        if held:
            names = _names(crop_names[b.lot_code] for b in held)
            if not recalled:
                headline = _("Safety hold: please do not eat %(product)s for now") % {"product": names}
            if any(b.lot_code in failed_tests for b in held):
                lines.append(
                    _("A quality test of %(product)s failed; the growers and the store are deciding what to do.")
                    % {"product": names}
                )
            else:
                lines.append(_("A food-safety check of %(product)s is pending.") % {"product": names})
            if not recalled:
                lines.append(_("Keep it aside until this page says otherwise, or ask %(store)s.") % {"store": store})
        if unaffected:
            lines.append(_("%(product)s from this delivery is not affected.") % {"product": _names(unaffected)})
        return PageState(
            kind=kind,
            tone="bad",
            headline=headline,
            lines=tuple(lines),
            genuine=False,
            shows_products=True,
            lot_states=lot_states,
        )
    lot_states = {b.lot_code: LOT_OK for b in batches}
    if shipment.status == Shipment.Status.DELIVERED and shipment.delivered_at:
        day = date_format(timezone.localtime(shipment.delivered_at).date())
        return PageState(
            ARRIVED,
            "ok",
            _("Arrived at %(store)s on %(date)s") % {"store": store, "date": day},
            (),
            True,
            True,
            lot_states,
        )
    if shipment.status == Shipment.Status.DISPATCHED:
        return PageState(
            ON_THE_WAY,
            "info",
            _("On the way from %(village)s to %(store)s") % {"village": village, "store": store},
            (),
            True,
            True,
            lot_states,
        )
    return PageState(
        PREPARING,
        "info",
        _("Being prepared in %(village)s: not yet sent to %(store)s") % {"village": village, "store": store},
        (),
        True,
        True,
        lot_states,
    )


def _names(names) -> str:
    return _(", ").join(dict.fromkeys(names))


def best_before(shipment: Shipment, batches: list[Batch]) -> date | None:
    """The last day a shopper may plausibly still scan this code: arrival (or dispatch, or
    harvest) plus the shortest shelf life of its products. None while it has not left."""
    start = shipment.delivered_at or shipment.dispatched_at
    if start is None or not batches:
        return None
    days = min(SHELF_LIFE_DAYS.get(b.crop.category, SHELF_LIFE_DAYS[CropCategory.OTHER]) for b in batches)
    return timezone.localtime(start).date() + timedelta(days=days)


# Where the shipment was when its code was first opened (first_scan_stage).
BEFORE_DISPATCH = "before_dispatch"
IN_TRANSIT = "in_transit"
AFTER_ARRIVAL = "after_arrival"


def first_scan_stage(first: datetime, *, dispatched_at: datetime | None, delivered_at: datetime | None) -> str:
    """Where in the journey the first scan fell, from the shipment's recorded times: before it
    was dispatched (or it never was), on its way to the store, or after it arrived."""
    if dispatched_at is None or first < dispatched_at:
        return BEFORE_DISPATCH
    if delivered_at is None or first < delivered_at:
        return IN_TRANSIT
    return AFTER_ARRIVAL


def first_opened(stage: str, first: datetime, store: str) -> str:
    """ "first opened on <day and time>, <where in the journey>", in the active language: the
    consumer page's authenticity card and the retailer's shipment page say the same."""
    local = timezone.localtime(first)
    when = f"{date_format(local)} {time_format(local, 'H:i')}"
    if stage == AFTER_ARRIVAL:
        return _("first opened on %(when)s, after it arrived at %(store)s") % {"when": when, "store": store}
    if stage == IN_TRANSIT:
        return _("first opened on %(when)s, on its way to %(store)s") % {"when": when, "store": store}
    return _("first opened on %(when)s, before it was dispatched") % {"when": when}

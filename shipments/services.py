"""Shipment workflows. Every function is atomic, keyword-only, and records its trace events
through traceability's services, so traces never need to import this app."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from api import errors
from farms import gs1
from farms.models import Farm, Village
from shipments.models import Retailer, Shipment, ShipmentItem, Store
from traceability.kdes import MovementKDEs
from traceability.models import Batch, EventBatch, TraceEvent
from traceability.services import BatchOnHold, EventRefused, InsufficientQuantity, allocate, record_event, release
from traceability.signals import announce

__all__ = [
    "BatchOnHold",
    "EventRefused",
    "InsufficientQuantity",
    "ItemGone",
    "ShipmentStateError",
    "WrongOrigin",
    "add_item",
    "cancel_shipment",
    "create_shipment",
    "dispatch_shipment",
    "pack_shipment",
    "receive_shipment",
    "remove_item",
    "set_company_prefix",
]


class ShipmentStateError(errors.Conflict):
    """The shipment is not in a state that allows this step (e.g. adding to a dispatched shipment)."""


class WrongOrigin(errors.Invalid):
    """The batch does not come from the shipment's origin village."""


class ItemGone(errors.NotFound):
    """The line is no longer in the shipment (taken out by an earlier or concurrent request)."""


EDITABLE = (Shipment.Status.DRAFT, Shipment.Status.PACKED)


def next_sscc(retailer_id: int) -> str | None:
    """The next SSCC of a retailer, or None if it has no GS1 company prefix. Locks the retailer row
    (call inside a transaction), so two shipments created at once never get the same serial
    reference; the unique SSCC column is the backstop. Extension digit 0; serial references count
    up from 1 per prefix."""
    prefix = Retailer.objects.select_for_update().values_list("gs1_company_prefix", flat=True).get(pk=retailer_id)
    if not prefix:
        return None
    last = Shipment.objects.filter(sscc__startswith=f"0{prefix}").aggregate(last=Max("sscc"))["last"]
    serial = int(last[1 + len(prefix) : 17]) + 1 if last else 1
    try:
        return gs1.sscc(prefix, serial)
    except ValueError:
        raise errors.Conflict(
            _("Every serial reference of GS1 company prefix %(prefix)s is used: ask GS1 for another prefix.")
            % {"prefix": prefix}
        )


@transaction.atomic
def set_company_prefix(*, retailer: Retailer, prefix: str | None) -> int:
    """Set (or clear) a retailer's GS1 company prefix and give each of its shipments that has no
    SSCC one, oldest first. Returns how many SSCCs were assigned.

    Side effects: locks the retailer row; an SSCC once given is never changed (crate labels print
    it), so a new prefix only numbers shipments that had none. Raises Invalid for a prefix that is
    not 7 to 10 digits or is another retailer's.
    """
    prefix = (prefix or "").strip() or None
    if prefix is not None:
        try:
            gs1.validate_company_prefix(prefix)
        except ValidationError as error:
            raise errors.Invalid(error.messages[0])
        if Retailer.objects.filter(gs1_company_prefix=prefix).exclude(pk=retailer.pk).exists():
            raise errors.Invalid(_("GS1 company prefix %(prefix)s belongs to another retailer.") % {"prefix": prefix})
    Retailer.objects.filter(pk=retailer.pk).update(gs1_company_prefix=prefix)  # locks the row
    retailer.gs1_company_prefix = prefix
    if prefix is None:
        return 0
    waiting = list(Shipment.objects.filter(store__retailer=retailer, sscc__isnull=True).order_by("created_at", "pk"))
    for shipment in waiting:
        shipment.sscc = next_sscc(retailer.pk)
        shipment.save(update_fields=["sscc"])
    return len(waiting)


@transaction.atomic
def create_shipment(
    *,
    origin_village: Village,
    store: Store,
    origin_farm: Farm | None = None,
    carrier: str = "",
    reference: str = "",
    notes: str = "",
    created_by=None,
) -> Shipment:
    """A new draft shipment with a fresh public code, and an SSCC when its retailer has a GS1
    company prefix (locks the retailer row to number it)."""
    if origin_farm is not None and origin_farm.village_id != origin_village.pk:
        raise WrongOrigin(_("The farm is not in the origin village."))
    return Shipment.objects.create(
        sscc=next_sscc(store.retailer_id),
        origin_village=origin_village,
        origin_farm=origin_farm,
        store=store,
        carrier=carrier,
        reference=reference,
        notes=notes,
        created_by=created_by,
    )


def _locked(shipment: Shipment, allowed: tuple[str, ...], action: str) -> Shipment:
    locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if locked.status not in allowed:
        raise ShipmentStateError(
            _("Cannot %(action)s a shipment that is %(status)s.")
            % {"action": action, "status": str(locked.get_status_display()).lower()}
        )
    return locked


@transaction.atomic
def add_item(*, shipment: Shipment, batch: Batch, quantity: Decimal) -> ShipmentItem:
    """Put `quantity` of `batch` into a draft or packed shipment.

    Side effects: locks the shipment, then the batch row (always in that order, so two requests
    cannot deadlock); raises InsufficientQuantity when the batch has less left, BatchOnHold for a
    recalled batch, WrongOrigin for a batch from another village, ShipmentStateError once
    dispatched. Adding a batch already in the shipment adds to its line.
    """
    shipment = _locked(shipment, EDITABLE, _("add to"))
    if batch.farm.village_id != shipment.origin_village_id:
        raise WrongOrigin(_("Lot %(lot)s comes from another village than this shipment.") % {"lot": batch.lot_code})
    allocate(batch_id=batch.pk, quantity=quantity)
    item, created = ShipmentItem.objects.get_or_create(shipment=shipment, batch=batch, defaults={"quantity": quantity})
    if not created:
        item.quantity += quantity
        item.save(update_fields=["quantity"])
    return item


@transaction.atomic
def remove_item(*, item: ShipmentItem) -> None:
    """Take a line out of a draft or packed shipment and give its quantity back to the batch.

    Side effects: locks the shipment, then re-reads the line under that lock (a line changes only
    under its shipment's lock), so of two removals at once one gives the quantity back and the
    other raises ItemGone; then the batch row (release). `item` may be a stale copy.
    """
    shipment = _locked(item.shipment, EDITABLE, _("remove from"))
    current = ShipmentItem.objects.select_for_update().filter(pk=item.pk, shipment=shipment).first()
    if current is None:
        raise ItemGone(
            _("Lot %(lot)s is no longer in this shipment: it was already taken out.") % {"lot": item.batch.lot_code}
        )
    release(batch_id=current.batch_id, quantity=current.quantity)
    current.delete()  # its post_delete makes the shipment's page stale (page_invalidation)


def _sscc_prefix(shipment: Shipment) -> str:
    """The GS1 company prefix the shipment's SSCC was made from (next_sscc: extension digit 0, then
    the retailer's prefix), or "" when the retailer's prefix has changed since."""
    prefix = shipment.store.retailer.gs1_company_prefix or ""
    return prefix if shipment.sscc and prefix and shipment.sscc[1:].startswith(prefix) else ""


def _movement_event(shipment: Shipment, kind: str, when, actor) -> None:
    items = list(shipment.items.select_related("batch"))
    store = shipment.store
    village = shipment.origin_village
    retailer = store.retailer
    record_event(
        kind=kind,
        village=shipment.origin_village,
        farm=shipment.origin_farm,
        occurred_at=when,
        lines=[(item.batch, EventBatch.Role.SUBJECT, item.quantity, item.batch.unit) for item in items],
        actor=actor,
        location_gln=(store.gln or "") if kind == TraceEvent.Kind.RECEIVING else (shipment.origin_village.gln or ""),
        location_name=store.name_zh if kind == TraceEvent.Kind.RECEIVING else shipment.origin_village.name_zh,
        data=MovementKDEs(
            shipment=shipment.public_code,
            store=store.name_zh,
            store_gln=store.gln or "",
            store_city=store.city_zh,
            retailer=store.retailer.name_zh,
            retailer_gln=store.retailer.gln or "",
            ship_from=shipment.origin_village.name_zh,
            ship_from_gln=shipment.origin_village.gln or "",
            carrier=shipment.carrier,
            reference_document=shipment.reference,
            ship_from_en=village.name_en,
            ship_from_address=village.address_zh,
            ship_from_address_en=village.address_en,
            ship_from_phone=village.phone,
            ship_from_time_zone=village.time_zone,
            store_en=store.name_en,
            store_address=store.address,
            store_address_en=store.address_en,
            store_phone=store.phone,
            store_time_zone=store.time_zone,
            retailer_en=retailer.name_en,
            retailer_address=retailer.address_zh,
            retailer_address_en=retailer.address_en,
            retailer_phone=retailer.phone,
            store_id=str(store.pk),
            retailer_id=str(store.retailer_id),
            sscc=shipment.sscc or "",
            sscc_company_prefix=_sscc_prefix(shipment),
        ).to_data(),
    )
    announce(item.batch_id for item in items)


@transaction.atomic
def dispatch_shipment(*, shipment: Shipment, actor=None, when=None) -> Shipment:
    """Send a draft or packed shipment on its way.

    Side effects: records one shipping TraceEvent covering every item; refuses an empty shipment
    or one holding a batch that a recall has put on hold.
    """
    shipment = _locked(shipment, EDITABLE, _("dispatch"))
    if not shipment.items.exists():
        raise ShipmentStateError(_("An empty shipment cannot be dispatched: add at least one batch."))
    # Lock the lots (after the shipment, in primary-key order) and read their status under the
    # lock: a hold committed a moment ago is seen, one in progress waits for the dispatch.
    lots = Batch.objects.select_for_update(of=("self",)).filter(shipment_items__shipment=shipment).order_by("pk")
    for lot in lots:
        if lot.is_held():
            raise BatchOnHold(_("Lot %(lot)s is on hold; remove it before dispatch.") % {"lot": lot.lot_code})
    shipment.status = Shipment.Status.DISPATCHED
    shipment.dispatched_at = when or timezone.now()
    shipment.save(update_fields=["status", "dispatched_at"])
    _movement_event(shipment, TraceEvent.Kind.SHIPPING, shipment.dispatched_at, actor)
    return shipment


@transaction.atomic
def receive_shipment(*, shipment: Shipment, actor=None, when=None) -> Shipment:
    """Mark a dispatched shipment as delivered at its store; records the receiving TraceEvent."""
    shipment = _locked(shipment, (Shipment.Status.DISPATCHED,), _("receive"))
    shipment.status = Shipment.Status.DELIVERED
    shipment.delivered_at = when or timezone.now()
    shipment.save(update_fields=["status", "delivered_at"])
    _movement_event(shipment, TraceEvent.Kind.RECEIVING, shipment.delivered_at, actor)
    return shipment


@transaction.atomic
def cancel_shipment(*, shipment: Shipment, actor=None) -> Shipment:
    """Cancel a shipment that has not left; every item's quantity goes back to its batch."""
    shipment = _locked(shipment, EDITABLE, _("cancel"))
    items = list(shipment.items.all())
    for item in sorted(items, key=lambda i: i.batch_id):
        release(batch_id=item.batch_id, quantity=item.quantity)
    shipment.status = Shipment.Status.CANCELLED
    shipment.cancelled_at = timezone.now()
    shipment.save(update_fields=["status", "cancelled_at"])
    return shipment


@transaction.atomic
def pack_shipment(*, shipment: Shipment) -> Shipment:
    """Mark a draft shipment as packed and ready to leave; refuses an empty one."""
    shipment = _locked(shipment, (Shipment.Status.DRAFT,), _("pack"))
    if not shipment.items.exists():
        raise ShipmentStateError(_("An empty shipment cannot be packed: add at least one batch."))
    shipment.status = Shipment.Status.PACKED
    shipment.save(update_fields=["status"])
    return shipment

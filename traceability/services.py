"""Workflows of the traceability record. Every function is atomic and keyword-only."""

import uuid
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from farms.models import Crop, Farm, Field, Village
from traceability import chain
from traceability.models import Batch, EventBatch, TraceEvent
from traceability.signals import announce


class InsufficientQuantity(Exception):
    """Raised when an allocation asks for more than a batch has left. The message is for people."""


class BatchOnHold(Exception):
    """Raised when a held or recalled batch is asked to move."""


# Events that move a batch's status forward (never backward, and never out of a hold).
STATUS_AFTER = {
    TraceEvent.Kind.HARVEST: Batch.Status.HARVESTED,
    TraceEvent.Kind.PACKING: Batch.Status.PACKED,
}
STATUS_ORDER = [Batch.Status.GROWING, Batch.Status.HARVESTED, Batch.Status.PACKED]


@transaction.atomic
def record_event(
    *,
    kind: str,
    village: Village,
    occurred_at: datetime,
    lines: list[tuple[Batch, str, Decimal | None, str]],
    farm: Farm | None = None,
    actor=None,
    data: dict | None = None,
    client_id: uuid.UUID | str | None = None,
    location_gln: str = "",
    location_name: str = "",
    corrects: TraceEvent | None = None,
    correction_reason: str = "",
) -> tuple[TraceEvent, bool]:
    """Append one event to its village's hash chain. Returns (event, created).

    Side effects: locks the village row while it reads the chain's head (writers in one village
    queue; other villages do not wait), inserts the TraceEvent and its EventBatch lines.
    Idempotent on `client_id`: a phone that sends the same event twice gets the first one back.
    `lines` are (batch, role, quantity or None, unit) tuples.
    """
    if client_id is not None:
        existing = TraceEvent.objects.filter(client_id=client_id).first()
        if existing is not None:
            return existing, False
    Village.objects.select_for_update().only("id").get(pk=village.pk)
    # Re-check under the lock: a concurrent retry of the same client_id may have just committed.
    if client_id is not None:
        existing = TraceEvent.objects.filter(client_id=client_id).first()
        if existing is not None:
            return existing, False
    head = TraceEvent.objects.filter(village=village).order_by("-seq").values("seq", "hash").first()
    event = TraceEvent(
        client_id=client_id or uuid.uuid4(),
        kind=kind,
        occurred_at=occurred_at,
        recorded_at=timezone.now(),
        village=village,
        farm=farm,
        actor=actor,
        data=data or {},
        location_gln=location_gln,
        location_name=location_name,
        corrects=corrects,
        correction_reason=correction_reason,
        seq=(head["seq"] + 1) if head else 1,
        prev_hash=head["hash"] if head else chain.GENESIS,
    )
    line_facts = [(batch.lot_code, role, quantity, unit) for batch, role, quantity, unit in lines]
    event.hash = chain.link_hash(event.prev_hash, chain.canonical_content(event, line_facts))
    event.save()
    EventBatch.objects.bulk_create(
        EventBatch(event=event, batch=batch, role=role, quantity=quantity, unit=unit or "")
        for batch, role, quantity, unit in lines
    )
    return event, True


def allocate(*, batch_id: int, quantity: Decimal) -> Batch:
    """Take `quantity` from a batch's remaining quantity. Call inside transaction.atomic.

    Side effects: locks the batch row until the caller's transaction ends, so concurrent
    allocations queue and each sees the previous one's result; raises InsufficientQuantity or
    BatchOnHold and changes nothing when the batch cannot give that much. The CHECK constraint
    batch_not_over_allocated is the backstop should a caller forget the lock.
    """
    batch = Batch.objects.select_for_update().get(pk=batch_id)
    if batch.is_held():
        raise BatchOnHold(
            _("Lot %(lot)s is on hold by a recall and cannot be shipped or used.") % {"lot": batch.lot_code}
        )
    if quantity <= 0:
        raise InsufficientQuantity(_("The quantity must be greater than zero."))
    if quantity > batch.remaining_quantity():
        raise InsufficientQuantity(
            _("Lot %(lot)s has only %(left)s %(unit)s left; %(asked)s were asked for.")
            % {"lot": batch.lot_code, "left": batch.remaining_quantity(), "unit": batch.unit, "asked": quantity}
        )
    Batch.objects.filter(pk=batch.pk).update(allocated_quantity=F("allocated_quantity") + quantity)
    batch.refresh_from_db(fields=["allocated_quantity"])
    return batch


def release(*, batch_id: int, quantity: Decimal) -> None:
    """Give `quantity` back to a batch (an item removed from a draft shipment, a cancelled shipment)."""
    Batch.objects.select_for_update().filter(pk=batch_id).update(allocated_quantity=F("allocated_quantity") - quantity)


def next_lot_code(*, village: Village, crop: Crop, day) -> str:
    """`{village}-{crop}-{YYYYMMDD}-{NNN}`, e.g. XJ-WAX-20260612-003: readable on a crate and unique."""
    prefix = f"{village.code}-{crop.code}-{day:%Y%m%d}-"
    taken = Batch.objects.filter(lot_code__startswith=prefix).values_list("lot_code", flat=True)
    numbers = [int(code[len(prefix) :]) for code in taken if code[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


@transaction.atomic
def register_batch(
    *,
    farm: Farm,
    crop: Crop,
    quantity: Decimal,
    unit: str,
    field: Field | None = None,
    planted_on=None,
    harvested_on=None,
    lot_code: str = "",
    created_by=None,
    notes: str = "",
) -> Batch:
    """Create a batch, assigning the next lot code unless one is given.

    Side effects: locks the farm's village row while choosing the code, so two farmers of one
    village registering at the same moment cannot pick the same number.
    """
    if field is not None and field.farm_id != farm.pk:
        raise ValueError("The field belongs to another farm.")
    Village.objects.select_for_update().only("id").get(pk=farm.village_id)
    day = harvested_on or timezone.localdate()
    batch = Batch.objects.create(
        lot_code=lot_code or next_lot_code(village=farm.village, crop=crop, day=day),
        farm=farm,
        field=field,
        crop=crop,
        quantity=quantity,
        unit=unit,
        planted_on=planted_on,
        harvested_on=harvested_on,
        status=Batch.Status.HARVESTED if harvested_on else Batch.Status.GROWING,
        created_by=created_by,
        notes=notes,
    )
    return batch


@transaction.atomic
def record_batch_event(
    *,
    batch: Batch,
    kind: str,
    occurred_at: datetime,
    actor=None,
    data: dict | None = None,
    client_id: uuid.UUID | str | None = None,
    quantity: Decimal | None = None,
) -> tuple[TraceEvent, bool]:
    """Record a farm-side event (harvest, cooling, packing, quality test, temperature...) for one batch.

    Side effects: appends to the village's chain (see record_event); moves the batch's status
    forward for harvest and packing (never out of a hold); sets the harvest date from a harvest
    event when the batch has none; announces batches_changed after commit.
    """
    farm = batch.farm
    event, created = record_event(
        kind=kind,
        village=farm.village,
        farm=farm,
        occurred_at=occurred_at,
        lines=[(batch, EventBatch.Role.SUBJECT, quantity, batch.unit if quantity is not None else "")],
        actor=actor,
        data=data,
        client_id=client_id,
        location_name=farm.name_zh,
        location_gln=farm.village.gln or "",
    )
    if created:
        new_status = STATUS_AFTER.get(kind)
        updates = {}
        moves_forward = (
            new_status
            and batch.status in STATUS_ORDER
            and STATUS_ORDER.index(new_status) > STATUS_ORDER.index(batch.status)
        )
        if moves_forward:
            updates["status"] = new_status
        if kind == TraceEvent.Kind.HARVEST and batch.harvested_on is None:
            updates["harvested_on"] = timezone.localdate(occurred_at)
        if updates:
            Batch.objects.filter(pk=batch.pk).update(**updates)
            for name, value in updates.items():
                setattr(batch, name, value)
        announce([batch.pk])
    return event, created

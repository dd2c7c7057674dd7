"""Workflows of the traceability record. Every function is atomic and keyword-only."""

import uuid
from datetime import datetime
from decimal import Decimal

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from api import errors
from farms.models import Crop, Farm, Field, Membership, Village
from traceability import chain
from traceability.models import Batch, BatchInput, EventBatch, Recall, RecallHold, TraceEvent
from traceability.permissions import correctable_events, may_close_recall, may_open_recall
from traceability.signals import announce


class InsufficientQuantity(errors.Conflict):
    """Raised when an allocation asks for more than a batch has left. The message is for people."""


class BatchOnHold(errors.Conflict):
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
        EventBatch(event=event, batch=batch, role=role, quantity=quantity, unit=unit or "", event_kind=kind)
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


def lot_code_prefix(*, village: Village, crop: Crop, day) -> str:
    return f"{village.code}-{crop.code}-{day:%Y%m%d}-"


def next_lot_number(prefix: str, also_taken=()) -> int:
    """One more than the highest number after `prefix` among stored lot codes and `also_taken`."""
    stored = Batch.objects.filter(lot_code__startswith=prefix).values_list("lot_code", flat=True)
    suffixes = [code[len(prefix) :] for code in (*stored, *also_taken) if code.startswith(prefix)]
    return max((int(suffix) for suffix in suffixes if suffix.isdigit()), default=0) + 1


def next_lot_code(*, village: Village, crop: Crop, day) -> str:
    """`{village}-{crop}-{YYYYMMDD}-{NNN}`, e.g. XJ-WAX-20260612-003: readable on a crate and unique."""
    prefix = lot_code_prefix(village=village, crop=crop, day=day)
    return f"{prefix}{next_lot_number(prefix):03d}"


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
    client_id: uuid.UUID | str | None = None,
) -> Batch:
    """Create a batch, assigning the next lot code unless one is given.

    Side effects: locks the farm's village row while choosing the code, so two farmers of one
    village registering at the same moment cannot pick the same number.
    Idempotent on `client_id` (made by the phone or the form page): a retry returns the batch
    already registered with it, even days later from an offline outbox. Refuses (errors.Invalid) a
    client_id already used for a batch of another farm.
    """
    if field is not None and field.farm_id != farm.pk:
        raise errors.Invalid("The field belongs to another farm.")
    Village.objects.select_for_update().only("id").get(pk=farm.village_id)
    # Under the village lock: a concurrent retry of the same registration waits here, then finds it.
    if client_id is not None:
        existing = Batch.objects.filter(client_id=client_id).first()
        if existing is not None:
            if existing.farm_id != farm.pk:
                raise errors.Invalid(_("This client id is already used."))
            return existing
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
        status=Batch.initial_status(harvested_on),
        created_by=created_by,
        notes=notes,
        client_id=client_id,
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
    photo=None,
) -> tuple[TraceEvent, bool]:
    """Record a farm-side event (harvest, cooling, packing, quality test, temperature...) for one batch.

    Side effects: appends to the village's chain (see record_event); moves the batch's status
    forward for harvest and packing (never out of a hold); sets the harvest date from a harvest
    event when the batch has none; announces batches_changed after commit. `photo` (an uploaded
    image, a quality test's report) is saved under quality/<village code>/ in the default storage
    and named in data["photo"].
    Refuses (BatchOnHold, nothing written) a lot held by an open recall: the village row, then the
    batch row are locked first, so a recall committing meanwhile is seen. (Which events a lot on a
    hold of another kind takes is the lot-rules issue's.) Idempotent on `client_id`: a retry
    returns the event already recorded, even if the lot was held since.
    """
    if client_id is not None:
        existing = TraceEvent.objects.filter(client_id=client_id).first()
        if existing is not None:
            return existing, False
    farm = batch.farm
    # Village, then batch: the order of transform_batches, so the two cannot deadlock.
    Village.objects.select_for_update().only("id").get(pk=farm.village_id)
    Batch.objects.select_for_update().only("id").get(pk=batch.pk)
    if RecallHold.objects.filter(batch_id=batch.pk, recall__closed_at__isnull=True).exists():
        raise BatchOnHold(_("Lot %(lot)s is on hold by a recall.") % {"lot": batch.lot_code})
    data = dict(data or {})
    if photo is not None:
        data["photo"] = default_storage.save(f"quality/{farm.village.code}/{uuid.uuid4().hex}-{photo.name}", photo)
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


# ---------------------------------------------------------------------------------------------
# Corrections, transformations and recalls. Callers (views, the API) pass the acting user as
# `actor`; these functions check the caller's scope themselves so that no entry point can forget.


class CorrectionRefused(errors.Conflict):
    """The event cannot be corrected (unknown, out of the caller's scope, a correction, already corrected)."""


class NotAllowed(errors.Forbidden):
    """The caller may not act on this batch, lot or recall. The message is for people."""


class RecallStateError(errors.Conflict):
    """The recall cannot change that way (closing a closed recall, a second open recall of one lot)."""


def _line_facts(event: TraceEvent) -> list[tuple[Batch, str, Decimal | None, str]]:
    return [(line.batch, line.role, line.quantity, line.unit) for line in event.lines.select_related("batch")]


@transaction.atomic
def record_correction(
    *,
    event: TraceEvent | int | uuid.UUID | str,
    reason: str,
    actor,
    note: str = "",
    corrected_data: dict | None = None,
    corrected_occurred_at: datetime | None = None,
    client_id: uuid.UUID | str | None = None,
) -> tuple[TraceEvent, TraceEvent | None]:
    """Declare a recorded event erroneous (EPCIS error declaration). Returns (correction, replacement).

    `event` is a TraceEvent, its id or its client_id; `reason` is TraceEvent.CorrectionReason
    (did_not_occur or incorrect_data). For incorrect_data, `corrected_data` (merged over the
    original's data) and/or `corrected_occurred_at` describe the right facts: a replacement event
    of the same kind and batch lines is recorded too, and the correction names it in
    data["corrective_event"]. Traces and pages use TraceEvent.objects.effective(), which leaves
    out the original and the correction but keeps the replacement.

    Side effects: appends one or two events to the original event's village chain; announces the
    event's batches. Refuses (CorrectionRefused, nothing written) an unknown event, one outside
    the actor's scope (reported as unknown, like a 404), a correction, an already corrected event,
    an unknown reason, and incorrect_data without corrected facts. Idempotent on `client_id`.
    """
    if client_id is not None:
        existing = TraceEvent.objects.filter(client_id=client_id, kind=TraceEvent.Kind.CORRECTION).first()
        if existing is not None:
            replacement_id = existing.data.get("corrective_event")
            return existing, TraceEvent.objects.filter(client_id=replacement_id).first() if replacement_id else None
    if reason not in TraceEvent.CorrectionReason.values:
        raise CorrectionRefused(_('Unknown correction reason "%(reason)s".') % {"reason": reason})
    if reason == TraceEvent.CorrectionReason.INCORRECT_DATA and not corrected_data and corrected_occurred_at is None:
        raise CorrectionRefused(_("An incorrect-data correction needs the corrected data or time."))
    in_scope = TraceEvent.objects.all() if actor is None else correctable_events(actor)
    if isinstance(event, TraceEvent):
        lookup = {"pk": event.pk}
    elif isinstance(event, int):
        lookup = {"pk": event}
    else:
        try:
            lookup = {"client_id": uuid.UUID(str(event))}
        except ValueError:
            lookup = {"pk": None}
    original = in_scope.filter(**lookup).first()
    if original is None:
        raise CorrectionRefused(_("No such event in your villages: nothing was corrected."))
    if original.kind == TraceEvent.Kind.CORRECTION:
        raise CorrectionRefused(_("A correction cannot itself be corrected; correct the original event."))
    if original.corrections.exists():
        raise CorrectionRefused(_("This event has already been corrected."))
    lines = _line_facts(original)
    replacement = None
    if reason == TraceEvent.CorrectionReason.INCORRECT_DATA:
        replacement, _created = record_event(
            kind=original.kind,
            village=original.village,
            farm=original.farm,
            occurred_at=corrected_occurred_at or original.occurred_at,
            lines=lines,
            actor=actor,
            data={**original.data, **(corrected_data or {})},
            location_gln=original.location_gln,
            location_name=original.location_name,
        )
    data = {"note": note, "corrected_event": str(original.client_id)}
    if replacement is not None:
        data["corrective_event"] = str(replacement.client_id)
    correction, _created = record_event(
        kind=TraceEvent.Kind.CORRECTION,
        village=original.village,
        farm=original.farm,
        occurred_at=timezone.now(),
        lines=[(batch, EventBatch.Role.SUBJECT, None, "") for batch in {line[0] for line in lines}],
        actor=actor,
        data=data,
        client_id=client_id,
        corrects=original,
        correction_reason=reason,
    )
    announce(line[0].pk for line in lines)
    return correction, replacement


TRANSFORMATION_KINDS = ("sorting", "repacking", "mixing")


@transaction.atomic
def transform_batches(
    *,
    inputs: list[tuple[Batch, Decimal]],
    crop: Crop,
    farm: Farm,
    quantity: Decimal,
    unit: str,
    kind: str = "sorting",
    actor=None,
    occurred_at: datetime | None = None,
    client_id: uuid.UUID | str | None = None,
    field: Field | None = None,
    reference_document: str = "",
) -> tuple[Batch, TraceEvent, bool]:
    """Make a new lot from `quantity` of several input lots (sorting, repacking, mixing).

    Returns (new batch, transformation event, created). Side effects: locks the output farm's
    village (lot code), then the input batch rows in primary-key order (so concurrent
    transformations and shipments cannot deadlock) and allocates each input quantity; creates the
    Batch (status packed: a transformation assigns a traceability lot code, like initial
    packing) with the next lot code, one BatchInput per input, and one transformation event with
    input and output lines in the farm's village chain; announces the new batch.
    Refuses, writing nothing: no inputs, a repeated input, a non-positive quantity, an unknown
    kind, an input the actor may not use (NotAllowed), more than an input has left
    (InsufficientQuantity), a held input (BatchOnHold).
    Idempotent on `client_id`: a retry returns the first result with created=False.
    """
    if client_id is not None:
        existing = TraceEvent.objects.filter(client_id=client_id).first()
        if existing is not None:
            output = existing.lines.get(role=EventBatch.Role.OUTPUT).batch
            return output, existing, False
    if kind not in TRANSFORMATION_KINDS:
        raise errors.Invalid(_('Unknown transformation "%(kind)s": use sorting, repacking or mixing.') % {"kind": kind})
    if not inputs:
        raise errors.Invalid(_("A transformation needs at least one input lot."))
    if len({batch.pk for batch, _q in inputs}) != len(inputs):
        raise errors.Invalid(_("Each input lot may appear only once."))
    if Decimal(quantity) <= 0:
        raise InsufficientQuantity(_("The quantity must be greater than zero."))
    if field is not None and field.farm_id != farm.pk:
        raise errors.Invalid("The field belongs to another farm.")
    if actor is not None and not actor.is_superuser:
        allowed = set(
            Batch.objects.writable_by(actor).filter(pk__in=[b.pk for b, _q in inputs]).values_list("pk", flat=True)
        )
        refused = [batch.lot_code for batch, _q in inputs if batch.pk not in allowed]
        if refused or farm.village_id not in Membership.objects.village_ids(actor):
            raise NotAllowed(_("You may not transform lot(s) %(lots)s.") % {"lots": ", ".join(refused) or farm.name_zh})
    occurred_at = occurred_at or timezone.now()
    village = Village.objects.select_for_update().get(pk=farm.village_id)
    used = []
    for batch, amount in sorted(inputs, key=lambda pair: pair[0].pk):
        used.append((allocate(batch_id=batch.pk, quantity=Decimal(amount)), Decimal(amount)))
    harvest_days = [batch.harvested_on for batch, _q in used if batch.harvested_on]
    output = Batch.objects.create(
        lot_code=next_lot_code(village=village, crop=crop, day=timezone.localdate(occurred_at)),
        farm=farm,
        field=field,
        crop=crop,
        quantity=quantity,
        unit=unit,
        harvested_on=min(harvest_days) if harvest_days else None,
        status=Batch.Status.PACKED,
        created_by=actor,
    )
    BatchInput.objects.bulk_create(BatchInput(output=output, input=batch, quantity=amount) for batch, amount in used)
    event, _created = record_event(
        kind=TraceEvent.Kind.TRANSFORMATION,
        village=village,
        farm=farm,
        occurred_at=occurred_at,
        lines=[(batch, EventBatch.Role.INPUT, amount, batch.unit) for batch, amount in used]
        + [(output, EventBatch.Role.OUTPUT, Decimal(quantity), unit)],
        actor=actor,
        data={"transformation": kind, "reference_document": reference_document},
        client_id=client_id,
        location_name=farm.name_zh,
        location_gln=village.gln or "",
    )
    announce([output.pk])
    return output, event, True


@transaction.atomic
def open_recall(*, batch: Batch, reason: str, actor) -> Recall:
    """Recall a lot: it (status recalled) and everything made from it (status on hold) are held.

    Side effects: creates the Recall and one RecallHold per held batch, remembering the status
    to restore (for a batch already held by another open recall, the status that recall will
    restore); locks the held batch rows in primary-key order; allocations and dispatches of held
    batches are refused from then on (allocate raises BatchOnHold); announces every held batch so
    consumer pages show the warning at once. Refuses (NotAllowed) a caller who may not recall the
    lot and (RecallStateError) a lot that already has an open recall or an empty reason.
    """
    from traceability.trace import descendant_ids

    if not reason.strip():
        raise RecallStateError(_("Give the reason for the recall."))
    if not may_open_recall(actor, batch):
        raise NotAllowed(_("You may not recall lot %(lot)s.") % {"lot": batch.lot_code})
    if Recall.objects.open().filter(batch=batch).exists():
        raise RecallStateError(_("Lot %(lot)s already has an open recall.") % {"lot": batch.lot_code})
    ids = sorted({batch.pk} | descendant_ids([batch.pk]))
    locked = list(Batch.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", "status"))
    earlier = dict(
        RecallHold.objects.filter(recall__closed_at__isnull=True, batch_id__in=ids).values_list(
            "batch_id", "previous_status"
        )
    )
    recall = Recall.objects.create(batch=batch, reason=reason.strip(), opened_by=actor)
    RecallHold.objects.bulk_create(
        RecallHold(recall=recall, batch_id=pk, previous_status=earlier.get(pk, status)) for pk, status in locked
    )
    Batch.objects.filter(pk__in=ids).exclude(status=Batch.Status.RECALLED).update(status=Batch.Status.ON_HOLD)
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.RECALLED)
    announce(ids)
    return recall


@transaction.atomic
def close_recall(*, recall: Recall, actor, note: str = "") -> Recall:
    """Close an open recall and lift its holds.

    Side effects: sets closed_at/closed_by/close_note; for every batch it held that no other open
    recall holds, restores the status it had before; a batch another open recall still holds
    stays held (recalled if that recall is on the batch itself, else on hold); announces every
    batch it held. Refuses (NotAllowed) a caller who may not close it (permissions.may_close_recall:
    only the organisation that opened it) and (RecallStateError) a recall already closed.
    """
    recall = Recall.objects.select_for_update().get(pk=recall.pk)
    if not recall.is_open:
        raise RecallStateError(_("This recall is already closed."))
    if not may_close_recall(actor, recall):
        raise NotAllowed(_("You may not close the recall of lot %(lot)s.") % {"lot": recall.batch.lot_code})
    recall.closed_at, recall.closed_by, recall.close_note = timezone.now(), actor, note
    recall.save(update_fields=["closed_at", "closed_by", "close_note"])
    holds = list(recall.holds.order_by("batch_id").values_list("batch_id", "previous_status"))
    ids = [pk for pk, _status in holds]
    list(Batch.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
    still_held = set(
        RecallHold.objects.filter(recall__closed_at__isnull=True, batch_id__in=ids).values_list("batch_id", flat=True)
    )
    still_recalled = set(Recall.objects.open().filter(batch_id__in=ids).values_list("batch_id", flat=True))
    by_status: dict[str, list[int]] = {}
    for pk, previous in holds:
        if pk in still_recalled:
            status = Batch.Status.RECALLED
        elif pk in still_held:
            status = Batch.Status.ON_HOLD
        else:
            status = previous
        by_status.setdefault(status, []).append(pk)
    for status, pks in by_status.items():
        Batch.objects.filter(pk__in=pks).update(status=status)
    announce(ids)
    return recall

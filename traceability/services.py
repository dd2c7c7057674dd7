"""Workflows of the traceability record. Every function is atomic and keyword-only.

Lock order (docs/architecture.md, "Concurrency"): a shipment, then a recall or a safety hold, then
lots in primary-key order, then the village row (the event chain's head and lot numbering) last.
Every function takes the locks it needs in that order and re-reads what it decides on after
taking them; a lot's status is written only by traceability.lifecycle, from rows read under lock.
"""

import uuid
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from api import errors
from farms.models import Crop, Farm, Field, Membership, Village
from traceability import chain, lifecycle
from traceability.kdes import MOVEMENT_KEYS
from traceability.lifecycle import BatchOnHold, EventRefused, InsufficientQuantity
from traceability.lot_codes import validate_lot_code
from traceability.models import Batch, BatchInput, EventBatch, Hold, HoldLot, Recall, RecallHold, TraceEvent, Unit
from traceability.permissions import correctable_events, may_close_recall, may_decide_hold, may_open_recall
from traceability.signals import announce

__all__ = ["BatchOnHold", "EventRefused", "InsufficientQuantity"]  # re-exported: callers catch them here


def _lock_lots(ids) -> list[Batch]:
    """Row-lock lots in primary-key order (the documented order) and return them fresh."""
    return list(
        Batch.objects.select_for_update(of=("self",))
        .select_related("farm__village", "crop")
        .filter(pk__in=set(ids))
        .order_by("pk")
    )


def _event_by_client_id(client_id) -> TraceEvent | None:
    return TraceEvent.objects.filter(client_id=client_id).first()


# Keys of an event's data that the system writes and that traces, exports and pages trust: a
# shipment's movement (written by shipments.services), a transformation's, a correction's links.
# (A reference document is a farm's key data element too: packing records one.)
# Farm-side events and corrections may not set them: `{"shipment": "a/b"}` on a cooling event
# would pose as a shipment.
# The places a movement recorded (names, addresses, phones, time zones: MovementKDEs) are the
# system's too; its carrier and reference document are not.
RESERVED_KEYS = frozenset(
    {
        *(key for key in MOVEMENT_KEYS if key not in ("carrier", "reference_document")),
        "transformation",
        "corrected_event",
        "corrective_event",
    }
)


def _refuse_reserved_keys(data: dict | None, field: str) -> None:
    used = sorted(RESERVED_KEYS.intersection(data or {}))
    if used:
        raise ValidationError(
            {field: _("These keys are written by the system and cannot be set: %(keys)s.") % {"keys": ", ".join(used)}}
        )


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
    allocations queue and each sees the previous one's result; raises InsufficientQuantity,
    BatchOnHold (held or recalled) or EventRefused (not harvested yet) and changes nothing when the
    batch cannot give that much. The CHECK constraint batch_not_over_allocated is the backstop
    should a caller forget the lock.
    """
    batch = Batch.objects.select_for_update().get(pk=batch_id)
    lifecycle.check_allocatable(batch)
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
    """Give `quantity` back to a batch (an item removed from a draft shipment, a cancelled shipment).
    Call inside transaction.atomic with the line that held it read under its shipment's lock.

    The UPDATE is guarded, so a caller that releases twice fails loudly instead of freeing stock
    that is still in a shipment.
    """
    given_back = (
        Batch.objects.select_for_update()
        .filter(pk=batch_id, allocated_quantity__gte=quantity)
        .update(allocated_quantity=F("allocated_quantity") - quantity)
    )
    if given_back != 1:
        raise InsufficientQuantity(_("This quantity was already given back to the lot."))


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
    """Create a batch, assigning the next lot code unless one is given (ValidationError when the
    given one breaks the lot-code rule).

    Side effects: locks the farm's village row while choosing the code, so two farmers of one
    village registering at the same moment cannot pick the same number. Refuses (ValidationError)
    dates the lifecycle refuses (lifecycle.check_lot_dates).
    Idempotent on `client_id` (made by the phone or the form page): a retry returns the batch
    already registered with it, even days later from an offline outbox. Refuses (errors.Invalid) a
    client_id already used for a batch of another farm.
    """
    if field is not None and field.farm_id != farm.pk:
        raise errors.Invalid("The field belongs to another farm.")
    if lot_code:
        validate_lot_code(lot_code)
    lifecycle.check_lot_dates(planted_on, harvested_on)
    Village.objects.select_for_update().only("id").get(pk=farm.village_id)
    # Under the village lock: a concurrent retry of the same registration waits here, then finds it.
    if client_id is not None:
        existing = Batch.objects.filter(client_id=client_id).first()
        if existing is not None:
            if existing.farm_id != farm.pk:
                raise errors.Invalid(_("This client id is already used."))
            return existing
    batch = Batch.objects.create(
        lot_code=lot_code
        or next_lot_code(village=farm.village, crop=crop, day=lifecycle.lot_code_day(harvested_on=harvested_on)),
        farm=farm,
        field=field,
        crop=crop,
        quantity=quantity,
        unit=unit,
        planted_on=planted_on,
        harvested_on=harvested_on,
        status=lifecycle.initial_status(harvested_on=harvested_on),
        created_by=created_by,
        notes=notes,
        client_id=client_id,
    )
    record_registrations(batches=[batch], actor=created_by)
    return batch


@transaction.atomic
def record_registrations(*, batches: list[Batch], actor=None, occurred_at: datetime | None = None) -> None:
    """Record each new lot's registration event (kind registration): its farm, field, crop,
    quantity, unit and first status (chain.registration_data) in its village's chain, so that a
    later change of the lot's row breaks verification unless a correction of this event made it.

    Side effects: per village, locks the village row (as record_event does), then appends one
    event and one line per lot with two bulk inserts, however many lots (imports bring thousands).
    """
    by_village: dict[int, list[Batch]] = {}
    for batch in batches:
        by_village.setdefault(batch.farm.village_id, []).append(batch)
    for village_id in sorted(by_village):
        village = Village.objects.select_for_update().get(pk=village_id)
        head = TraceEvent.objects.filter(village=village).order_by("-seq").values("seq", "hash").first()
        seq, prev_hash = (head["seq"], head["hash"]) if head else (0, chain.GENESIS)
        events = []
        for batch in by_village[village_id]:
            seq += 1
            event = TraceEvent(
                kind=TraceEvent.Kind.REGISTRATION,
                occurred_at=occurred_at or batch.created_at,
                recorded_at=timezone.now(),
                village=village,
                farm=batch.farm,
                actor=actor,
                location_name=batch.farm.name_zh,
                location_gln=village.gln or "",
                data=chain.registration_data(
                    farm_id=batch.farm_id,
                    field_id=batch.field_id,
                    crop_id=batch.crop_id,
                    quantity=batch.quantity,
                    unit=batch.unit,
                    status=batch.status,
                ),
                seq=seq,
                prev_hash=prev_hash,
            )
            event.hash = prev_hash = chain.link_hash(
                event.prev_hash, chain.canonical_content(event, [(batch.lot_code, EventBatch.Role.SUBJECT, None, "")])
            )
            events.append(event)
        TraceEvent.objects.bulk_create(events)
        EventBatch.objects.bulk_create(
            EventBatch(event=event, batch=batch, role=EventBatch.Role.SUBJECT, event_kind=event.kind)
            for event, batch in zip(events, by_village[village_id], strict=True)
        )


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
    """Record a farm-side event (lifecycle.FARM_EVENT_KINDS) for one batch. Returns (event, created).

    Side effects: locks the batch row and re-reads it, then checks the event against the lot's
    lifecycle (lifecycle.check_farm_event: refuses events on a held lot other than quality tests,
    out-of-order events, quantities beyond the lot's, times in the future, impossible
    temperatures; flags temperature excursions); appends to the village's chain (see
    record_event); moves the batch's status forward for harvest and packing and sets its harvest
    date from a harvest event when it has none; a failed quality test opens a safety hold on the
    lot and every lot made from it (locked before the village row, in primary-key order);
    announces batches_changed after commit. `photo` (an uploaded image, a quality test's report)
    is saved under quality/<village code>/ in the default storage, once the event passed the
    checks, and named in data["photo"]. Idempotent on `client_id`: a retry gets the event
    already recorded, even if the lot has changed since.
    """
    _refuse_reserved_keys(data, "data")
    if client_id is not None and (existing := _event_by_client_id(client_id)) is not None:
        return existing, False
    batch = _lock_lots([batch.pk])[0]
    # Re-read under the lock: a retry of the same client_id may have committed while we waited.
    if client_id is not None and (existing := _event_by_client_id(client_id)) is not None:
        return existing, False
    data = lifecycle.check_farm_event(batch=batch, kind=kind, occurred_at=occurred_at, quantity=quantity, data=data)
    failed = lifecycle.test_failed(kind, data)
    held = _lock_made_from(batch) if failed else []
    farm = batch.farm
    if photo is not None:
        name = f"quality/{farm.village.code}/{uuid.uuid4().hex}-{photo.name}"
        data = {**data, "photo": default_storage.save(name, photo)}
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
        lifecycle.apply_event(batch, kind, occurred_at)
        if failed:
            _open_safety_hold(batch=batch, test=event, actor=actor, lots=held)
        announce([batch.pk, *(lot.pk for lot in held)])
    return event, created


def _lock_made_from(batch: Batch) -> list[Batch]:
    """Lock the lots made from a locked lot. Their primary keys are higher (a transformation's
    output is created after its inputs), so the primary-key order holds. A transformation that
    used the lot committed before our lock is seen here; a later one waits on the lot's row."""
    from traceability.trace import descendant_ids

    return _lock_lots(descendant_ids([batch.pk]))


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


def _existing_correction(client_id) -> tuple[TraceEvent, TraceEvent | None] | None:
    existing = TraceEvent.objects.filter(client_id=client_id, kind=TraceEvent.Kind.CORRECTION).first()
    if existing is None:
        return None
    replacement_id = existing.data.get("corrective_event")
    return existing, TraceEvent.objects.filter(client_id=replacement_id).first() if replacement_id else None


@transaction.atomic
def record_correction(
    *,
    event: TraceEvent | int | uuid.UUID | str,
    reason: str,
    actor,
    note: str = "",
    corrected_data: dict | None = None,
    corrected_occurred_at: datetime | None = None,
    corrected_quantity: Decimal | None = None,
    client_id: uuid.UUID | str | None = None,
) -> tuple[TraceEvent, TraceEvent | None]:
    """Declare a recorded event erroneous (EPCIS error declaration). Returns (correction, replacement).

    `event` is a TraceEvent, its id or its client_id; `reason` is TraceEvent.CorrectionReason
    (did_not_occur or incorrect_data). For incorrect_data, `corrected_data` (merged over the
    original's data), `corrected_occurred_at` and/or `corrected_quantity` (a farm event's one line)
    describe the right facts: a replacement event of the same kind and batch lines is recorded
    too, and the correction names it in data["corrective_event"]. Traces and pages use
    TraceEvent.objects.effective(), which leaves out the original and the correction but keeps the
    replacement.

    Correcting a lot's registration event (incorrect_data, `corrected_data` with any of farm,
    field, crop, quantity and unit) also sets the lot's row to the corrected facts, so the row
    and the chain keep agreeing (_corrected_registration says what is refused).

    Side effects: locks the original event's lots (primary-key order) and re-reads them, so
    concurrent corrections of one event queue and only the first is recorded (the unique
    constraint event_corrected_once is the backstop); a replacement of a farm event is checked
    against the lot's lifecycle like a new event, but is accepted on a held lot; appends one or
    two events to the original event's village chain; a voided or replaced harvest or packing
    moves the lot to the state its effective history gives (lifecycle.resettle); a replacement
    that is a failed quality test opens a safety hold unless the original already had one (a hold
    is lifted only by a decision, never by a correction); announces the event's batches. Refuses
    (CorrectionRefused, nothing written) an unknown event, one outside the actor's scope (reported
    as unknown, like a 404), a correction, a hold decision, an already corrected event, an unknown
    reason, and incorrect_data without corrected facts. Idempotent on `client_id`.
    """
    if client_id is not None and (existing := _existing_correction(client_id)) is not None:
        return existing
    if reason not in TraceEvent.CorrectionReason.values:
        raise CorrectionRefused(_('Unknown correction reason "%(reason)s".') % {"reason": reason})
    _refuse_reserved_keys(corrected_data, "corrected_data")
    corrects_facts = corrected_data or corrected_occurred_at is not None or corrected_quantity is not None
    if reason == TraceEvent.CorrectionReason.INCORRECT_DATA and not corrects_facts:
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
    # Lock the lots first, then decide: a concurrent correction of this event has either committed
    # (and is seen below) or waits for us.
    lots = {lot.pk: lot for lot in _lock_lots(original.lines.values_list("batch_id", flat=True))}
    if client_id is not None and (existing := _existing_correction(client_id)) is not None:
        return existing
    if original.kind == TraceEvent.Kind.CORRECTION:
        raise CorrectionRefused(_("A correction cannot itself be corrected; correct the original event."))
    if original.kind == TraceEvent.Kind.HOLD_DECISION:
        raise CorrectionRefused(_("A hold decision cannot be corrected: open a recall or record a new quality test."))
    if original.corrections.exists():
        raise CorrectionRefused(_("This event has already been corrected."))
    lines = [(lots[batch.pk], role, quantity, unit) for batch, role, quantity, unit in _line_facts(original)]
    registered = None
    if original.kind == TraceEvent.Kind.REGISTRATION:
        registered, corrected_data = _corrected_registration(original, reason, corrected_data)
    replacement = None
    failed_again = False
    if reason == TraceEvent.CorrectionReason.INCORRECT_DATA:
        occurred_at = corrected_occurred_at or original.occurred_at
        data = {**original.data, **(corrected_data or {})}
        farm_event = original.kind in lifecycle.FARM_EVENT_KINDS and len(lines) == 1
        if corrected_quantity is not None:
            if not farm_event:
                raise CorrectionRefused(_("Only the quantity of an event recorded on one lot can be corrected."))
            batch, role, _quantity, _unit = lines[0]
            lines = [(batch, role, corrected_quantity, batch.unit)]
        if farm_event:
            batch, _role, quantity, _unit = lines[0]
            data = lifecycle.check_farm_event(
                batch=batch,
                kind=original.kind,
                occurred_at=occurred_at,
                quantity=quantity,
                data=data,
                replacing=original,
            )
            failed_again = (
                lifecycle.test_failed(original.kind, data) and not Hold.objects.filter(test_event=original).exists()
            )
        else:
            if corrected_occurred_at is not None:
                lifecycle.check_not_in_future(corrected_occurred_at)
            data = lifecycle.flag_excursion(data, lines[0][0].crop) if lines else data
        held = _lock_made_from(lines[0][0]) if failed_again else []
        replacement, _created = record_event(
            kind=original.kind,
            village=original.village,
            farm=original.farm,
            occurred_at=occurred_at,
            lines=lines,
            actor=actor,
            data=data,
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
    if registered is not None:
        facts = replacement.data
        Batch.objects.filter(pk=registered.pk).update(
            farm_id=facts["farm"],
            field_id=facts["field"],
            crop_id=facts["crop"],
            quantity=Decimal(facts["quantity"]),
            unit=facts["unit"],
        )
    if original.kind in lifecycle.ORDERED:
        for lot in lots.values():
            lifecycle.resettle(lot)
    if failed_again:
        _open_safety_hold(batch=lines[0][0], test=replacement, actor=actor, lots=held)
    announce(lots)
    return correction, replacement


REGISTERED_FACTS = ("farm", "field", "crop", "quantity", "unit")


def _corrected_registration(original: TraceEvent, reason: str, changes: dict | None) -> tuple[Batch, dict]:
    """The lot a registration correction changes (locked) and its corrected registration data.

    Refuses (errors.Invalid) a fact other than farm, field, crop, quantity and unit, a farm outside
    the chain's village, a field of another farm, an unknown crop or unit, a quantity that is not
    positive; (CorrectionRefused) declaring that a registration did not occur, a quantity below
    what the lot has already given, and a new unit for a lot already used (its allocations are in
    the old unit)."""
    if reason != TraceEvent.CorrectionReason.INCORRECT_DATA:
        raise CorrectionRefused(_("A lot's registration cannot be withdrawn: correct its facts instead."))
    changes = changes or {}
    unknown = sorted(set(changes) - set(REGISTERED_FACTS))
    if unknown:
        raise errors.Invalid(
            _("A registration correction may change the farm, field, crop, quantity and unit only, not %(names)s.")
            % {"names": ", ".join(unknown)}
        )
    lot = Batch.objects.select_for_update().get(pk=original.lines.get().batch_id)
    facts = {**original.data, **changes}

    def pk(name: str) -> int | None:
        try:
            return None if facts[name] in (None, "") else int(facts[name])
        except (TypeError, ValueError):
            raise errors.Invalid(_("The farm, field and crop are given by their ids.")) from None

    farm = Farm.objects.filter(pk=pk("farm"), village_id=original.village_id).first()
    if farm is None:
        raise errors.Invalid(_("The farm must be one of the lot's village."))
    if pk("field") is not None and not Field.objects.filter(pk=pk("field"), farm=farm).exists():
        raise errors.Invalid(_("The field belongs to another farm."))
    if not Crop.objects.filter(pk=pk("crop")).exists():
        raise errors.Invalid(_("Unknown crop."))
    try:
        quantity = Decimal(str(facts["quantity"]))
    except ArithmeticError:
        quantity = Decimal("NaN")
    if not quantity.is_finite() or quantity <= 0 or quantity != quantity.quantize(Decimal("0.001")):
        raise errors.Invalid(_("The quantity must be a positive number with at most 3 decimals."))
    if quantity < lot.allocated_quantity:
        raise CorrectionRefused(
            _("Lot %(lot)s has already given %(used)s %(unit)s: the quantity cannot be less.")
            % {"lot": lot.lot_code, "used": lot.allocated_quantity, "unit": lot.unit}
        )
    unit = facts["unit"]
    if unit not in Unit.values:
        raise errors.Invalid(_("Unknown unit."))
    if unit != lot.unit and lot.allocated_quantity:
        raise CorrectionRefused(_("The unit of a lot that is already used cannot change."))
    data = chain.registration_data(
        farm_id=farm.pk, field_id=pk("field"), crop_id=pk("crop"), quantity=quantity, unit=unit, status=facts["status"]
    )
    return lot, data


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

    Returns (new batch, transformation event, created). Side effects: locks the input batch rows
    in primary-key order, then the output farm's village (lot code, chain), as every workflow
    does (so concurrent transformations, shipments and events cannot deadlock); re-reads the
    client_id under those locks; allocates each input quantity; creates the Batch (status packed:
    a transformation assigns a traceability lot code, like initial packing) with the next lot
    code, one BatchInput per input, and one transformation event with input and output lines in
    the farm's village chain; announces the new batch.
    Refuses, writing nothing: no inputs, a repeated input, a non-positive quantity, an unknown
    kind, a time in the future, an input the actor may not use (NotAllowed), more than an input
    has left (InsufficientQuantity), a held input (BatchOnHold), an input not harvested yet
    (EventRefused).
    Idempotent on `client_id`: a retry, or a duplicate sent at the same moment, returns the first
    result with created=False.
    """
    if client_id is not None and (existing := _event_by_client_id(client_id)) is not None:
        return _transformation_result(existing)
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
    if occurred_at is not None:
        lifecycle.check_not_in_future(occurred_at)
    occurred_at = occurred_at or timezone.now()
    _lock_lots(batch.pk for batch, _q in inputs)
    village = Village.objects.select_for_update().get(pk=farm.village_id)
    # Re-read under the locks: a duplicate with this client_id may have committed while we waited
    # (without this, ten identical requests made several lots).
    if client_id is not None and (existing := _event_by_client_id(client_id)) is not None:
        return _transformation_result(existing)
    used = []
    for batch, amount in sorted(inputs, key=lambda pair: pair[0].pk):
        used.append((allocate(batch_id=batch.pk, quantity=Decimal(amount)), Decimal(amount)))
    harvest_days = [batch.harvested_on for batch, _q in used if batch.harvested_on]
    output = Batch.objects.create(
        lot_code=next_lot_code(village=village, crop=crop, day=lifecycle.lot_code_day(transformed_at=occurred_at)),
        farm=farm,
        field=field,
        crop=crop,
        quantity=quantity,
        unit=unit,
        harvested_on=min(harvest_days) if harvest_days else None,
        status=lifecycle.initial_status(harvested_on=None, made_by_transformation=True),
        created_by=actor,
    )
    BatchInput.objects.bulk_create(BatchInput(output=output, input=batch, quantity=amount) for batch, amount in used)
    record_registrations(batches=[output], actor=actor, occurred_at=occurred_at)
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


def _transformation_result(event: TraceEvent) -> tuple[Batch, TraceEvent, bool]:
    if event.kind != TraceEvent.Kind.TRANSFORMATION:
        raise errors.Invalid(_("This client id is already used by another event."))
    return event.lines.get(role=EventBatch.Role.OUTPUT).batch, event, False


@transaction.atomic
def open_recall(*, batch: Batch, reason: str, actor) -> Recall:
    """Recall a lot: it (status recalled) and everything made from it (status on hold) are held.

    Side effects: locks the lot's row, then the lots made from it (primary-key order), and only
    then looks for an open recall, so concurrent recalls of one lot queue and one is opened (the
    partial unique constraint recall_one_open_per_lot is the backstop); creates the Recall and one
    RecallHold per held batch, remembering the status it was held in; sets the statuses from the
    hold records (lifecycle.settle_holds); allocations, dispatches and events other than quality
    tests and corrections are refused from then on; announces every held batch so consumer pages
    show the warning at once. Refuses (NotAllowed) a caller who may not recall the lot and
    (RecallStateError) a lot that already has an open recall or an empty reason.
    """
    if not reason.strip():
        raise RecallStateError(_("Give the reason for the recall."))
    if not may_open_recall(actor, batch):
        raise NotAllowed(_("You may not recall lot %(lot)s.") % {"lot": batch.lot_code})
    batch = _lock_lots([batch.pk])[0]
    if Recall.objects.open().filter(batch=batch).exists():
        raise RecallStateError(_("Lot %(lot)s already has an open recall.") % {"lot": batch.lot_code})
    locked = [batch, *_lock_made_from(batch)]
    recall = Recall.objects.create(batch=batch, reason=reason.strip(), opened_by=actor)
    RecallHold.objects.bulk_create(
        RecallHold(recall=recall, batch=lot, previous_status=lot.status_before_hold or lot.status) for lot in locked
    )
    ids = [lot.pk for lot in locked]
    lifecycle.settle_holds(ids)
    announce(ids)
    return recall


@transaction.atomic
def close_recall(*, recall: Recall, actor, note: str = "") -> Recall:
    """Close an open recall and lift its holds.

    Side effects: locks the recall row, then the lots it held (primary-key order); sets
    closed_at/closed_by/close_note; gives every lot it held the status its remaining holds call
    for (lifecycle.settle_holds: still recalled or on hold while another open recall or safety
    hold holds it, else the status it was held in); announces every batch it held. Refuses
    (NotAllowed) a caller who may not close it (permissions.may_close_recall: only the
    organisation that opened it) and (RecallStateError) a recall already closed.
    """
    recall = Recall.objects.select_for_update().get(pk=recall.pk)
    if not recall.is_open:
        raise RecallStateError(_("This recall is already closed."))
    if not may_close_recall(actor, recall):
        raise NotAllowed(_("You may not close the recall of lot %(lot)s.") % {"lot": recall.batch.lot_code})
    ids = list(recall.holds.values_list("batch_id", flat=True))
    _lock_lots(ids)
    recall.closed_at, recall.closed_by, recall.close_note = timezone.now(), actor, note
    recall.save(update_fields=["closed_at", "closed_by", "close_note"])
    lifecycle.settle_holds(ids)
    announce(ids)
    return recall


# ---------------------------------------------------------------------------------------------
# Safety holds (issue 12): a failed quality test holds the lot and what was made from it at once;
# someone who may decide it (permissions.may_decide_hold: those who may recall the lot) releases
# it or turns the hold into a recall. Both decisions are recorded as a hold_decision event in the
# lot's village chain.


class HoldStateError(errors.Conflict):
    """The hold cannot change that way (deciding a hold already decided)."""


def _open_safety_hold(*, batch: Batch, test: TraceEvent, actor, lots: list[Batch]) -> Hold:
    """Hold `batch` and `lots` (made from it) after the failed test `test`. Caller holds the locks."""
    data = test.data
    reason = _("Failed quality test %(test)s (%(lab)s): %(result)s") % {
        "test": data.get("test") or data.get("name") or "",
        "lab": data.get("lab") or "",
        "result": data.get("result"),
    }
    hold = Hold.objects.create(batch=batch, test_event=test, reason=reason, opened_by=actor)
    ids = [batch.pk, *(lot.pk for lot in lots)]
    HoldLot.objects.bulk_create(HoldLot(hold=hold, batch_id=pk) for pk in ids)
    lifecycle.settle_holds(ids)
    announce(ids)
    return hold


@transaction.atomic
def decide_hold(*, hold: Hold, decision: str, actor, note: str = "") -> Hold:
    """Release a safety hold, or turn it into a recall of the tested lot (decision released or
    recalled).

    Side effects: locks the hold row, then its lots (primary-key order), then re-reads whether it
    is still open, so two decisions at once record one; for `recalled` opens a recall of the lot
    (open_recall, with the hold's reason and the note) or, when one is already open, links it;
    records who decided, when and why, and a hold_decision event (lines: the held lots) in the
    lot's village chain; gives every lot the status its remaining holds call for (a lot another
    hold or a recall still holds stays held); announces the lots. Refuses (NotAllowed) a caller
    who may not recall the lot, (HoldStateError) a hold already decided or an unknown decision.
    """
    if decision not in Hold.Decision.values:
        raise HoldStateError(_('Unknown decision "%(decision)s": release or recall.') % {"decision": decision})
    hold = Hold.objects.select_for_update().select_related("batch__farm__village").get(pk=hold.pk)
    if not may_decide_hold(actor, hold):
        raise NotAllowed(_("You may not decide the hold of lot %(lot)s.") % {"lot": hold.batch.lot_code})
    if not hold.is_open:
        raise HoldStateError(_("This hold is already decided."))
    ids = list(hold.lots.values_list("batch_id", flat=True))
    if decision == Hold.Decision.RECALLED:
        recall = Recall.objects.open().filter(batch=hold.batch).first()
        if recall is None:
            recall = open_recall(batch=hold.batch, reason=f"{hold.reason}\n{note}".strip(), actor=actor)
        hold.recall = recall
    lots = _lock_lots(ids)
    village = hold.batch.farm.village
    event, _created = record_event(
        kind=TraceEvent.Kind.HOLD_DECISION,
        village=village,
        farm=hold.batch.farm,
        occurred_at=timezone.now(),
        lines=[(lot, EventBatch.Role.SUBJECT, None, "") for lot in lots],
        actor=actor,
        data={
            "decision": decision,
            "note": note,
            "reason": hold.reason,
            "failed_test": str(hold.test_event.client_id),
            **({"recall": hold.recall.pk} if hold.recall else {}),
        },
        location_name=hold.batch.farm.name_zh,
        location_gln=village.gln or "",
    )
    hold.decision, hold.decided_by, hold.decided_at = decision, actor, timezone.now()
    hold.decision_note, hold.decision_event = note, event
    hold.save(update_fields=["decision", "decided_by", "decided_at", "decision_note", "decision_event", "recall"])
    lifecycle.settle_holds(ids)
    announce(ids)
    return hold

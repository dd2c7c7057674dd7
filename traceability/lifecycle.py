"""A lot's lifecycle: the one state machine every door goes through (docs/architecture.md, "A lot's
lifecycle", has it as a table).

States: growing -> harvested -> packed, forward only, plus two hold states laid over them: on_hold
(a failed quality test, or made from a recalled lot) and recalled. A held lot remembers the state it
was held in (Batch.status_before_hold) and returns to it when the last hold on it is lifted.

Events are placed in the lot's history at the time they happened, not the time they arrive (phones
capture offline), so an event is checked against the state the lot was in *at its time*: a harvest
that happened before the packing but arrives after it is accepted; a harvest that happened after
the packing is refused with a message saying how to correct the record instead.

Every function here is called by traceability.services (and the validators by forms and
serializers, for field-level messages): the web forms, the API, the CSV/Excel import, the admin
and the management commands reach these rules only through those services. This module is the
only code that writes a lot's status.
"""

import math
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from api import errors
from traceability.models import Batch, BatchInput, EventBatch, EventKind, HoldLot, Recall, RecallHold, TraceEvent

Status = Batch.Status
Kind = EventKind


class InsufficientQuantity(errors.Conflict):
    """Raised when an allocation asks for more than a batch has left. The message is for people."""


class BatchOnHold(errors.Conflict):
    """Raised when a held or recalled batch is asked to move or to take an event it cannot take."""


class EventRefused(errors.Conflict):
    """The lot's lifecycle does not allow this event now (out of order, beyond the lot's quantity,
    not harvested yet). The message says how to correct the record instead."""


# ---------------------------------------------------------------------------------------------
# The state machine

# The events a person records on one lot (web form, API, phone). Shipping and receiving come from
# shipment workflows, transformations and corrections from their own services.
FARM_EVENT_KINDS = (
    Kind.PLANTING,
    Kind.INPUT_APPLIED,
    Kind.HARVEST,
    Kind.COOLING,
    Kind.PACKING,
    Kind.QUALITY_TEST,
    Kind.TEMPERATURE,
)
PROGRESS = (Status.GROWING, Status.HARVESTED, Status.PACKED)
HELD = (Status.ON_HOLD, Status.RECALLED)

# Which farm-side events a lot accepts in each state (the state at the event's time). Corrections
# are accepted in every state (services.record_correction).
ACCEPTS = {
    Status.GROWING: {Kind.PLANTING, Kind.INPUT_APPLIED, Kind.HARVEST, Kind.QUALITY_TEST},
    Status.HARVESTED: {
        Kind.INPUT_APPLIED,
        Kind.HARVEST,
        Kind.COOLING,
        Kind.PACKING,
        Kind.QUALITY_TEST,
        Kind.TEMPERATURE,
    },
    Status.PACKED: {Kind.COOLING, Kind.PACKING, Kind.QUALITY_TEST, Kind.TEMPERATURE},
    Status.ON_HOLD: {Kind.QUALITY_TEST},
    Status.RECALLED: {Kind.QUALITY_TEST},
}
# The transitions events make (forward only, never out of a hold).
MOVES = {Kind.HARVEST: Status.HARVESTED, Kind.PACKING: Status.PACKED}
# States whose stock can go into a shipment or a transformation, and be dispatched.
ALLOCATABLE = (Status.HARVESTED, Status.PACKED)
# Kinds whose order among themselves matters: replayed in time order when one of them arrives.
# Events recorded at the same minute count in this order (a harvest and its packing typed at
# 08:00 are harvest first).
ORDERED = (Kind.PLANTING, Kind.INPUT_APPLIED, Kind.HARVEST, Kind.PACKING)
_RANK = {kind: rank for rank, kind in enumerate(ORDERED)}
# Kinds whose quantities add up and may not exceed the lot's.
SUMMED = (Kind.HARVEST, Kind.PACKING)

# Phones capture offline, so an event may be long past; a time in the future is a clock error.
# One tolerance for every door.
CLOCK_SKEW = timedelta(minutes=5)
# Lot dates before this are typing mistakes (a year 1 or 0026), refused by every door.
EARLIEST_DATE = date(2000, 1, 1)
# A produce temperature outside this range is a sensor fault or a typo, not a reading: refused.
# Deep-frozen produce sits at -18 to -25 °C and a lorry in the sun reaches about 50 °C.
PLAUSIBLE_C = (Decimal("-30"), Decimal("60"))


def _when(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _kind(kind: str) -> str:
    return str(EventKind(kind).label).lower()


# ---------------------------------------------------------------------------------------------
# Validators shared by the services and, for field-level messages, by forms and serializers.
# They raise django.core.exceptions.ValidationError keyed by field, which forms, DRF and the API's
# error format all understand.


def check_not_in_future(value: datetime, field: str = "occurred_at") -> datetime:
    if value > timezone.now() + CLOCK_SKEW:
        raise ValidationError({field: [_("This time is in the future: check the device's clock.")]})
    return value


def check_lot_dates(planted_on: date | None, harvested_on: date | None) -> None:
    """A lot's planting and harvest dates: neither in the future nor before 2000, harvest not
    before planting. The web form, the API, the import and register_batch all ask this."""
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    for name, value in (("planted_on", planted_on), ("harvested_on", harvested_on)):
        if value is None:
            continue
        if value > today:
            errors.setdefault(name, []).append(_("This date is in the future."))
        elif value < EARLIEST_DATE:
            errors.setdefault(name, []).append(_("Dates before 2000 are not accepted: check the year."))
    if planted_on and harvested_on and harvested_on < planted_on and "harvested_on" not in errors:
        errors["harvested_on"] = [_("The harvest date cannot be before the planting date.")]
    if errors:
        raise ValidationError(errors)


def lot_code_day(*, harvested_on: date | None = None, transformed_at: datetime | None = None) -> date:
    """The date a lot code carries, one rule for registration, import and transformations: the
    lot's harvest date; for a lot not harvested yet, the day it is registered (never its planting
    date); for a transformation's output, the day it was made (FSMA 204 assigns a transformed
    lot's code then)."""
    if transformed_at is not None:
        return timezone.localdate(transformed_at)
    return harvested_on or timezone.localdate()


def temperature(data: dict) -> float | None:
    """The reading in `data` (key temperature_c) as a number, None when there is none. Raises
    ValidationError for a value that is not a number or is physically impossible for produce."""
    value = data.get("temperature_c")
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        reading = float(value)
    except (TypeError, ValueError):
        raise ValidationError({"temperature_c": [_("The temperature must be a number of degrees Celsius.")]})
    low, high = PLAUSIBLE_C
    if not math.isfinite(reading) or not float(low) <= reading <= float(high):
        raise ValidationError(
            {
                "temperature_c": [
                    _("%(value)s °C is not a possible produce temperature (%(low)s to %(high)s °C): check the sensor.")
                    % {"value": format(reading, "g"), "low": low, "high": high}
                ]
            }
        )
    return reading


def flag_excursion(data: dict, crop) -> dict:
    """`data` as it will be recorded: a temperature outside the crop's storage range is accepted
    and flagged (`excursion: true`, with the range it was checked against); the flag is always the
    server's, never the client's."""
    data = {key: value for key, value in data.items() if key not in ("excursion", "storage_range_c")}
    reading = temperature(data)
    if reading is None:
        return data
    low, high = crop.storage_min_c, crop.storage_max_c
    if (low is not None and reading < float(low)) or (high is not None and reading > float(high)):
        data["excursion"] = True
        data["storage_range_c"] = [None if low is None else float(low), None if high is None else float(high)]
    return data


def quality_result(value) -> bool | None:
    """A recorded quality-test result: True passed, False failed, None unknown. Phones record it in
    either language or both ("合格 pass"); "不合格" (failed) contains "合格" (passed), so failure is
    looked for first."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("false", "ng") or "fail" in lowered or "不合格" in lowered:
        return False
    if lowered in ("true", "ok") or "pass" in lowered or "合格" in lowered:
        return True
    return None


def test_failed(kind: str, data: dict) -> bool:
    return kind == Kind.QUALITY_TEST and quality_result(data.get("result")) is False


# ---------------------------------------------------------------------------------------------
# Checking an event against the lot's history


def lot_history(batch: Batch, excluding: TraceEvent | None = None) -> list[tuple[datetime, str, Decimal | None]]:
    """(occurred_at, kind, quantity) of the lot's effective events whose order matters."""
    lines = EventBatch.objects.filter(
        batch=batch, event_kind__in=ORDERED, event__in=TraceEvent.objects.effective()
    ).exclude(role=EventBatch.Role.INPUT)
    if excluding is not None:
        lines = lines.exclude(event=excluding)
    return list(lines.values_list("event__occurred_at", "event_kind", "quantity"))


def _baseline(batch: Batch, kinds: set[str]) -> str:
    """The lot's state before any of its ordered events: packed for a transformation's output (the
    transformation assigned its lot code, like packing); harvested for a lot registered with a harvest
    date and no harvest event; growing otherwise."""
    if BatchInput.objects.filter(output=batch).exists():
        return Status.PACKED
    if batch.harvested_on and Kind.HARVEST not in kinds:
        return Status.HARVESTED
    return Status.GROWING


def _order(events):
    return sorted(events, key=lambda event: (event[0], _RANK.get(event[1], len(ORDERED))))


def _forward(state: str, kind: str) -> str:
    after = MOVES.get(kind)
    if after is not None and PROGRESS.index(after) > PROGRESS.index(state):
        return after
    return state


def state_at(batch: Batch, when: datetime, history) -> str:
    state = _baseline(batch, {kind for _at, kind, _q in history})
    for occurred_at, kind, _quantity in _order(history):
        if occurred_at <= when:
            state = _forward(state, kind)
    return state


def _refusal(batch: Batch, state: str, kind: str, when: datetime) -> str:
    names = {"lot": batch.lot_code, "when": _when(when), "kind": _kind(kind)}
    if state == Status.GROWING:
        return (
            _("Lot %(lot)s has no harvest recorded before %(when)s: record the harvest first, or check the time.")
            % names
        )
    if kind == Kind.HARVEST:
        return (
            _(
                "Lot %(lot)s is already packed at %(when)s: a harvest cannot come after packing. To change the "
                "harvest's quantity or time, record a correction of the harvest event; if the packing did not "
                "happen, record a correction of the packing event."
            )
            % names
        )
    if kind == Kind.PLANTING:
        return (
            _(
                "Lot %(lot)s is already harvested at %(when)s: planting comes before the harvest. Check the time; "
                "if the harvest was recorded by mistake, record a correction of the harvest event."
            )
            % names
        )
    return (
        _(
            "Lot %(lot)s is already packed at %(when)s: a %(kind)s comes before packing. Check the time; if the "
            "packing was recorded by mistake, record a correction of the packing event."
        )
        % names
    )


def _check_order(batch: Batch, kind: str, when: datetime, history) -> None:
    if kind not in ORDERED:
        state = state_at(batch, when, history)
        if kind not in ACCEPTS[state]:
            raise EventRefused(_refusal(batch, state, kind, when))
        return
    new = (when, kind, None, True)
    events = _order([(*event, False) for event in history] + [new])
    state = _baseline(batch, {event[1] for event in events})
    for occurred_at, event_kind, _quantity, is_new in events:
        if event_kind not in ACCEPTS[state]:
            if is_new:
                raise EventRefused(_refusal(batch, state, kind, when))
            raise EventRefused(
                _(
                    "A %(other)s of lot %(lot)s is recorded at %(other_when)s, after this %(kind)s at %(when)s, and "
                    "cannot follow it: check the time, or record a correction of that %(other)s event."
                )
                % {
                    "other": _kind(event_kind),
                    "other_when": _when(occurred_at),
                    "lot": batch.lot_code,
                    "kind": _kind(kind),
                    "when": _when(when),
                }
            )
        state = _forward(state, event_kind)


def _amount(value) -> Decimal:
    """A quantity as lots show it (three decimals), whichever door sent it."""
    return Decimal(value).quantize(Decimal("0.001"))


def _check_quantity(batch: Batch, kind: str, quantity: Decimal, history) -> None:
    names = {"lot": batch.lot_code, "quantity": _amount(batch.quantity), "unit": batch.unit, "asked": _amount(quantity)}
    if quantity <= 0:
        raise EventRefused(_("The quantity must be greater than zero."))
    if quantity > batch.quantity:
        raise EventRefused(
            _(
                "Lot %(lot)s holds %(quantity)s %(unit)s: an event cannot concern %(asked)s %(unit)s. Record the "
                "extra as a new lot."
            )
            % names
        )
    if kind in SUMMED:
        recorded = sum((q for _at, k, q in history if k == kind and q is not None), Decimal("0"))
        if recorded + quantity > batch.quantity:
            raise EventRefused(
                _(
                    "Lot %(lot)s holds %(quantity)s %(unit)s and %(recorded)s %(unit)s of %(kind)s are recorded "
                    "already: %(asked)s %(unit)s more would exceed it. Record the extra as a new lot, or record a "
                    "correction of the earlier %(kind)s event if its quantity is wrong."
                )
                % {**names, "recorded": _amount(recorded), "kind": _kind(kind)}
            )


# The harvester's identity (FSMA 204: the business name and phone of the harvester, 21 CFR
# 1.1330(a)): regulators' only. Exports show it to those traceability.permissions.may_see_harvester
# allows; the consumer page never reads it.
HARVESTER_KEYS = {"harvester_name": 100, "harvester_phone": 32}


def harvester(batch: Batch, kind: str, data: dict) -> dict:
    """A harvest's key data elements with its harvester: as given, else the farm's grower and their
    (private) phone, as they were when the harvest was recorded. Other events are left alone."""
    if kind != Kind.HARVEST:
        return data
    for key, limit in HARVESTER_KEYS.items():
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or len(value.strip()) > limit):
            raise ValidationError({key: [_("Give at most %(limit)s characters of text.") % {"limit": limit}]})
    name = (data.get("harvester_name") or "").strip()
    phone = (data.get("harvester_phone") or "").strip()
    if not name:
        name, phone = batch.farm.grower_name, phone or batch.farm.contact_phone
    return {**data, "harvester_name": name, "harvester_phone": phone}


def check_farm_event(
    *,
    batch: Batch,
    kind: str,
    occurred_at: datetime,
    quantity: Decimal | None = None,
    data: dict | None = None,
    replacing: TraceEvent | None = None,
) -> dict:
    """Refuse an event the lot's lifecycle does not allow; return its key data elements as they
    will be recorded (temperature excursions flagged). `batch` must be locked and fresh. For a
    correction's replacement event, `replacing` is the event it replaces: it is left out of the
    history, and the hold does not apply (corrections are accepted on held lots).

    Raises ValidationError (a kind that is not a farm event, a time in the future, an impossible
    temperature), BatchOnHold (an event other than a quality test on a held lot) and EventRefused
    (out of order, more than the lot)."""
    if kind not in FARM_EVENT_KINDS:
        raise ValidationError({"kind": [_("“%(kind)s” is not an event recorded on a lot.") % {"kind": kind}]})
    check_not_in_future(occurred_at)
    data = harvester(batch, kind, flag_excursion(data or {}, batch.crop))
    if batch.status in HELD and replacing is None and kind not in ACCEPTS[batch.status]:
        raise BatchOnHold(held_message(batch))
    history = lot_history(batch, excluding=replacing)
    _check_order(batch, kind, occurred_at, history)
    if quantity is not None:
        _check_quantity(batch, kind, quantity, history)
    return data


def held_message(batch: Batch) -> str:
    if batch.status == Status.RECALLED:
        return _("Lot %(lot)s is recalled: only quality tests and corrections can be recorded.") % {
            "lot": batch.lot_code
        }
    return _("Lot %(lot)s is on hold: until it is released only quality tests and corrections can be recorded.") % {
        "lot": batch.lot_code
    }


def check_allocatable(batch: Batch) -> None:
    """A lot whose stock may go into a shipment or a transformation, or leave in one. `batch` locked."""
    if batch.status in HELD:
        raise BatchOnHold(
            _("Lot %(lot)s is on hold and cannot be shipped or used until it is released.") % {"lot": batch.lot_code}
        )
    if batch.status not in ALLOCATABLE:
        raise EventRefused(
            _("Lot %(lot)s is still growing: record its harvest before shipping or using it.") % {"lot": batch.lot_code}
        )


# ---------------------------------------------------------------------------------------------
# Writing a lot's status: the only place that does. Callers hold the lots' row locks.


def initial_status(*, harvested_on: date | None, made_by_transformation: bool = False) -> str:
    if made_by_transformation:
        return Status.PACKED
    return Status.HARVESTED if harvested_on else Status.GROWING


def apply_event(batch: Batch, kind: str, occurred_at: datetime) -> None:
    """Move a locked lot forward after an event: harvest -> harvested (and its harvest date when it
    has none), packing -> packed. Never backward, never out of a hold. The UPDATE is guarded by
    the status read under the lock."""
    updates = {}
    if batch.status in PROGRESS and _forward(batch.status, kind) != batch.status:
        updates["status"] = _forward(batch.status, kind)
    if kind == Kind.HARVEST and batch.harvested_on is None:
        updates["harvested_on"] = timezone.localdate(occurred_at)
    if updates:
        Batch.objects.filter(pk=batch.pk, status=batch.status).update(**updates)
        for name, value in updates.items():
            setattr(batch, name, value)


def settled_status(batch: Batch) -> str:
    """The state a lot's effective history puts it in (used after a correction)."""
    history = lot_history(batch)
    state = _baseline(batch, {kind for _at, kind, _q in history})
    for _at, kind, _quantity in _order(history):
        state = _forward(state, kind)
    return state


def resettle(batch: Batch) -> None:
    """After a correction voided or replaced one of a locked lot's harvest or packing events: the
    lot takes the state its effective history gives (a voided packing takes it back to harvested).
    A held lot keeps its hold and only the state it returns to changes."""
    state = settled_status(batch)
    if batch.status in HELD:
        Batch.objects.filter(pk=batch.pk).update(status_before_hold=state)
        batch.status_before_hold = state
    elif state != batch.status:
        Batch.objects.filter(pk=batch.pk, status=batch.status).update(status=state)
        batch.status = state


def settle_holds(batch_ids) -> None:
    """Give each lot (row-locked by the caller, in primary-key order) the status its holds call
    for, read from the hold records under the lock: recalled while an open recall is on the lot
    itself, on hold while an open recall or an open safety hold holds it, otherwise the state it was
    held in. Call after creating or closing a recall or a safety hold."""
    ids = sorted(set(batch_ids))
    if not ids:
        return
    recalled = set(Recall.objects.open().filter(batch_id__in=ids).values_list("batch_id", flat=True))
    held = set(
        RecallHold.objects.filter(recall__closed_at__isnull=True, batch_id__in=ids).values_list("batch_id", flat=True)
    )
    held |= set(
        HoldLot.objects.filter(hold__decided_at__isnull=True, batch_id__in=ids).values_list("batch_id", flat=True)
    )
    for pk, status, before in (
        Batch.objects.filter(pk__in=ids).order_by("pk").values_list("pk", "status", "status_before_hold")
    ):
        if pk in recalled:
            target = Status.RECALLED
        elif pk in held:
            target = Status.ON_HOLD
        elif status not in HELD:
            target = status
        else:
            # `before` is empty only for a lot held before that column existed: its history says.
            target = before or settled_status(Batch.objects.get(pk=pk))
        if target == status:
            continue
        updates = {"status": target}
        if target in HELD and status not in HELD:
            updates["status_before_hold"] = status
        elif target not in HELD:
            updates["status_before_hold"] = ""
        Batch.objects.filter(pk=pk, status=status).update(**updates)

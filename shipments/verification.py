"""The checks of shipments' rows against the event chains, run by every verification
(traceability.verification, `manage.py verify_events`; registered by ShipmentsConfig.ready).

- A dispatched or delivered shipment's items are the lines of its shipping event, and a delivered
  one's are also the lines of its receiving event; its times and origin village are the events';
  a shipment that never left has no such event, and no event names a shipment that does not exist.
- Every lot's allocated quantity is what its transformation links and the items of shipments not
  cancelled take from it (the links and the shipped items being checked against the chain).
"""

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Sum

from shipments.models import Shipment, ShipmentItem
from traceability import chain
from traceability.models import BatchInput, EventBatch, TraceEvent
from traceability.verification import Facts, Problem, fact_check

Kind = TraceEvent.Kind
LEFT = (Shipment.Status.DISPATCHED, Shipment.Status.DELIVERED)


def _movements() -> dict[tuple[str, str], dict]:
    """(shipment code, kind) -> the earliest shipping or receiving event naming it, with its lines
    ({lot id: quantity}). A replacement (correction) of such an event repeats its lines."""
    found: dict[tuple[str, str], dict] = {}
    events = TraceEvent.objects.filter(kind__in=[Kind.SHIPPING, Kind.RECEIVING]).order_by("village_id", "seq")
    rows = events.values_list("pk", "kind", "village_id", "seq", "occurred_at", "data__shipment")
    by_id = {}
    for pk, kind, village_id, seq, occurred_at, code in rows.iterator(chunk_size=5000):
        key = (str(code), kind)
        if key not in found:
            found[key] = by_id[pk] = {
                "kind": kind, "village_id": village_id, "seq": seq, "occurred_at": occurred_at, "lines": {},
            }  # fmt: skip
    lines = EventBatch.objects.filter(event__kind__in=[Kind.SHIPPING, Kind.RECEIVING]).values_list(
        "event_id", "batch_id", "quantity"
    )
    for event_id, lot_id, quantity in lines.iterator(chunk_size=5000):
        if event_id in by_id:
            by_id[event_id]["lines"][lot_id] = quantity
    return found


@fact_check
def shipments(facts: Facts) -> Iterable[Problem]:
    movements = _movements()
    items: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for shipment_id, lot_id, quantity in ShipmentItem.objects.values_list("shipment_id", "batch_id", "quantity"):
        items[shipment_id][lot_id] = quantity
    known = set()
    rows = Shipment.objects.values_list("pk", "public_code", "status", "origin_village_id", "dispatched_at",
                                        "delivered_at")  # fmt: skip
    for pk, code, status, village_id, dispatched_at, delivered_at in rows.iterator(chunk_size=5000):
        known.add(code)
        name = f"shipment {code}"
        expected = [(Kind.SHIPPING, dispatched_at)] if status in LEFT else []
        if status == Shipment.Status.DELIVERED:
            expected.append((Kind.RECEIVING, delivered_at))
        for kind in (Kind.SHIPPING, Kind.RECEIVING):
            event = movements.get((code, kind))
            if event is not None and kind not in [k for k, _at in expected]:
                where = facts.where(kind, event["village_id"], event["seq"])
                yield Problem(f"{name}: is {status} in the shipments table, but the chain records its {kind} ({where})",
                              village_id)  # fmt: skip
        for kind, at in expected:
            event = movements.get((code, kind))
            if event is None:
                yield Problem(f"{name}: is {status} in the shipments table, but no {kind} event records it", village_id)
                continue
            where = facts.where(kind, event["village_id"], event["seq"])
            if event["village_id"] != village_id:
                yield Problem(f"{name}: its origin village is not the chain's of its {kind} event ({where})",
                              village_id)  # fmt: skip
            if at != event["occurred_at"]:
                yield Problem(f"{name}: {kind} time is {at} in the shipments table, {event['occurred_at']} in the "
                              f"chain ({where})", village_id)  # fmt: skip
            recorded, held = event["lines"], items.get(pk, {})
            for lot_id in sorted(recorded.keys() | held.keys(), key=facts.code):
                lot = f"{name} lot {facts.code(lot_id)}"
                if lot_id not in held:
                    yield Problem(f"{lot}: in the chain ({where}) but missing from the shipment items", village_id)
                elif lot_id not in recorded:
                    yield Problem(f"{lot}: in the shipment items but not in the chain ({where})", village_id)
                elif held[lot_id] != recorded[lot_id]:
                    yield Problem(
                        f"{lot}: quantity is {chain.quantity_text(held[lot_id])} in the shipment items, "
                        f"{chain.quantity_text(recorded[lot_id])} in the chain ({where})",
                        village_id,
                    )
    for (code, kind), event in sorted(movements.items()):
        if code not in known:
            where = facts.where(kind, event["village_id"], event["seq"])
            yield Problem(f"{where} names shipment {code}, which is not in the shipments table", event["village_id"])
    facts.counts["shipment(s)"] = len(known)


@fact_check
def allocations(facts: Facts) -> Iterable[Problem]:
    """allocated_quantity = what transformation links and the items of live shipments take."""
    taken: dict[int, Decimal] = defaultdict(Decimal)
    for lot_id, quantity in (
        BatchInput.objects.values("input_id").annotate(q=Sum("quantity")).values_list("input_id", "q")
    ):
        taken[lot_id] += quantity
    items = ShipmentItem.objects.exclude(shipment__status=Shipment.Status.CANCELLED)
    for lot_id, quantity in items.values("batch_id").annotate(q=Sum("quantity")).values_list("batch_id", "q"):
        taken[lot_id] += quantity
    for lot_id, (code, village_id, *_facts, allocated) in facts.lots.items():
        if allocated != taken.get(lot_id, Decimal(0)):
            yield Problem(
                f"lot {code}: allocated quantity is {chain.quantity_text(allocated)} in the lots table, but its "
                f"transformation links and shipment items take {chain.quantity_text(taken.get(lot_id, 0))}",
                village_id,
            )

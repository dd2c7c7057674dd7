"""The hash chain that makes the event log tamper-evident.

Each village has its own chain (so writers in different villages never wait for each other):
event N stores the hash of event N-1 in `prev_hash` and its own `hash` = SHA-256 over
`prev_hash` and its canonical content. Changing, deleting, reordering or inserting an event
breaks a link that `verify_events` finds. A chain recomputed from some event on, or cut short,
holds together by itself: signed anchors of the chains' heads catch those (traceability.anchors).
What the rows of lots, links and shipments say is checked against the chain by
traceability.verification.
"""

import hashlib
import json
from collections import namedtuple
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal

GENESIS = "0" * 64


def canonical_content(event, lines) -> bytes:
    """The bytes that are hashed: every recorded fact of the event, in a fixed order and format.

    `lines` are (lot_code, role, quantity, unit) tuples; the caller passes them because the
    event's rows may not be saved yet when its hash is computed.
    """

    # Quantities are rounded as the database stores them and instants are written in UTC, so the
    # content hashed at insert is byte-identical to the content re-read from either database.
    qty = quantity_text
    body = {
        "client_id": str(event.client_id),
        "kind": event.kind,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "recorded_at": event.recorded_at.astimezone(UTC).isoformat(),
        "village": event.village_id,
        "farm": event.farm_id,
        "location_gln": event.location_gln,
        "location_name": event.location_name,
        "actor": event.actor_id,
        "data": event.data,
        "corrects": event.corrects_id,
        "correction_reason": event.correction_reason,
        "seq": event.seq,
        "lines": sorted([lot, role, qty(q), unit] for lot, role, q, unit in lines),
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def quantity_text(value) -> str | None:
    """A quantity as the chain writes it: rounded to the database's 3 decimals, no trailing zeros."""
    return None if value is None else format(Decimal(value).quantize(Decimal("0.001")).normalize(), "f")


def registration_data(*, farm_id: int, field_id: int | None, crop_id: int, quantity, unit: str, status: str) -> dict:
    """The key data elements of a lot's registration event: the facts of its row that the chain
    covers (the lot code is covered by the event's line), and the status it started with."""
    return {
        "farm": farm_id,
        "field": field_id,
        "crop": crop_id,
        "quantity": quantity_text(quantity),
        "unit": unit,
        "status": status,
    }


def link_hash(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + content).hexdigest()


@dataclass(frozen=True)
class BrokenLink:
    """The first place where a village's chain does not hold, and what is wrong there."""

    village_id: int
    village_code: str
    seq: int
    event_id: int
    problem: str

    def __str__(self) -> str:
        where = f"village {self.village_code} (id {self.village_id}), seq {self.seq}, event id {self.event_id}"
        return f"{where}: {self.problem}"


# An event as the walk reads it: the fields canonical_content reads, and its links. Tuples, not
# model instances: building a TraceEvent costs more than hashing it.
_Row = namedtuple(
    "_Row",
    "id client_id kind occurred_at recorded_at village_id farm_id location_gln location_name actor_id data "
    "corrects_id correction_reason seq prev_hash hash",
)


@dataclass(frozen=True)
class Walk:
    """What walking a chain found: the last event read (`seq`, `hash`; 0 and GENESIS for an empty
    chain), how many events were read, and the first broken link if any."""

    seq: int
    hash: str
    events: int
    broken: BrokenLink | None


def walk_village(village, *, after: tuple[int, str] = (0, GENESIS), upto: int | None = None,
                 progress=None, chunk_size: int = 2000) -> Walk:  # fmt: skip
    """Walk one village's chain in seq order from the event after `after` (seq, hash of an event
    already trusted, e.g. an anchored one) to `upto` (default: the end), recompute every hash, and
    stop at the first broken link. `progress(events_read)` is called after every chunk.

    Detects an altered field (the content no longer matches its hash), a deleted event (a gap in
    seq, and the next event's prev_hash points at nothing), two events swapped and a forged event
    inserted (seq or prev_hash no longer follow). Reads in chunks, so memory stays flat.
    """
    from traceability.models import EventBatch, TraceEvent

    last_seq, prev_hash = after
    expected_seq, read = last_seq + 1, 0
    while True:
        events = TraceEvent.objects.filter(village_id=village.pk, seq__gt=last_seq)
        if upto is not None:
            events = events.filter(seq__lte=upto)
        events = [_Row(*row) for row in events.order_by("seq").values_list(*_Row._fields)[:chunk_size]]
        if not events:
            return Walk(expected_seq - 1, prev_hash, read, None)
        lines: dict[int, list] = {event.id: [] for event in events}
        rows = EventBatch.objects.filter(event_id__in=lines).values_list(
            "event_id", "batch__lot_code", "role", "quantity", "unit"
        )
        for event_id, lot, role, quantity, unit in rows:
            lines[event_id].append((lot, role, quantity, unit))
        for event in events:
            problem = None
            if event.seq != expected_seq:
                problem = f"sequence gap: expected seq {expected_seq}, found {event.seq} (an event was removed)"
            elif event.prev_hash != prev_hash:
                problem = "prev_hash is not the previous event's hash (events removed, reordered or inserted)"
            elif link_hash(event.prev_hash, canonical_content(event, lines[event.id])) != event.hash:
                lots = ", ".join(sorted(lot for lot, *_rest in lines[event.id])) or "no lot"
                problem = (
                    "the stored content does not match its hash (a field or a batch line was altered): "
                    f"it now reads as a {event.kind} event of {lots}"
                )
            if problem is not None:
                link = BrokenLink(village.pk, village.code, event.seq, event.id, problem)
                return Walk(expected_seq - 1, prev_hash, read, link)
            expected_seq, prev_hash = event.seq + 1, event.hash
            read += 1
        last_seq = events[-1].seq
        if progress is not None:
            progress(read)


def verify_village(village, *, chunk_size: int = 2000) -> BrokenLink | None:
    """Walk one village's whole chain; the first broken link, or None."""
    return walk_village(village, chunk_size=chunk_size).broken


def verify_all(villages=None) -> list[BrokenLink]:
    """Verify every village's chain (or the given villages'); one BrokenLink per broken chain."""
    from farms.models import Village

    villages = Village.objects.order_by("pk") if villages is None else villages
    return [broken for village in villages if (broken := verify_village(village)) is not None]

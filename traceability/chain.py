"""The hash chain that makes the event log tamper-evident.

Each village has its own chain (so writers in different villages never wait for each other):
event N stores the hash of event N-1 in `prev_hash` and its own `hash` = SHA-256 over
`prev_hash` and its canonical content. Changing, deleting, reordering or inserting an event
breaks a link that `verify_events` finds.
"""

import hashlib
import json
from decimal import Decimal

GENESIS = "0" * 64


def canonical_content(event, lines) -> bytes:
    """The bytes that are hashed: every recorded fact of the event, in a fixed order and format.

    `lines` are (lot_code, role, quantity, unit) tuples; the caller passes them because the
    event's rows may not be saved yet when its hash is computed.
    """

    def qty(value):
        return None if value is None else format(Decimal(value).normalize(), "f")

    body = {
        "client_id": str(event.client_id),
        "kind": event.kind,
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
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


def link_hash(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + content).hexdigest()

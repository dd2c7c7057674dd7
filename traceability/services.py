"""Workflows of the traceability record. Every function is atomic and keyword-only."""

import uuid
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from farms.models import Farm, Village
from traceability import chain
from traceability.models import Batch, EventBatch, TraceEvent


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

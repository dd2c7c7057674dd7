"""Record a registration event for every lot that has none (every lot registered before issue 13),
so that verification covers their farm, field, crop, quantity and unit from now on.

The facts recorded are the rows as they stand when this runs: history before it is taken as it
is. Each village's events are appended to its chain under a lock on the village row, as the
application does, with two bulk inserts per thousand lots, reading a thousand lots at a time.
Reversing leaves the events (history is append-only).
"""

import uuid

from django.db import migrations
from django.utils import timezone

from traceability import chain

STARTED = ("growing", "harvested", "packed")
CHUNK = 1000


def register_existing_lots(apps, schema_editor):
    Village = apps.get_model("farms", "Village")
    Batch = apps.get_model("traceability", "Batch")
    TraceEvent = apps.get_model("traceability", "TraceEvent")
    EventBatch = apps.get_model("traceability", "EventBatch")
    RecallHold = apps.get_model("traceability", "RecallHold")
    registered = EventBatch.objects.filter(event__kind="registration").values("batch_id")
    # A held lot started as the status its hold will give back.
    before_hold = dict(
        RecallHold.objects.filter(recall__closed_at__isnull=True).values_list("batch_id", "previous_status")
    )
    now = timezone.now()
    for village in Village.objects.order_by("pk"):
        # The ids first, in registration order: a thousand lots are then read at a time.
        pending = list(
            Batch.objects.filter(farm__village=village)
            .exclude(pk__in=registered)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)
        )
        if not pending:
            continue
        Village.objects.select_for_update().filter(pk=village.pk).first()
        head = TraceEvent.objects.filter(village=village).order_by("-seq").values("seq", "hash").first()
        seq, prev_hash = (head["seq"], head["hash"]) if head else (0, chain.GENESIS)
        for start in range(0, len(pending), CHUNK):
            chunk = list(
                Batch.objects.filter(pk__in=pending[start : start + CHUNK])
                .select_related("farm")
                .order_by("created_at", "pk")
            )
            events = []
            for lot in chunk:
                seq += 1
                status = lot.status if lot.status in STARTED else (
                    lot.status_before_hold or before_hold.get(lot.pk, "packed")
                )
                event = TraceEvent(
                    client_id=uuid.uuid4(),
                    kind="registration",
                    occurred_at=lot.created_at,
                    recorded_at=now,
                    village=village,
                    farm_id=lot.farm_id,
                    actor_id=lot.created_by_id,
                    location_name=lot.farm.name_zh,
                    location_gln=village.gln or "",
                    data=chain.registration_data(
                        farm_id=lot.farm_id,
                        field_id=lot.field_id,
                        crop_id=lot.crop_id,
                        quantity=lot.quantity,
                        unit=lot.unit,
                        status=status,
                    ),
                    corrects=None,
                    correction_reason="",
                    seq=seq,
                    prev_hash=prev_hash,
                )
                content = chain.canonical_content(event, [(lot.lot_code, "subject", None, "")])
                event.hash = prev_hash = chain.link_hash(event.prev_hash, content)
                events.append(event)
            TraceEvent.objects.bulk_create(events)
            EventBatch.objects.bulk_create(
                EventBatch(event=event, batch=lot, role="subject", event_kind="registration")
                for event, lot in zip(events, chunk, strict=True)
            )


class Migration(migrations.Migration):
    dependencies = [("traceability", "0011_registration_and_anchors")]

    operations = [migrations.RunPython(register_existing_lots, migrations.RunPython.noop, elidable=False)]

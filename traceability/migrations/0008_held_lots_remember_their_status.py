"""Lots held by an open recall when Batch.status_before_hold arrived: the state to return to is the
one their oldest open recall hold remembered (RecallHold.previous_status)."""

from django.db import migrations


def remember(apps, schema_editor):
    Batch = apps.get_model("traceability", "Batch")
    RecallHold = apps.get_model("traceability", "RecallHold")
    holds = (
        RecallHold.objects.filter(recall__closed_at__isnull=True, batch__status__in=["on_hold", "recalled"])
        .order_by("batch_id", "recall__opened_at")
        .values_list("batch_id", "previous_status")
    )
    first: dict[int, str] = {}
    for batch_id, previous in holds:
        first.setdefault(batch_id, previous)
    for batch_id, previous in first.items():
        Batch.objects.filter(pk=batch_id).update(status_before_hold=previous)


class Migration(migrations.Migration):
    dependencies = [("traceability", "0007_lot_rules")]

    operations = [migrations.RunPython(remember, migrations.RunPython.noop)]

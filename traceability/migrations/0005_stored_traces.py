"""Stored traces (PostgreSQL): traceability_storedtrace keeps a lot's computed trace with the
snapshot it was computed in; triggers write a traceability_tracechange row, for the changed lot,
its ancestors and its descendants, whenever a transaction changes something a trace shows:

- a lot's lot code, status, quantity, unit, harvest date, crop, farm or field (one statement
  trigger per UPDATE of traceability_batch, with transition tables, so a recall that holds
  10,000 lots is one trigger call);
- new transformation links (one statement trigger, after the lineage row triggers of 0004);
- new shipping or receiving lines (one statement trigger);
- a correction of an event.

traceability.trace reads a stored trace only if no change was made by a transaction its snapshot
does not see. SQLite keeps the tables empty and computes every trace.
"""

import django.db.models.deletion
import traceability.models
from django.db import migrations, models


INSTALL = """
ALTER TABLE traceability_storedtrace ALTER COLUMN document SET STORAGE EXTERNAL;

CREATE FUNCTION traceability_traces_changed(lots bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO traceability_tracechange (batch_id, xid, changed_at)
    SELECT id, pg_current_xact_id(), now() FROM (
        SELECT unnest(lots) AS id
        UNION SELECT ancestor_id FROM traceability_lineage WHERE descendant_id = ANY(lots)
        UNION SELECT descendant_id FROM traceability_lineage WHERE ancestor_id = ANY(lots)
    ) affected
$$;

CREATE FUNCTION traceability_batches_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    lots bigint[];
BEGIN
    lots := ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.lot_code, n.status, n.quantity, n.unit, n.harvested_on, n.crop_id, n.farm_id, n.field_id)
            IS DISTINCT FROM (o.lot_code, o.status, o.quantity, o.unit, o.harvested_on, o.crop_id, o.farm_id, o.field_id)
    );
    IF cardinality(lots) > 0 THEN
        PERFORM traceability_traces_changed(lots);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER traceability_batch_traces AFTER UPDATE ON traceability_batch
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION traceability_batches_changed();

CREATE FUNCTION traceability_links_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- After the row triggers of migration 0004 have extended the lineage: the outputs' ancestors
    -- now include the inputs' side. Once per statement, so a lot made from 10,000 lots in one
    -- bulk insert is one call.
    PERFORM traceability_traces_changed(ARRAY(SELECT DISTINCT output_id FROM new_rows));
    RETURN NULL;
END
$$;
CREATE TRIGGER traceability_batchinput_traces AFTER INSERT ON traceability_batchinput
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION traceability_links_added();

CREATE FUNCTION traceability_lines_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM traceability_traces_changed(
        ARRAY(SELECT DISTINCT batch_id FROM new_rows WHERE event_kind IN ('shipping', 'receiving'))
    );
    RETURN NULL;
END
$$;
CREATE TRIGGER traceability_eventbatch_traces AFTER INSERT ON traceability_eventbatch
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION traceability_lines_added();

CREATE FUNCTION traceability_event_corrected() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM traceability_traces_changed(
        ARRAY(SELECT batch_id FROM traceability_eventbatch WHERE event_id = NEW.corrects_id)
    );
    RETURN NULL;
END
$$;
CREATE TRIGGER traceability_traceevent_traces AFTER INSERT ON traceability_traceevent
    FOR EACH ROW WHEN (NEW.corrects_id IS NOT NULL)
    EXECUTE FUNCTION traceability_event_corrected();
"""

REMOVE = """
DROP TRIGGER IF EXISTS traceability_traceevent_traces ON traceability_traceevent;
DROP FUNCTION IF EXISTS traceability_event_corrected();
DROP TRIGGER IF EXISTS traceability_eventbatch_traces ON traceability_eventbatch;
DROP FUNCTION IF EXISTS traceability_lines_added();
DROP TRIGGER IF EXISTS traceability_batchinput_traces ON traceability_batchinput;
DROP FUNCTION IF EXISTS traceability_links_added();
DROP TRIGGER IF EXISTS traceability_batch_traces ON traceability_batch;
DROP FUNCTION IF EXISTS traceability_batches_changed();
DROP FUNCTION IF EXISTS traceability_traces_changed(bigint[]);
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("traceability", "0004_lineage_and_movement_lines"),
    ]

    operations = [
        migrations.CreateModel(
            name="StoredTrace",
            fields=[
                (
                    "batch",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="traceability.batch",
                    ),
                ),
                ("snapshot", traceability.models.SnapshotField()),
                ("document", models.TextField()),
            ],
            options={
                "verbose_name": "stored trace",
                "verbose_name_plural": "stored traces",
            },
        ),
        migrations.CreateModel(
            name="TraceChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("batch_id", models.BigIntegerField()),
                ("xid", traceability.models.TransactionIdField()),
                ("changed_at", models.DateTimeField()),
            ],
            options={
                "verbose_name": "trace change",
                "verbose_name_plural": "trace changes",
                "indexes": [
                    models.Index(fields=["batch_id", "xid"], name="tracechange_lot_idx"),
                    models.Index(fields=["changed_at"], name="tracechange_age_idx"),
                ],
            },
        ),
        migrations.RunPython(install, remove, elidable=False),
    ]

"""Two things a forward trace of thousands of lots reads from indexes alone:

- Lineage: the genealogy's transitive closure, one row per (ancestor, descendant) pair. Database
  triggers on BatchInput keep it on PostgreSQL and SQLite alike; existing links are walked once
  here with a recursive CTE. On PostgreSQL, links become append-only like events (the trigger of
  migration 0002 refuses UPDATE and DELETE).
- EventBatch.event_kind: the event's kind on each of its lines, filled by a trigger from the
  event whatever the insert says, with a partial covering index of the shipping and receiving
  lines per lot. It replaces the partial index of migration 0003 on events.

SQLite drops a table's triggers when Django rebuilds the table (an altered column): a later
migration that alters traceability_batchinput or traceability_eventbatch must install them again
(tests/traceability/test_lineage.py fails if they are missing).
"""

import django.db.models.deletion
from django.db import migrations, models

MOVEMENT_KINDS = ["shipping", "receiving"]

# Every (ancestor, descendant) pair a new link I -> O makes: {I and its ancestors} x {O and its
# descendants}. O is normally a new lot (no descendants yet), but a link added to an older lot
# stays right.
_PAIRS = """
    SELECT a.id, d.id FROM
        (SELECT NEW.input_id AS id UNION SELECT ancestor_id FROM traceability_lineage WHERE descendant_id = NEW.input_id) a,
        (SELECT NEW.output_id AS id UNION SELECT descendant_id FROM traceability_lineage WHERE ancestor_id = NEW.output_id) d
"""

POSTGRES_INSTALL = f"""
CREATE FUNCTION traceability_extend_lineage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A link that closes a cycle gives a pair (x, x), which the CHECK lineage_no_cycle refuses.
    INSERT INTO traceability_lineage (ancestor_id, descendant_id) {_PAIRS}
    ON CONFLICT (ancestor_id, descendant_id) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER traceability_batchinput_lineage AFTER INSERT ON traceability_batchinput
    FOR EACH ROW EXECUTE FUNCTION traceability_extend_lineage();
CREATE TRIGGER traceability_batchinput_append_only BEFORE UPDATE OR DELETE ON traceability_batchinput
    FOR EACH ROW EXECUTE FUNCTION traceability_refuse_change();

CREATE FUNCTION traceability_line_event_kind() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT kind INTO NEW.event_kind FROM traceability_traceevent WHERE id = NEW.event_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER traceability_eventbatch_event_kind BEFORE INSERT ON traceability_eventbatch
    FOR EACH ROW EXECUTE FUNCTION traceability_line_event_kind();
"""

POSTGRES_REMOVE = """
DROP TRIGGER IF EXISTS traceability_eventbatch_event_kind ON traceability_eventbatch;
DROP FUNCTION IF EXISTS traceability_line_event_kind();
DROP TRIGGER IF EXISTS traceability_batchinput_append_only ON traceability_batchinput;
DROP TRIGGER IF EXISTS traceability_batchinput_lineage ON traceability_batchinput;
DROP FUNCTION IF EXISTS traceability_extend_lineage();
"""

SQLITE_INSTALL = [
    # INSERT OR IGNORE would also ignore the CHECK against cycles, so cycles are refused first.
    """CREATE TRIGGER traceability_batchinput_no_cycle BEFORE INSERT ON traceability_batchinput
    WHEN EXISTS (SELECT 1 FROM traceability_lineage WHERE ancestor_id = NEW.output_id AND descendant_id = NEW.input_id)
    BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: lineage_no_cycle'); END""",
    f"""CREATE TRIGGER traceability_batchinput_lineage AFTER INSERT ON traceability_batchinput
    BEGIN INSERT OR IGNORE INTO traceability_lineage (ancestor_id, descendant_id) {_PAIRS}; END""",
    """CREATE TRIGGER traceability_eventbatch_event_kind AFTER INSERT ON traceability_eventbatch
    BEGIN
        UPDATE traceability_eventbatch
        SET event_kind = (SELECT kind FROM traceability_traceevent WHERE id = NEW.event_id)
        WHERE id = NEW.id;
    END""",
]

SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS traceability_eventbatch_event_kind",
    "DROP TRIGGER IF EXISTS traceability_batchinput_lineage",
    "DROP TRIGGER IF EXISTS traceability_batchinput_no_cycle",
]

BACKFILL_LINEAGE = """
WITH RECURSIVE pairs(a, d) AS (
    SELECT input_id, output_id FROM traceability_batchinput
    UNION
    SELECT p.a, bi.output_id FROM pairs p JOIN traceability_batchinput bi ON bi.input_id = p.d
)
INSERT INTO traceability_lineage (ancestor_id, descendant_id) SELECT a, d FROM pairs
"""

BACKFILL_EVENT_KIND = """
UPDATE traceability_eventbatch SET event_kind =
    (SELECT kind FROM traceability_traceevent e WHERE e.id = traceability_eventbatch.event_id)
"""


def install(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        # Event lines are append-only (migration 0002): let this one backfill through.
        schema_editor.execute("ALTER TABLE traceability_eventbatch DISABLE TRIGGER traceability_eventbatch_append_only")
    schema_editor.execute(BACKFILL_EVENT_KIND, params=None)
    if postgres:
        schema_editor.execute("ALTER TABLE traceability_eventbatch ENABLE TRIGGER traceability_eventbatch_append_only")
    schema_editor.execute(BACKFILL_LINEAGE, params=None)
    if postgres:
        schema_editor.execute(POSTGRES_INSTALL, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_INSTALL:
            schema_editor.execute(statement, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REMOVE, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REMOVE:
            schema_editor.execute(statement, params=None)
    schema_editor.execute("DELETE FROM traceability_lineage", params=None)


class Migration(migrations.Migration):
    dependencies = [("traceability", "0003_trace_covering_indexes")]

    operations = [
        migrations.AddField(
            model_name="eventbatch",
            name="event_kind",
            field=models.CharField(
                choices=[
                    ("planting", "Planting"),
                    ("input_applied", "Input applied"),
                    ("harvest", "Harvest"),
                    ("cooling", "Cooling"),
                    ("packing", "Packing"),
                    ("quality_test", "Quality test"),
                    ("shipping", "Shipping"),
                    ("receiving", "Receiving"),
                    ("transformation", "Transformation"),
                    ("temperature", "Temperature reading"),
                    ("correction", "Correction"),
                ],
                default="",
                editable=False,
                max_length=16,
            ),
            preserve_default=False,
        ),
        migrations.CreateModel(
            name="Lineage",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "ancestor", "descendant", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "ancestor",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="traceability.batch",
                    ),
                ),
                (
                    "descendant",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="traceability.batch",
                    ),
                ),
            ],
            options={
                "verbose_name": "lineage pair",
                "verbose_name_plural": "lineage pairs",
                "indexes": [models.Index(fields=["descendant", "ancestor"], name="lineage_backward_idx")],
                "constraints": [
                    models.CheckConstraint(
                        condition=~models.Q(ancestor=models.F("descendant")), name="lineage_no_cycle"
                    )
                ],
            },
        ),
        migrations.RunPython(install, remove, elidable=False),
        migrations.AddIndex(
            model_name="eventbatch",
            index=models.Index(
                condition=models.Q(("event_kind__in", MOVEMENT_KINDS)),
                fields=["batch"],
                include=("event", "quantity", "unit"),
                name="eventbatch_movement_idx",
            ),
        ),
        migrations.RemoveIndex(model_name="traceevent", name="traceevent_movement_idx"),
    ]

"""On PostgreSQL, triggers refuse UPDATE and DELETE of recorded events, so that not even raw SQL
can change history (the ORM guards in traceability.models only stop Django code).

Row triggers do not fire on TRUNCATE, which Django's flush (TransactionTestCase teardown) uses,
so tests can still empty the tables. SQLite has no equivalent worth having: nothing is done there.
"""

from django.db import migrations

TABLES = ("traceability_traceevent", "traceability_eventbatch")

INSTALL = """
CREATE OR REPLACE FUNCTION traceability_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'trace events are append-only: % on % is refused; record a correction event instead',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;
""" + "".join(
    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION traceability_refuse_change();\n"
    for table in TABLES
)

REMOVE = "".join(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};\n" for table in TABLES) + (
    "DROP FUNCTION IF EXISTS traceability_refuse_change();\n"
)


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [("traceability", "0001_initial")]

    operations = [migrations.RunPython(install, remove, elidable=False)]

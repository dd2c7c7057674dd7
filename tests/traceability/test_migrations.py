"""An old database (lots registered before registration events existed) is brought under the
chain by migration 0007: every lot gets its registration event, and the record verifies."""

from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TransactionTestCase

from traceability.models import Batch, TraceEvent
from traceability.verification import verify

BEFORE = [("traceability", "0010_merge_0009_batch_client_id_0009_lot_code_alphabet")]


class RegisterExistingLotsTests(TransactionTestCase):
    def migrate(self, targets):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    def test_the_lots_of_an_old_database_are_registered_and_verify(self):
        old = self.migrate(BEFORE)
        village = old.get_model("farms", "Village").objects.create(code="XJ", name_zh="仙居县杨梅村")
        farm = old.get_model("farms", "Farm").objects.create(village=village, name_zh="王家果园")
        crop = old.get_model("farms", "Crop").objects.create(code="WAX", name_zh="杨梅", category="fruit")
        lots = old.get_model("traceability", "Batch").objects
        for number, quantity in ((1, "100"), (2, "12.5")):
            lots.create(
                lot_code=f"XJ-WAX-20260612-00{number}", farm=farm, crop=crop, quantity=Decimal(quantity),
                unit="kg", harvested_on=date(2026, 6, 12), status="harvested",
            )  # fmt: skip
        self.migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        events = TraceEvent.objects.order_by("seq")
        self.assertEqual(
            [(e.seq, e.kind, e.lines.get().batch.lot_code, e.data["quantity"]) for e in events],
            [(1, "registration", "XJ-WAX-20260612-001", "100"), (2, "registration", "XJ-WAX-20260612-002", "12.5")],
        )
        self.assertEqual(Batch.objects.count(), 2)
        self.assertEqual(verify(record=False).problems, [])


class ReservedLotCodesMigrationTests(TransactionTestCase):
    """Migration 0013 adds the reserved-words CHECK constraint: a database holding such a code
    is told which lots to rename instead of failing on the constraint."""

    def migrate(self, targets):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    def test_a_lot_named_new_stops_the_migration_with_what_to_do_until_it_is_renamed(self):
        old = self.migrate([("traceability", "0012_register_existing_lots")])
        village = old.get_model("farms", "Village").objects.create(code="XJ", name_zh="仙居县杨梅村")
        farm = old.get_model("farms", "Farm").objects.create(village=village, name_zh="王家果园")
        crop = old.get_model("farms", "Crop").objects.create(code="WAX", name_zh="杨梅", category="fruit")
        lots = old.get_model("traceability", "Batch").objects
        lots.create(lot_code="New", farm=farm, crop=crop, quantity=Decimal("1"), unit="kg", status="harvested")
        lots.create(lot_code="XJ-1", farm=farm, crop=crop, quantity=Decimal("1"), unit="kg", status="harvested")
        leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
        with self.assertRaises(RuntimeError) as refused:
            self.migrate(leaves)
        self.assertEqual(
            str(refused.exception),
            "1 lot code(s) are addresses of the batch pages (new, import, outbox, any case): ['New']. "
            "Rename them (for example to NEW-1) in the admin or the database, then migrate again.",
        )
        lots.filter(lot_code="New").update(lot_code="NEW-1")
        self.migrate(leaves)
        self.assertEqual(sorted(Batch.objects.values_list("lot_code", flat=True)), ["NEW-1", "XJ-1"])

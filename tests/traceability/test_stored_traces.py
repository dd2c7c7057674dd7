"""Stored traces on PostgreSQL: a trace is kept after it is computed and read back while nothing it
shows has changed. Every kind of change a trace shows makes the next trace recompute, including a
change committed by another connection while the trace was being computed; an unrelated change
does not. TransactionTestCase: a stored trace is only kept by a transaction that has not written,
and TestCase runs every test inside one that has."""

import io
from datetime import UTC, datetime
from decimal import Decimal

import psycopg2
from django.core.management import call_command
from django.db import connection, transaction
from django.test import TransactionTestCase

from shipments import services as shipping
from tests.support import make_user, requires_postgres
from tests.traceability.scenario import Scenario, at
from traceability import trace as tracing
from traceability.models import Batch, StoredTrace, TraceChange, TraceEvent
from traceability.services import close_recall, open_recall, record_correction, transform_batches
from traceability.trace import trace_lot


def stored_is_valid(batch: Batch) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(tracing._STORED_SQL, {"seed": batch.pk})
        return cursor.fetchone() is not None


def fresh(batch: Batch, direction: str = "both"):
    """The trace computed from the tables, nothing stored read (for comparison)."""
    StoredTrace.objects.all().delete()
    return trace_lot(batch, direction=direction)


def second_connection():
    """A second PostgreSQL session on the test database, for a concurrent writer."""
    settings = connection.settings_dict
    return psycopg2.connect(
        dbname=settings["NAME"], user=settings["USER"] or "postgres",
        host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
    )  # fmt: skip


def summary(trace) -> dict:
    return {
        "lot": trace.lot,
        "ancestors": trace.ancestors,
        "descendants": trace.descendants,
        "links": trace.links,
        "shipments": [(s.shipment, s.store, s.shipped_at, s.received_at, s.lots) for s in trace.shipments],
    }


@requires_postgres
class StoredTraceTests(TransactionTestCase):
    def setUp(self):
        self.s = Scenario()
        self.auditor = make_user("alice", role="auditor")

    def traced(self, batch: Batch, direction: str = "both") -> dict:
        """Trace twice: the first computes and keeps it, the second must read the stored one."""
        first = summary(trace_lot(batch, direction=direction))
        self.assertTrue(stored_is_valid(batch))
        second = summary(trace_lot(batch, direction=direction))
        self.assertEqual(second, first)
        return second

    def test_a_trace_is_kept_and_read_back_equal_to_a_fresh_one_in_every_direction(self):
        for batch in (self.s.l1, self.s.m1, self.s.r1):
            for direction in ("both", "forward", "backward"):
                with self.subTest(lot=batch.lot_code, direction=direction):
                    StoredTrace.objects.all().delete()
                    self.assertEqual(self.traced(batch, direction), summary(fresh(batch, direction)))
        self.assertEqual(StoredTrace.objects.count(), 1)

    def test_a_stored_read_is_the_document_and_the_names(self):
        trace_lot(self.s.l1, direction="forward")
        with self.assertNumQueries(2):
            trace_lot(self.s.l1, direction="forward")

    def test_a_recall_shows_at_once_in_a_stored_forward_trace(self):
        before = self.traced(self.s.l1, "forward")
        self.assertEqual({lot.status for lot in before["descendants"]} & {"on_hold"}, set())
        recall = open_recall(batch=self.s.m1, reason="Listeria", actor=self.s.coordinator)
        self.assertFalse(stored_is_valid(self.s.l1))
        after = self.traced(self.s.l1, "forward")
        self.assertEqual(
            {lot.lot_code: lot.status for lot in after["descendants"]},
            {self.s.m1.lot_code: "recalled", self.s.s1.lot_code: "on_hold", self.s.r1.lot_code: "on_hold"},
        )
        self.assertEqual(after, summary(fresh(self.s.l1, "forward")))
        close_recall(recall=recall, actor=self.s.coordinator)
        self.assertEqual(self.traced(self.s.l1, "forward"), summary(fresh(self.s.l1, "forward")))

    def test_a_new_transformation_shows_in_the_stored_traces_of_its_ancestors(self):
        self.traced(self.s.l1, "forward")
        self.traced(self.s.l2, "forward")
        new, _event, _ = transform_batches(
            inputs=[(self.s.s1, Decimal("5"))],
            crop=self.s.crop,
            farm=self.s.farm_a,
            quantity=Decimal("5"),
            unit="kg",
            kind="repacking",
            actor=self.s.coordinator,
            occurred_at=at(16),
        )
        for ancestor in (self.s.l1, self.s.l2):
            with self.subTest(ancestor.lot_code):
                self.assertFalse(stored_is_valid(ancestor))
                self.assertIn(new.lot_code, [lot.lot_code for lot in self.traced(ancestor, "forward")["descendants"]])

    def test_a_shipment_and_its_correction_show_in_the_stored_trace(self):
        self.traced(self.s.l1, "forward")
        shipment = shipping.create_shipment(origin_village=self.s.village, store=self.s.store)
        shipping.add_item(shipment=shipment, batch=self.s.r1, quantity=Decimal("5"))
        shipping.dispatch_shipment(shipment=shipment, when=at(20))
        stops = self.traced(self.s.l1, "forward")["shipments"]
        self.assertEqual(len(stops), 3)
        event = TraceEvent.objects.filter(kind="shipping").latest("id")
        record_correction(event=event, reason="did_not_occur", actor=self.s.coordinator)
        self.assertEqual(len(self.traced(self.s.l1, "forward")["shipments"]), 2)
        self.assertEqual(self.traced(self.s.l1, "forward"), summary(fresh(self.s.l1, "forward")))

    def test_a_renamed_farm_shows_without_recomputing(self):
        self.traced(self.s.m1, "backward")
        self.s.farm_b.name_en = "Li Family Hillside Orchard"
        self.s.farm_b.save()
        self.assertTrue(stored_is_valid(self.s.m1))
        [l2] = [
            lot for lot in trace_lot(self.s.m1, direction="backward").ancestors if lot.lot_code == self.s.l2.lot_code
        ]
        self.assertEqual(l2.farm_name_en, "Li Family Hillside Orchard")

    def test_a_change_elsewhere_keeps_the_stored_trace(self):
        self.traced(self.s.l1, "forward")
        Batch.objects.filter(pk=self.s.l3.pk).update(status="on_hold")
        # An allocation changes no column a trace shows.
        Batch.objects.filter(pk=self.s.r1.pk).update(allocated_quantity=Decimal("12"))
        self.assertTrue(stored_is_valid(self.s.l1))

    def test_a_change_committed_while_the_trace_was_computed_is_not_lost(self):
        """Another connection changes a descendant and commits after this connection's trace has
        taken its snapshot but before it is stored: the stored trace must not be read back."""
        self.traced(self.s.l1, "forward")
        other = second_connection()
        try:
            with other.cursor() as cursor:
                cursor.execute("UPDATE traceability_batch SET status = 'on_hold' WHERE id = %s", [self.s.r1.pk])
            # Uncommitted: this connection recomputes (the change row is not visible yet, but
            # the stored trace is still good for what is committed) and keeps a snapshot that
            # does not see the other transaction.
            StoredTrace.objects.all().delete()
            computed = trace_lot(self.s.l1, direction="forward")
            self.assertNotIn("on_hold", {lot.status for lot in computed.descendants})
            self.assertTrue(stored_is_valid(self.s.l1))
            other.commit()
        finally:
            other.close()
        self.assertFalse(stored_is_valid(self.s.l1))
        after = trace_lot(self.s.l1, direction="forward")
        self.assertEqual({lot.lot_code: lot.status for lot in after.descendants}[self.s.r1.lot_code], "on_hold")

    def test_a_transaction_that_has_written_does_not_keep_its_trace(self):
        with transaction.atomic():
            Batch.objects.filter(pk=self.s.l3.pk).update(status="on_hold")
            trace_lot(self.s.l1, direction="forward")
            self.assertEqual(StoredTrace.objects.count(), 0)
        trace_lot(self.s.l1, direction="forward")
        self.assertEqual(StoredTrace.objects.count(), 1)

    def test_changes_name_the_changed_lot_its_ancestors_and_descendants(self):
        TraceChange.objects.all().delete()
        Batch.objects.filter(pk=self.s.s1.pk).update(quantity=Decimal("49"))
        self.assertEqual(
            set(TraceChange.objects.values_list("batch_id", flat=True)),
            {self.s.s1.pk, self.s.m1.pk, self.s.l1.pk, self.s.l2.pk, self.s.r1.pk},
        )

    def test_forgetting_old_changes_drops_the_stored_traces_that_did_not_see_them(self):
        self.traced(self.s.l1, "forward")
        self.traced(self.s.l3, "forward")
        other = second_connection()
        try:
            with other.cursor() as cursor:
                cursor.execute("UPDATE traceability_batch SET status = 'on_hold' WHERE id = %s", [self.s.r1.pk])
            StoredTrace.objects.all().delete()
            trace_lot(self.s.l1, direction="forward")  # a snapshot that does not see the update
            trace_lot(self.s.l3, direction="forward")
            other.commit()
        finally:
            other.close()
        old = datetime(2020, 1, 1, tzinfo=UTC)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE traceability_tracechange SET changed_at = %s", [old])
        changes = TraceChange.objects.count()
        self.assertGreater(changes, 0)
        self.assertEqual(tracing.forget_trace_changes(older_than_days=1), (1, changes))
        self.assertEqual(TraceChange.objects.count(), 0)
        self.assertEqual(list(StoredTrace.objects.values_list("batch_id", flat=True)), [self.s.l3.pk])
        after = trace_lot(self.s.l1, direction="forward")
        self.assertEqual({lot.lot_code: lot.status for lot in after.descendants}[self.s.r1.lot_code], "on_hold")


class ForgetCommandTests(TransactionTestCase):
    def test_the_command_reports_what_it_removed(self):
        out = io.StringIO()
        call_command("forget_trace_changes", "--days", "3", stdout=out)
        self.assertEqual(out.getvalue(), "0 trace change(s) deleted, 0 stored trace(s) dropped.\n")

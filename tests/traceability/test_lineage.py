"""The genealogy's closure table (traceability_lineage) is kept by database triggers, on
PostgreSQL and SQLite alike: whatever way a transformation link is written, the table equals the
closure a recursive walk of the links gives, and a link that would close a cycle is refused."""

import io
import random
from datetime import UTC, datetime
from decimal import Decimal

from django.core.management import CommandError, call_command
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.test import TestCase

from tests.support import make_batch, make_crop, make_farm, make_village, requires_postgres
from traceability.models import Batch, BatchInput, EventBatch, ImmutableEventError, Lineage, TraceEvent
from traceability.services import record_event, register_batch, transform_batches

NOON = datetime(2026, 6, 12, 4, tzinfo=UTC)
WALK = """
    WITH RECURSIVE pairs(a, d) AS (
        SELECT input_id, output_id FROM traceability_batchinput
        UNION
        SELECT p.a, bi.output_id FROM pairs p JOIN traceability_batchinput bi ON bi.input_id = p.d
    )
    SELECT a, d FROM pairs
"""


def walked_pairs() -> set[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(WALK)
        return set(cursor.fetchall())


def stored_pairs() -> set[tuple[int, int]]:
    return set(Lineage.objects.values_list("ancestor_id", "descendant_id"))


class LineageTests(TestCase):
    def setUp(self):
        self.farm, self.crop = make_farm(make_village("XJ")), make_crop("WAX")
        self.n = 0

    def lot(self) -> Batch:
        self.n += 1
        return make_batch(self.farm, self.crop, f"XJ-WAX-20260612-{self.n:03d}", quantity="100")

    def link(self, source: Batch, target: Batch) -> None:
        BatchInput.objects.create(input=source, output=target, quantity=Decimal("1"))

    def test_a_chain_and_a_diamond_give_every_pair(self):
        a, b, c, d = (self.lot() for _ in range(4))
        self.link(a, b)
        self.link(a, c)
        self.link(b, d)
        self.link(c, d)
        expected = {(a.pk, b.pk), (a.pk, c.pk), (b.pk, d.pk), (c.pk, d.pk), (a.pk, d.pk)}
        self.assertEqual(stored_pairs(), expected)
        self.assertEqual(walked_pairs(), expected)

    def test_a_link_added_above_existing_descendants_reaches_them(self):
        # x -> y -> z exists; then w -> x: w must become an ancestor of y and z too.
        w, x, y, z = (self.lot() for _ in range(4))
        self.link(x, y)
        self.link(y, z)
        self.link(w, x)
        self.assertEqual(
            stored_pairs(), {(x.pk, y.pk), (y.pk, z.pk), (x.pk, z.pk), (w.pk, x.pk), (w.pk, y.pk), (w.pk, z.pk)}
        )

    def test_random_graphs_built_in_any_order_match_the_recursive_walk(self):
        rng = random.Random(11)
        lots = [self.lot() for _ in range(40)]
        # Edges only from a lower to a higher index (a DAG), inserted in shuffled order, some by
        # bulk_create: the triggers see every row whatever the ORM call.
        edges = {(i, j) for j in range(1, 40) for i in rng.sample(range(j), k=min(j, rng.randint(1, 3)))}
        ordered = sorted(edges)
        rng.shuffle(ordered)
        half = len(ordered) // 2
        for i, j in ordered[:half]:
            self.link(lots[i], lots[j])
        BatchInput.objects.bulk_create(
            BatchInput(input=lots[i], output=lots[j], quantity=Decimal("1")) for i, j in ordered[half:]
        )
        self.assertEqual(stored_pairs(), walked_pairs())
        self.assertGreater(len(stored_pairs()), len(edges))

    def test_a_link_that_closes_a_cycle_is_refused_and_writes_nothing(self):
        a, b, c = self.lot(), self.lot(), self.lot()
        self.link(a, b)
        self.link(b, c)
        before = stored_pairs()
        with self.assertRaises(IntegrityError), transaction.atomic():
            self.link(c, a)
        self.assertEqual(stored_pairs(), before)
        self.assertFalse(BatchInput.objects.filter(input=c, output=a).exists())

    def test_verify_events_reports_a_lineage_table_that_no_longer_matches_the_links(self):
        def made_from(source: Batch) -> Batch:
            lot, _event, _created = transform_batches(
                inputs=[(source, Decimal("5"))], crop=self.crop, farm=self.farm, quantity=Decimal("5"), unit="kg"
            )
            return lot

        harvested = NOON.date()
        a, d = (
            register_batch(farm=self.farm, crop=self.crop, quantity=Decimal("100"), unit="kg", harvested_on=harvested)
            for _ in "ad"
        )
        b = made_from(a)
        c = made_from(b)
        out = io.StringIO()
        call_command("verify_events", stdout=out, stderr=io.StringIO())
        self.assertIn("lineage matches the links", out.getvalue())
        Lineage.objects.filter(ancestor=a, descendant=c).delete()
        Lineage.objects.create(ancestor=c, descendant=d)
        err = io.StringIO()
        with self.assertRaisesMessage(CommandError, "1 problem(s): the record does not verify."):
            call_command("verify_events", stderr=err)
        self.assertEqual(
            err.getvalue(),
            f"BROKEN: lineage table: 1 pair(s) missing, 1 pair(s) no link gives (missing {a} -> {c}; "
            f"no link gives {c} -> {d})\n",
        )

    def test_links_are_append_only_in_the_orm(self):
        a, b = self.lot(), self.lot()
        self.link(a, b)
        link = BatchInput.objects.get()
        with self.assertRaises(ImmutableEventError):
            link.delete()
        with self.assertRaises(ImmutableEventError):
            BatchInput.objects.all().delete()
        with self.assertRaises(ImmutableEventError):
            BatchInput.objects.update(quantity=Decimal("2"))
        link.quantity = Decimal("3")
        with self.assertRaises(ImmutableEventError):
            link.save()
        self.assertEqual(BatchInput.objects.get().quantity, Decimal("1.000"))

    @requires_postgres
    def test_links_are_append_only_in_the_database(self):
        a, b = self.lot(), self.lot()
        self.link(a, b)
        for statement in ("UPDATE traceability_batchinput SET quantity = 2", "DELETE FROM traceability_batchinput"):
            with (
                self.subTest(statement),
                self.assertRaisesMessage(ProgrammingError, "append-only"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(statement)
        self.assertEqual(BatchInput.objects.get().quantity, Decimal("1.000"))


class EventKindOnLinesTests(TestCase):
    """Lines carry their event's kind (for the partial index of shipping and receiving lines),
    and the database sets it from the event, whatever the insert says."""

    def test_recorded_lines_carry_the_event_kind(self):
        farm, crop = make_farm(make_village("XJ")), make_crop("WAX")
        lot = make_batch(farm, crop, "XJ-WAX-20260612-001", quantity="100")
        event, _ = record_event(
            kind=TraceEvent.Kind.SHIPPING,
            village=farm.village,
            farm=farm,
            occurred_at=NOON,
            lines=[(lot, "subject", None, "")],
        )
        self.assertEqual(list(EventBatch.objects.values_list("event_id", "event_kind")), [(event.pk, "shipping")])

    def test_the_database_overrides_a_wrong_kind(self):
        farm, crop = make_farm(make_village("XJ")), make_crop("WAX")
        lot = make_batch(farm, crop, "XJ-WAX-20260612-001", quantity="100")
        event, _ = record_event(
            kind=TraceEvent.Kind.HARVEST, village=farm.village, farm=farm, occurred_at=NOON, lines=[]
        )
        EventBatch.objects.create(event=event, batch=lot, event_kind="shipping")
        self.assertEqual(EventBatch.objects.get().event_kind, "harvest")

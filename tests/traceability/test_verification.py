"""The twelve kinds of tampering of issue 13, each on a fresh copy of the scenario's database.

An attacker with database access edits the tables by direct SQL (on PostgreSQL with the
append-only triggers switched off, as a table owner can); `manage.py verify_events` must fail and
name what was broken. Runs on PostgreSQL and SQLite alike.
"""

import uuid
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import TestCase, override_settings

from tests.support import anchor_key
from tests.traceability.scenario import Scenario, at
from traceability import chain
from traceability.models import Batch, EventBatch, TraceEvent
from traceability.services import record_correction

KEY = anchor_key()


def tamper(*statements: tuple[str, list]) -> None:
    """Run SQL as an attacker with table-owner rights would: on PostgreSQL the append-only triggers
    (and the foreign-key triggers) are skipped for the rest of the test's transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        for sql, params in statements:
            cursor.execute(sql, params)


def delete_events(*events: TraceEvent) -> None:
    ids = [event.pk for event in events]
    marks = ", ".join(["%s"] * len(ids))
    tamper(
        (f"DELETE FROM traceability_eventbatch WHERE event_id IN ({marks})", ids),
        (f"DELETE FROM traceability_traceevent WHERE id IN ({marks})", ids),
    )


def rehash_from(village_id: int, seq: int) -> None:
    """Recompute the hash of every event from `seq` on, as a forger who knows the chain's rules does."""
    events = list(TraceEvent.objects.filter(village_id=village_id, seq__gte=seq - 1).order_by("seq"))
    prev = events[0].hash if events[0].seq == seq - 1 else chain.GENESIS
    for event in events:
        if event.seq < seq:
            continue
        lines = [(line.batch.lot_code, line.role, line.quantity, line.unit) for line in event.lines.all()]
        event.prev_hash = prev
        event.hash = chain.link_hash(prev, chain.canonical_content(event, lines))
        tamper(
            (
                "UPDATE traceability_traceevent SET prev_hash = %s, hash = %s WHERE id = %s",
                [event.prev_hash, event.hash, event.pk],
            )
        )
        prev = event.hash


@override_settings(ANCHOR_SIGNING_KEY=KEY, ANCHOR_SIGNING_KEY_FILE="", ANCHOR_PUBLIC_KEYS=[])
class TamperingTests(TestCase):
    def setUp(self):
        self.s = Scenario(registered=True)
        self.village = self.s.village
        self.where = f"village XJ (id {self.village.pk})"

    def event(self, kind: str, lot: Batch | None = None) -> TraceEvent:
        events = TraceEvent.objects.filter(kind=kind)
        if lot is not None:
            events = events.filter(lines__batch=lot)
        return events.order_by("seq").first()

    def head(self) -> TraceEvent:
        return TraceEvent.objects.filter(village=self.village).order_by("-seq").first()

    def anchor(self) -> None:
        call_command("anchor_chains", stdout=StringIO(), stderr=StringIO())

    def broken(self) -> str:
        """verify_events fails; what it wrote to stderr."""
        err = StringIO()
        with self.assertRaises(CommandError):
            call_command("verify_events", stdout=StringIO(), stderr=err)
        return err.getvalue()

    def at_seq(self, event: TraceEvent) -> str:
        return f"{event.kind} event, village XJ seq {event.seq}"

    # Detected before issue 13 ---------------------------------------------------------------

    def test_an_altered_event_field_is_named(self):
        cooling = self.event("cooling")
        tamper(("UPDATE traceability_traceevent SET data = '{\"temperature_c\": 2.0}' WHERE id = %s", [cooling.pk]))
        self.assertIn(
            f"{self.where}, seq {cooling.seq}, event id {cooling.pk}: the stored content does not match its hash",
            self.broken(),
        )

    def test_a_deleted_event_is_named(self):
        cooling = self.event("cooling")
        after = TraceEvent.objects.get(village=self.village, seq=cooling.seq + 1)
        delete_events(cooling)
        self.assertIn(
            f"{self.where}, seq {after.seq}, event id {after.pk}: sequence gap: expected seq {cooling.seq}, "
            f"found {after.seq}",
            self.broken(),
        )

    def test_two_swapped_events_are_named(self):
        cooling, packing = self.event("cooling"), self.event("packing")
        self.assertEqual(packing.seq, cooling.seq + 1)
        tamper(
            ("UPDATE traceability_traceevent SET seq = 100000 WHERE id = %s", [cooling.pk]),
            ("UPDATE traceability_traceevent SET seq = %s WHERE id = %s", [cooling.seq, packing.pk]),
            ("UPDATE traceability_traceevent SET seq = %s WHERE id = %s", [packing.seq, cooling.pk]),
        )
        self.assertIn(
            f"{self.where}, seq {cooling.seq}, event id {packing.pk}: prev_hash is not the previous event's hash",
            self.broken(),
        )

    def forge_after(self, before: TraceEvent) -> TraceEvent:
        """A quality test that never happened, inserted right after `before` with a well-formed
        hash; the events after it are moved one place down the chain."""
        tamper(
            (
                "UPDATE traceability_traceevent SET seq = seq + 100000 WHERE village_id = %s AND seq > %s",
                [self.village.pk, before.seq],
            ),
            (
                "UPDATE traceability_traceevent SET seq = seq - 99999 WHERE village_id = %s AND seq > 100000",
                [self.village.pk],
            ),
        )
        forged = TraceEvent(
            client_id=uuid.uuid4(),
            kind="quality_test",
            occurred_at=at(10, 11),
            recorded_at=before.recorded_at,
            village=self.village,
            data={"lab": "forged", "result": "pass"},
            seq=before.seq + 1,
            prev_hash=before.hash,
        )
        forged.hash = chain.link_hash(forged.prev_hash, chain.canonical_content(forged, []))
        forged.save()
        return forged

    def test_a_naively_forged_event_is_named(self):
        cooling = self.event("cooling")
        packing = self.event("packing")
        self.forge_after(cooling)
        self.assertIn(
            f"{self.where}, seq {packing.seq + 1}, event id {packing.pk}: prev_hash is not the previous event's hash",
            self.broken(),
        )

    def test_an_altered_event_line_quantity_is_named(self):
        packing = self.event("packing")
        tamper(("UPDATE traceability_eventbatch SET quantity = 90 WHERE event_id = %s", [packing.pk]))
        self.assertIn(
            f"{self.where}, seq {packing.seq}, event id {packing.pk}: the stored content does not match its hash",
            self.broken(),
        )

    def test_a_changed_lot_code_is_named(self):
        first = TraceEvent.objects.filter(lines__batch=self.s.l1).order_by("seq").first()
        tamper(("UPDATE traceability_batch SET lot_code = 'XJ-WAX-20260610-009' WHERE id = %s", [self.s.l1.pk]))
        self.assertIn(
            f"{self.where}, seq {first.seq}, event id {first.pk}: the stored content does not match its hash",
            self.broken(),
        )

    # Not detected before issue 13 -----------------------------------------------------------

    def test_a_forged_event_with_every_later_hash_recomputed_is_named(self):
        self.anchor()
        anchored = self.head()
        cooling = self.event("cooling")
        forged = self.forge_after(cooling)
        rehash_from(self.village.pk, forged.seq + 1)
        err = self.broken()
        self.assertIn(f"{self.where}, seq {anchored.seq}: ", err)
        self.assertIn("is not the event anchored", err)
        self.assertIn("the chain was rewritten", err)

    def test_a_truncated_tail_is_named(self):
        self.anchor()
        anchored = self.head()
        last_two = TraceEvent.objects.filter(village=self.village, seq__gt=anchored.seq - 2)
        delete_events(*last_two)
        err = self.broken()
        self.assertIn(f"{self.where}: the chain ends at seq {anchored.seq - 2} but anchor ", err)
        self.assertIn(f"covers seq {anchored.seq}: 2 event(s) were removed from its end", err)

    def test_a_changed_transformation_link_quantity_is_named(self):
        s = self.s
        tamper(
            (
                "UPDATE traceability_batchinput SET quantity = 45 WHERE output_id = %s AND input_id = %s",
                [s.m1.pk, s.l1.pk],
            )
        )
        err = self.broken()
        self.assertIn(
            f"transformation link {s.l1} -> {s.m1}: quantity is 45 in the links table, 40 in the chain "
            f"({self.at_seq(s.mixing)})",
            err,
        )

    def test_a_deleted_transformation_link_and_its_lineage_pairs_are_named(self):
        s = self.s
        # M1 -> S1 goes, with every pair only it gave (L1 still reaches R1 through its own link).
        pairs = [(s.m1, s.s1), (s.m1, s.r1), (s.l1, s.s1), (s.l2, s.s1), (s.l2, s.r1)]
        tamper(
            ("DELETE FROM traceability_batchinput WHERE output_id = %s AND input_id = %s", [s.s1.pk, s.m1.pk]),
            *(
                ("DELETE FROM traceability_lineage WHERE ancestor_id = %s AND descendant_id = %s", [a.pk, d.pk])
                for a, d in pairs
            ),
        )
        err = self.broken()
        self.assertIn(
            f"transformation link {s.m1} -> {s.s1}: in the chain ({self.at_seq(s.sorting)}) "
            "but missing from the links table",
            err,
        )
        self.assertNotIn("lineage", err)

    def test_a_changed_dispatched_shipment_item_is_named(self):
        s = self.s
        tamper(("UPDATE shipments_shipmentitem SET quantity = 8 WHERE shipment_id = %s", [s.shipment2.pk]))
        shipping = TraceEvent.objects.get(kind="shipping", data__shipment=s.shipment2.public_code)
        self.assertIn(
            f"shipment {s.shipment2.public_code} lot {s.s1}: quantity is 8 in the shipment items, 5 in the chain "
            f"({self.at_seq(shipping)})",
            self.broken(),
        )

    def test_a_changed_lot_quantity_is_named(self):
        s = self.s
        tamper(("UPDATE traceability_batch SET quantity = 150 WHERE id = %s", [s.l3.pk]))
        err = self.broken()
        registration = self.event("registration", s.l3)
        self.assertIn(
            f"lot {s.l3}: quantity is 150 in the lots table, 60 in the chain ({self.at_seq(registration)})", err
        )

    def test_a_changed_lot_farm_is_named(self):
        s = self.s
        tamper(("UPDATE traceability_batch SET farm_id = %s WHERE id = %s", [s.farm_a.pk, s.l2.pk]))
        err = self.broken()
        registration = self.event("registration", s.l2)
        self.assertIn(
            f"lot {s.l2}: farm is {s.farm_a.pk} in the lots table, {s.farm_b.pk} in the chain "
            f"({self.at_seq(registration)})",
            err,
        )

    # Clean --------------------------------------------------------------------------------

    def verifies(self) -> str:
        out, err = StringIO(), StringIO()
        call_command("verify_events", stdout=out, stderr=err)
        self.assertNotIn("BROKEN", err.getvalue())
        return out.getvalue()

    def test_an_untouched_database_verifies_clean_before_and_after_anchoring(self):
        self.assertIn("OK: ", self.verifies())
        self.anchor()
        self.assertIn("OK: ", self.verifies())

    def test_a_database_with_legitimate_corrections_verifies_clean(self):
        s = self.s
        self.anchor()
        record_correction(event=self.event("cooling"), reason="did_not_occur", actor=s.coordinator, note="wrong lot")
        record_correction(
            event=self.event("packing"),
            reason="incorrect_data",
            actor=s.coordinator,
            corrected_data={"note": "packed in the shed"},
        )
        record_correction(
            event=self.event("registration", s.l3),
            reason="incorrect_data",
            actor=s.coordinator,
            corrected_data={"quantity": "55", "field": None},
        )
        s.l3.refresh_from_db()
        self.assertEqual(s.l3.quantity, Decimal("55"))
        self.assertEqual(EventBatch.objects.filter(batch=s.l3, event__kind="registration").count(), 2)
        self.assertIn("OK: ", self.verifies())

    def test_verification_says_how_far_it_got(self):
        out = StringIO()
        call_command("verify_events", "--progress-every", "5", stdout=out, stderr=StringIO())
        total = TraceEvent.objects.count()
        self.assertEqual(
            out.getvalue().splitlines()[:2],
            [
                f"  {total} of {total} event(s) verified (chain XJ)",
                f"  {total} event(s) verified; checking lots, links, shipments and allocations...",
            ],
        )
        self.assertTrue(out.getvalue().splitlines()[2].startswith("OK: "))

import uuid
from contextlib import contextmanager
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import TestCase, TransactionTestCase

from tests.support import make_batch, make_crop, make_farm, make_village, requires_postgres
from tests.traceability.scenario import at
from traceability import chain
from traceability.models import EventBatch, ImmutableEventError, TraceEvent
from traceability.services import record_batch_event


def build_chain(test):
    test.village = make_village("XJ")
    test.other = make_village("LS", name_zh="丽水茶村")
    crop = make_crop()
    test.batch = make_batch(make_farm(test.village), crop, "XJ-WAX-20260610-001")
    test.other_batch = make_batch(make_farm(test.other), crop, "LS-WAX-20260610-001")
    test.events = [
        record_batch_event(batch=test.batch, kind=kind, occurred_at=at(10, hour), quantity=qty, data=data)[0]
        for kind, hour, qty, data in [
            ("harvest", 6, Decimal("100"), {}),
            ("cooling", 8, None, {"temperature_c": 4.5}),
            ("packing", 10, Decimal("100"), {}),
            ("quality_test", 11, None, {"lab": "浙江检测", "result": "pass"}),
            ("temperature", 12, None, {"temperature_c": 3.0}),
        ]
    ]
    record_batch_event(batch=test.other_batch, kind="harvest", occurred_at=at(10))


@contextmanager
def triggers_disabled():
    """What an attacker with table-owner rights could do; rolled back with the test's transaction."""
    # ALTER TABLE ... DISABLE TRIGGER is refused while deferred FK checks are pending in the
    # test's transaction; replica mode skips ordinary triggers for this session instead.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        yield cursor
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")


@requires_postgres
class HistoryCannotBeChangedTests(TestCase):
    def setUp(self):
        build_chain(self)
        self.event = self.events[1]

    def assert_unchanged(self):
        self.assertEqual(TraceEvent.objects.count(), 6)
        self.assertEqual(TraceEvent.objects.get(pk=self.event.pk).data, {"temperature_c": 4.5})
        self.assertEqual(EventBatch.objects.count(), 6)
        self.assertEqual(chain.verify_all(), [])

    def test_saving_updating_or_bulk_updating_an_event_raises(self):
        self.event.data = {"temperature_c": 2.0}
        with self.assertRaises(ImmutableEventError):
            self.event.save()
        with self.assertRaises(ImmutableEventError):
            TraceEvent.objects.filter(pk=self.event.pk).update(data={})
        # bulk_update runs in atomic(savepoint=False): the refusal breaks the enclosing transaction.
        with self.assertRaises(ImmutableEventError), transaction.atomic():
            TraceEvent.objects.bulk_update([self.event], ["data"])
        with self.assertRaises(ImmutableEventError):
            EventBatch.objects.filter(event=self.event).update(quantity=Decimal("1"))
        self.assert_unchanged()

    def test_raw_sql_update_of_an_event_is_refused_by_the_database(self):
        sql = "UPDATE traceability_traceevent SET data = '{\"temperature_c\": 2}' WHERE id = %s"
        with self.assertRaisesMessage(DatabaseError, "append-only"), transaction.atomic(), connection.cursor() as c:
            c.execute(sql, [self.event.pk])
        self.assert_unchanged()

    def test_raw_sql_delete_of_an_event_or_a_line_is_refused_by_the_database(self):
        for sql in (
            "DELETE FROM traceability_eventbatch WHERE event_id = %s",
            "DELETE FROM traceability_traceevent WHERE id = %s",
            "UPDATE traceability_eventbatch SET quantity = 1 WHERE event_id = %s",
        ):
            refused = self.assertRaisesMessage(DatabaseError, "append-only")
            with self.subTest(sql=sql), refused, transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [self.events[0].pk])
        self.assert_unchanged()


@requires_postgres
class FlushStillWorksTests(TransactionTestCase):
    """TransactionTestCase empties tables with TRUNCATE, which row triggers do not see."""

    def test_the_test_database_can_still_be_flushed(self):
        build_chain(self)
        call_command("flush", interactive=False, verbosity=0)
        self.assertEqual(TraceEvent.objects.count(), 0)


@requires_postgres
class VerifierCatchesTamperingTests(TestCase):
    def setUp(self):
        build_chain(self)

    def verify(self):
        return chain.verify_all()

    def test_an_untouched_log_verifies_and_the_command_says_ok(self):
        self.assertEqual(self.verify(), [])
        out = StringIO()
        call_command("verify_events", stdout=out)
        self.assertEqual(
            out.getvalue(), "OK: 2 village chain(s) verified, no broken link; lineage matches the links.\n"
        )

    def test_it_detects_an_altered_field(self):
        with triggers_disabled() as cursor:
            cursor.execute(
                "UPDATE traceability_traceevent SET data = '{\"temperature_c\": 2.0}' WHERE id = %s",
                [self.events[1].pk],
            )
        [broken] = self.verify()
        self.assertEqual((broken.village_code, broken.seq, broken.event_id), ("XJ", 2, self.events[1].pk))
        self.assertIn("does not match its hash", broken.problem)

    def test_it_detects_an_altered_batch_line(self):
        with triggers_disabled() as cursor:
            cursor.execute("UPDATE traceability_eventbatch SET quantity = 90 WHERE event_id = %s", [self.events[2].pk])
        [broken] = self.verify()
        self.assertEqual((broken.seq, broken.event_id), (3, self.events[2].pk))
        self.assertIn("does not match its hash", broken.problem)

    def test_it_detects_a_deleted_event_and_the_command_fails(self):
        with triggers_disabled() as cursor:
            cursor.execute("DELETE FROM traceability_eventbatch WHERE event_id = %s", [self.events[2].pk])
            cursor.execute("DELETE FROM traceability_traceevent WHERE id = %s", [self.events[2].pk])
        [broken] = self.verify()
        self.assertEqual((broken.village_code, broken.seq, broken.event_id), ("XJ", 4, self.events[3].pk))
        self.assertIn("sequence gap: expected seq 3, found 4", broken.problem)
        err = StringIO()
        with self.assertRaisesMessage(CommandError, "1 broken chain(s), 0 lineage fault(s)."):
            call_command("verify_events", stderr=err)
        self.assertIn(f"BROKEN: village XJ (id {self.village.pk}), seq 4, event id {self.events[3].pk}", err.getvalue())

    def test_it_detects_two_events_swapped(self):
        second, third = self.events[1], self.events[2]
        with triggers_disabled() as cursor:
            cursor.execute("UPDATE traceability_traceevent SET seq = 1000 WHERE id = %s", [second.pk])
            cursor.execute("UPDATE traceability_traceevent SET seq = 2 WHERE id = %s", [third.pk])
            cursor.execute("UPDATE traceability_traceevent SET seq = 3 WHERE id = %s", [second.pk])
        [broken] = self.verify()
        self.assertEqual((broken.seq, broken.event_id), (2, third.pk))
        self.assertIn("prev_hash is not the previous event's hash", broken.problem)

    def test_it_detects_a_forged_event_inserted_even_with_a_well_formed_hash(self):
        before = self.events[1]
        with triggers_disabled() as cursor:
            cursor.execute(
                "UPDATE traceability_traceevent SET seq = seq + 1000 WHERE village_id = %s AND seq > 2",
                [self.village.pk],
            )
            cursor.execute(
                "UPDATE traceability_traceevent SET seq = seq - 999 WHERE village_id = %s AND seq > 1000",
                [self.village.pk],
            )
            forged = TraceEvent(
                client_id=uuid.uuid4(),
                kind="quality_test",
                occurred_at=at(10, 9),
                recorded_at=before.recorded_at,
                village=self.village,
                data={"lab": "forged", "result": "pass"},
                seq=3,
                prev_hash=before.hash,
            )
            forged.hash = chain.link_hash(forged.prev_hash, chain.canonical_content(forged, []))
            forged.save()
        [broken] = self.verify()
        self.assertEqual((broken.seq, broken.event_id), (4, self.events[2].pk))
        self.assertEqual(TraceEvent.objects.get(seq=3, village=self.village).pk, forged.pk)

    def test_other_villages_chains_are_verified_independently(self):
        with triggers_disabled() as cursor:
            cursor.execute(
                "UPDATE traceability_traceevent SET location_name = 'x' WHERE village_id = %s", [self.other.pk]
            )
        self.assertEqual([broken.village_code for broken in self.verify()], ["LS"])
        self.assertIsNone(chain.verify_village(self.village))


class ChainHashIsStableTests(TestCase):
    """Runs on both databases: what is hashed at insert is what the verifier re-reads."""

    def test_a_log_written_with_local_times_and_odd_quantities_verifies(self):
        from zoneinfo import ZoneInfo

        village = make_village("XJ")
        batch = make_batch(make_farm(village), make_crop(), "XJ-WAX-20260610-001")
        shanghai = at(10).astimezone(ZoneInfo("Asia/Shanghai"))
        record_batch_event(batch=batch, kind="harvest", occurred_at=shanghai, quantity=Decimal("12.5"))
        record_batch_event(batch=batch, kind="cooling", occurred_at=shanghai, data={"temperature_c": 4})
        self.assertEqual(chain.verify_all(), [])

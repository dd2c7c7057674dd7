from decimal import Decimal

from django.db import IntegrityError, transaction
from django.test import TestCase
from django.utils import timezone

from tests.support import make_batch, make_crop, make_farm, make_village
from traceability.models import Batch, ImmutableEventError, TraceEvent
from traceability.services import record_event


class BatchConstraintTests(TestCase):
    def setUp(self):
        self.village = make_village()
        self.farm = make_farm(self.village)
        self.crop = make_crop()

    def test_it_rejects_a_negative_quantity_at_the_database(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            make_batch(self.farm, self.crop, "XJ-WAX-1", quantity="-5")
        self.assertEqual(Batch.objects.count(), 0)

    def test_it_rejects_a_duplicate_lot_code(self):
        make_batch(self.farm, self.crop, "XJ-WAX-1")
        with self.assertRaises(IntegrityError), transaction.atomic():
            make_batch(self.farm, self.crop, "XJ-WAX-1")
        self.assertEqual(Batch.objects.count(), 1)

    def test_it_rejects_an_unknown_status(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            make_batch(self.farm, self.crop, "XJ-WAX-1", status="eaten")

    def test_it_refuses_to_allocate_more_than_the_batch_holds(self):
        batch = make_batch(self.farm, self.crop, "XJ-WAX-1", quantity="10")
        with self.assertRaises(IntegrityError), transaction.atomic():
            Batch.objects.filter(pk=batch.pk).update(allocated_quantity=Decimal("10.001"))
        batch.refresh_from_db()
        self.assertEqual(batch.remaining_quantity(), Decimal("10.000"))


class TraceEventImmutabilityTests(TestCase):
    def setUp(self):
        self.village = make_village()
        farm = make_farm(self.village)
        self.batch = make_batch(farm, make_crop(), "XJ-WAX-1")
        self.event, _ = record_event(
            kind="harvest", village=self.village, occurred_at=timezone.now(), lines=[(self.batch, "subject", None, "")]
        )

    def test_saving_a_recorded_event_again_raises_and_changes_nothing(self):
        self.event.kind = "packing"
        with self.assertRaises(ImmutableEventError):
            self.event.save()
        self.assertEqual(TraceEvent.objects.get().kind, "harvest")

    def test_deleting_an_event_raises(self):
        with self.assertRaises(ImmutableEventError):
            self.event.delete()
        with self.assertRaises(ImmutableEventError):
            TraceEvent.objects.all().delete()
        self.assertEqual(TraceEvent.objects.count(), 1)

    def test_queryset_update_raises(self):
        with self.assertRaises(ImmutableEventError):
            TraceEvent.objects.update(kind="packing")
        self.assertEqual(TraceEvent.objects.get().kind, "harvest")

    def test_events_chain_by_hash_within_a_village(self):
        second, created = record_event(
            kind="packing", village=self.village, occurred_at=timezone.now(), lines=[(self.batch, "subject", None, "")]
        )
        self.assertTrue(created)
        self.assertEqual((self.event.seq, second.seq), (1, 2))
        self.assertEqual(self.event.prev_hash, "0" * 64)
        self.assertEqual(second.prev_hash, self.event.hash)

    def test_the_same_client_id_records_once(self):
        again, created = record_event(
            kind="harvest",
            village=self.village,
            occurred_at=timezone.now(),
            lines=[(self.batch, "subject", None, "")],
            client_id=self.event.client_id,
        )
        self.assertFalse(created)
        self.assertEqual(again.pk, self.event.pk)
        self.assertEqual(TraceEvent.objects.count(), 1)

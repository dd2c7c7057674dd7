import uuid
from decimal import Decimal

from django.test import TestCase
from django.utils import translation

from shipments import services as shipping
from shipments.models import RetailerStaff
from tests.support import make_batch, make_crop, make_farm, make_user, make_village
from tests.traceability.scenario import Scenario, at
from traceability import chain
from traceability.models import Batch, BatchInput, Recall, RecallHold, TraceEvent
from traceability.services import (
    BatchOnHold,
    CorrectionRefused,
    InsufficientQuantity,
    NotAllowed,
    RecallStateError,
    close_recall,
    open_recall,
    record_batch_event,
    record_correction,
    transform_batches,
)


class OfflineCaptureTests(TestCase):
    def setUp(self):
        self.village = make_village()
        self.batch = make_batch(make_farm(self.village), make_crop(), "XJ-WAX-20260610-001")

    def snapshot(self):
        return list(TraceEvent.objects.order_by("seq").values_list("seq", "client_id", "kind", "occurred_at", "hash"))

    def test_a_queue_sent_twice_records_each_event_once(self):
        queue = [(uuid.uuid4(), "harvest", at(10, 6)), (uuid.uuid4(), "cooling", at(10, 8))]
        for client_id, kind, when in queue:
            record_batch_event(batch=self.batch, kind=kind, occurred_at=when, client_id=client_id)
        first = self.snapshot()
        for client_id, kind, when in queue:
            event, created = record_batch_event(batch=self.batch, kind=kind, occurred_at=when, client_id=client_id)
            self.assertFalse(created)
            self.assertEqual(event.client_id, client_id)
        self.assertEqual(self.snapshot(), first)
        self.assertEqual(len(first), 2)

    def test_an_event_that_happened_earlier_arrives_late_and_is_chained_by_arrival(self):
        late_id = uuid.uuid4()
        record_batch_event(batch=self.batch, kind="packing", occurred_at=at(11), client_id=uuid.uuid4())
        late, created = record_batch_event(batch=self.batch, kind="harvest", occurred_at=at(10), client_id=late_id)
        self.assertTrue(created)
        self.assertEqual(late.seq, 2)
        self.assertGreater(late.recorded_at, late.occurred_at)
        # Histories read in the order things happened, not the order they arrived.
        self.assertEqual(list(self.batch.events.values_list("kind", flat=True)), ["harvest", "packing"])
        before = self.snapshot()
        again, created = record_batch_event(batch=self.batch, kind="harvest", occurred_at=at(10), client_id=late_id)
        self.assertEqual((again.pk, created), (late.pk, False))
        self.assertEqual(self.snapshot(), before)
        # A late harvest does not move a packed batch back.
        self.batch.refresh_from_db()
        self.assertEqual(self.batch.status, "packed")
        self.assertEqual(chain.verify_all(), [])


class CorrectionTests(TestCase):
    def setUp(self):
        translation.activate("en")  # messages are asserted in English
        self.addCleanup(translation.deactivate)
        self.village = make_village()
        self.coordinator = make_user("carol", role="coordinator", village=self.village)
        self.batch = make_batch(make_farm(self.village), make_crop(), "XJ-WAX-20260610-001")
        self.cooling, _ = record_batch_event(
            batch=self.batch, kind="cooling", occurred_at=at(10), data={"temperature_c": 40}
        )
        self.test_event, _ = record_batch_event(batch=self.batch, kind="quality_test", occurred_at=at(10, 9))

    def test_incorrect_data_is_replaced_and_the_effective_history_shows_the_right_value(self):
        correction, replacement = record_correction(
            event=self.cooling,
            reason="incorrect_data",
            actor=self.coordinator,
            note="typo: 4.0 not 40",
            corrected_data={"temperature_c": 4.0},
        )
        self.assertEqual((correction.kind, correction.corrects_id), ("correction", self.cooling.pk))
        self.assertEqual(correction.correction_reason, "incorrect_data")
        self.assertEqual(
            correction.data,
            {
                "note": "typo: 4.0 not 40",
                "corrected_event": str(self.cooling.client_id),
                "corrective_event": str(replacement.client_id),
            },
        )
        self.assertEqual(
            (replacement.kind, replacement.data, replacement.occurred_at), ("cooling", {"temperature_c": 4.0}, at(10))
        )
        effective = TraceEvent.objects.effective().filter(batches=self.batch)
        self.assertEqual(sorted(effective.values_list("pk", flat=True)), sorted([self.test_event.pk, replacement.pk]))
        self.assertEqual(TraceEvent.objects.count(), 4)
        self.assertEqual(chain.verify_all(), [])

    def test_did_not_occur_leaves_the_event_out_of_the_effective_history(self):
        correction, replacement = record_correction(
            event=self.test_event.client_id, reason="did_not_occur", actor=self.coordinator
        )
        self.assertIsNone(replacement)
        self.assertEqual(list(TraceEvent.objects.effective().values_list("pk", flat=True)), [self.cooling.pk])
        self.assertEqual(list(correction.lines.values_list("batch_id", "role")), [(self.batch.pk, "subject")])

    def test_it_refuses_an_unknown_event_a_correction_and_a_second_correction(self):
        with self.assertRaisesMessage(CorrectionRefused, "No such event"):
            record_correction(event=uuid.uuid4(), reason="did_not_occur", actor=self.coordinator)
        with self.assertRaisesMessage(CorrectionRefused, "No such event"):
            record_correction(event=999999, reason="did_not_occur", actor=self.coordinator)
        correction, _ = record_correction(event=self.test_event, reason="did_not_occur", actor=self.coordinator)
        with self.assertRaisesMessage(CorrectionRefused, "cannot itself be corrected"):
            record_correction(event=correction, reason="did_not_occur", actor=self.coordinator)
        with self.assertRaisesMessage(CorrectionRefused, "already been corrected"):
            record_correction(event=self.test_event, reason="did_not_occur", actor=self.coordinator)
        with self.assertRaisesMessage(CorrectionRefused, "needs the corrected data"):
            record_correction(event=self.cooling, reason="incorrect_data", actor=self.coordinator)
        self.assertEqual(TraceEvent.objects.count(), 3)

    def test_it_refuses_another_villages_event_as_unknown(self):
        other = make_village("LS", name_zh="丽水茶村")
        outsider = make_user("olga", role="coordinator", village=other)
        with self.assertRaisesMessage(CorrectionRefused, "No such event"):
            record_correction(event=self.cooling, reason="did_not_occur", actor=outsider)
        self.assertEqual(TraceEvent.objects.filter(kind="correction").count(), 0)

    def test_a_retried_correction_records_once(self):
        key = uuid.uuid4()
        first = record_correction(
            event=self.cooling,
            reason="incorrect_data",
            actor=self.coordinator,
            corrected_data={"temperature_c": 4},
            client_id=key,
        )
        again = record_correction(
            event=self.cooling,
            reason="incorrect_data",
            actor=self.coordinator,
            corrected_data={"temperature_c": 4},
            client_id=key,
        )
        self.assertEqual([e.pk for e in again], [e.pk for e in first])
        self.assertEqual(TraceEvent.objects.count(), 4)


class TransformationTests(TestCase):
    def setUp(self):
        self.village = make_village()
        self.crop = make_crop()
        self.farm = make_farm(self.village)
        self.carol = make_user("carol", role="farmer", village=self.village)
        self.a = make_batch(self.farm, self.crop, "XJ-WAX-20260610-001", quantity="100")
        self.b = make_batch(self.farm, self.crop, "XJ-WAX-20260610-002", quantity="50")

    def transform(self, **kwargs):
        args = {
            "inputs": [(self.a, Decimal("60")), (self.b, Decimal("50"))],
            "crop": self.crop,
            "farm": self.farm,
            "quantity": Decimal("100"),
            "unit": "box",
            "kind": "mixing",
            "actor": self.carol,
            "occurred_at": at(12),
        }
        args.update(kwargs)
        return transform_batches(**args)

    def test_it_makes_a_new_lot_with_its_inputs_allocated_and_one_event(self):
        output, event, created = self.transform(client_id=uuid.UUID(int=7))
        self.assertTrue(created)
        self.assertEqual(
            (output.lot_code, output.status, output.quantity, output.unit),
            ("XJ-WAX-20260612-001", "packed", Decimal("100"), "box"),
        )
        self.assertEqual(output.harvested_on, self.a.harvested_on)
        self.assertEqual(
            sorted(BatchInput.objects.values_list("input__lot_code", "output_id", "quantity")),
            [
                ("XJ-WAX-20260610-001", output.pk, Decimal("60.000")),
                ("XJ-WAX-20260610-002", output.pk, Decimal("50.000")),
            ],
        )
        self.assertEqual(
            sorted(event.lines.values_list("batch__lot_code", "role", "quantity", "unit")),
            [
                ("XJ-WAX-20260610-001", "input", Decimal("60.000"), "kg"),
                ("XJ-WAX-20260610-002", "input", Decimal("50.000"), "kg"),
                ("XJ-WAX-20260612-001", "output", Decimal("100.000"), "box"),
            ],
        )
        self.assertEqual((event.kind, event.data["transformation"]), ("transformation", "mixing"))
        self.assertEqual(
            list(
                Batch.objects.filter(pk__in=[self.a.pk, self.b.pk])
                .order_by("pk")
                .values_list("allocated_quantity", flat=True)
            ),
            [Decimal("60.000"), Decimal("50.000")],
        )
        again = self.transform(client_id=uuid.UUID(int=7))
        self.assertEqual((again[0].pk, again[1].pk, again[2]), (output.pk, event.pk, False))
        self.assertEqual(Batch.objects.count(), 3)

    def test_it_refuses_more_than_an_input_has_left_and_writes_nothing(self):
        refused = self.assertRaisesMessage(InsufficientQuantity, "XJ-WAX-20260610-002 has only 50.000 kg left")
        with refused, translation.override("en"):
            self.transform(inputs=[(self.a, Decimal("60")), (self.b, Decimal("50.5"))])
        self.assertEqual(Batch.objects.count(), 2)
        self.assertEqual(Batch.objects.get(pk=self.a.pk).allocated_quantity, Decimal("0"))
        self.assertEqual((BatchInput.objects.count(), TraceEvent.objects.count()), (0, 0))

    def test_it_refuses_a_held_input(self):
        Batch.objects.filter(pk=self.b.pk).update(status="on_hold")
        with self.assertRaises(BatchOnHold):
            self.transform()
        self.assertEqual((Batch.objects.count(), TraceEvent.objects.count()), (2, 0))

    def test_it_refuses_a_caller_from_another_village(self):
        outsider = make_user("olga", role="farmer", village=make_village("LS", name_zh="丽水茶村"))
        with self.assertRaises(NotAllowed):
            self.transform(actor=outsider)
        self.assertEqual((Batch.objects.count(), TraceEvent.objects.count()), (2, 0))


class RecallTests(TestCase):
    def setUp(self):
        self.s = Scenario()
        self.staff = make_user("rita")
        RetailerStaff.objects.create(user=self.staff, retailer=self.s.retailer)

    def statuses(self):
        return dict(Batch.objects.values_list("lot_code", "status"))

    def test_a_recall_holds_exactly_the_forward_closure_and_closing_restores_it(self):
        before = self.statuses()
        recall = open_recall(batch=self.s.m1, reason="Pesticide residue above limit", actor=self.s.coordinator)
        self.assertEqual(
            self.statuses(),
            {
                **before,
                self.s.m1.lot_code: "recalled",
                self.s.s1.lot_code: "on_hold",
                self.s.r1.lot_code: "on_hold",
            },
        )
        self.assertEqual(
            sorted(RecallHold.objects.values_list("batch__lot_code", "previous_status")),
            sorted([(self.s.m1.lot_code, "packed"), (self.s.s1.lot_code, "packed"), (self.s.r1.lot_code, "packed")]),
        )
        with self.assertRaises(BatchOnHold):
            draft = shipping.create_shipment(origin_village=self.s.village, store=self.s.store)
            shipping.add_item(shipment=draft, batch=self.s.r1, quantity=Decimal("1"))
        close_recall(recall=recall, actor=self.s.coordinator, note="Retest passed")
        self.assertEqual(self.statuses(), before)
        recall.refresh_from_db()
        self.assertEqual(
            (recall.closed_by, recall.close_note, recall.is_open), (self.s.coordinator, "Retest passed", False)
        )

    def test_overlapping_recalls_keep_a_batch_held_until_the_last_closes(self):
        outer = open_recall(batch=self.s.l2, reason="Flood water", actor=self.s.coordinator)
        inner = open_recall(batch=self.s.s1, reason="Broken cold chain", actor=self.s.coordinator)
        self.assertEqual(inner.holds.get(batch=self.s.s1).previous_status, "packed")
        close_recall(recall=outer, actor=self.s.coordinator)
        statuses = self.statuses()
        self.assertEqual(
            [statuses[lot.lot_code] for lot in (self.s.l2, self.s.m1, self.s.s1, self.s.r1)],
            ["harvested", "packed", "recalled", "on_hold"],
        )
        close_recall(recall=inner, actor=self.s.coordinator)
        self.assertEqual(self.statuses()[self.s.s1.lot_code], "packed")
        self.assertEqual(self.statuses()[self.s.r1.lot_code], "packed")

    def test_it_refuses_an_outsider_a_double_recall_and_a_double_close(self):
        outsider = make_user("olga", role="coordinator", village=make_village("LS", name_zh="丽水茶村"))
        auditor = make_user("alice", role="auditor")
        for user in (outsider, auditor):
            with self.assertRaises(NotAllowed):
                open_recall(batch=self.s.m1, reason="x", actor=user)
        recall = open_recall(batch=self.s.m1, reason="x", actor=self.s.coordinator)
        with self.assertRaises(RecallStateError):
            open_recall(batch=self.s.m1, reason="again", actor=self.s.coordinator)
        close_recall(recall=recall, actor=self.s.coordinator)
        with self.assertRaises(RecallStateError):
            close_recall(recall=recall, actor=self.s.coordinator)
        self.assertEqual(Recall.objects.count(), 1)

    def test_a_recall_announces_every_held_batch_after_commit(self):
        from traceability.signals import batches_changed

        received = []

        def listener(sender, batch_ids, **kwargs):
            received.append(set(batch_ids))

        batches_changed.connect(listener)
        self.addCleanup(batches_changed.disconnect, listener)
        with self.captureOnCommitCallbacks(execute=True):
            open_recall(batch=self.s.s1, reason="x", actor=self.s.coordinator)
        self.assertEqual(received, [{self.s.s1.pk, self.s.r1.pk}])

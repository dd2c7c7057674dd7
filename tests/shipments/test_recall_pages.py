"""Across the seam: a recall opened through traceability's services reaches every affected
consumer page at once (the cached pages included) and leaves them when it closes."""

from decimal import Decimal

from django.test import TestCase
from django.utils import timezone, translation

from shipments import services as shipping
from tests.support import make_batch, make_crop, make_delivered_shipment, make_farm, make_store, make_user, make_village
from traceability import services as trace

WARNING_EN = "Recall: do not eat"
HOLD_EN = "Safety hold: please do not eat"


class RecallOnConsumerPagesTests(TestCase):
    def setUp(self):
        village = make_village()
        farm = make_farm(village)
        crop = make_crop()
        self.carol = make_user("carol", role="coordinator", village=village)
        self.source = make_batch(farm, crop, "XJ-WAX-20260612-001", status="packed")
        self.other = make_batch(farm, crop, "XJ-WAX-20260612-002", status="packed")
        with self.captureOnCommitCallbacks(execute=True):
            self.gift, _event, _ = trace.transform_batches(
                inputs=[(self.source, Decimal("20"))],
                crop=crop,
                farm=farm,
                quantity=Decimal("18"),
                unit="kg",
                kind="sorting",
                actor=self.carol,
                occurred_at=timezone.now(),
            )
        store = make_store()
        self.direct = make_delivered_shipment(batches=[self.source], store=store)
        self.derived = make_delivered_shipment(batches=[self.gift], store=store)
        self.unrelated = make_delivered_shipment(batches=[self.other], store=store)
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def page(self, shipment) -> str:
        return self.client.get(shipment.public_path, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    def test_opening_and_closing_a_recall_updates_every_affected_page_even_when_cached(self):
        for shipment in (self.direct, self.derived, self.unrelated):
            self.assertNotIn('role="alert"', self.page(shipment))  # rendered and cached
        with self.captureOnCommitCallbacks(execute=True):
            recall = trace.open_recall(batch=self.source, reason="Pesticide above limit", actor=self.carol)
        self.assertIn(WARNING_EN, self.page(self.direct))
        self.assertIn(HOLD_EN, self.page(self.derived))
        self.assertNotIn('role="alert"', self.page(self.unrelated))
        self.assertNotIn("Pesticide above limit", self.page(self.direct))  # staff's words stay internal

        with self.captureOnCommitCallbacks(execute=True):
            trace.close_recall(recall=recall, actor=self.carol, note="Retest passed")
        for shipment in (self.direct, self.derived, self.unrelated):
            self.assertNotIn('role="alert"', self.page(shipment))

    def test_a_recalled_lot_cannot_be_shipped_again(self):
        with self.captureOnCommitCallbacks(execute=True):
            trace.open_recall(batch=self.source, reason="Pesticide above limit", actor=self.carol)
        draft = shipping.create_shipment(origin_village=self.source.farm.village, store=make_store("杭州店"))
        with self.assertRaises(shipping.BatchOnHold):
            shipping.add_item(shipment=draft, batch=self.gift, quantity=Decimal("1"))
        self.assertEqual(draft.items.count(), 0)

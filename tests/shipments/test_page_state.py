"""shipments/page_state.py: which state a shipment's page is in, and what it lets the page show."""

from decimal import Decimal

from django.test import TestCase
from django.utils import translation

from shipments import page_state, services
from tests.support import make_batch, make_crop, make_farm, make_store, make_village
from traceability.models import Batch


class PageStateTests(TestCase):
    def setUp(self):
        village = make_village()
        self.store = make_store(phone="021-6288 0101")
        farm = make_farm(village)
        crop = make_crop()
        self.lots = [make_batch(farm, crop, f"XJ-WAX-20260612-00{n}") for n in (1, 2)]
        self.shipment = services.create_shipment(origin_village=village, store=self.store)
        for lot in self.lots:
            services.add_item(shipment=self.shipment, batch=lot, quantity=Decimal("10"))
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def decide(self, failed_tests=()):
        self.shipment.refresh_from_db()
        lots = list(Batch.objects.filter(pk__in=[b.pk for b in self.lots]).order_by("lot_code"))
        names = {b.lot_code: f"Waxberry {b.lot_code[-1]}" for b in lots}
        return page_state.decide(
            self.shipment, lots, store="Jing'an", village="Xianju", crop_names=names, failed_tests=set(failed_tests)
        )

    def test_a_draft_and_a_packed_shipment_are_being_prepared_never_delivered(self):
        state = self.decide()
        self.assertEqual(
            (state.kind, state.genuine, state.headline),
            ("preparing", True, "Being prepared in Xianju: not yet sent to Jing'an"),
        )
        services.pack_shipment(shipment=self.shipment)
        self.assertEqual(self.decide().kind, "preparing")

    def test_a_dispatched_shipment_is_on_the_way_and_a_received_one_arrived_on_its_day(self):
        services.dispatch_shipment(shipment=self.shipment)
        self.assertEqual(self.decide().headline, "On the way from Xianju to Jing'an")
        services.receive_shipment(shipment=self.shipment)
        state = self.decide()
        self.assertEqual((state.kind, state.genuine), ("arrived", True))
        self.assertTrue(state.headline.startswith("Arrived at Jing'an on "))

    def test_a_cancelled_shipment_is_void_shows_no_products_and_no_genuine_badge(self):
        services.cancel_shipment(shipment=self.shipment)
        state = self.decide()
        self.assertEqual((state.kind, state.genuine, state.shows_products), ("void", False, False))
        self.assertEqual(state.headline, "This traceability code is not valid")
        self.assertIn("Call the store on 021-6288 0101.", state.lines[1])

    def test_a_recalled_lot_is_named_with_what_to_do_and_the_other_lot_is_unaffected(self):
        Batch.objects.filter(pk=self.lots[1].pk).update(status="recalled")
        state = self.decide()
        self.assertEqual((state.kind, state.genuine), ("recalled", False))
        self.assertEqual(state.headline, "Recall: do not eat Waxberry 2 from this delivery")
        self.assertEqual(
            state.lines,
            (
                "Take it back to Jing'an for a refund, or throw it away. Call the store on 021-6288 0101.",
                "Waxberry 1 from this delivery is not affected.",
            ),
        )
        self.assertEqual(state.lot_states, {"XJ-WAX-20260612-001": "unaffected", "XJ-WAX-20260612-002": "recalled"})

    def test_a_held_lot_says_whether_a_test_failed_or_a_check_is_pending(self):
        Batch.objects.filter(pk=self.lots[0].pk).update(status="on_hold")
        pending = self.decide()
        self.assertEqual((pending.kind, pending.genuine), ("on_hold", False))
        self.assertEqual(pending.headline, "Safety hold: please do not eat Waxberry 1 for now")
        self.assertEqual(pending.lines[0], "A food-safety check of Waxberry 1 is pending.")
        failed = self.decide(failed_tests={"XJ-WAX-20260612-001"})
        self.assertEqual(
            failed.lines[0], "A quality test of Waxberry 1 failed; the growers and the store are deciding what to do."
        )

    def test_void_comes_before_a_recall_and_a_recall_before_a_hold(self):
        Batch.objects.filter(pk=self.lots[0].pk).update(status="on_hold")
        Batch.objects.filter(pk=self.lots[1].pk).update(status="recalled")
        state = self.decide()
        self.assertEqual(state.kind, "recalled")
        self.assertEqual(state.lot_states, {"XJ-WAX-20260612-001": "on_hold", "XJ-WAX-20260612-002": "recalled"})
        self.shipment.status = "cancelled"
        self.shipment.save(update_fields=["status"])
        self.assertEqual(self.decide().kind, "void")

    def test_the_wording_is_chinese_on_a_chinese_page(self):
        Batch.objects.filter(pk=self.lots[1].pk).update(status="recalled")
        with translation.override("zh-hans"):
            state = self.decide()
        self.assertEqual(state.headline, "召回通知：请勿食用本批到货中的Waxberry 2")
        self.assertEqual(state.lines[1], "本批到货中的Waxberry 1不受影响。")

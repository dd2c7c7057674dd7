"""Retailer staff's shipment pages: scoping, picking batches, the state buttons, the scan chart."""

from datetime import timedelta
from decimal import Decimal

from django.test import TestCase
from django.utils import timezone

from shipments import services
from shipments.models import Scan, Shipment
from tests.support import in_english, make_batch, make_crop, make_farm, make_retailer, make_user, make_village
from traceability.models import Batch, TraceEvent


class ShipmentPageTests(TestCase):
    def setUp(self):
        in_english(self)
        self.village = make_village("XJ")
        self.farm = make_farm(self.village)
        crop = make_crop("WAX")
        self.batch = make_batch(self.farm, crop, "XJ-WAX-20260612-001", quantity="100")
        self.used_up = make_batch(self.farm, crop, "XJ-WAX-20260612-002", quantity="5", allocated_quantity=Decimal("5"))
        self.held = make_batch(self.farm, crop, "XJ-WAX-20260612-003", status="on_hold")
        self.alice = make_user("alice")
        self.retailer, self.store = make_retailer(villages=[self.village], staff=[self.alice])
        self.bob = make_user("bob")
        _, self.bobs_store = make_retailer("绿源生鲜", villages=[self.village], staff=[self.bob], store_name="杭州店")
        self.client.force_login(self.alice)

    def create(self) -> Shipment:
        response = self.client.post(
            "/shipments/new/", {"store": self.store.pk, "origin_village": self.village.pk, "carrier": "顺丰冷链"}
        )
        shipment = Shipment.objects.get()
        self.assertRedirects(response, f"/shipments/{shipment.public_code}/")
        return shipment

    def test_the_navigation_offers_retailer_staff_the_trace_where_recalls_start(self):
        response = self.client.get("/")
        self.assertContains(response, '<a href="/trace/">Trace a lot</a>', html=True)
        self.assertEqual(self.client.get("/trace/").status_code, 200)

    def test_creating_a_shipment_and_picking_batches_by_remaining_quantity(self):
        shipment = self.create()
        self.assertEqual((shipment.store, shipment.carrier, shipment.created_by), (self.store, "顺丰冷链", self.alice))
        page = self.client.get(f"/shipments/{shipment.public_code}/")
        self.assertEqual([batch.lot_code for batch, _ in page.context["available"]], ["XJ-WAX-20260612-001"])
        response = self.client.post(
            f"/shipments/{shipment.public_code}/items/", {"qty:XJ-WAX-20260612-001": "40"}, follow=True
        )
        self.assertRedirects(response, f"/shipments/{shipment.public_code}/")
        self.assertEqual([str(m) for m in response.context["messages"]], ["1 batch added."])
        self.assertEqual(
            list(shipment.items.values_list("batch__lot_code", "quantity")),
            [("XJ-WAX-20260612-001", Decimal("40.000"))],
        )
        self.assertEqual(Batch.objects.get(pk=self.batch.pk).remaining_quantity(), Decimal("60"))

    def test_asking_for_more_than_is_left_adds_nothing_shows_the_service_message_and_keeps_the_input(self):
        shipment = self.create()
        response = self.client.post(f"/shipments/{shipment.public_code}/items/", {"qty:XJ-WAX-20260612-001": "150"})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(shipment.items.count(), 0)
        html = response.content.decode()
        self.assertIn("Lot XJ-WAX-20260612-001 has only 100.000 kg left; 150 were asked for.", html)
        self.assertIn('name="qty:XJ-WAX-20260612-001" value="150"', html)

    def test_a_held_or_used_up_batch_cannot_be_picked_even_by_a_forged_form(self):
        shipment = self.create()
        for lot in ("XJ-WAX-20260612-002", "XJ-WAX-20260612-003"):
            response = self.client.post(f"/shipments/{shipment.public_code}/items/", {f"qty:{lot}": "1"})
            self.assertEqual(response.status_code, 404)
        self.assertEqual(shipment.items.count(), 0)

    def test_dispatch_receive_and_the_state_errors(self):
        shipment = self.create()
        response = self.client.post(f"/shipments/{shipment.public_code}/dispatch/", follow=True)
        self.assertIn("An empty shipment cannot be dispatched: add at least one batch.", response.content.decode())
        services.add_item(shipment=shipment, batch=self.batch, quantity=Decimal("10"))
        self.client.post(f"/shipments/{shipment.public_code}/dispatch/")
        self.assertEqual(Shipment.objects.get().status, "dispatched")
        response = self.client.post(f"/shipments/{shipment.public_code}/cancel/", follow=True)
        self.assertIn("Cannot cancel a shipment that is dispatched.", response.content.decode())
        self.client.post(f"/shipments/{shipment.public_code}/receive/")
        self.assertEqual(Shipment.objects.get().status, "delivered")
        self.assertEqual(
            list(TraceEvent.objects.values_list("kind", "actor__username")),
            [("shipping", "alice"), ("receiving", "alice")],
        )

    def test_another_retailers_shipment_answers_404_to_every_page_and_action(self):
        theirs = services.create_shipment(origin_village=self.village, store=self.bobs_store)
        services.add_item(shipment=theirs, batch=self.batch, quantity=Decimal("10"))
        code = theirs.public_code
        self.assertEqual(self.client.get(f"/shipments/{code}/").status_code, 404)
        for action in ("dispatch", "cancel", "pack", "items/remove"):
            self.assertEqual(
                self.client.post(f"/shipments/{code}/{action}/", {"lot": "XJ-WAX-20260612-001"}).status_code, 404
            )
        self.assertEqual(
            self.client.post(f"/shipments/{code}/items/", {"qty:XJ-WAX-20260612-001": "1"}).status_code, 404
        )
        self.assertEqual(
            (Shipment.objects.get(pk=theirs.pk).status, theirs.items.get().quantity), ("draft", Decimal("10"))
        )
        self.assertNotIn(code, self.client.get("/shipments/").content.decode())

    def test_a_store_of_another_retailer_cannot_be_chosen(self):
        response = self.client.post("/shipments/new/", {"store": self.bobs_store.pk, "origin_village": self.village.pk})
        self.assertEqual(response.status_code, 200)
        self.assertIn("store", response.context["form"].errors)
        self.assertEqual(Shipment.objects.count(), 0)

    def test_a_village_that_does_not_supply_the_retailer_cannot_be_the_origin(self):
        elsewhere = make_village("SG", name_zh="寻乌县脐橙村")
        response = self.client.post("/shipments/new/", {"store": self.store.pk, "origin_village": elsewhere.pk})
        self.assertIn("origin_village", response.context["form"].errors)
        self.assertEqual(Shipment.objects.count(), 0)

    def test_the_list_filters_by_state_and_store(self):
        draft = services.create_shipment(origin_village=self.village, store=self.store)
        gone = services.create_shipment(origin_village=self.village, store=self.store)
        services.cancel_shipment(shipment=gone)
        response = self.client.get("/shipments/", {"status": "cancelled", "store": self.store.pk})
        self.assertEqual(list(response.context["shipments"]), [gone])
        response = self.client.get("/shipments/", {"status": "draft"})
        self.assertEqual(list(response.context["shipments"]), [draft])

    def test_the_page_links_the_qr_consumer_page_labels_and_charts_scans_per_day(self):
        shipment = self.create()
        now = timezone.now()
        Scan.objects.bulk_create(
            [Scan(shipment=shipment, scanned_at=now, language="zh-hans")] * 3
            + [Scan(shipment=shipment, scanned_at=now - timedelta(days=2), language="en")]
            + [Scan(shipment=shipment, scanned_at=now - timedelta(days=60), language="en")]
        )
        response = self.client.get(f"/shipments/{shipment.public_code}/")
        html = response.content.decode()
        code = shipment.public_code
        self.assertIn(f'src="/s/{code}/qr.svg"', html)
        self.assertIn(f'href="http://127.0.0.1:8000/s/{code}"', html)
        self.assertIn(f'href="/shipments/{code}/labels/"', html)
        chart = response.context["chart"]
        self.assertEqual((chart["total"], chart["all_time"], chart["peak"]), (4, 5, 3))
        self.assertEqual([bar["count"] for bar in chart["bars"]][-3:], [1, 0, 3])
        self.assertEqual(html.count("<rect "), 2)

    def test_village_members_read_their_shipments_without_any_action_buttons(self):
        shipment = services.create_shipment(origin_village=self.village, store=self.store)
        farmer = make_user("carol", role="farmer", village=self.village)
        self.client.force_login(farmer)
        html = self.client.get(f"/shipments/{shipment.public_code}/").content.decode()
        self.assertIn(shipment.public_code, html)
        self.assertNotIn("/dispatch/", html)
        # The origin village may print the labels (permissions.may_print), so the page links them.
        self.assertIn(f'href="/shipments/{shipment.public_code}/labels/"', html)
        self.assertEqual(self.client.post(f"/shipments/{shipment.public_code}/cancel/").status_code, 404)
        self.assertEqual(self.client.get("/shipments/new/").status_code, 404)
        self.assertEqual(Shipment.objects.get().status, "draft")

    def test_the_retailer_home_lists_shipments_to_act_on(self):
        shipment = self.create()
        html = self.client.get("/").content.decode()
        self.assertIn(f'href="/shipments/{shipment.public_code}/"', html)
        self.assertIn('href="/shipments/new/"', html)
        self.assertNotIn('href="/batches/new/"', html)

    def test_the_recall_form_on_the_shipment_page_opens_a_recall_of_the_lot(self):
        shipment = self.create()
        services.add_item(shipment=shipment, batch=self.batch, quantity=Decimal("10"))
        html = self.client.get(f"/shipments/{shipment.public_code}/").content.decode()
        self.assertIn('action="/recalls/open/"', html)
        self.assertIn('name="lot" value="XJ-WAX-20260612-001"', html)
        self.client.post("/recalls/open/", {"lot": "XJ-WAX-20260612-001", "reason": "农残超标 residue over limit"})
        self.assertEqual(Batch.objects.get(pk=self.batch.pk).status, "recalled")
        html = self.client.get(f"/shipments/{shipment.public_code}/").content.decode()
        self.assertNotIn('action="/recalls/open/"', html)

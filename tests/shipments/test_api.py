"""The shipments resources of the API: retailers, stores, shipments, items, actions, scans;
and no over-shipping under concurrent requests."""

import threading
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test import TestCase, TransactionTestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shipments.models import Scan, Shipment, ShipmentItem, Store
from tests.support import api_client, make_api_world, make_batch, requires_postgres
from traceability.models import Batch, TraceEvent

V1 = "/api/v1"


class ShipmentJourneyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def test_a_retailer_builds_packs_dispatches_and_receives_a_shipment_with_trace_events(self):
        client = api_client(self.w.rita)
        response = client.post(
            f"{V1}/shipments/", {"origin_village": self.w.xj.pk, "store": self.w.store.pk, "carrier": "顺丰冷运"}
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        shipment = Shipment.objects.get(pk=body["id"])
        self.assertEqual(body["public_url"], f"http://127.0.0.1:8000/s/{shipment.public_code}")
        self.assertEqual(body["qr_png"], f"http://127.0.0.1:8000/s/{shipment.public_code}/qr.png")
        self.assertEqual(body["qr_svg"], f"http://127.0.0.1:8000/s/{shipment.public_code}/qr.svg")
        self.assertEqual(body["labels"], f"http://127.0.0.1:8000/shipments/{shipment.public_code}/labels/")
        self.assertEqual((shipment.created_by, shipment.status), (self.w.rita, "draft"))

        url = f"{V1}/shipments/{shipment.pk}"
        response = client.post(f"{url}/items/", {"batch": self.w.batch.lot_code, "quantity": "30"})
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["quantity"], "30.000")
        self.assertEqual(client.post(f"{url}/pack/").json()["status"], "packed")
        self.assertEqual(client.post(f"{url}/dispatch/").json()["status"], "dispatched")
        self.assertEqual(client.post(f"{url}/receive/").json()["status"], "delivered")

        events = TraceEvent.objects.filter(data__shipment=shipment.public_code).order_by("seq")
        self.assertEqual([(e.kind, e.actor) for e in events], [("shipping", self.w.rita), ("receiving", self.w.rita)])
        self.assertEqual(Batch.objects.get(pk=self.w.batch.pk).allocated_quantity, Decimal("30"))

    def test_removing_an_item_and_cancelling_give_quantities_back(self):
        client = api_client(self.w.rita)
        url = f"{V1}/shipments/{self.w.shipment.pk}"
        item_id = client.post(f"{url}/items/", {"batch": self.w.batch.lot_code, "quantity": "30"}).json()["id"]
        self.assertEqual(client.delete(f"{url}/items/{item_id}/").status_code, 204)
        self.assertEqual(Batch.objects.get(pk=self.w.batch.pk).allocated_quantity, Decimal("0"))
        client.post(f"{url}/items/", {"batch": self.w.batch.lot_code, "quantity": "20"})
        self.assertEqual(client.post(f"{url}/cancel/").json()["status"], "cancelled")
        self.assertEqual(Batch.objects.get(pk=self.w.batch.pk).allocated_quantity, Decimal("0"))

    def test_service_refusals_map_to_409_and_400_with_a_clear_message(self):
        client = api_client(self.w.rita)
        url = f"{V1}/shipments/{self.w.shipment.pk}"
        response = client.post(f"{url}/dispatch/")
        self.assertEqual(response.status_code, 409)
        self.assertEqual(
            response.json()["error"]["message"], "An empty shipment cannot be dispatched: add at least one batch."
        )
        response = client.post(f"{url}/items/", {"batch": self.w.batch.lot_code, "quantity": "101"})
        self.assertEqual(response.status_code, 409)
        self.assertEqual(
            response.json()["error"]["message"],
            "Lot XJ-WAX-20260612-001 has only 100.000 kg left; 101.000 were asked for.",
        )
        Batch.objects.filter(pk=self.w.batch.pk).update(status="on_hold")
        response = client.post(f"{url}/items/", {"batch": self.w.batch.lot_code, "quantity": "1"})
        self.assertEqual(response.status_code, 409)
        # A lot of a village supplying the retailer, but not this shipment's village: 400.
        self.w.retailer.supplier_villages.add(self.w.gn)
        response = client.post(f"{url}/items/", {"batch": self.w.other_batch.lot_code, "quantity": "1"})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(ShipmentItem.objects.count(), 0)
        self.assertEqual(Batch.objects.get(pk=self.w.other_batch.pk).allocated_quantity, Decimal("0"))

    def test_a_dispatched_shipment_can_no_longer_be_edited(self):
        client = api_client(self.w.rita)
        url = f"{V1}/shipments/{self.w.shipment.pk}"
        client.post(f"{url}/items/", {"batch": self.w.batch.lot_code, "quantity": "1"})
        client.post(f"{url}/dispatch/")
        self.assertEqual(client.patch(f"{url}/", {"carrier": "x"}).status_code, 409)
        self.assertEqual(client.post(f"{url}/cancel/").status_code, 409)
        self.assertEqual(Shipment.objects.get(pk=self.w.shipment.pk).carrier, "")


class ShipmentTenancyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def test_each_role_lists_only_the_shipments_it_may_see(self):
        w = self.w
        expected = {
            w.rita: [w.shipment.pk],
            w.rex: [w.other_shipment.pk],
            w.alice: [w.shipment.pk],
            w.bob: [w.other_shipment.pk],
            w.auditor: sorted([w.shipment.pk, w.other_shipment.pk]),
        }
        for user, ids in expected.items():
            rows = api_client(user).get(f"{V1}/shipments/").json()["results"]
            self.assertEqual(sorted(row["id"] for row in rows), ids, user.username)

    def test_every_route_to_another_tenants_shipment_answers_404_and_changes_nothing(self):
        client = api_client(self.w.rita)
        url = f"{V1}/shipments/{self.w.other_shipment.pk}"
        item = ShipmentItem.objects.create(shipment=self.w.other_shipment, batch=self.w.other_batch, quantity=1)
        attempts = [
            client.get(f"{url}/"),
            client.patch(f"{url}/", {"carrier": "x"}),
            client.put(f"{url}/", {"carrier": "x"}),
            client.post(f"{url}/pack/"),
            client.post(f"{url}/dispatch/"),
            client.post(f"{url}/receive/"),
            client.post(f"{url}/cancel/"),
            client.get(f"{url}/items/"),
            client.post(f"{url}/items/", {"batch": self.w.batch.lot_code, "quantity": "1"}),
            client.delete(f"{url}/items/{item.pk}/"),
        ]
        self.assertEqual([r.status_code for r in attempts], [404] * len(attempts))
        shipment = Shipment.objects.get(pk=self.w.other_shipment.pk)
        self.assertEqual((shipment.status, shipment.carrier, shipment.items.count()), ("draft", "", 1))

    def test_shipments_cannot_point_at_another_tenants_store_village_farm_or_batch(self):
        client = api_client(self.w.rita)
        attempts = [
            {"origin_village": self.w.xj.pk, "store": self.w.other_store.pk},
            {"origin_village": self.w.gn.pk, "store": self.w.store.pk},
            {"origin_village": self.w.xj.pk, "store": self.w.store.pk, "origin_farm": self.w.other_farm.pk},
        ]
        for body in attempts:
            self.assertEqual(client.post(f"{V1}/shipments/", body).status_code, 404, body)
        response = client.post(
            f"{V1}/shipments/{self.w.shipment.pk}/items/", {"batch": self.w.other_batch.lot_code, "quantity": "1"}
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(Shipment.objects.count(), 2)
        self.assertEqual(ShipmentItem.objects.count(), 0)

    def test_village_members_and_auditors_read_shipments_but_cannot_act_on_them(self):
        url = f"{V1}/shipments/{self.w.shipment.pk}"
        for user in (self.w.alice, self.w.auditor):
            client = api_client(user)
            self.assertEqual(client.get(f"{url}/").status_code, 200)
            self.assertEqual(client.post(f"{url}/cancel/").status_code, 403)
            self.assertEqual(
                client.post(f"{url}/items/", {"batch": self.w.batch.lot_code, "quantity": "1"}).status_code, 403
            )
        self.assertEqual(Shipment.objects.get(pk=self.w.shipment.pk).status, "draft")

    def test_protected_shipment_fields_are_refused_and_never_saved(self):
        client = api_client(self.w.rita)
        url = f"{V1}/shipments/{self.w.shipment.pk}/"
        hostile = {
            "status": "delivered",
            "public_code": "AAAAAAAAAAAAAAAA",
            "created_by": self.w.rex.pk,
            "dispatched_at": "2026-01-01T00:00:00Z",
            "store": self.w.other_store.pk,
            "origin_village": self.w.gn.pk,
        }
        before = Shipment.objects.values().get(pk=self.w.shipment.pk)
        for name, value in hostile.items():
            response = client.patch(url, {name: value})
            self.assertEqual(response.status_code, 400, name)
            self.assertEqual(list(response.json()["error"]["fields"]), [name])
        body = {"origin_village": self.w.xj.pk, "store": self.w.store.pk, "status": "delivered"}
        self.assertEqual(client.post(f"{V1}/shipments/", body).status_code, 400)
        self.assertEqual(Shipment.objects.values().get(pk=self.w.shipment.pk), before)
        self.assertEqual(Shipment.objects.count(), 2)

    def test_retailer_staff_manage_only_their_stores(self):
        client = api_client(self.w.rita)
        response = client.post(
            f"{V1}/stores/", {"retailer": self.w.retailer.pk, "name_zh": "杭州店", "city_zh": "杭州"}
        )
        self.assertEqual(response.status_code, 201)
        body = {"retailer": self.w.other_retailer.pk, "name_zh": "伪店", "city_zh": "杭州"}
        self.assertEqual(client.post(f"{V1}/stores/", body).status_code, 404)
        other = f"{V1}/stores/{self.w.other_store.pk}/"
        self.assertEqual(client.get(other).status_code, 404)
        self.assertEqual(client.patch(other, {"name_en": "x"}).status_code, 404)
        self.assertEqual(client.delete(other).status_code, 404)
        self.assertEqual(client.patch(f"{V1}/retailers/{self.w.other_retailer.pk}/", {"name_en": "x"}).status_code, 404)
        response = client.patch(f"{V1}/retailers/{self.w.retailer.pk}/", {"supplier_villages": [self.w.gn.pk]})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(list(self.w.retailer.supplier_villages.all()), [self.w.xj])
        self.assertEqual(sorted(Store.objects.values_list("name_zh", flat=True)), ["上海静安店", "南昌店", "杭州店"])


class ScanAndQueryCountTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def test_scans_are_counted_per_day_for_the_callers_shipments_only(self):
        now = timezone.now()
        Scan.objects.bulk_create(
            [Scan(shipment=self.w.shipment, scanned_at=now, language="zh-hans") for _ in range(3)]
            + [Scan(shipment=self.w.shipment, scanned_at=now - timedelta(days=1), language="en")]
            + [Scan(shipment=self.w.other_shipment, scanned_at=now, language="en") for _ in range(5)]
        )
        today = timezone.localdate(now)
        rows = api_client(self.w.rita).get(f"{V1}/scans/").json()["results"]
        self.assertEqual(rows, [{"day": str(today), "scans": 3}, {"day": str(today - timedelta(days=1)), "scans": 1}])
        rows = api_client(self.w.auditor).get(f"{V1}/scans/?language=en").json()["results"]
        self.assertEqual(rows, [{"day": str(today), "scans": 5}, {"day": str(today - timedelta(days=1)), "scans": 1}])

    def test_shipment_lists_do_not_grow_queries_with_page_size(self):
        for n in range(20):
            shipment = Shipment.objects.create(origin_village=self.w.xj, store=self.w.store)
            batch = make_batch(self.w.farm, self.w.crop, f"XJ-WAX-20260614-{n:03d}")
            ShipmentItem.objects.create(shipment=shipment, batch=batch, quantity=1)
        client = api_client(self.w.rita)
        counts = []
        for size in (2, 20):
            with CaptureQueriesContext(connection) as queries:
                self.assertEqual(len(client.get(f"{V1}/shipments/?page_size={size}").json()["results"]), size)
            counts.append(len(queries))
        self.assertEqual(counts[0], counts[1])


@requires_postgres
class OverShippingTests(TransactionTestCase):
    def test_fifty_concurrent_requests_for_3_of_a_batch_of_100_ship_exactly_99(self):
        w = make_api_world()
        statuses, messages = [], []
        barrier = threading.Barrier(50)

        def add_three():
            try:
                client = api_client(w.rita)
                barrier.wait()
                response = client.post(
                    f"{V1}/shipments/{w.shipment.pk}/items/", {"batch": w.batch.lot_code, "quantity": "3"}
                )
                statuses.append(response.status_code)
                if response.status_code == 409:
                    messages.append(response.json()["error"]["message"])
            finally:
                connection.close()

        threads = [threading.Thread(target=add_three) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual((statuses.count(201), statuses.count(409), len(statuses)), (33, 17, 50))
        self.assertEqual(set(messages), {"Lot XJ-WAX-20260612-001 has only 1.000 kg left; 3.000 were asked for."})
        batch = Batch.objects.get(pk=w.batch.pk)
        self.assertEqual(batch.remaining_quantity(), Decimal("1"))
        self.assertEqual(ShipmentItem.objects.get().quantity, Decimal("99"))


class MeTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def test_me_names_the_callers_roles(self):
        body = api_client(self.w.carol).get(f"{V1}/me/").json()
        self.assertEqual(body["memberships"], [{"role": "coordinator", "village": self.w.xj.pk}])
        self.assertFalse(body["sees_everything"])
        self.assertTrue(api_client(self.w.auditor).get(f"{V1}/me/").json()["sees_everything"])

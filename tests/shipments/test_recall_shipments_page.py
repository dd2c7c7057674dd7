"""The recall's affected shipments, stores and scans, one click from the recall page."""

import csv
import io
from datetime import UTC, datetime

from django.test import TestCase

from shipments.models import RetailerStaff, Scan
from tests.support import in_english, make_retailer, make_user, make_village
from tests.traceability.scenario import Scenario
from traceability.services import open_recall


class RecallShipmentsPageTests(TestCase):
    def setUp(self):
        in_english(self)
        self.s = Scenario()
        Scan.objects.create(shipment=self.s.shipment, scanned_at=datetime(2026, 6, 16, 4, tzinfo=UTC), language="en")
        self.recall = open_recall(batch=self.s.l2, reason="Flood water", actor=self.s.coordinator)
        self.auditor = make_user("audrey", role="auditor")
        self.url = f"/recalls/{self.recall.pk}/shipments/"

    def test_the_recall_page_links_to_its_affected_shipments(self):
        self.client.force_login(self.auditor)
        response = self.client.get(f"/recalls/{self.recall.pk}/")
        self.assertContains(
            response,
            f'<a href="{self.url}" id="recall-shipments-link">Shipments, stores and consumer scans to act on</a>',
            html=True,
        )
        code = self.s.shipment.public_code
        self.assertContains(response, f'<a class="row-title code" href="/shipments/{code}/">{code}</a>', html=True)

    def test_it_lists_each_affected_shipment_with_a_link_its_lots_and_scans_in_local_time(self):
        self.client.force_login(self.auditor)
        response = self.client.get(self.url)
        pairs = response.context["pairs"]
        self.assertEqual(
            [(a.public_code, row.public_code, a.lots[0][0], a.scans) for a, row in pairs],
            [
                (self.s.shipment.public_code, self.s.shipment.public_code, self.s.r1.lot_code, 1),
                (self.s.shipment2.public_code, self.s.shipment2.public_code, self.s.s1.lot_code, 0),
            ],
        )
        code = self.s.shipment.public_code
        self.assertContains(response, f'<a class="row-title code" href="/shipments/{code}/">{code}</a>', html=True)
        self.assertContains(response, "1 scan · last 2026-06-16 12:00")  # 04:00 UTC is noon in Shanghai
        self.assertEqual(
            [(store.store, store.shipments, row.name_en) for store, row in response.context["stores"]],
            [("上海静安店", 1, ""), ("杭州西湖店", 1, "")],
        )
        self.assertContains(response, f'<a href="/recalls/{self.recall.pk}/shipments.csv" id="recall-shipments-csv">')

    def test_another_retailers_staff_sees_the_recall_but_not_the_shipments_of_others(self):
        bob = make_user("bob")
        make_retailer("鲜家超市", villages=[self.s.village], staff=[bob])
        self.client.force_login(bob)
        response = self.client.get(self.url)
        self.assertEqual(response.context["pairs"], [])
        self.assertContains(response, "None of the recalled lots is in a shipment you can see.")
        rows = list(csv.reader(io.StringIO(self.client.get(f"{self.url[:-1]}.csv").content.decode("utf-8-sig"))))
        self.assertEqual(len(rows), 1)

    def test_the_retailers_own_staff_download_every_affected_line(self):
        alice = make_user("alice")
        RetailerStaff.objects.create(user=alice, retailer=self.s.retailer)
        self.s.retailer.supplier_villages.add(self.s.village)
        self.client.force_login(alice)
        response = self.client.get(f"/recalls/{self.recall.pk}/shipments.csv")
        self.assertEqual(
            response["Content-Disposition"], f'attachment; filename="recall-{self.recall.pk}-shipments.csv"'
        )
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        self.assertEqual(
            [row[2:4] + row[9:13] for row in rows[1:]],
            [
                [self.s.shipment.public_code, "delivered", self.s.r1.lot_code, "10", "kg", "1"],
                [self.s.shipment2.public_code, "dispatched", self.s.s1.lot_code, "5", "kg", "0"],
            ],
        )

    def test_someone_who_cannot_see_the_lot_gets_404(self):
        outsider = make_user("olga", role="farmer", village=make_village("XW"))
        self.client.force_login(outsider)
        self.assertEqual(self.client.get(self.url).status_code, 404)
        self.assertEqual(self.client.get(f"/recalls/{self.recall.pk}/shipments.csv").status_code, 404)

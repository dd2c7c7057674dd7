import csv
import io
import json
from decimal import Decimal

from django.test import TestCase
from django.utils import translation

from shipments.models import Retailer, RetailerStaff
from tests.support import make_batch, make_user, make_village
from tests.traceability.scenario import Scenario, at
from traceability.models import Batch, Recall
from traceability.services import transform_batches


class TracePageTests(TestCase):
    def setUp(self):
        self.s = Scenario()
        self.auditor = make_user("alice", role="auditor")
        self.outsider = make_user("olga", role="coordinator", village=make_village("LS", name_zh="丽水茶村"))
        self.rita = make_user("rita")
        RetailerStaff.objects.create(user=self.rita, retailer=self.s.retailer)
        self.s.retailer.supplier_villages.add(self.s.village)
        self.bob = make_user("bob")
        RetailerStaff.objects.create(user=self.bob, retailer=Retailer.objects.create(name_zh="永辉超市"))

    def get_trace(self, user, lot, **params):
        self.client.force_login(user)
        return self.client.get("/trace/", {"lot": lot, **params})

    def test_an_auditor_traces_a_lot_both_ways(self):
        response = self.get_trace(self.auditor, self.s.m1.lot_code)
        self.assertEqual(response.status_code, 200)
        trace = response.context["trace"]
        self.assertEqual(
            trace.lot_codes,
            [self.s.m1.lot_code, self.s.l1.lot_code, self.s.l2.lot_code, self.s.s1.lot_code, self.s.r1.lot_code],
        )
        self.assertContains(response, self.s.shipment.public_code)
        self.assertContains(response, f"/trace/export/fsma.xlsx?lot={self.s.m1.lot_code}")
        self.assertFalse(response.context["may_recall"])

    def test_the_trace_reads_in_english_and_links_each_shipment(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        response = self.get_trace(self.auditor, self.s.l2.lot_code)
        self.assertContains(response, "<p>Li Family Orchard / Xianju Waxberry Village</p>", html=True)
        lot = self.s.m1.lot_code
        self.assertContains(
            response, f'<tr><td><a href="?lot={lot}">{lot}</a></td><td>70 kg</td><td>Packed</td></tr>', html=True
        )
        code = self.s.shipment.public_code
        self.assertContains(response, f'<a class="row-title code" href="/shipments/{code}/">{code}</a>', html=True)

    def test_each_transformation_shows_its_quantity_in_the_input_lots_unit_in_both_languages(self):
        boxes = make_batch(self.s.farm_b, self.s.crop, "XJ-WAX-20260610-004", quantity="20", unit="box")
        gift, _event, _created = transform_batches(
            inputs=[(boxes, Decimal("4")), (self.s.l3, Decimal("12"))],
            crop=self.s.crop,
            farm=self.s.farm_a,
            quantity=Decimal("30"),
            unit="kg",
            kind="mixing",
            occurred_at=at(14),
        )
        self.assertEqual(gift.lot_code, "XJ-WAX-20260614-001")
        for language, kg, box, packed in [("en", "kg", "box", "Packed"), ("zh-hans", "千克", "箱", "已装箱")]:
            self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
            response = self.get_trace(self.auditor, gift.lot_code)
            self.assertEqual(
                [(unit, str(link.quantity)) for link, unit in response.context["shown"]["links"]],
                [("kg", "12.000"), ("box", "4.000")],
            )
            self.assertContains(response, f"<li>XJ-WAX-20260610-004 → XJ-WAX-20260614-001: 4 {box}</li>", html=True)
            self.assertContains(response, f"<li>XJ-WAX-20260610-003 → XJ-WAX-20260614-001: 12 {kg}</li>", html=True)
            response = self.get_trace(self.auditor, self.s.l1.lot_code, direction="forward")
            m1, s1, r1 = self.s.m1.lot_code, self.s.s1.lot_code, self.s.r1.lot_code
            for text in [
                f"<li>{self.s.l1.lot_code} → {m1}: 40 {kg}</li>",
                f"<li>{self.s.l1.lot_code} → {r1}: 10 {kg}</li>",
                f"<li>{m1} → {s1}: 50 {kg}</li>",
                f"<li>{s1} → {r1}: 20 {kg}</li>",
                f'<tr><td><a href="?lot={m1}">{m1}</a></td><td>70 {kg}</td><td>{packed}</td></tr>',
            ]:
                self.assertContains(response, text, html=True)

    def test_village_members_and_supplied_retailer_staff_see_the_lot_others_get_404(self):
        self.assertEqual(self.get_trace(self.s.coordinator, self.s.m1.lot_code).status_code, 200)
        self.assertEqual(self.get_trace(self.rita, self.s.m1.lot_code).status_code, 200)
        self.assertEqual(self.get_trace(self.outsider, self.s.m1.lot_code).status_code, 404)
        self.assertEqual(self.get_trace(self.bob, self.s.m1.lot_code).status_code, 404)
        self.assertEqual(self.get_trace(self.auditor, "NO-SUCH-LOT").status_code, 404)

    def test_exports_download_for_a_lot_and_a_bad_range_answers_400(self):
        self.client.force_login(self.auditor)
        response = self.client.get("/trace/export/epcis.json", {"lot": self.s.m1.lot_code})
        self.assertEqual(response["Content-Type"], "application/ld+json")
        self.assertEqual(response["Content-Disposition"], f'attachment; filename="epcis-{self.s.m1.lot_code}.json"')
        self.assertEqual(len(json.loads(response.content)["epcisBody"]["eventList"]), 9)
        response = self.client.get("/trace/export/fsma.csv", {"from": "2026-06-14", "to": "2026-06-14"})
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        self.assertEqual([row[0] for row in rows[1:]], ["Shipping", "Shipping"])
        with translation.override("en"):
            response = self.client.get(
                "/trace/export/eu.csv", {"from": "2026-06-14", "to": "2026-06-01"}, HTTP_ACCEPT_LANGUAGE="en"
            )
        self.assertContains(response, "The end date is before the start date.", status_code=400)
        self.assertEqual(self.client.get("/trace/export/nope.txt", {"lot": self.s.m1.lot_code}).status_code, 404)

    def test_a_range_export_for_a_village_member_holds_only_their_lots(self):
        self.client.force_login(self.outsider)
        response = self.client.get("/trace/export/fsma.csv", {"from": "2026-06-01", "to": "2026-06-30"})
        self.assertEqual(response.status_code, 404)  # no lot of theirs at all: nothing to trace
        self.client.force_login(self.rita)
        response = self.client.get("/trace/export/fsma.csv", {"from": "2026-06-01", "to": "2026-06-30"})
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        self.assertEqual(len(rows) - 1, 11)  # 9 events, the two transformations of two inputs on two rows


class RecallPageTests(TestCase):
    def setUp(self):
        self.s = Scenario()
        self.auditor = make_user("alice", role="auditor")

    def test_a_coordinator_opens_and_closes_a_recall_from_the_pages(self):
        self.client.force_login(self.s.coordinator)
        response = self.client.post("/recalls/open/", {"lot": self.s.s1.lot_code, "reason": "Cold chain broken"})
        recall = Recall.objects.get()
        self.assertRedirects(response, f"/recalls/{recall.pk}/")
        self.assertEqual(
            dict(Batch.objects.filter(status__in=["on_hold", "recalled"]).values_list("lot_code", "status")),
            {self.s.s1.lot_code: "recalled", self.s.r1.lot_code: "on_hold"},
        )
        page = self.client.get(f"/recalls/{recall.pk}/")
        self.assertTrue(page.context["may_close"])
        self.assertEqual(
            [s.shipment for s in page.context["trace"].shipments],
            [self.s.shipment.public_code, self.s.shipment2.public_code],
        )
        record = self.client.get(f"/recalls/{recall.pk}/record.csv").content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(record)))
        self.assertEqual(rows[1][1:3], [self.s.s1.lot_code, "Cold chain broken"])
        self.assertEqual(sorted(row[0] for row in rows[4:6]), sorted([self.s.s1.lot_code, self.s.r1.lot_code]))
        response = self.client.post(f"/recalls/{recall.pk}/close/", {"note": "Retested"})
        self.assertRedirects(response, f"/recalls/{recall.pk}/")
        self.assertEqual(Batch.objects.filter(status__in=["on_hold", "recalled"]).count(), 0)

    def test_an_auditor_reads_recalls_but_cannot_open_one(self):
        self.client.force_login(self.auditor)
        self.client.post("/recalls/open/", {"lot": self.s.s1.lot_code, "reason": "x"})
        self.assertEqual(Recall.objects.count(), 0)
        self.assertEqual(Batch.objects.filter(status="recalled").count(), 0)
        self.client.force_login(self.s.coordinator)
        self.client.post("/recalls/open/", {"lot": self.s.s1.lot_code, "reason": "x"})
        self.client.force_login(self.auditor)
        response = self.client.get("/recalls/")
        self.assertEqual([r.batch.lot_code for r in response.context["recalls"]], [self.s.s1.lot_code])
        self.assertFalse(self.client.get(f"/recalls/{Recall.objects.get().pk}/").context["may_close"])


class RetailerRecallTests(TestCase):
    def setUp(self):
        self.s = Scenario()
        self.rita = make_user("rita")
        RetailerStaff.objects.create(user=self.rita, retailer=self.s.retailer)
        self.s.retailer.supplier_villages.add(self.s.village)
        self.bob = make_user("bob")
        RetailerStaff.objects.create(user=self.bob, retailer=Retailer.objects.create(name_zh="永辉超市"))

    def test_staff_of_a_supplied_retailer_may_recall_and_others_get_404(self):
        self.client.force_login(self.bob)
        response = self.client.post("/recalls/open/", {"lot": self.s.r1.lot_code, "reason": "Customer complaint"})
        self.assertEqual(response.status_code, 404)
        self.assertEqual(Recall.objects.count(), 0)
        self.client.force_login(self.rita)
        self.client.post("/recalls/open/", {"lot": self.s.r1.lot_code, "reason": "Customer complaint"})
        recall = Recall.objects.get()
        self.assertEqual((recall.batch, recall.opened_by, recall.reason), (self.s.r1, self.rita, "Customer complaint"))
        self.assertEqual(list(recall.holds.values_list("batch__lot_code", flat=True)), [self.s.r1.lot_code])
        self.client.force_login(self.bob)
        self.assertEqual(self.client.get(f"/recalls/{recall.pk}/").status_code, 404)

"""The role questions of traceability.permissions, each asked through every door that reaches it
(web pages and the API at least), with the same answer at each door.

The world: village XJ (coordinators carol and cora, farmer alice) supplies two retailers,
FreshHome (staff rita and rosa) and Green (staff rex). Lot A went to FreshHome's store, lot B to
Green's, lot C to both; lot M was mixed from lot G (grown in XJ) and went to FreshHome. Village GN
(coordinator bob) supplies nobody here. Audrey audits; root is a superuser.
"""

import csv
import io
import json
from decimal import Decimal

from django.test import TestCase
from django.utils import timezone

from shipments import services as shipping
from shipments.models import Retailer, RetailerStaff, Store
from tests.support import api_client, in_english, make_batch, make_crop, make_farm, make_user, make_village
from traceability import permissions
from traceability.models import Batch, Recall, TraceEvent
from traceability.services import open_recall, record_batch_event, transform_batches
from traceability.trace import trace_lot

V1 = "/api/v1"


def ship(batches, store) -> str:
    shipment = shipping.create_shipment(origin_village=batches[0].farm.village, store=store)
    for batch in batches:
        shipping.add_item(shipment=shipment, batch=batch, quantity=Decimal("10"))
    shipping.dispatch_shipment(shipment=shipment)
    shipping.receive_shipment(shipment=shipment)
    return shipment.public_code


class RoleWorld:
    def __init__(self):
        self.crop = make_crop("WAX")
        self.xj = make_village("XJ")
        self.gn = make_village("GN", name_zh="赣南脐橙村", name_en="Gannan Orange Village")
        self.farm = make_farm(self.xj)
        self.gn_farm = make_farm(self.gn, "赖家果园")
        self.carol = make_user("carol", role="coordinator", village=self.xj)
        self.cora = make_user("cora", role="coordinator", village=self.xj)
        self.alice = make_user("alice", role="farmer", village=self.xj)
        self.bob = make_user("bob", role="coordinator", village=self.gn)
        self.audrey = make_user("audrey", role="auditor")
        self.root = make_user("root", is_superuser=True, is_staff=True)
        self.fresh = Retailer.objects.create(name_zh="鲜到家", name_en="FreshHome")
        self.green = Retailer.objects.create(name_zh="绿源", name_en="Green")
        for retailer in (self.fresh, self.green):
            retailer.supplier_villages.add(self.xj)
        self.rita, self.rosa, self.rex = make_user("rita"), make_user("rosa"), make_user("rex")
        RetailerStaff.objects.create(user=self.rita, retailer=self.fresh)
        RetailerStaff.objects.create(user=self.rosa, retailer=self.fresh)
        RetailerStaff.objects.create(user=self.rex, retailer=self.green)
        self.fresh_store = Store.objects.create(retailer=self.fresh, name_zh="上海静安店", city_zh="上海")
        self.green_store = Store.objects.create(retailer=self.green, name_zh="南昌红谷店", city_zh="南昌")
        self.a = make_batch(self.farm, self.crop, "XJ-WAX-20260612-001")
        self.b = make_batch(self.farm, self.crop, "XJ-WAX-20260612-002")
        self.c = make_batch(self.farm, self.crop, "XJ-WAX-20260612-003")
        self.g = make_batch(self.farm, self.crop, "XJ-WAX-20260612-004")
        self.gn_lot = make_batch(self.gn_farm, self.crop, "GN-WAX-20260612-001")
        self.m, _event, _created = transform_batches(
            inputs=[(self.g, Decimal("40"))], crop=self.crop, farm=self.farm, quantity=Decimal("40"), unit="kg"
        )
        self.a_to_fresh = ship([self.a, self.m], self.fresh_store)
        self.b_to_green = ship([self.b], self.green_store)
        self.c_to_fresh = ship([self.c], self.fresh_store)
        self.c_to_green = ship([self.c], self.green_store)


def fsma_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


class TraceAndExportTests(TestCase):
    """may_trace and may_export: the trace page, the trace API and the export downloads."""

    @classmethod
    def setUpTestData(cls):
        cls.w = RoleWorld()

    def setUp(self):
        in_english(self)

    def web_trace(self, user, lot: Batch):
        self.client.force_login(user)
        return self.client.get("/trace/", {"lot": lot.lot_code})

    def api_trace(self, user, lot: Batch):
        return api_client(user).get(f"{V1}/batches/{lot.lot_code}/trace/")

    def test_retailer_staff_cannot_trace_another_retailers_lot_on_the_web_or_the_api(self):
        # Item 8: the web page showed Green's store and shipment to FreshHome's staff.
        web, api = self.web_trace(self.w.rita, self.w.b), self.api_trace(self.w.rita, self.w.b)
        self.assertEqual((web.status_code, api.status_code), (404, 404))
        self.assertNotContains(web, self.w.b_to_green, status_code=404)
        self.assertEqual(api.json()["error"]["code"], "not_found")

    def test_retailer_staff_cannot_export_another_retailers_lot(self):
        self.client.force_login(self.w.rita)
        for name in ("fsma.csv", "fsma.xlsx", "epcis.json", "eu.csv"):
            response = self.client.get(f"/trace/export/{name}", {"lot": self.w.b.lot_code})
            self.assertEqual(response.status_code, 404, name)

    def test_retailer_staff_trace_what_their_shipments_carried_and_see_only_their_own_shipments(self):
        web, api = self.web_trace(self.w.rita, self.w.c), self.api_trace(self.w.rita, self.w.c)
        self.assertEqual((web.status_code, api.status_code), (200, 200))
        self.assertEqual([stop.shipment for stop in web.context["trace"].shipments], [self.w.c_to_fresh])
        self.assertEqual([stop["shipment"] for stop in api.json()["shipments"]], [self.w.c_to_fresh])
        self.assertNotContains(web, self.w.c_to_green)
        self.assertNotContains(web, "南昌红谷店")

    def test_retailer_staff_trace_back_from_a_carried_lot_to_its_inputs(self):
        web, api = self.web_trace(self.w.rita, self.w.g), self.api_trace(self.w.rita, self.w.g)
        self.assertEqual((web.status_code, api.status_code), (200, 200))
        self.assertEqual([lot.lot_code for lot in web.context["trace"].descendants], [self.w.m.lot_code])
        self.assertEqual([lot["lot_code"] for lot in api.json()["descendants"]], [self.w.m.lot_code])
        self.assertEqual([stop["shipment"] for stop in api.json()["shipments"]], [self.w.a_to_fresh])

    def test_the_village_and_auditors_trace_every_shipment_and_strangers_get_404(self):
        both = sorted([self.w.c_to_fresh, self.w.c_to_green])
        for user in (self.w.carol, self.w.alice, self.w.audrey, self.w.root):
            web, api = self.web_trace(user, self.w.c), self.api_trace(user, self.w.c)
            self.assertEqual((web.status_code, api.status_code), (200, 200), user)
            self.assertEqual(sorted(stop.shipment for stop in web.context["trace"].shipments), both)
            self.assertEqual(sorted(stop["shipment"] for stop in api.json()["shipments"]), both)
        for user, lot in ((self.w.bob, self.w.c), (self.w.rita, self.w.gn_lot), (self.w.rex, self.w.a)):
            web, api = self.web_trace(user, lot), self.api_trace(user, lot)
            self.assertEqual((web.status_code, api.status_code), (404, 404), user)

    def test_a_retailers_lot_export_holds_only_their_own_shipments(self):
        self.client.force_login(self.w.rita)
        rows = fsma_rows(self.client.get("/trace/export/fsma.csv", {"lot": self.w.c.lot_code}))
        ship_to = rows[0].index("Immediate subsequent recipient location description")
        here = rows[0].index("Location description")
        self.assertEqual(
            [(row[0], row[ship_to] or row[here]) for row in rows[1:]],
            [("Shipping", "上海静安店, 鲜到家 FreshHome"), ("Receiving", "上海静安店, 鲜到家 FreshHome")],
        )
        self.assertNotIn("南昌红谷店", json.dumps(rows, ensure_ascii=False))
        document = json.loads(self.client.get("/trace/export/epcis.json", {"lot": self.w.c.lot_code}).content)
        self.assertEqual(len(document["epcisBody"]["eventList"]), 2)
        self.assertNotIn(self.w.c_to_green, json.dumps(document))
        self.assertIn(self.w.c_to_fresh, json.dumps(document))

    def test_a_correction_of_another_retailers_shipment_does_not_bring_it_into_a_retailers_export(self):
        from traceability.services import record_correction

        theirs = TraceEvent.objects.get(kind="shipping", data__shipment=self.w.c_to_green)
        record_correction(event=theirs, reason="did_not_occur", actor=self.w.carol, note="wrong truck")
        self.client.force_login(self.w.rita)
        text = self.client.get("/trace/export/epcis.json", {"lot": self.w.c.lot_code}).content.decode()
        self.assertIn(self.w.c_to_fresh, text)
        self.assertNotIn(self.w.c_to_green, text)
        self.assertNotIn(str(theirs.client_id), text)

    def test_a_retailers_range_export_leaves_out_other_retailers_shipments_and_lots(self):
        self.client.force_login(self.w.rita)
        today = timezone.localdate()
        response = self.client.get("/trace/export/epcis.json", {"from": f"{today:%Y-01-01}", "to": f"{today:%Y-12-31}"})
        text = response.content.decode()
        for code in (self.w.a_to_fresh, self.w.c_to_fresh):
            self.assertIn(code, text)
        for code in (self.w.b_to_green, self.w.c_to_green, self.w.b.lot_code):
            self.assertNotIn(code, text)

    def test_the_questions_agree_with_their_querysets(self):
        self.assertEqual(
            sorted(permissions.traceable_lots(self.w.rita).values_list("lot_code", flat=True)),
            sorted(lot.lot_code for lot in (self.w.a, self.w.c, self.w.g, self.w.m)),
        )
        self.assertEqual(
            [permissions.may_trace(self.w.rita, lot) for lot in (self.w.a, self.w.b, self.w.g)], [True, False, True]
        )
        self.assertEqual([permissions.may_export(u, self.w.b) for u in (self.w.rex, self.w.rita)], [True, False])

    def test_a_cancelled_shipment_carried_nothing(self):
        lot = make_batch(self.w.farm, self.w.crop, "XJ-WAX-20260612-009")
        shipment = shipping.create_shipment(origin_village=self.w.xj, store=self.w.fresh_store)
        shipping.add_item(shipment=shipment, batch=lot, quantity=Decimal("5"))
        self.assertTrue(permissions.may_trace(self.w.rita, lot))
        shipping.cancel_shipment(shipment=shipment)
        self.assertFalse(permissions.may_trace(self.w.rita, lot))
        self.assertEqual(self.web_trace(self.w.rita, lot).status_code, 404)


class RecallTests(TestCase):
    """may_open_recall and may_close_recall: the recall pages and the recall API."""

    @classmethod
    def setUpTestData(cls):
        cls.w = RoleWorld()

    def setUp(self):
        in_english(self)

    def web_close(self, user, recall: Recall) -> int:
        self.client.force_login(user)
        return self.client.post(f"/recalls/{recall.pk}/close/", {"note": "checked"}).status_code

    def api_close(self, user, recall: Recall) -> int:
        return api_client(user).post(f"{V1}/recalls/{recall.pk}/close/", {"note": "checked"}, format="json").status_code

    def assert_open(self, recall: Recall, lot: Batch):
        recall.refresh_from_db()
        lot.refresh_from_db()
        self.assertEqual((recall.closed_at, recall.closed_by, lot.status), (None, None, "recalled"))

    def test_a_retailer_cannot_close_a_recall_the_village_coordinator_opened(self):
        # Item 8: any retailer the village supplies could close it, lifting the hold.
        recall = open_recall(batch=self.w.a, reason="农残超标", actor=self.w.carol)
        self.assertEqual(self.api_close(self.w.rita, recall), 403)
        self.assert_open(recall, self.w.a)
        self.web_close(self.w.rita, recall)
        self.assert_open(recall, self.w.a)
        self.client.force_login(self.w.rita)
        self.assertFalse(self.client.get(f"/recalls/{recall.pk}/").context["may_close"])

    def test_a_retailer_cannot_close_another_retailers_recall(self):
        recall = open_recall(batch=self.w.c, reason="顾客投诉", actor=self.w.rita)
        self.assertEqual(self.api_close(self.w.rex, recall), 403)
        self.assert_open(recall, self.w.c)
        self.web_close(self.w.rex, recall)
        self.assert_open(recall, self.w.c)

    def test_the_village_cannot_close_a_retailers_recall_and_auditors_close_none(self):
        recall = open_recall(batch=self.w.c, reason="顾客投诉", actor=self.w.rita)
        for user in (self.w.carol, self.w.audrey):
            self.assertEqual(self.api_close(user, recall), 403)
            self.web_close(user, recall)
            self.assert_open(recall, self.w.c)

    def test_a_colleague_of_the_opener_closes_the_recall_through_either_door(self):
        for door in (self.web_close, self.api_close):
            recall = open_recall(batch=self.w.a, reason="顾客投诉", actor=self.w.rita)
            self.assertTrue(permissions.may_close_recall(self.w.rosa, recall))
            door(self.w.rosa, recall)
            recall.refresh_from_db()
            self.assertEqual(recall.closed_by, self.w.rosa)
            self.assertEqual(Batch.objects.get(pk=self.w.a.pk).status, "harvested")

    def test_another_coordinator_of_the_village_and_a_superuser_close_the_villages_recall(self):
        for door, user in ((self.web_close, self.w.cora), (self.api_close, self.w.root)):
            recall = open_recall(batch=self.w.b, reason="冷链中断", actor=self.w.carol)
            door(user, recall)
            recall.refresh_from_db()
            self.assertEqual(recall.closed_by, user)

    def test_a_retailer_reads_a_villages_recall_with_only_their_own_shipments(self):
        recall = open_recall(batch=self.w.c, reason="冷链中断", actor=self.w.carol)
        self.client.force_login(self.w.rita)
        page = self.client.get(f"/recalls/{recall.pk}/")
        self.assertEqual([stop.shipment for stop in page.context["trace"].shipments], [self.w.c_to_fresh])
        self.assertNotContains(page, self.w.c_to_green)
        record = self.client.get(f"/recalls/{recall.pk}/record.csv").content.decode("utf-8-sig")
        self.assertIn(self.w.c_to_fresh, record)
        self.assertNotIn(self.w.c_to_green, record)
        self.client.force_login(self.w.carol)
        page = self.client.get(f"/recalls/{recall.pk}/")
        self.assertEqual(len(page.context["trace"].shipments), 2)

    def test_who_may_open_a_recall_is_the_same_on_the_web_and_the_api(self):
        # Auditors are refused with 403 by the API's read-only rule before the question is asked.
        cases = [(self.w.carol, True), (self.w.rex, True), (self.w.alice, False), (self.w.audrey, False)]
        for number, (user, allowed) in enumerate(cases, start=5):
            on_web = make_batch(self.w.farm, self.w.crop, f"XJ-WAX-20260613-{number:03d}")
            on_api = make_batch(self.w.farm, self.w.crop, f"XJ-WAX-20260614-{number:03d}")
            self.assertEqual(permissions.may_open_recall(user, on_web), allowed, user)
            self.client.force_login(user)
            self.client.post("/recalls/open/", {"lot": on_web.lot_code, "reason": "x"})
            body = {"batch": on_api.lot_code, "reason": "x"}
            status = api_client(user).post(f"{V1}/recalls/", body, format="json").status_code
            self.assertEqual(status, 201 if allowed else 403, user)
            opened = [Recall.objects.filter(batch=lot, opened_by=user).exists() for lot in (on_web, on_api)]
            self.assertEqual(opened, [allowed, allowed], user)


class RecordAndCorrectTests(TestCase):
    """may_record_event and may_correct: the batch pages and the events API."""

    @classmethod
    def setUpTestData(cls):
        cls.w = RoleWorld()
        cls.cooling, _created = record_batch_event(
            batch=cls.w.a, kind="cooling", occurred_at=cls.w.a.created_at, data={"temperature_c": 14.0}
        )

    def test_only_the_lots_village_records_its_events_through_either_door(self):
        cases = [(self.w.alice, True), (self.w.carol, True), (self.w.rita, False), (self.w.bob, False)]
        for user, allowed in cases:
            self.assertEqual(permissions.may_record_event(user, self.w.a), allowed)
            self.client.force_login(user)
            web = self.client.post(
                f"/batches/{self.w.a.lot_code}/record/temperature/",
                {"occurred_at": "2026-06-12T09:00", "temperature_c": "5"},
            )
            self.assertEqual(web.status_code, 302 if allowed else 404, user)
            body = {"batch": self.w.a.lot_code, "kind": "temperature", "occurred_at": "2026-06-12T09:00:00Z"}
            api = api_client(user).post(f"{V1}/events/", body | {"data": {"temperature_c": 5}}, format="json")
            self.assertEqual(api.status_code, 201 if allowed else 404, user)
        self.assertEqual(TraceEvent.objects.filter(kind="temperature").count(), 4)

    def test_only_the_lots_village_corrects_its_events_through_either_door(self):
        cases = [(self.w.rita, False), (self.w.bob, False), (self.w.audrey, False), (self.w.alice, True)]
        for user, allowed in cases:
            self.assertEqual(permissions.may_correct(user, self.cooling), allowed, user)
            self.client.force_login(user)
            page = self.client.get(f"/batches/{self.w.a.lot_code}/events/{self.cooling.client_id}/correct/")
            self.assertEqual(page.status_code, 200 if allowed else 404, user)
            body = {"kind": "correction", "corrects": str(self.cooling.client_id), "correction_reason": "did_not_occur"}
            api = api_client(user).post(f"{V1}/events/", body, format="json")
            # The API refuses auditors any write (403) before the question; others out of scope get 404.
            refused = 403 if user == self.w.audrey else 404
            self.assertEqual(api.status_code, 201 if allowed else refused, user)
        self.assertEqual(TraceEvent.objects.filter(kind="correction").count(), 1)


class PrintTests(TestCase):
    """may_print: the label pages, the shipment page's link and the API's labels link."""

    @classmethod
    def setUpTestData(cls):
        cls.w = RoleWorld()

    def test_the_shipments_retailer_and_origin_village_print_and_nobody_else(self):
        code = self.w.b_to_green
        cases = [(self.w.rex, True), (self.w.alice, True), (self.w.root, True), (self.w.rita, False)]
        cases += [(self.w.audrey, False), (self.w.bob, False)]
        for user, allowed in cases:
            self.client.force_login(user)
            self.assertEqual(self.client.get(f"/shipments/{code}/labels/").status_code, 200 if allowed else 404, user)
            page = self.client.get(f"/shipments/{code}/")
            if page.status_code == 200:
                self.assertEqual(page.context["may_print"], allowed, user)
                self.assertEqual('id="labels-link"' in page.content.decode(), allowed, user)
            api = api_client(user).get(f"{V1}/shipments/", {"page_size": 200})
            links = (
                {row["public_code"]: row["labels"] for row in api.json()["results"]} if api.status_code == 200 else {}
            )
            if code in links:
                self.assertEqual(links[code] is not None, allowed, user)


class TraceFilteringTests(TestCase):
    def test_a_limited_trace_keeps_only_the_lots_and_shipments_asked_for(self):
        w = RoleWorld()
        full = trace_lot(w.c)
        limited = permissions.visible_trace(w.rita, full)
        self.assertEqual([stop.shipment for stop in limited.shipments], [w.c_to_fresh])
        self.assertEqual(len(full.shipments), 2)
        self.assertIs(permissions.visible_trace(w.carol, full), full)


class AdminRecallTests(TestCase):
    """may_close_recall at the admin's door: its action closes through the service that asks."""

    def test_the_admin_closes_only_the_recalls_the_user_may_close(self):
        from django.contrib.auth.models import Permission

        w = RoleWorld()
        recall = open_recall(batch=w.a, reason="农残超标", actor=w.carol)
        w.rex.is_staff = True
        w.rex.save()
        w.rex.user_permissions.add(Permission.objects.get(codename="view_recall"))
        body = {"action": "close_recalls", "_selected_action": [recall.pk]}
        self.client.force_login(w.rex)
        response = self.client.post("/admin/traceability/recall/", body, follow=True, HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(response, f"You may not close the recall of lot {w.a.lot_code}.")
        recall.refresh_from_db()
        self.assertEqual((recall.closed_at, Batch.objects.get(pk=w.a.pk).status), (None, "recalled"))
        self.client.force_login(w.root)
        self.client.post("/admin/traceability/recall/", body)
        recall.refresh_from_db()
        self.assertEqual((recall.closed_by, Batch.objects.get(pk=w.a.pk).status), (w.root, "harvested"))

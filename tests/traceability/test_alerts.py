"""Alerts that need a decision (traceability.alerts): the same list on each role's home page and
at GET /api/v1/alerts/, and each alert goes away when the decision it asks for is recorded.

Village XJ (coordinator carol, farmer alice) supplies FreshHome (staff rita); Green (staff rex) is
supplied by village GN (coordinator bob). Audrey audits.
"""

import uuid
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from shipments.models import Retailer, RetailerStaff
from tests.support import api_client, in_english, make_batch, make_crop, make_farm, make_user, make_village
from traceability.alerts import alerts_for
from traceability.models import Batch, Recall, TraceEvent
from traceability.services import open_recall, record_batch_event

V1 = "/api/v1"


class AlertTests(TestCase):
    def setUp(self):
        in_english(self)
        self.crop = make_crop("WAX", storage_min_c=0, storage_max_c=5)
        self.xj = make_village("XJ")
        self.gn = make_village("GN", name_zh="赣南脐橙村")
        self.farm = make_farm(self.xj)
        make_farm(self.gn, "赖家果园")
        self.carol = make_user("carol", role="coordinator", village=self.xj)
        self.alice = make_user("alice", role="farmer", village=self.xj)
        self.bob = make_user("bob", role="coordinator", village=self.gn)
        self.audrey = make_user("audrey", role="auditor")
        self.rita, self.rex = make_user("rita"), make_user("rex")
        fresh = Retailer.objects.create(name_zh="鲜到家", name_en="FreshHome")
        fresh.supplier_villages.add(self.xj)
        green = Retailer.objects.create(name_zh="绿源", name_en="Green")
        green.supplier_villages.add(self.gn)
        RetailerStaff.objects.create(user=self.rita, retailer=fresh)
        RetailerStaff.objects.create(user=self.rex, retailer=green)
        self.lot = make_batch(self.farm, self.crop, "XJ-WAX-20260612-001", status="packed")
        self.now = timezone.now().replace(microsecond=0)

    def alerts(self, user) -> list[tuple]:
        """(kind, lot, reason) of the user's alerts, asked of the API; the home page must list the same."""
        body = api_client(user).get(f"{V1}/alerts/").json()
        found = [(a["kind"], a["lot_code"], a["reason"]) for a in body["results"]]
        self.client.force_login(user)
        home = self.client.get("/")
        self.assertEqual([(a.kind, a.lot_code, a.reason) for a in home.context["alerts"]], found)
        for _kind, lot, reason in found:
            self.assertContains(home, escape(reason))
            self.assertContains(home, lot)
        if not found:
            self.assertNotContains(home, 'id="alerts"')
        return found

    def test_a_lot_held_after_a_failed_test_shows_on_the_villages_and_the_supplied_retailers_home_pages(self):
        record_batch_event(
            batch=self.lot,
            kind="quality_test",
            occurred_at=self.now,
            data={"result": "fail", "test": "农药残留快检", "lab": "仙居县农检站"},
            actor=self.alice,
        )
        self.assertEqual(Batch.objects.get(pk=self.lot.pk).status, "on_hold")  # the failed test held it
        expected = [("lot_held", self.lot.lot_code, "Failed quality test: 农药残留快检 · 仙居县农检站")]
        for user in (self.carol, self.alice, self.rita):
            self.assertEqual(self.alerts(user), expected, user)
        for user in (self.rex, self.bob, self.audrey):
            self.assertEqual(self.alerts(user), [], user)
        body = api_client(self.carol).get(f"{V1}/alerts/").json()["results"][0]
        self.assertEqual(
            body,
            {
                "kind": "lot_held",
                "lot_code": self.lot.lot_code,
                "since": timezone.localtime(self.now).isoformat(),
                "reason": "Failed quality test: 农药残留快检 · 仙居县农检站",
                "decision": "Release the lot or recall it.",
                "recall": None,
                "event": None,
                "may_close": False,
            },
        )
        # Releasing it (the lifecycle's release sets the status back) resolves the alert.
        Batch.objects.filter(pk=self.lot.pk).update(status="packed")
        self.assertEqual(self.alerts(self.carol), [])

    def test_recalling_a_held_lot_turns_its_alert_into_the_recalls_which_closing_resolves(self):
        record_batch_event(batch=self.lot, kind="quality_test", occurred_at=self.now, data={"result": "fail"})
        self.assertEqual(self.alerts(self.carol), [("lot_held", self.lot.lot_code, "Failed quality test")])
        self.client.force_login(self.carol)
        self.client.post("/recalls/open/", {"lot": self.lot.lot_code, "reason": "农残超标"})
        recall = Recall.objects.get()
        for user in (self.carol, self.alice, self.rita):
            self.assertEqual(self.alerts(user), [("open_recall", self.lot.lot_code, "农残超标")], user)
        self.assertEqual(self.alerts(self.rex), [])
        carol = api_client(self.carol).get(f"{V1}/alerts/").json()["results"][0]
        rita = api_client(self.rita).get(f"{V1}/alerts/").json()["results"][0]
        self.assertEqual((carol["recall"], carol["may_close"]), (recall.pk, True))
        self.assertEqual((rita["recall"], rita["may_close"]), (recall.pk, False))
        self.client.force_login(self.carol)
        self.client.post(f"/recalls/{recall.pk}/close/", {"note": "复检合格"})
        # The safety hold is still undecided: the hold's alert is back, the recall's gone.
        self.assertEqual(self.alerts(self.rita), [("lot_held", self.lot.lot_code, "Failed quality test")])

    def test_an_open_recall_shows_everyone_who_decides_about_the_lot_until_it_is_closed(self):
        recall = open_recall(batch=self.lot, reason="冷链中断", actor=self.rita)
        for user in (self.carol, self.alice, self.rita):
            self.assertEqual(self.alerts(user), [("open_recall", self.lot.lot_code, "冷链中断")], user)
        response = api_client(self.rita).post(f"{V1}/recalls/{recall.pk}/close/", {"note": "ok"}, format="json")
        self.assertEqual(response.status_code, 200)
        for user in (self.carol, self.rita):
            self.assertEqual(self.alerts(user), [], user)

    def test_a_temperature_excursion_goes_away_with_a_passing_test_a_correction_or_a_recall(self):
        def excursion(hours: int) -> TraceEvent:
            event, _created = record_batch_event(
                batch=self.lot,
                kind="temperature",
                occurred_at=self.now - timedelta(hours=hours),
                data={"temperature_c": 15.0},  # above the crop's 0-5 °C: the service flags it
            )
            return event

        first = excursion(5)
        record_batch_event(
            batch=self.lot, kind="temperature", occurred_at=self.now - timedelta(hours=4), data={"temperature_c": 3.0}
        )
        reason = "15.0 °C, outside the crop's storage range"
        self.assertEqual(self.alerts(self.alice), [("temperature_excursion", self.lot.lot_code, reason)])
        self.assertEqual(
            api_client(self.alice).get(f"{V1}/alerts/").json()["results"][0]["event"], str(first.client_id)
        )
        # A passing test after the reading resolves it; one before it would not have.
        record_batch_event(
            batch=self.lot,
            kind="quality_test",
            occurred_at=self.now - timedelta(hours=3),
            data={"result": "pass", "lab": "仙居县农检站"},
        )
        self.assertEqual(self.alerts(self.alice), [])
        second = excursion(2)
        self.assertEqual(self.alerts(self.rita), [("temperature_excursion", self.lot.lot_code, reason)])
        self.client.force_login(self.alice)
        self.client.post(
            f"/batches/{self.lot.lot_code}/events/{second.client_id}/correct/",
            {"client_id": str(uuid.uuid4()), "reason": "did_not_occur", "note": "probe fell out of the crate"},
        )
        self.assertEqual(self.alerts(self.alice), [])
        excursion(1)
        self.assertEqual(len(self.alerts(self.alice)), 1)
        open_recall(batch=self.lot, reason="冷链中断", actor=self.carol)
        self.assertEqual(self.alerts(self.alice), [("open_recall", self.lot.lot_code, "冷链中断")])

    def test_an_imported_lot_without_records_asks_for_its_harvest_until_it_is_recorded(self):
        make_batch(self.farm, self.crop, "XJ-WAX-20260612-002")  # registered one by one: no alert
        sheet = "农场,作物,数量,单位,采收日期,批次号\n"
        sheet += "王家果园,WAX,120,kg,2026-06-12,XJ-IMP-1\n王家果园,WAX,50,kg,,XJ-IMP-2\n"
        self.client.force_login(self.carol)
        upload = SimpleUploadedFile("batches.csv", sheet.encode(), content_type="text/csv")
        self.client.post("/batches/import/", {"village": self.xj.pk, "file": upload})
        self.assertEqual(Batch.objects.filter(imported_at__isnull=False).count(), 2)
        reason = "Imported from a spreadsheet without a harvest or quality-test record."
        self.assertEqual(self.alerts(self.carol), [("missing_records", "XJ-IMP-1", reason)])
        self.assertEqual(self.alerts(self.rita), [("missing_records", "XJ-IMP-1", reason)])
        self.client.force_login(self.alice)
        self.client.post(
            "/batches/XJ-IMP-1/record/harvest/",
            {"client_id": str(uuid.uuid4()), "occurred_at": "2026-06-12T08:00", "quantity": "120"},
        )
        self.assertEqual(self.alerts(self.carol), [])

    def test_the_api_filters_by_kind_and_refuses_an_unknown_kind(self):
        Batch.objects.filter(pk=self.lot.pk).update(status="on_hold")
        other = make_batch(self.farm, self.crop, "XJ-WAX-20260612-003", status="packed")
        open_recall(batch=other, reason="冷链中断", actor=self.carol)
        client = api_client(self.carol)
        self.assertEqual(
            [a["kind"] for a in client.get(f"{V1}/alerts/").json()["results"]], ["open_recall", "lot_held"]
        )
        self.assertEqual(
            [a["lot_code"] for a in client.get(f"{V1}/alerts/", {"kind": "lot_held"}).json()["results"]],
            [self.lot.lot_code],
        )
        response = client.get(f"{V1}/alerts/", {"kind": "nonsense"})
        self.assertEqual((response.status_code, list(response.json()["error"]["fields"])), (400, ["kind"]))
        self.assertEqual(api_client().get(f"{V1}/alerts/").status_code, 401)

    def test_the_alerts_cost_the_same_queries_however_many_there_are(self):
        def count() -> int:
            with CaptureQueriesContext(connection) as captured:
                alerts = alerts_for(self.carol)
            return len(alerts), len(captured)

        record_batch_event(batch=self.lot, kind="quality_test", occurred_at=self.now, data={"result": "fail"})
        few = count()
        for n in range(2, 6):
            lot = make_batch(self.farm, self.crop, f"XJ-WAX-20260612-{n:03d}", status="packed")
            # A reading above the crop's range (flagged), then a failed test (which holds the lot).
            record_batch_event(batch=lot, kind="cooling", occurred_at=self.now, data={"temperature_c": 12})
            record_batch_event(batch=lot, kind="quality_test", occurred_at=self.now, data={"result": "fail"})
        many = count()
        self.assertEqual((few[0], many[0]), (1, 9))
        self.assertEqual(few[1], many[1])
        self.assertLessEqual(many[1], 8)

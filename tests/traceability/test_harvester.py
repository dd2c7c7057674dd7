"""FSMA 204's harvester (business name and phone) and reference document on a harvest record,
through every door that records harvests (web form, API; the offline app posts to the API), the
farm's grower by default, and for regulators only: exports (tests/traceability/exports/
test_fsma_kdes.py), the API's events, never the consumer page."""

from io import StringIO
from pathlib import Path
from tempfile import TemporaryDirectory

from django.core.management import call_command
from django.test import TestCase

from shipments import services
from shipments.models import Shipment
from tests.support import api_client, in_english, make_api_world, make_batch
from traceability.models import TraceEvent

V1 = "/api/v1"
AT = "2026-06-12T06:30:00+08:00"


def harvest_data() -> dict:
    return TraceEvent.objects.get(kind="harvest").data


class WebFormTests(TestCase):
    def setUp(self):
        in_english(self)
        self.w = make_api_world()
        self.lot = make_batch(self.w.farm, self.w.crop, "XJ-WAX-20260612-009", harvested_on=None, status="growing")
        self.client.force_login(self.w.alice)
        self.url = f"/batches/{self.lot.lot_code}/record/harvest/"

    def test_the_farmer_names_the_harvester_and_the_field_tag(self):
        response = self.client.get(self.url)
        self.assertContains(response, 'name="harvester_name"')
        self.assertContains(response, 'name="reference_document"')
        response = self.client.post(
            self.url,
            {
                "occurred_at": "2026-06-12T06:30",
                "quantity": "80",
                "harvester_name": "仙居县杨梅合作社采摘队",
                "harvester_phone": "0576-8773 0001",
                "reference_document": "FT-0612-01",
            },
        )
        self.assertRedirects(response, f"/batches/{self.lot.lot_code}/")
        self.assertEqual(
            harvest_data(),
            {
                "harvester_name": "仙居县杨梅合作社采摘队",
                "harvester_phone": "0576-8773 0001",
                "reference_document": "FT-0612-01",
            },
        )

    def test_without_a_harvester_the_farms_grower_and_phone_are_recorded(self):
        self.client.post(self.url, {"occurred_at": "2026-06-12T06:30", "quantity": "80"})
        self.assertEqual(harvest_data(), {"harvester_name": "王建国", "harvester_phone": "13800000000"})

    def test_a_cooling_records_its_quantity(self):
        self.client.post(self.url, {"occurred_at": "2026-06-12T06:30", "quantity": "80"})
        response = self.client.post(
            f"/batches/{self.lot.lot_code}/record/cooling/",
            {"occurred_at": "2026-06-12T08:30", "temperature_c": "4", "quantity": "80"},
        )
        self.assertRedirects(response, f"/batches/{self.lot.lot_code}/")
        cooling = TraceEvent.objects.get(kind="cooling")
        self.assertEqual((cooling.lines.get().quantity, cooling.lines.get().unit), (80, "kg"))


class ApiTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def post(self, data):
        body = {"batch": self.w.batch.lot_code, "kind": "harvest", "occurred_at": AT, "data": data}
        return api_client(self.w.alice).post(f"{V1}/events/", body, format="json")

    def test_the_api_takes_the_harvester_and_refuses_a_bad_one_recording_nothing(self):
        response = self.post({"harvester_name": "x" * 101})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            response.json()["error"]["fields"], {"harvester_name": ["Give at most 100 characters of text."]}
        )
        response = self.post({"harvester_phone": 13800000000})
        self.assertEqual(list(response.json()["error"]["fields"]), ["harvester_phone"])
        self.assertEqual(TraceEvent.objects.count(), 0)
        response = self.post({"harvester_name": "李师傅", "reference_document_type": "Field tag"})
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(
            harvest_data(), {"harvester_name": "李师傅", "harvester_phone": "", "reference_document_type": "Field tag"}
        )

    def test_the_events_api_shows_the_harvester_to_the_village_and_auditors_only(self):
        self.post({})
        shipment = Shipment.objects.get(pk=self.w.shipment.pk)
        services.add_item(shipment=shipment, batch=self.w.batch, quantity=1)
        services.dispatch_shipment(shipment=shipment)
        for user, shown in ((self.w.alice, True), (self.w.carol, True), (self.w.auditor, True), (self.w.rita, False)):
            events = api_client(user).get(f"{V1}/events/", {"kind": "harvest"}).json()["results"]
            self.assertEqual(len(events), 1, user)
            expected = ("王建国", "13800000000") if shown else ("", "")
            data = events[0]["data"]
            self.assertEqual((data["harvester_name"], data["harvester_phone"]), expected, user)


class ConsumerPageTests(TestCase):
    def test_the_consumer_page_never_shows_the_harvester(self):
        call_command("seed_demo", stdout=StringIO())
        self.assertTrue(TraceEvent.objects.filter(kind="harvest", data__harvester_name__endswith="采摘队").exists())
        for shipment in Shipment.objects.exclude(status__in=["draft", "cancelled"]):
            html = self.client.get(f"/s/{shipment.public_code}").content.decode()
            self.assertNotIn("采摘队", html, shipment.public_code)
            self.assertNotIn(shipment.origin_village.phone, html)

    def test_the_export_command_leaves_the_harvester_out_when_asked(self):
        call_command("seed_demo", stdout=StringIO())
        lot = TraceEvent.objects.filter(kind="harvest").first().lines.get().batch.lot_code
        with TemporaryDirectory() as tmp:
            full, without = Path(tmp) / "full.csv", Path(tmp) / "without.csv"
            call_command("export_fsma", "--lot", lot, "--output", full, stderr=StringIO())
            call_command("export_fsma", "--lot", lot, "--output", without, "--without-harvester", stderr=StringIO())
            self.assertIn("采摘队", full.read_text("utf-8-sig"))
            self.assertNotIn("采摘队", without.read_text("utf-8-sig"))


class CorrectionTests(TestCase):
    def setUp(self):
        in_english(self)
        self.w = make_api_world()
        self.lot = make_batch(self.w.farm, self.w.crop, "XJ-WAX-20260612-009", harvested_on=None, status="growing")
        self.client.force_login(self.w.alice)
        self.client.post(
            f"/batches/{self.lot.lot_code}/record/harvest/",
            {"occurred_at": "2026-06-12T06:30", "quantity": "80", "harvester_name": "李师傅"},
        )
        self.harvest = TraceEvent.objects.get(kind="harvest")

    def test_a_wrong_harvester_is_corrected_from_the_lots_history(self):
        url = f"/batches/{self.lot.lot_code}/events/{self.harvest.client_id}/correct/"
        form = self.client.get(url)
        self.assertEqual(form.context["form"].initial["harvester_name"], "李师傅")
        response = self.client.post(
            url,
            {
                "client_id": "b0a2a3c4-0000-4000-8000-000000000001",
                "reason": "incorrect_data",
                "note": "wrong picker",
                "harvester_name": "王师傅",
                "harvester_phone": "13900000000",
                "reference_document": "FT-0612-02",
            },
        )
        self.assertRedirects(response, f"/batches/{self.lot.lot_code}/")
        (replacement,) = TraceEvent.objects.effective().filter(kind="harvest")
        self.assertEqual(
            replacement.data,
            {"harvester_name": "王师傅", "harvester_phone": "13900000000", "reference_document": "FT-0612-02"},
        )

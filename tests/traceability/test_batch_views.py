"""The farmer's batch pages: registering, recording events, scoping and forms that keep input."""

import io
import shutil
import tempfile
import threading
import uuid
from datetime import date
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, TestCase, TransactionTestCase, override_settings
from PIL import Image

from api.models import IdempotencyRecord
from tests.support import (
    in_english,
    make_batch,
    make_crop,
    make_delivered_shipment,
    make_farm,
    make_field,
    make_user,
    make_village,
    requires_postgres,
)
from traceability import services
from traceability.models import Batch, TraceEvent


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), "green").save(buffer, format="PNG")
    return buffer.getvalue()


PNG = tiny_png()
# The one-time id of a registration page, as a double tap sends it twice.
TAP = "5d0c8a4e-3b1f-4c2a-9e7d-2f6b1a0c9d38"


class BatchPageTests(TestCase):
    def setUp(self):
        in_english(self)
        self.village = make_village("XJ")
        self.farm = make_farm(self.village)
        self.field = make_field(self.farm)
        self.crop = make_crop("WAX")
        self.alice = make_user("alice", role="farmer", village=self.village)
        other = make_village("SG", name_zh="寻乌县脐橙村")
        self.other_farm = make_farm(other, name_zh="赖家果园")
        self.other_batch = make_batch(self.other_farm, self.crop, "SG-WAX-20260612-001")
        self.bob = make_user("bob", role="farmer", village=other)
        self.client.force_login(self.alice)

    def test_it_registers_a_batch_with_the_next_lot_code_and_shows_it(self):
        response = self.client.post(
            "/batches/new/",
            {
                "farm": self.farm.pk,
                "crop": self.crop.pk,
                "field": self.field.pk,
                "planted_on": "2026-03-01",
                "harvested_on": "2026-06-12",
                "quantity": "120.5",
                "unit": "kg",
            },
        )
        batch = Batch.objects.get(farm=self.farm)
        self.assertEqual(batch.lot_code, "XJ-WAX-20260612-001")
        self.assertEqual(
            (batch.field, batch.quantity, batch.unit, batch.status, batch.created_by),
            (self.field, Decimal("120.5"), "kg", "harvested", self.alice),
        )
        self.assertRedirects(response, "/batches/XJ-WAX-20260612-001/")
        page = self.client.get("/batches/").content.decode()
        self.assertIn("XJ-WAX-20260612-001", page)
        self.assertNotIn("SG-WAX-20260612-001", page)

    def test_a_form_with_an_error_keeps_everything_typed_and_says_what_to_fix(self):
        response = self.client.post(
            "/batches/new/",
            {
                "farm": self.farm.pk,
                "crop": self.crop.pk,
                "field": self.field.pk,
                "planted_on": "2026-06-20",
                "harvested_on": "2026-06-12",
                "quantity": "77.25",
                "unit": "box",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Batch.objects.filter(farm=self.farm).count(), 0)
        self.assertEqual(
            response.context["form"].errors["harvested_on"], ["The harvest date cannot be before the planting date."]
        )
        html = response.content.decode()
        self.assertIn('value="77.25"', html)
        self.assertIn('value="2026-06-20"', html)
        self.assertIn('<option value="box" selected>', html)
        self.assertIn(f'<option value="{self.field.pk}" selected>', html)

    def test_it_refuses_a_farm_of_another_village(self):
        response = self.client.post(
            "/batches/new/",
            {"farm": self.other_farm.pk, "crop": self.crop.pk, "quantity": "5", "unit": "kg"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("farm", response.context["form"].errors)
        self.assertEqual(Batch.objects.filter(farm=self.other_farm).count(), 1)

    def test_another_villages_batch_answers_404_for_reading_and_recording(self):
        self.assertEqual(self.client.get("/batches/SG-WAX-20260612-001/").status_code, 404)
        response = self.client.post(
            "/batches/SG-WAX-20260612-001/record/harvest/", {"occurred_at": "2026-06-12T06:00", "quantity": "5"}
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(TraceEvent.objects.count(), 0)

    def test_people_without_a_village_cannot_register(self):
        auditor = make_user("carol", role="auditor")
        self.client.force_login(auditor)
        self.assertEqual(self.client.get("/batches/new/").status_code, 404)
        self.assertEqual(self.client.post("/batches/new/", {"farm": self.farm.pk}).status_code, 404)
        self.assertEqual(Batch.objects.count(), 1)

    def test_recording_a_harvest_moves_the_batch_forward(self):
        batch = make_batch(self.farm, self.crop, "XJ-WAX-20260612-001", harvested_on=None, status="growing")
        response = self.client.post(
            "/batches/XJ-WAX-20260612-001/record/harvest/", {"occurred_at": "2026-06-12T06:30", "quantity": "80"}
        )
        self.assertRedirects(response, "/batches/XJ-WAX-20260612-001/")
        batch.refresh_from_db()
        self.assertEqual((batch.status, batch.harvested_on), ("harvested", date(2026, 6, 12)))
        event = TraceEvent.objects.get()
        self.assertEqual((event.kind, event.actor, event.lines.get().quantity), ("harvest", self.alice, Decimal("80")))

    def test_a_temperature_reading_needs_a_temperature_and_keeps_the_note(self):
        make_batch(self.farm, self.crop, "XJ-WAX-20260612-001")
        response = self.client.post(
            "/batches/XJ-WAX-20260612-001/record/temperature/",
            {"occurred_at": "2026-06-12T08:00", "temperature_c": "", "note": "冷库二号"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(list(response.context["form"].errors), ["temperature_c"])
        self.assertIn('value="冷库二号"', response.content.decode())
        self.assertEqual(TraceEvent.objects.count(), 0)

    def test_the_history_links_each_shipment_of_the_batch(self):
        batch = make_batch(self.farm, self.crop, "XJ-WAX-20260612-001", status="packed")
        code = make_delivered_shipment(batches=[batch]).public_code
        response = self.client.get("/batches/XJ-WAX-20260612-001/")
        self.assertContains(response, f'<a class="code" href="/shipments/{code}/">{code}</a>', count=2, html=True)
        self.assertEqual(self.client.get(f"/shipments/{code}/").status_code, 200)

    def test_a_cooling_record_needs_its_temperature(self):
        # The guide's "cooling with its temperature": without one the consumer page shows a bare step.
        make_batch(self.farm, self.crop, "XJ-WAX-20260612-001")
        response = self.client.post(
            "/batches/XJ-WAX-20260612-001/record/cooling/", {"occurred_at": "2026-06-12T08:00", "temperature_c": ""}
        )
        self.assertEqual(list(response.context["form"].errors), ["temperature_c"])
        self.assertEqual(TraceEvent.objects.count(), 0)
        self.client.post(
            "/batches/XJ-WAX-20260612-001/record/cooling/", {"occurred_at": "2026-06-12T08:00", "temperature_c": "3.5"}
        )
        self.assertEqual(TraceEvent.objects.get().data["temperature_c"], 3.5)

    def test_a_quality_test_stores_its_photo_under_media_root_and_its_path_in_the_event(self):
        media = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, media)
        make_batch(self.farm, self.crop, "XJ-WAX-20260612-001")
        with override_settings(MEDIA_ROOT=media):
            response = self.client.post(
                "/batches/XJ-WAX-20260612-001/record/quality_test/",
                {
                    "occurred_at": "2026-06-12T09:00",
                    "result": "pass",
                    "lab": "仙居县农检站",
                    "test": "农残速测",
                    "photo": SimpleUploadedFile("report.png", PNG, content_type="image/png"),
                },
            )
        self.assertRedirects(response, "/batches/XJ-WAX-20260612-001/")
        data = TraceEvent.objects.get(kind="quality_test").data
        self.assertEqual(
            {k: data[k] for k in ("result", "lab", "test")},
            {"result": "pass", "lab": "仙居县农检站", "test": "农残速测"},
        )
        self.assertRegex(data["photo"], r"^quality/XJ/[0-9a-f]{32}-report\.\d+x\d+\.jpg$")
        with open(f"{media}/{data['photo']}", "rb") as stored:
            self.assertEqual(stored.read()[:3], b"\xff\xd8\xff")  # re-encoded as JPEG (farms.images)

    def test_an_unknown_event_kind_answers_404(self):
        make_batch(self.farm, self.crop, "XJ-WAX-20260612-001")
        response = self.client.post(
            "/batches/XJ-WAX-20260612-001/record/shipping/", {"occurred_at": "2026-06-12T09:00"}
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(TraceEvent.objects.count(), 0)

    def test_the_farmer_home_lists_their_batches_and_offers_registration_but_no_shipment_creation(self):
        make_batch(self.farm, self.crop, "XJ-WAX-20260612-001")
        html = self.client.get("/").content.decode()
        self.assertIn("XJ-WAX-20260612-001", html)
        self.assertIn('href="/batches/new/"', html)
        self.assertNotIn('href="/shipments/new/"', html)
        self.assertNotIn('href="/batches/import/"', html)

    def test_the_same_event_form_sent_twice_records_once_and_a_malformed_id_is_ignored(self):
        make_batch(self.farm, self.crop, "XJ-WAX-20260612-001")
        form = {
            "occurred_at": "2026-06-12T08:00",
            "temperature_c": "3.5",
            "client_id": "0b7c2f5e-8d7a-4e43-9a55-6f1c1d2e3f40",
        }
        self.client.post("/batches/XJ-WAX-20260612-001/record/temperature/", form)
        self.client.post("/batches/XJ-WAX-20260612-001/record/temperature/", form)
        self.client.post("/batches/XJ-WAX-20260612-001/record/temperature/", {**form, "client_id": "not-a-uuid"})
        self.assertEqual(
            list(TraceEvent.objects.values_list("kind", "data__temperature_c")), [("temperature", 3.5)] * 2
        )

    def test_the_same_registration_sent_twice_registers_one_batch_and_both_answers_lead_to_it(self):
        form = self.registration(client_id=TAP)
        for _ in range(2):
            response = self.client.post("/batches/new/", form, follow=True)
            self.assertRedirects(response, "/batches/XJ-WAX-20260612-001/")
            messages = [str(m) for m in response.context["messages"]]
            self.assertEqual(messages, ["Batch XJ-WAX-20260612-001 is registered."])
        self.assertEqual(self.lot_codes(), ["XJ-WAX-20260612-001"])

    def test_an_id_another_farms_batch_carries_is_refused_with_the_input_kept_and_a_new_id(self):
        other = make_farm(self.village, name_zh="李家果园")
        services.register_batch(farm=other, crop=self.crop, quantity=Decimal("1"), unit="kg", client_id=TAP)
        response = self.client.post("/batches/new/", self.registration(client_id=TAP))
        self.assertEqual(response.status_code, 409)
        self.assertEqual([str(m) for m in response.context["messages"]], ["This client id is already used."])
        html = response.content.decode()
        self.assertIn('value="120.5"', html)
        self.assertNotIn(TAP, html)
        self.assertIn(f'name="client_id" value="{response.context["client_id"]}"', html)
        self.assertEqual(Batch.objects.filter(farm=self.farm).count(), 0)

    def test_a_registration_with_another_id_or_a_malformed_one_registers_another_batch(self):
        self.client.post("/batches/new/", self.registration(client_id=TAP))
        response = self.client.post("/batches/new/", self.registration(client_id=str(uuid.uuid4())))
        self.assertRedirects(response, "/batches/XJ-WAX-20260612-002/", fetch_redirect_response=False)
        for _ in range(2):
            self.client.post("/batches/new/", self.registration(client_id="not-a-uuid"))
        self.assertEqual(
            self.lot_codes(),
            ["XJ-WAX-20260612-001", "XJ-WAX-20260612-002", "XJ-WAX-20260612-003", "XJ-WAX-20260612-004"],
        )

    def test_a_registration_sent_back_with_errors_keeps_the_input_and_its_id_for_the_corrected_one(self):
        response = self.client.post("/batches/new/", self.registration(client_id=TAP, planted_on="2026-06-20"))
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertIn(f'<input type="hidden" name="client_id" value="{TAP}" autocomplete="off">', html)
        self.assertIn('value="120.5"', html)
        self.assertIn('value="2026-06-20"', html)
        self.assertEqual((self.lot_codes(), IdempotencyRecord.objects.count()), ([], 0))
        response = self.client.post("/batches/new/", self.registration(client_id=TAP, planted_on="2026-03-01"))
        self.assertRedirects(response, "/batches/XJ-WAX-20260612-001/", fetch_redirect_response=False)
        self.assertEqual(self.lot_codes(), ["XJ-WAX-20260612-001"])

    def test_each_form_page_carries_a_new_id_and_is_not_kept_by_the_browser(self):
        pages = [self.client.get(path) for path in ("/batches/new/", "/batches/new/")]
        ids = [page.context["client_id"] for page in pages]
        self.assertNotEqual(ids[0], ids[1])
        self.assertIn(
            f'<input type="hidden" name="client_id" value="{ids[0]}" autocomplete="off">', pages[0].content.decode()
        )
        make_batch(self.farm, self.crop, "XJ-WAX-20260612-001")
        event_page = self.client.get("/batches/XJ-WAX-20260612-001/record/cooling/")
        for page in [*pages, event_page]:
            self.assertIn("no-store", page["Cache-Control"])

    def registration(self, **changes) -> dict:
        form = {"farm": self.farm.pk, "crop": self.crop.pk, "harvested_on": "2026-06-12", "quantity": "120.5"}
        return form | {"unit": "kg"} | changes

    def lot_codes(self) -> list[str]:
        return sorted(Batch.objects.filter(farm=self.farm).values_list("lot_code", flat=True))

    def test_coordinators_get_the_recall_form_on_a_batch_and_farmers_do_not(self):
        make_batch(self.farm, self.crop, "XJ-WAX-20260612-001")
        self.assertNotIn('action="/recalls/open/"', self.client.get("/batches/XJ-WAX-20260612-001/").content.decode())
        self.client.force_login(make_user("dave", role="coordinator", village=self.village))
        self.assertIn('action="/recalls/open/"', self.client.get("/batches/XJ-WAX-20260612-001/").content.decode())

    def test_the_villages_specialty_crops_come_first_in_the_crop_list(self):
        bamboo = make_crop("BAM", name_zh="春笋", name_en="Bamboo shoot")
        apple = make_crop("APL", name_zh="苹果", name_en="Apple")
        self.village.specialties.set([self.crop])
        crops = list(self.client.get("/batches/new/").context["form"].fields["crop"].queryset)
        self.assertEqual(crops, [self.crop, apple, bamboo])


@requires_postgres
class ConcurrentRegistrationTests(TransactionTestCase):
    def test_a_double_tap_whose_posts_arrive_together_registers_one_batch(self):
        village = make_village("XJ")
        farm = make_farm(village)
        crop = make_crop("WAX")
        alice = make_user("alice", role="farmer", village=village)
        form = {"farm": farm.pk, "crop": crop.pk, "harvested_on": "2026-06-12", "quantity": "5", "unit": "kg"}
        form["client_id"] = TAP
        locations = []
        barrier = threading.Barrier(4)

        def tap():
            try:
                client = Client()
                client.force_login(alice)
                barrier.wait()
                locations.append(client.post("/batches/new/", form)["Location"])
            finally:
                connection.close()

        threads = [threading.Thread(target=tap) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(list(Batch.objects.values_list("lot_code", flat=True)), ["XJ-WAX-20260612-001"])
        self.assertEqual(locations, ["/batches/XJ-WAX-20260612-001/"] * 4)
        self.assertEqual(str(Batch.objects.get().client_id), TAP)

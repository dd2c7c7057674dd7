"""What a phone's offline outbox needs from the API: a lot registered once per client_id, a
quality test's photo in a multipart POST, a held lot's events refused with the reason, and a
record made by another person on a shared phone refused."""

import io
import json
import threading
import uuid
from decimal import Decimal

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase, TransactionTestCase
from PIL import Image

from api import errors
from tests.support import (
    api_client,
    in_english,
    make_api_world,
    make_batch,
    make_crop,
    make_farm,
    make_user,
    make_village,
    requires_postgres,
    temporary_media,
)
from traceability import services
from traceability.models import Batch, TraceEvent

V1 = "/api/v1"
PHONE_ID = "6a1f0e2c-4b7d-4c1e-8f3a-2d5b9c0e7a14"


def jpeg(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(buffer, format="JPEG")
    return buffer.getvalue()


class BatchRegistrationByClientIdTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def registration(self, **extra) -> dict:
        body = {"farm": self.w.farm.pk, "crop": self.w.crop.pk, "quantity": "120", "harvested_on": "2026-06-12"}
        return body | {"client_id": PHONE_ID} | extra

    def test_a_registration_sent_again_with_its_client_id_returns_the_lot_already_registered(self):
        client = api_client(self.w.alice)
        first = client.post(f"{V1}/batches/", self.registration(), format="json")
        second = client.post(f"{V1}/batches/", self.registration(), format="json")
        self.assertEqual((first.status_code, second.status_code), (201, 200))
        self.assertEqual(first.json()["lot_code"], "XJ-WAX-20260612-002")
        self.assertEqual(second.json(), first.json())
        self.assertEqual(first.json()["client_id"], PHONE_ID)
        batches = Batch.objects.filter(client_id=PHONE_ID)
        self.assertEqual(
            list(batches.values_list("lot_code", "created_by__username")), [("XJ-WAX-20260612-002", "alice")]
        )

    def test_another_client_id_or_none_registers_another_lot(self):
        client = api_client(self.w.alice)
        client.post(f"{V1}/batches/", self.registration(), format="json")
        client.post(f"{V1}/batches/", self.registration(client_id=str(uuid.uuid4())), format="json")
        body = self.registration()
        del body["client_id"]
        client.post(f"{V1}/batches/", body, format="json")
        codes = sorted(Batch.objects.filter(farm=self.w.farm).values_list("lot_code", flat=True))
        self.assertEqual(codes, [f"XJ-WAX-20260612-00{n}" for n in (1, 2, 3, 4)])

    def test_the_client_id_of_another_villages_lot_is_refused_without_saying_whose(self):
        Batch.objects.filter(pk=self.w.other_batch.pk).update(client_id=PHONE_ID)
        response = api_client(self.w.alice).post(f"{V1}/batches/", self.registration(), format="json")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"]["fields"], {"client_id": ["This client id is already used."]})
        self.assertEqual(Batch.objects.filter(farm=self.w.farm).count(), 1)

    def test_the_service_refuses_a_client_id_used_on_another_farm(self):
        services.register_batch(
            farm=self.w.farm, crop=self.w.crop, quantity=Decimal("5"), unit="kg", client_id=PHONE_ID
        )
        second_farm = make_farm(self.w.xj, name_zh="李家果园")
        with self.assertRaisesMessage(errors.Invalid, "This client id is already used."):
            services.register_batch(
                farm=second_farm, crop=self.w.crop, quantity=Decimal("5"), unit="kg", client_id=PHONE_ID
            )
        self.assertEqual(Batch.objects.filter(farm=second_farm).count(), 0)


class OutboxEventTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def setUp(self):
        temporary_media(self)

    def quality_test(self, **extra) -> dict:
        data = {"result": "pass", "lab": "仙居县农检站", "test": "农药残留快检"}
        return {
            "batch": self.w.batch.lot_code,
            "kind": "quality_test",
            "occurred_at": "2026-06-12T09:30:00+08:00",
            "client_id": PHONE_ID,
            "data": json.dumps(data, ensure_ascii=False),
            "photo": SimpleUploadedFile("report.jpg", jpeg(), content_type="image/jpeg"),
        } | extra

    def test_a_quality_test_with_its_photo_is_one_multipart_post(self):
        response = api_client(self.w.alice).post(f"{V1}/events/", self.quality_test(), format="multipart")
        self.assertEqual(response.status_code, 201, response.content)
        event = TraceEvent.objects.get(client_id=PHONE_ID)
        photo = event.data.pop("photo")
        self.assertEqual(event.data, {"result": "pass", "lab": "仙居县农检站", "test": "农药残留快检"})
        self.assertRegex(photo, r"^quality/XJ/[0-9a-f]{32}-report\.40x30\.jpg$")  # its size in its name
        with default_storage.open(photo) as stored:
            self.assertEqual(Image.open(stored).size, (40, 30))
        self.assertEqual(event.occurred_at.isoformat(), "2026-06-12T01:30:00+00:00")

    def test_the_same_photo_sent_again_records_one_event_and_stores_one_file(self):
        client = api_client(self.w.alice)
        first = client.post(f"{V1}/events/", self.quality_test(), format="multipart")
        second = client.post(f"{V1}/events/", self.quality_test(), format="multipart")
        self.assertEqual((first.status_code, second.status_code), (201, 200))
        self.assertEqual(TraceEvent.objects.count(), 1)
        # The photo and its renditions (farms.images: 4 widths, all 40 px here, kept once, x 2 types).
        self.assertEqual(len(default_storage.listdir("quality/XJ")[1]), 1 + 2)

    def test_a_photo_that_is_not_an_image_or_on_another_kind_is_refused(self):
        client = api_client(self.w.alice)
        not_image = SimpleUploadedFile("report.jpg", b"not an image", content_type="image/jpeg")
        response = client.post(f"{V1}/events/", self.quality_test(photo=not_image), format="multipart")
        self.assertEqual((response.status_code, list(response.json()["error"]["fields"])), (400, ["photo"]))
        response = client.post(
            f"{V1}/events/", self.quality_test(kind="cooling", data='{"temperature_c": 4}'), format="multipart"
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"]["fields"], {"photo": ["Only a quality test takes a photo."]})
        self.assertEqual(TraceEvent.objects.count(), 0)

    def test_an_event_on_a_recalled_lot_is_refused_with_the_reason_but_a_retry_of_one_recorded_before_is_not(self):
        client = api_client(self.w.alice, language="en")
        before = {"batch": self.w.batch.lot_code, "kind": "cooling", "occurred_at": "2026-06-12T08:00:00+08:00"}
        before |= {"client_id": str(uuid.uuid4()), "data": {"temperature_c": 4}}
        self.assertEqual(client.post(f"{V1}/events/", before, format="json").status_code, 201)
        services.open_recall(batch=self.w.batch, reason="Residue over the limit", actor=self.w.carol)
        after = before | {"client_id": PHONE_ID}
        response = client.post(f"{V1}/events/", after, format="json")
        self.assertEqual(response.status_code, 409)
        self.assertEqual(
            response.json()["error"],
            {
                "code": "conflict",
                "message": "Lot XJ-WAX-20260612-001 is recalled: only quality tests and corrections can be recorded.",
                "fields": {},
            },
        )
        self.assertEqual(client.post(f"{V1}/events/", before, format="json").status_code, 200)
        self.assertEqual(TraceEvent.objects.filter(kind="cooling").count(), 1)

    def test_a_record_made_by_another_person_on_the_phone_is_refused(self):
        client = api_client(self.w.alice, language="en")
        body = {"batch": self.w.batch.lot_code, "kind": "cooling", "occurred_at": "2026-06-12T08:00:00+08:00"}
        response = client.post(f"{V1}/events/", body, format="json", HTTP_X_OUTBOX_USER=str(self.w.carol.pk))
        self.assertEqual(response.status_code, 403)
        self.assertEqual(
            response.json()["error"]["message"],
            "This record was made by another person on this phone: they must sign in to send it.",
        )
        registration = {"farm": self.w.farm.pk, "crop": self.w.crop.pk, "quantity": "5"}
        response = client.post(f"{V1}/batches/", registration, format="json", HTTP_X_OUTBOX_USER=str(self.w.carol.pk))
        self.assertEqual(response.status_code, 403)
        self.assertEqual((TraceEvent.objects.count(), Batch.objects.filter(farm=self.w.farm).count()), (0, 1))
        response = client.post(f"{V1}/events/", body, format="json", HTTP_X_OUTBOX_USER=str(self.w.alice.pk))
        self.assertEqual(response.status_code, 201)


class RegistrationFormTests(TestCase):
    def setUp(self):
        in_english(self)
        village = make_village("XJ")
        self.batch = make_batch(make_farm(village), make_crop("WAX"), "XJ-WAX-20260612-001")
        self.client.force_login(make_user("alice", role="farmer", village=village))

    def test_the_registration_form_keeps_its_one_time_id_on_the_batch(self):
        farm = self.batch.farm
        form = {"farm": farm.pk, "crop": self.batch.crop.pk, "harvested_on": "2026-06-12", "quantity": "3"}
        self.client.post("/batches/new/", form | {"unit": "kg", "client_id": PHONE_ID})
        self.assertEqual(Batch.objects.get(client_id=PHONE_ID).lot_code, "XJ-WAX-20260612-002")


@requires_postgres
class ConcurrentOutboxRegistrationTests(TransactionTestCase):
    def test_a_registration_sent_by_the_outbox_and_retried_at_once_registers_one_lot(self):
        village = make_village("XJ")
        farm = make_farm(village)
        crop = make_crop("WAX")
        alice = make_user("alice", role="farmer", village=village)
        body = {"farm": farm.pk, "crop": crop.pk, "quantity": "5", "harvested_on": "2026-06-12", "client_id": PHONE_ID}
        answers = []
        barrier = threading.Barrier(4)

        def send():
            try:
                client = api_client(alice)
                barrier.wait()
                response = client.post(f"{V1}/batches/", body, format="json")
                answers.append(response.json()["lot_code"])
            finally:
                connection.close()

        threads = [threading.Thread(target=send) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(list(Batch.objects.values_list("lot_code", flat=True)), ["XJ-WAX-20260612-001"])
        # Every answer names the one lot (a duplicate that overtook the first may still say 201).
        self.assertEqual(answers, ["XJ-WAX-20260612-001"] * 4)

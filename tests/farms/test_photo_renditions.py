"""Every photo upload comes out small, upright, without EXIF, with its renditions for srcset
(farms/images.py), through every door: the coordinator's village and farm forms, the admin's crop
page, the API's quality test; the API shows the renditions' URLs, read-only; a photo's files go
with it."""

import io
import re
from datetime import datetime

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from PIL import Image

from farms import images
from farms.models import Crop, Farm, Field, Village
from tests.farms.photos import GPS_IFD, phone_photo
from tests.support import (
    api_client,
    in_english,
    make_batch,
    make_crop,
    make_farm,
    make_user,
    make_village,
    temporary_media,
)
from traceability.models import TraceEvent

# A 4000x3000 photo taken with the phone on its side (Orientation 6): upright it is 3000x4000.
UPRIGHT = {"stored": (1536, 2048), 240: (240, 320), 480: (480, 640), 720: (720, 960), 960: (960, 1280)}
# Byte caps for each copy of an 8.8 MB photo, about twice what was measured (its grain is random):
# 695 KB stored; WebP 0.9, 2.5, 68 KB; JPEG 3.6, 18, 130 KB at 240, 480, 960 px wide.
CAPS = {"stored": 1_500_000, ("webp", 240): 10_000, ("webp", 480): 40_000, ("webp", 960): 150_000}
CAPS |= {("jpg", 240): 20_000, ("jpg", 480): 60_000, ("jpg", 960): 250_000}
CAPS |= {("webp", 720): 100_000, ("jpg", 720): 180_000}


def read(name: str) -> bytes:
    with default_storage.open(name) as handle:
        return handle.read()


class MediaTestCase(TestCase):
    def setUp(self):
        temporary_media(self)
        in_english(self)

    def assert_small_upright_and_clean(self, name: str, stem: str):
        """The stored copy and each rendition: its format, exact pixels, a byte cap, no EXIF."""
        self.assertRegex(name, rf"{stem}\.1536x2048\.jpg$")
        files = {"stored": ("JPEG", name)}
        for rendition in images.Photo.of(name).all_renditions():
            self.assertEqual(rendition.name, f"{name.removesuffix('.jpg')}.{rendition.width}w.{rendition.format}")
            files[(rendition.format, rendition.width)] = (
                "WEBP" if rendition.format == "webp" else "JPEG",
                rendition.name,
            )
        self.assertEqual(len(files), 9)
        for key, (format, path) in files.items():
            data = read(path)
            image = Image.open(io.BytesIO(data))
            self.assertEqual(image.format, format, key)
            self.assertEqual(image.size, UPRIGHT[key if key == "stored" else key[1]], key)
            self.assertLess(len(data), CAPS[key], key)
            self.assertEqual(dict(image.getexif()), {}, key)
            self.assertEqual(image.getexif().get_ifd(GPS_IFD), {}, key)
            self.assertNotIn("exif", image.info, key)
            self.assertNotIn(b"PhoneMaker", data, key)
        return files


class EightMegabytePhotoTests(MediaTestCase):
    def setUp(self):
        super().setUp()
        self.village = make_village("XJ")
        self.carol = make_user("carol", role="coordinator", village=self.village)
        self.photo = phone_photo(rotate=True)
        self.assertGreater(len(self.photo), 8 * 1024 * 1024)
        exif = Image.open(io.BytesIO(self.photo)).getexif()
        self.assertEqual(exif.get_ifd(GPS_IFD)[1], "N")  # what must go

    def upload(self, name="IMG_0001.jpg"):
        return SimpleUploadedFile(name, self.photo, content_type="image/jpeg")

    def test_through_the_coordinators_village_form(self):
        self.client.force_login(self.carol)
        response = self.client.post(
            "/village/XJ/", {"story_zh": "故事", "time_zone": "Asia/Shanghai", "photo": self.upload()}
        )
        self.assertEqual(response.status_code, 302)
        self.assert_small_upright_and_clean(Village.objects.get().photo.name, r"^villages/IMG_0001")

    def test_through_the_coordinators_farm_form(self):
        farm = make_farm(self.village)
        self.client.force_login(self.carol)
        fields = {"village": self.village.pk, "name_zh": farm.name_zh, "grower_name": "王建国"}
        response = self.client.post(f"/farms/{farm.pk}/", {**fields, "photo": self.upload()})
        self.assertEqual(response.status_code, 302)
        self.assert_small_upright_and_clean(Farm.objects.get().photo.name, r"^farms/IMG_0001")

    def test_through_the_api_with_a_quality_test(self):
        fay = make_user("fay", role="farmer", village=self.village)
        batch = make_batch(make_farm(self.village), make_crop(), "XJ-WAX-20260612-001")
        body = {
            "batch": batch.lot_code,
            "kind": "quality_test",
            "occurred_at": "2026-06-12T09:30:00+08:00",
            "data": '{"result": "pass"}',
            "photo": self.upload("report.jpg"),
        }
        response = api_client(fay).post("/api/v1/events/", body, format="multipart")
        self.assertEqual(response.status_code, 201, response.content)
        name = TraceEvent.objects.get().data["photo"]
        self.assertEqual(Image.open(io.BytesIO(read(name))).getexif().get_ifd(GPS_IFD), {})  # main kept it
        self.assert_small_upright_and_clean(name, r"^quality/XJ/[0-9a-f]{32}-report")

    def test_through_the_event_form(self):
        fay = make_user("fay", role="farmer", village=self.village)
        batch = make_batch(make_farm(self.village), make_crop(), "XJ-WAX-20260612-001")
        self.client.force_login(fay)
        body = {"occurred_at": datetime(2026, 6, 12, 9).strftime("%Y-%m-%dT%H:%M"), "result": "pass", "lab": "站"}
        response = self.client.post(f"/batches/{batch.lot_code}/record/quality_test/", {**body, "photo": self.upload()})
        self.assertEqual(response.status_code, 302)
        self.assert_small_upright_and_clean(
            TraceEvent.objects.get().data["photo"], r"^quality/XJ/[0-9a-f]{32}-IMG_0001"
        )


class PhotoDoorTests(MediaTestCase):
    def setUp(self):
        super().setUp()
        self.village = make_village("XJ")
        self.photo = phone_photo(1200, 800, grain=20, quality=90)

    def test_a_field_photo_through_the_coordinators_field_form_and_in_the_api(self):
        carol = make_user("carol", role="coordinator", village=self.village)
        farm = make_farm(self.village)
        self.client.force_login(carol)
        body = {"name_zh": "东坡", "photo": SimpleUploadedFile("slope.jpg", self.photo, content_type="image/jpeg")}
        response = self.client.post(f"/farms/{farm.pk}/fields/new/", body)
        self.assertEqual(response.status_code, 302)
        field = Field.objects.get()
        self.assertEqual(field.photo.name, "fields/slope.1200x800.jpg")
        self.assertEqual(len(default_storage.listdir("fields")[1]), 9)
        photo = api_client(carol).get(f"/api/v1/fields/{field.pk}/").json()["photo"]
        self.assertEqual((photo["width"], photo["height"], len(photo["renditions"])), (1200, 800, 8))

    def test_the_admin_re_encodes_a_crop_photo_with_its_renditions(self):
        self.client.force_login(make_user("root", is_staff=True, is_superuser=True))
        photo = SimpleUploadedFile("杨梅.jpg", self.photo + b"<script>x</script>", content_type="image/jpeg")
        data = {"code": "WAX", "name_zh": "杨梅", "category": "fruit", "photo": photo}
        response = self.client.post("/admin/farms/crop/add/", data)
        self.assertEqual(response.status_code, 302)
        name = Crop.objects.get().photo.name
        self.assertEqual(name, "crops/杨梅.1200x800.jpg")
        self.assertEqual(
            sorted(default_storage.listdir("crops")[1]),
            sorted(
                ["杨梅.1200x800.jpg"]
                + [f"杨梅.1200x800.{w}w.{t}" for w in (240, 480, 720, 960) for t in ("jpg", "webp")]
            ),
        )
        self.assertNotIn(b"<script", read(name))

    def test_the_api_lists_the_renditions_read_only(self):
        carol = make_user("carol", role="coordinator", village=self.village)
        farm = make_farm(self.village)
        farm.photo.save("farm.jpg", SimpleUploadedFile("farm.jpg", self.photo))
        client = api_client(carol)
        body = client.get(f"/api/v1/farms/{farm.pk}/").json()
        base = "http://testserver/media/farms/farm.1200x800"
        self.assertEqual(
            body["photo"],
            {
                "width": 1200,
                "height": 800,
                "url": f"{base}.jpg",
                "renditions": [
                    {"url": f"{base}.{w}w.{t}", "width": w, "height": h, "type": f"image/{m}"}
                    for t, m in (("webp", "webp"), ("jpg", "jpeg"))
                    for w, h in ((240, 160), (480, 320), (720, 480), (960, 640))
                ],
            },
        )
        response = client.patch(f"/api/v1/farms/{farm.pk}/", {"photo": None}, format="json")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"]["fields"], {"photo": ["This field cannot be set."]})
        self.assertEqual(client.get(f"/api/v1/villages/{self.village.pk}/").json()["photo"], None)

    def test_a_bad_file_through_the_api_is_a_field_message_and_stores_nothing(self):
        fay = make_user("fay", role="farmer", village=self.village)
        batch = make_batch(make_farm(self.village), make_crop(), "XJ-WAX-20260612-001")
        noise = SimpleUploadedFile("big.jpg", b"\xff\xd8\xff" + b"0" * (10 * 1024 * 1024), content_type="image/jpeg")
        body = {"batch": batch.lot_code, "kind": "quality_test", "occurred_at": "2026-06-12T09:30:00+08:00"}
        response = api_client(fay).post("/api/v1/events/", {**body, "photo": noise}, format="multipart")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(list(response.json()["error"]["fields"]), ["photo"])
        self.assertEqual(TraceEvent.objects.count(), 0)
        self.assertFalse(default_storage.exists("quality"))

    def test_a_replaced_photo_and_a_deleted_farm_take_their_files_with_them(self):
        carol = make_user("carol", role="coordinator", village=self.village)
        farm = make_farm(self.village)
        self.client.force_login(carol)
        fields = {"village": self.village.pk, "name_zh": farm.name_zh, "grower_name": "王建国"}
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(f"/farms/{farm.pk}/", {**fields, "photo": SimpleUploadedFile("a.jpg", self.photo)})
        first = set(default_storage.listdir("farms")[1])
        self.assertEqual(len(first), 9)
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(f"/farms/{farm.pk}/", {**fields, "photo": SimpleUploadedFile("b.jpg", self.photo)})
        second = set(default_storage.listdir("farms")[1])
        self.assertEqual((len(second), first & second), (9, set()))
        self.assertTrue(all(re.match(r"b\.1200x800\.", name) for name in second), second)
        with self.captureOnCommitCallbacks(execute=True):
            Farm.objects.get().delete()
        self.assertEqual(default_storage.listdir("farms")[1], [])

    def test_clearing_a_photo_deletes_its_files(self):
        village = self.village
        village.photo.save("v.jpg", SimpleUploadedFile("v.jpg", self.photo))
        self.assertEqual(len(default_storage.listdir("villages")[1]), 9)
        self.client.force_login(make_user("carol", role="coordinator", village=village))
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(
                "/village/XJ/", {"story_zh": "故事", "time_zone": "Asia/Shanghai", "photo-clear": "on"}
            )
        self.assertEqual(response.status_code, 302)
        self.assertEqual((Village.objects.get().photo.name, default_storage.listdir("villages")[1]), ("", []))

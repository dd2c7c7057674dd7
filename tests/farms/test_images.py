"""Photo uploads are capped (bytes, pixels) and re-encoded on every door; only the re-encoded
copy is stored, so EXIF (GPS positions from farmers' phones) and anything appended to the image
(HTML, scripts) are gone."""

import io
import os
from datetime import datetime

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from PIL import Image

from farms.models import Recipe, Village
from tests.support import in_english, make_batch, make_crop, make_farm, make_user, make_village, temporary_media
from traceability.models import TraceEvent


def png(size=(64, 48), mode="RGB", **options) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "white" if mode != "1" else 1).save(out, "PNG", **options)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (80, 60), "green")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (28.0, 50.0, 0.0), 3: "E", 4: (120.0, 44.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def stored(path: str) -> bytes:
    with default_storage.open(path) as handle:
        return handle.read()


class PhotoUploadTests(TestCase):
    def setUp(self):
        temporary_media(self)  # a directory of its own: names are asserted, and nothing stays behind
        in_english(self)
        self.village = make_village("XJ")
        self.carol = make_user("carol", role="coordinator", village=self.village)
        self.client.force_login(self.carol)

    def post_village_photo(self, name: str, body: bytes):
        photo = SimpleUploadedFile(name, body, content_type="image/png")
        return self.client.post("/village/XJ/", {"story_zh": "故事", "photo": photo, "time_zone": "Asia/Shanghai"})

    def test_a_144_megapixel_png_is_refused(self):
        bomb = png((12_000, 12_000), mode="1", optimize=True)
        self.assertLess(len(bomb), 100_000)
        response = self.post_village_photo("bomb.png", bomb)
        self.assertContains(response, "more than 50 million pixels")
        self.assertEqual(Village.objects.get().photo.name, "")

    def test_a_png_with_html_appended_is_stored_as_a_clean_jpeg(self):
        body = png() + b"<html><script>alert(document.cookie)</script></html>"
        response = self.post_village_photo("village.png", body)
        self.assertEqual(response.status_code, 302)
        saved = Village.objects.get().photo
        data = stored(saved.name)
        self.assertTrue(saved.name.endswith(".jpg"))
        self.assertEqual(data[:3], b"\xff\xd8\xff")
        self.assertNotIn(b"<script", data)
        self.assertEqual(Image.open(io.BytesIO(data)).size, (64, 48))

    def test_exif_and_gps_are_dropped(self):
        self.assertIn(0x8825, Image.open(io.BytesIO(jpeg_with_gps())).getexif())
        self.post_village_photo("phone.jpg", jpeg_with_gps())
        image = Image.open(io.BytesIO(stored(Village.objects.get().photo.name)))
        self.assertEqual(dict(image.getexif()), {})

    def test_a_file_over_the_byte_cap_is_refused(self):
        noise = Image.frombytes("RGB", (2100, 2100), os.urandom(2100 * 2100 * 3))
        out = io.BytesIO()
        noise.save(out, "PNG", compress_level=0)
        self.assertGreater(len(out.getvalue()), 10 * 1024 * 1024)
        response = self.post_village_photo("noise.png", out.getvalue())
        self.assertContains(response, "larger than 10 MB")
        self.assertEqual(Village.objects.get().photo.name, "")

    def test_a_big_photo_is_shrunk(self):
        self.post_village_photo("big.png", png((4000, 3000)))
        image = Image.open(io.BytesIO(stored(Village.objects.get().photo.name)))
        self.assertEqual(image.size, (2048, 1536))

    def test_the_admin_re_encodes_a_recipe_photo(self):
        root = make_user("root", is_staff=True, is_superuser=True)
        self.client.force_login(root)
        crop = make_crop()
        photo = SimpleUploadedFile("r.png", png() + b"<script>x</script>", content_type="image/png")
        data = {"title": "杨梅酒", "language": "zh-hans", "ingredients": "杨梅", "steps": "泡", "crops": [crop.pk]}
        response = self.client.post("/admin/farms/recipe/add/", {**data, "photo": photo})
        self.assertEqual(response.status_code, 302)
        self.assertNotIn(b"<script", stored(Recipe.objects.get().photo.name))

    def test_a_quality_test_photo_is_re_encoded(self):
        farmer = make_user("fay", role="farmer", village=self.village)
        batch = make_batch(make_farm(self.village), make_crop(), "XJ-WAX-20260612-001")
        self.client.force_login(farmer)
        photo = SimpleUploadedFile("report.jpg", jpeg_with_gps(), content_type="image/jpeg")
        body = {"occurred_at": datetime(2026, 6, 12, 9).strftime("%Y-%m-%dT%H:%M"), "result": "pass", "lab": "站"}
        response = self.client.post(f"/batches/{batch.lot_code}/record/quality_test/", {**body, "photo": photo})
        self.assertEqual(response.status_code, 302)
        path = TraceEvent.objects.get().data["photo"]
        self.assertEqual(dict(Image.open(io.BytesIO(stored(path))).getexif()), {})

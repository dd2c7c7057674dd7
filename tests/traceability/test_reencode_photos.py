"""`manage.py reencode_photos` brings photos stored before the renditions to the pipeline: a
model's photo re-encoded under its new name, a quality report re-encoded in place (its name is in
the append-only record) without the EXIF the API used to keep, missing renditions remade; twice
is once."""

import io
from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import TestCase
from PIL import Image

from farms import images
from farms.models import Crop, Village
from tests.farms.photos import GPS_IFD, phone_photo
from tests.support import make_batch, make_crop, make_farm, make_village, temporary_media
from traceability import services
from traceability.models import EventBatch


class ReencodePhotosTests(TestCase):
    def setUp(self):
        temporary_media(self)

    def run_command(self) -> str:
        out = StringIO()
        with self.captureOnCommitCallbacks(execute=True):
            call_command("reencode_photos", stdout=out, stderr=StringIO())
        return out.getvalue().strip()

    def test_old_photos_are_brought_to_the_pipeline_once(self):
        jpeg = phone_photo(1200, 900, grain=20, quality=90)
        village = make_village()
        default_storage.save("villages/old.jpg", ContentFile(jpeg))
        Village.objects.filter(pk=village.pk).update(photo="villages/old.jpg")
        crop = make_crop()
        crop.photo.save("wax.jpg", ContentFile(jpeg))
        lost = images.Photo.of(crop.photo.name).renditions("webp")[1].name
        default_storage.delete(lost)
        farm = make_farm(village)
        report = default_storage.save("quality/XJ/0123-report.jpg", ContentFile(jpeg))  # as the API kept it
        self.assertEqual(Image.open(default_storage.open(report)).getexif().get_ifd(GPS_IFD)[1], "N")
        services.record_event(
            kind="quality_test",
            village=village,
            farm=farm,
            occurred_at=datetime(2026, 6, 12, 9, tzinfo=ZoneInfo("Asia/Shanghai")),
            lines=[(make_batch(farm, crop, "XJ-WAX-20260612-001"), EventBatch.Role.SUBJECT, None, "")],
            data={"result": "pass", "photo": report},
        )

        self.assertEqual(self.run_command(), "re-encoded: 2, renditions remade: 1, unreadable: 0")
        name = Village.objects.get().photo.name
        self.assertEqual(name, "villages/old.1200x900.jpg")
        self.assertEqual(
            sorted(default_storage.listdir("villages")[1]),
            sorted(
                ["old.1200x900.jpg"] + [f"old.1200x900.{w}w.{t}" for w in (240, 480, 720, 960) for t in ("jpg", "webp")]
            ),
        )
        self.assertTrue(default_storage.exists(lost))
        image = Image.open(io.BytesIO(default_storage.open(report).read()))
        self.assertEqual((image.format, dict(image.getexif())), ("JPEG", {}))
        self.assertEqual(Crop.objects.get().photo.name, crop.photo.name)

        self.assertEqual(self.run_command(), "re-encoded: 0, renditions remade: 0, unreadable: 0")

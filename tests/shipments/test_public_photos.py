"""The consumer page's photos (shipments/public.py, farms/images.py): the product leads the page,
eagerly; the farm, the village, the test report's thumbnail and the recipes load lazily with
their size given; every one a <picture> of WebP renditions with a JPEG fallback, never the upload.
The page state decides: no product photo on a void page, none of a recalled lot. Photos cost the
page no query."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from farms.models import Recipe
from shipments import services
from tests.farms.photos import phone_photo
from tests.support import (
    make_batch,
    make_crop,
    make_delivered_shipment,
    make_farm,
    make_field,
    make_store,
    make_village,
    temporary_media,
)
from traceability import services as trace
from traceability.models import Batch

SIZES = "(min-width: 560px) 504px, calc(100vw - 56px)"
LEAD = (240, 480, 720)  # the product photo, on the first screen; the others stop at 480, a thumbnail at 240
AT = datetime(2026, 6, 12, 8, tzinfo=ZoneInfo("Asia/Shanghai"))


def srcset(base: str, kind: str, widths=(240, 480, 960)) -> str:
    return ", ".join(f"/media/{base}.{w}w.{kind} {w}w" for w in widths)


def picture(
    base: str, cls: str, alt: str, *, lazy: bool, sizes: str = SIZES, size=(240, 180), widths=(240, 480)
) -> str:
    """The markup one photo gets, `base` its stored name without .jpg."""
    loading = ' loading="lazy"' if lazy else ""
    return (
        f'<picture><source type="image/webp" srcset="{srcset(base, "webp", widths)}" sizes="{sizes}">'
        f'<img class="{cls}" src="/media/{base}.240w.jpg" srcset="{srcset(base, "jpg", widths)}" sizes="{sizes}" '
        f'width="{size[0]}" height="{size[1]}" alt="{alt}"{loading} decoding="async">'
        "</picture>"
    )


class ConsumerPagePhotoTests(TestCase):
    def setUp(self):
        temporary_media(self)
        jpeg = phone_photo(1600, 1200, grain=10, quality=85)
        self.village = make_village()
        self.village.photo.save("village.jpg", SimpleUploadedFile("village.jpg", jpeg))
        self.crop = make_crop()
        self.crop.photo.save("waxberry.jpg", SimpleUploadedFile("waxberry.jpg", jpeg))
        self.farm = make_farm(self.village)
        self.farm.photo.save("orchard.jpg", SimpleUploadedFile("orchard.jpg", jpeg))
        recipe = Recipe.objects.create(title="杨梅酒", language="zh-hans", ingredients="杨梅", steps="泡")
        recipe.photo.save("wine.jpg", SimpleUploadedFile("wine.jpg", jpeg))
        recipe.crops.add(self.crop)
        self.batch = make_batch(self.farm, self.crop, "XJ-WAX-20260612-001")
        report = SimpleUploadedFile("report.jpg", jpeg)
        event, _ = trace.record_batch_event(
            batch=self.batch, kind="quality_test", occurred_at=AT, data={"result": "pass", "lab": "站"}, photo=report
        )
        self.report = event.data["photo"].removesuffix(".jpg")

    def page(self, shipment, language="en") -> str:
        response = self.client.get(shipment.public_path, headers={"Accept-Language": language})
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def test_every_photo_is_a_picture_of_renditions_the_product_first_and_eager(self):
        html = self.page(make_delivered_shipment(batches=[self.batch]))
        product = picture("crops/waxberry.1600x1200", "photo", "Photo of Waxberry", lazy=False, widths=LEAD)
        hero = html[html.index('<section class="card hero">') : html.index('<section class="card" id="authenticity">')]
        self.assertIn(product, hero)
        self.assertIn(picture("villages/village.1600x1200", "photo", "Xianju Waxberry Village", lazy=True), html)
        self.assertIn(picture("farms/orchard.1600x1200", "photo", "The farm: Wang Family Orchard", lazy=True), html)
        self.assertIn(picture("recipes/wine.1600x1200", "photo", "杨梅酒", lazy=True), html)
        thumb = picture(self.report, "thumb", "Photo of the test report", lazy=True, sizes="96px", widths=(240,))
        self.assertIn(f'<a class="report" href="/media/{self.report}.jpg">{thumb}<span>See the report</span></a>', html)
        # Only renditions: never an <img> without a srcset, never a stored copy as an image.
        self.assertEqual(html.count("<picture>"), 5)
        self.assertEqual(len(re.findall(r"<img ", html)), 5)
        self.assertNotRegex(html, r'src="[^"]*\.\d+x\d+\.jpg"')
        self.assertEqual(html.index(product), html.index("<picture>"))  # the first, the only eager one
        self.assertEqual(html.count('loading="lazy"'), 4)

    def test_a_lot_from_a_field_with_a_photo_shows_the_field_instead_of_the_farm(self):
        field = make_field(self.farm, name_zh="东坡", name_en="East Slope")
        field.photo.save("slope.jpg", SimpleUploadedFile("slope.jpg", phone_photo(800, 600, grain=10, quality=85)))
        Batch.objects.filter(pk=self.batch.pk).update(field=field)
        html = self.page(make_delivered_shipment(batches=[self.batch]))
        self.assertIn(picture("fields/slope.800x600", "photo", "The field: East Slope", lazy=True), html)
        self.assertNotIn("farms/orchard", html)

    def test_in_chinese_the_alt_texts_are_chinese(self):
        html = self.page(make_delivered_shipment(batches=[self.batch]), "zh-hans")
        for alt in ('alt="杨梅的照片"', 'alt="农场：王家果园"', 'alt="检测报告照片"'):
            self.assertIn(alt, html)
        self.assertIn("<span>查看报告</span>", html)

    def test_a_void_page_shows_no_product_farm_or_report_photo(self):
        shipment = services.create_shipment(origin_village=self.village, store=make_store())
        services.add_item(shipment=shipment, batch=self.batch, quantity=10)
        services.cancel_shipment(shipment=shipment)
        html = self.page(shipment)
        self.assertNotIn("<picture>", html)
        self.assertNotIn("/media/", html)

    def test_a_recalled_lot_loses_its_product_photo_and_another_products_lot_keeps_its_own(self):
        peach = make_crop("PCH", name_zh="水蜜桃", name_en="Peach")
        peach.photo.save("peach.jpg", SimpleUploadedFile("peach.jpg", phone_photo(800, 600, grain=10, quality=85)))
        sound = make_batch(self.farm, peach, "XJ-PCH-20260612-001")
        shipment = make_delivered_shipment(batches=[self.batch, sound])
        Batch.objects.filter(pk=self.batch.pk).update(status=Batch.Status.RECALLED)
        html = self.page(shipment)
        self.assertIn("Recall: do not eat Waxberry from this delivery", html)
        self.assertNotIn("crops/waxberry", html)
        hero = html[html.index('<section class="card hero">') : html.index('<section class="card" id="authenticity">')]
        self.assertIn(picture("crops/peach.800x600", "photo", "Photo of Peach", lazy=False, widths=LEAD), hero)
        self.assertNotIn("recipes/wine", html)  # the recalled product's recipes go (page_state)

    def test_photos_cost_the_page_no_query(self):
        shipment = make_delivered_shipment(batches=[self.batch])
        with self.assertNumQueries(6):  # as without photos (tests/shipments/test_public.py)
            self.page(shipment)
        with self.assertNumQueries(0):
            html = self.page(shipment)
        self.assertEqual(html.count("<picture>"), 5)

"""The product page of a GTIN (`/p/{GTIN}`, the default link of `/01/{GTIN}`): the crop, its
villages, its recipes, the lots on sale now and open recalls, in both languages, without script."""

import gzip
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import timezone

from farms.models import Recipe
from shipments import services
from shipments.models import Shipment
from tests.farms.photos import phone_photo
from tests.support import (
    make_batch,
    make_crop,
    make_delivered_shipment,
    make_farm,
    make_store,
    make_village,
    temporary_media,
)
from traceability.services import open_recall

GTIN = "09506000134352"


class ProductPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.crop = make_crop(gtin=GTIN, variety_zh="东魁", variety_en="Dongkui", storage_advice_zh="冷藏")
        cls.xj = make_village("XJ")
        cls.other = make_village("LQ", name_zh="临海杨梅村", name_en="Linhai Waxberry Village")
        cls.other.specialties.add(cls.crop)
        farm = make_farm(cls.xj)
        cls.store = make_store()
        cls.fresh = make_batch(farm, cls.crop, "XJ-WAX-20260612-001")
        cls.old = make_batch(farm, cls.crop, "XJ-WAX-20260501-001")
        cls.waiting = make_batch(farm, cls.crop, "XJ-WAX-20260613-001")
        cls.bad = make_batch(farm, cls.crop, "XJ-WAX-20260610-001")
        make_delivered_shipment(batches=[cls.fresh, cls.bad], store=cls.store)
        old = make_delivered_shipment(batches=[cls.old], store=cls.store)
        Shipment.objects.filter(pk=old.pk).update(delivered_at=timezone.now() - timedelta(days=20))
        draft = services.create_shipment(origin_village=cls.xj, store=cls.store)
        services.add_item(shipment=draft, batch=cls.waiting, quantity=10)
        Recipe.objects.create(title="杨梅汤", ingredients="杨梅\n冰糖", steps="煮").crops.add(cls.crop)
        Recipe.objects.create(title="Waxberry soda", language="en", ingredients="waxberry", steps="mix").crops.add(
            cls.crop
        )
        root = get_user_model().objects.create_superuser("root", password="pw-root")
        open_recall(batch=cls.bad, reason="农残超标 internal note", actor=root)

    def test_it_shows_the_crop_its_villages_recipes_lots_on_sale_and_the_open_recall_in_chinese(self):
        response = self.client.get(f"/p/{GTIN}")
        html = response.content.decode()
        self.assertEqual((response.status_code, response["Content-Language"]), (200, "zh-hans"))
        for expected in (
            "<h1>杨梅</h1>",
            "东魁",
            "冷藏",
            "仙居县杨梅村",
            "临海杨梅村",
            "杨梅汤",
            "XJ-WAX-20260612-001",
        ):
            self.assertIn(expected, html)
        self.assertIn('<section class="alert" role="alert" id="recall">', html)
        self.assertIn('<p class="lot">XJ-WAX-20260610-001</p>', html)
        # Not on sale: delivered 20 days ago, still in a draft, or recalled.
        self.assertNotIn("XJ-WAX-20260501-001", html)
        self.assertNotIn("XJ-WAX-20260613-001", html)
        self.assertEqual(html.count("XJ-WAX-20260610-001"), 1)

    def test_it_speaks_english_when_asked(self):
        html = self.client.get(f"/p/{GTIN}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        for expected in ("<h1>Waxberry</h1>", "Dongkui", "Xianju Waxberry Village", "Waxberry soda", "On sale now"):
            self.assertIn(expected, html)
        self.assertNotIn("杨梅汤", html)

    def test_it_shows_no_private_data_no_script_and_stays_small(self):
        response = self.client.get(f"/p/{GTIN}")
        html = response.content.decode()
        for private in ("王建国", "13800000000", "internal note", "农残超标", "root"):
            self.assertNotIn(private, html)
        self.assertNotIn("<script", html)
        self.assertLess(len(gzip.compress(response.content)), 6000)
        self.assertEqual(response["Cache-Control"], "no-cache, private, max-age=0, must-revalidate")

    def test_it_costs_five_queries(self):
        with self.assertNumQueries(5):
            self.client.get(f"/p/{GTIN}")

    def test_no_open_recall_says_so(self):
        crop = make_crop("BAM", name_zh="竹笋", gtin="09506000134369")
        html = self.client.get(f"/p/{crop.gtin}").content.decode()
        self.assertIn('id="recall"', html)
        self.assertIn("此产品没有未结束的召回。", html)

    def test_the_products_photo_leads_the_page_unless_a_lot_of_it_is_recalled(self):
        temporary_media(self)
        photo = SimpleUploadedFile("bamboo.jpg", phone_photo(1600, 1200, grain=10), content_type="image/jpeg")
        crop = make_crop("BAM", name_zh="竹笋", gtin="09506000134369", photo=photo)
        html = self.client.get(f"/p/{crop.gtin}").content.decode()
        self.assertIn('<source type="image/webp" srcset="/media/crops/bamboo.1600x1200.240w.webp 240w', html)
        self.assertIn('width="240" height="180" alt="竹笋的照片"', html)
        self.assertNotIn("/media/crops/bamboo.1600x1200.jpg", html)  # never the stored copy
        # The waxberry has a recalled lot: no appetising picture beside the recall.
        self.crop.photo = SimpleUploadedFile("waxberry.jpg", phone_photo(800, 600, grain=10))
        self.crop.save()
        html = self.client.get(f"/p/{GTIN}").content.decode()
        self.assertIn('<section class="alert" role="alert" id="recall">', html)
        self.assertNotIn("<picture>", html)

    def test_an_unknown_gtin_gets_the_friendly_404(self):
        for gtin in ("09506000134345", "abc"):
            with self.subTest(gtin=gtin):
                response = self.client.get(f"/p/{gtin}", HTTP_ACCEPT_LANGUAGE="en")
                self.assertEqual(response.status_code, 404)
                self.assertIn("We could not find this code", response.content.decode())

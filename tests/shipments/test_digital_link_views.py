from decimal import Decimal

from django.test import TestCase

from shipments import services
from shipments.models import Retailer, Store
from tests.support import in_english, make_batch, make_crop, make_farm, make_village
from traceability import digital_link

GTIN = "09506000134352"


class DigitalLinkSyntaxTests(TestCase):
    def setUp(self):
        in_english(self)

    def test_it_builds_and_parses_a_lot_link_with_percent_encoding(self):
        link = digital_link.build("9506000134352", lot="XJ/WAX-1")
        self.assertEqual(link.path(), "/01/09506000134352/10/XJ%2FWAX-1")
        self.assertEqual(digital_link.parse(link.path()), link)

    def test_it_refuses_a_wrong_check_digit_bad_characters_and_wrong_order(self):
        for path, message in [
            ("/01/09506000134353/10/A1", "check digit"),
            ("/01/09506000134352/10/" + "A" * 21, "1 to 20"),
            ("/01/09506000134352/10/%E6%9D%A8", "82-character set"),
            ("/01/09506000134352/21/S1/10/A1", "order 22, 10, 21"),
            ("/01/09506000134352/17/260101", "not a key qualifier"),
        ]:
            with self.assertRaisesMessage(digital_link.MalformedLink, message):
                digital_link.parse(path)


class ResolverTests(TestCase):
    def setUp(self):
        village = make_village()
        self.batch = make_batch(make_farm(village), make_crop(gtin=GTIN), "XJ-WAX-20260612-001")
        retailer = Retailer.objects.create(name_zh="鲜到家超市")
        store = Store.objects.create(retailer=retailer, name_zh="上海静安店", city_zh="上海")
        self.shipment = services.create_shipment(origin_village=village, store=store)
        services.add_item(shipment=self.shipment, batch=self.batch, quantity=Decimal("5"))
        self.path = f"/01/{GTIN}/10/XJ-WAX-20260612-001"

    def test_it_redirects_to_the_consumer_page_of_the_lot(self):
        response = self.client.get(self.path)
        self.assertEqual(response.status_code, 307)
        self.assertEqual(response["Location"], self.shipment.public_url)
        self.assertEqual(self.client.head(self.path)["Location"], self.shipment.public_url)

    def test_it_answers_a_requested_link_type_and_passes_other_parameters_through(self):
        response = self.client.get(self.path, {"linkType": "gs1:recipeInfo", "src": "wechat"})
        self.assertEqual(response["Location"], f"{self.shipment.public_url}?src=wechat#recipes")

    def test_an_absent_link_type_is_404(self):
        self.assertEqual(self.client.get(self.path, {"linkType": "gs1:smpc"}).status_code, 404)

    def test_it_returns_an_rfc9264_linkset(self):
        response = self.client.get(self.path, HTTP_ACCEPT="application/linkset+json")
        self.assertEqual(response["Content-Type"], "application/linkset+json")
        linkset = response.json()["linkset"][0]
        self.assertEqual(linkset["anchor"], f"http://127.0.0.1:8000{self.path}")
        self.assertEqual(linkset["https://gs1.org/voc/traceability"][0]["href"], self.shipment.public_url + "#journey")

    def test_malformed_uris_are_400_and_unknown_lots_404(self):
        self.assertEqual(self.client.get("/01/09506000134353/10/A").status_code, 400)
        self.assertEqual(self.client.get(f"/01/{GTIN}/10/NOPE").status_code, 404)

    def test_a_malformed_uri_is_explained_in_the_readers_language_with_the_same_400(self):
        for language, message in [
            ("zh-hans", "GTIN '09506000134353' 的校验位错误。"),
            ("en", "GTIN '09506000134353' has a wrong check digit."),
        ]:
            response = self.client.get("/01/09506000134353/10/A", HTTP_ACCEPT_LANGUAGE=language)
            self.assertEqual(
                (response.status_code, response.json()), (400, {"error": {"code": "digital_link", "message": message}})
            )
            self.assertEqual((response["Vary"], response["Content-Language"]), ("Accept-Language", language))

    def test_an_absent_link_is_explained_in_the_readers_language_with_the_same_404(self):
        unknown = f"/01/{GTIN}/10/NOPE"
        for language, path, query, message in [
            ("zh-hans", unknown, {}, f"{unknown} 没有默认链接。"),
            ("en", unknown, {}, f"No default link for {unknown}."),
            ("zh-hans", self.path, {"linkType": "gs1:smpc"}, f"{self.path} 没有 smpc 类型的链接。"),
            ("en", self.path, {"linkType": "gs1:smpc"}, f"No smpc link for {self.path}."),
        ]:
            response = self.client.get(path, query, HTTP_ACCEPT_LANGUAGE=language)
            self.assertEqual(
                (response.status_code, response.json()), (404, {"error": {"code": "digital_link", "message": message}})
            )

    def test_the_linkset_stays_in_gs1s_english_whatever_the_readers_language(self):
        response = self.client.get(self.path, {"linkType": "linkset"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
        link = response.json()["linkset"][0]["https://gs1.org/voc/recipeInfo"][0]
        self.assertEqual(
            link,
            {
                "href": self.shipment.public_url + "#recipes",
                "title": "Recipes",
                "type": "text/html",
                "hreflang": ["zh-Hans", "en"],
            },
        )

    def test_options_and_the_well_known_description(self):
        self.assertEqual(self.client.options(self.path)["Allow"], "GET, HEAD, OPTIONS")
        description = self.client.get("/.well-known/gs1resolver").json()
        self.assertEqual(description["supportedPrimaryKeys"], ["01"])


class ResolverTargetsTests(TestCase):
    def test_every_link_type_anchor_exists_on_the_consumer_page(self):
        from django.utils import timezone

        from farms.models import Recipe
        from shipments.digital_link_views import LINK_TYPES
        from tests.support import make_delivered_shipment
        from traceability.services import record_batch_event

        crop = make_crop()
        batch = make_batch(make_farm(make_village()), crop, "XJ-WAX-20260612-001")
        for kind, data in [("harvest", {}), ("quality_test", {"result": "合格 pass", "lab": "县检测站"})]:
            record_batch_event(batch=batch, kind=kind, occurred_at=timezone.now(), data=data)
        Recipe.objects.create(title="冰镇杨梅", ingredients="杨梅", steps="冰镇").crops.add(crop)
        shipment = make_delivered_shipment(batches=[batch])
        html = self.client.get(shipment.public_path).content.decode()
        for name, anchor in LINK_TYPES.items():
            if anchor:
                self.assertIn(f'id="{anchor[1:]}"', html, name)

"""The GS1 Digital Link resolver: what each URI resolves to, and the GS1-Conformant Resolver
behaviour (CORS, walk-up, linkset, description file, compression, 400s)."""

from decimal import Decimal

import jsonschema
from django.test import TestCase

from shipments import services
from shipments.models import Retailer, Store
from tests.shipments.gs1_schemas import DESCRIPTION_FILE_SCHEMA, LINKSET_SCHEMA
from tests.support import in_english, make_batch, make_crop, make_farm, make_village

GTIN = "09506000134352"
BASE = "http://127.0.0.1:8000"
LOT = "XJ-WAX-20260612-001"
VOC = "https://ref.gs1.org/voc/"


class ResolverWorld(TestCase):
    """A crop with a GTIN, one lot of it in a shipment of a retailer with a GS1 company prefix."""

    @classmethod
    def setUpTestData(cls):
        cls.village = make_village()
        cls.crop = make_crop(gtin=GTIN)
        cls.batch = make_batch(make_farm(cls.village), cls.crop, LOT)
        cls.retailer = Retailer.objects.create(name_zh="鲜到家超市", gs1_company_prefix="9520001")
        cls.store = Store.objects.create(retailer=cls.retailer, name_zh="上海静安店", city_zh="上海")
        cls.shipment = services.create_shipment(origin_village=cls.village, store=cls.store)
        services.add_item(shipment=cls.shipment, batch=cls.batch, quantity=Decimal("5"))
        cls.path = f"/01/{GTIN}/10/{LOT}"
        cls.product = f"{BASE}/p/{GTIN}"

    def setUp(self):
        in_english(self)


class ResolverTests(ResolverWorld):
    def test_it_redirects_to_the_consumer_page_of_the_lot(self):
        response = self.client.get(self.path)
        self.assertEqual((response.status_code, response["Location"]), (307, self.shipment.public_url))
        self.assertEqual(self.client.head(self.path)["Location"], self.shipment.public_url)

    def test_it_answers_a_requested_link_type_and_passes_other_parameters_through(self):
        response = self.client.get(self.path, {"linkType": "gs1:recipeInfo", "src": "wechat"})
        self.assertEqual(response["Location"], f"{self.shipment.public_url}?src=wechat#recipes")

    def test_an_absent_link_type_is_404(self):
        self.assertEqual(self.client.get(self.path, {"linkType": "gs1:smpc"}).status_code, 404)

    def test_it_returns_an_rfc9264_linkset_of_the_lot_and_of_its_product(self):
        response = self.client.get(self.path, HTTP_ACCEPT="application/linkset+json")
        self.assertEqual(response["Content-Type"], "application/linkset+json")
        lot, product = response.json()["linkset"]
        self.assertEqual((lot["anchor"], product["anchor"]), (f"{BASE}{self.path}", f"{BASE}/01/{GTIN}"))
        self.assertEqual(lot[VOC + "traceability"][0]["href"], self.shipment.public_url + "#journey")
        self.assertEqual(
            product[VOC + "defaultLink"],
            [{"href": self.product, "title": "Product page: origin, recipes, lots on sale"}],
        )

    def test_malformed_uris_are_400_and_unknown_gtins_404(self):
        self.assertEqual(self.client.get("/01/09506000134353/10/A").status_code, 400)
        self.assertEqual(self.client.get("/01/09506000134345/10/NOPE").status_code, 404)

    def test_a_malformed_uri_is_explained_in_the_readers_language_with_the_same_400(self):
        for language, message in [
            ("zh-hans", "GTIN '09506000134353' 的校验位错误。"),
            ("en", "GTIN '09506000134353' has a wrong check digit."),
        ]:
            response = self.client.get("/01/09506000134353/10/A", HTTP_ACCEPT_LANGUAGE=language)
            self.assertEqual(
                (response.status_code, response.json()), (400, {"error": {"code": "digital_link", "message": message}})
            )
            self.assertEqual((response["Vary"], response["Content-Language"]), ("Accept, Accept-Language", language))

    def test_an_absent_link_is_explained_in_the_readers_language_with_the_same_404(self):
        unknown = "/01/09506000134345"
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
        link = response.json()["linkset"][0][VOC + "recipeInfo"][0]
        self.assertEqual(
            link,
            {
                "href": self.shipment.public_url + "#recipes",
                "title": "Recipes",
                "type": "text/html",
                "hreflang": ["zh", "en"],
            },
        )


class CorsTests(ResolverWorld):
    ALLOW = {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": "Accept, Accept-Language, Content-Type",
    }

    def assertCors(self, response):
        self.assertEqual({header: response.get(header) for header in self.ALLOW}, self.ALLOW)

    def test_options_answers_the_preflight_on_the_resolver_and_the_description_file(self):
        for path in (self.path, f"/01/{GTIN}", "/.well-known/gs1resolver", f"/00/{self.shipment.sscc}"):
            with self.subTest(path=path):
                response = self.client.options(
                    path, HTTP_ORIGIN="https://ref.gs1.org", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
                )
                self.assertEqual(response.status_code, 204)
                self.assertCors(response)

    def test_every_answer_may_be_read_by_any_origin(self):
        for path, query, accept, status in [
            (self.path, {}, "*/*", 307),
            (self.path, {"linkType": "linkset"}, "*/*", 200),
            (self.path, {}, "application/linkset+json", 200),
            ("/01/09506000134353", {}, "*/*", 400),
            ("/01/09506000134345", {}, "*/*", 404),
            ("/.well-known/gs1resolver", {}, "application/json", 200),
        ]:
            with self.subTest(path=path, query=query, accept=accept):
                response = self.client.get(path, query, HTTP_ACCEPT=accept, HTTP_ORIGIN="https://example.org")
                self.assertEqual(response.status_code, status)
                self.assertCors(response)
                self.assertEqual(response["Access-Control-Expose-Headers"], "Link, Location, Content-Language, Vary")


class WalkUpTests(ResolverWorld):
    def test_an_unknown_lot_a_gtin_alone_and_a_variant_go_to_the_product_page(self):
        for path in (f"/01/{GTIN}/10/NOPE", f"/01/{GTIN}", f"/01/{GTIN}/22/LARGE", f"/01/{GTIN}/235/TPX-9"):
            with self.subTest(path=path):
                response = self.client.get(path)
                self.assertEqual((response.status_code, response["Location"]), (307, self.product))

    def test_a_serial_number_walks_up_to_its_lot(self):
        response = self.client.get(f"{self.path}/21/S123")
        self.assertEqual(response["Location"], self.shipment.public_url)

    def test_a_link_type_only_the_product_has_is_found_from_the_lot(self):
        response = self.client.get(self.path, {"linkType": "gs1:recallStatus"})
        self.assertEqual(response["Location"], self.shipment.public_url + "#authenticity")
        response = self.client.get(f"/01/{GTIN}/10/NOPE", {"linkType": "gs1:recallStatus"})
        self.assertEqual(response["Location"], self.product + "#recall")

    def test_a_lot_never_shipped_walks_up_to_the_product(self):
        make_batch(self.batch.farm, self.crop, "XJ-WAX-20260613-009")
        self.assertEqual(self.client.get(f"/01/{GTIN}/10/XJ-WAX-20260613-009")["Location"], self.product)

    def test_a_gtin_without_the_leading_zero_still_resolves(self):
        self.assertEqual(self.client.get(f"/01/{GTIN[1:]}")["Location"], self.product)


class LinksetTests(ResolverWorld):
    def test_the_linkset_passes_gs1s_linkset_schema_at_both_levels(self):
        for path in (self.path, f"/01/{GTIN}", f"/00/{self.shipment.sscc}"):
            with self.subTest(path=path):
                body = self.client.get(path, {"linkType": "linkset"}).json()
                jsonschema.validate(body, LINKSET_SCHEMA)
                for level in body["linkset"]:
                    self.assertTrue(level["itemDescription"])
                    (default,) = level[VOC + "defaultLink"]
                    self.assertEqual(set(default), {"href", "title"})

    def test_the_item_descriptions_name_the_crop_and_the_lot(self):
        lot, product = self.client.get(self.path, {"linkType": "linkset"}).json()["linkset"]
        self.assertEqual(
            (lot["itemDescription"], product["itemDescription"]), (f"杨梅 Waxberry, lot {LOT}", "杨梅 Waxberry")
        )

    def test_the_linkset_names_its_json_ld_context_and_varies_on_accept(self):
        response = self.client.get(self.path, HTTP_ACCEPT="application/linkset+json")
        self.assertEqual(
            response["Link"],
            '<https://ref.gs1.org/standards/resolver/linkset-context>; rel="http://www.w3.org/ns/json-ld#context"; '
            'type="application/ld+json"',
        )
        self.assertEqual(response["Vary"], "Accept, Accept-Language")
        self.assertEqual(self.client.get(self.path)["Vary"], "Accept, Accept-Language")

    def test_linktype_all_still_returns_the_linkset(self):
        response = self.client.get(self.path, {"linkType": "all"})
        self.assertEqual(
            [level["anchor"] for level in response.json()["linkset"]], [BASE + self.path, f"{BASE}/01/{GTIN}"]
        )


class DescriptionFileTests(ResolverWorld):
    def test_the_description_file_passes_its_schema_and_names_the_json_ld_context(self):
        body = self.client.get("/.well-known/gs1resolver").json()
        jsonschema.validate(body, DESCRIPTION_FILE_SCHEMA)
        self.assertEqual(body["supportedPrimaryKeys"], ["01", "00"])
        self.assertEqual(body["supportedLinkType"], [{"namespace": VOC, "prefix": "gs1:"}])
        self.assertEqual(body["jsonLdContextLocation"], "https://ref.gs1.org/standards/resolver/linkset-context")
        self.assertEqual(body["resolverRoot"], BASE)


class LinkTypeNamespaceTests(ResolverWorld):
    def test_link_types_in_every_gs1_namespace_work(self):
        for name in (
            "gs1:traceability",
            "traceability",
            "https://ref.gs1.org/voc/traceability",
            "https://www.gs1.org/voc/traceability",
            "https://gs1.org/voc/traceability",
        ):
            with self.subTest(name=name):
                response = self.client.get(self.path, {"linkType": name})
                self.assertEqual(response["Location"], self.shipment.public_url + "#journey")


class SyntaxInTheResolverTests(ResolverWorld):
    def test_invalid_query_string_ais_answer_400(self):
        for query, message in [
            ("10=ABC123", "AI 10 appears more than once."),
            ("99=", "AI 99 has an empty value."),
            ("17=260619&17=260620", "AI 17 appears more than once."),
            ("17=261340", "AI 17 is not a valid date (YYMMDD)."),
        ]:
            with self.subTest(query=query):
                response = self.client.get(f"{self.path}?{query}")
                self.assertEqual((response.status_code, response.json()["error"]["message"]), (400, message))
        response = self.client.get(f"/01/{GTIN}?10=ABC123")
        self.assertEqual(response.status_code, 400)
        # A NUL byte is refused before any view by config.middleware, for every address.
        response = self.client.get(f"{self.path}?99=A%00B")
        self.assertEqual(
            (response.status_code, response["Location"] if response.has_header("Location") else None), (400, None)
        )

    def test_valid_data_attributes_pass_through_to_the_page(self):
        response = self.client.get(f"{self.path}?17=260619&src=label")
        self.assertEqual(response["Location"], f"{self.shipment.public_url}?17=260619&src=label")

    def test_a_slash_in_a_lot_is_decoded_once_and_walks_up_to_the_product(self):
        # "XJ%2FWAX-2" is the lot "XJ/WAX-2": read from the raw path it is one value, not two path
        # segments. No lot can hold a slash (traceability.lot_codes), so it walks up to the GTIN.
        path = f"/01/{GTIN}/10/XJ%2FWAX-2"
        response = self.client.get(path, RAW_URI=path)  # as gunicorn passes the request line on
        self.assertEqual(response.status_code, 307)
        self.assertEqual(response["Location"], self.product)

    def test_a_value_is_percent_decoded_once(self):
        # "A%252d" is the lot "A%2d" (which no lot code can be), never the lot "A-".
        dashed = make_batch(self.batch.farm, self.crop, "A-")
        shipment = services.create_shipment(origin_village=self.village, store=self.store)
        services.add_item(shipment=shipment, batch=dashed, quantity=Decimal("1"))
        for raw in (False, True):
            for path, target in [(f"/01/{GTIN}/10/A%252d", self.product), (f"/01/{GTIN}/10/A%2d", shipment.public_url)]:
                with self.subTest(path=path, raw=raw):
                    environ = {"RAW_URI": path} if raw else {}
                    self.assertEqual(self.client.get(path, **environ)["Location"], target)

    def test_a_trailing_slash_is_tolerated(self):
        self.assertEqual(self.client.get(self.path + "/")["Location"], self.shipment.public_url)


class CompressedLinkTests(ResolverWorld):
    # GTIN 09506000134352 with lot XJ-WAX-20260612-001, as GS1's toolkit compresses it.
    FULL = "/CxFKk4XBoOa5PywC_22m3WnWu32mmo"
    PARTIAL = f"/01/{GTIN}/EHNcn5YBf7bTbrTrXb7TTU"

    def test_compressed_uris_resolve_like_the_uri_they_stand_for(self):
        for path in (self.FULL, self.PARTIAL):
            with self.subTest(path=path):
                response = self.client.get(path, {"src": "x"})
                self.assertEqual(
                    (response.status_code, response["Location"]), (307, self.shipment.public_url + "?src=x")
                )
                self.assertIn(f'<{BASE}{self.path}>; rel="owl:sameAs"', response["Link"])

    def test_a_compressed_gtin_alone_goes_to_the_product_page(self):
        self.assertEqual(self.client.get("/ARFKk4XBoA")["Location"], self.product)

    def test_a_one_segment_path_that_is_no_compressed_link_is_a_plain_404(self):
        response = self.client.get("/ThisIsNotALinkAtAll")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response["Content-Type"], "text/html; charset=utf-8")


class SsccTests(ResolverWorld):
    def test_an_sscc_resolves_to_its_shipments_consumer_page(self):
        self.assertEqual(self.shipment.sscc, "095200010000000010")
        response = self.client.get(f"/00/{self.shipment.sscc}")
        self.assertEqual((response.status_code, response["Location"]), (307, self.shipment.public_url))
        response = self.client.get(f"/00/{self.shipment.sscc}", {"linkType": "gs1:traceability"})
        self.assertEqual(response["Location"], self.shipment.public_url + "#journey")

    def test_a_bad_sscc_is_400_and_an_unknown_one_404(self):
        self.assertEqual(self.client.get("/00/095200010000000018").status_code, 400)
        self.assertEqual(self.client.get("/00/095200010000000027").status_code, 404)


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

    def test_every_link_type_anchor_exists_on_the_product_page(self):
        from farms.models import Recipe
        from shipments.digital_link_views import PRODUCT_LINK_TYPES

        crop = make_crop(gtin=GTIN)
        Recipe.objects.create(title="冰镇杨梅", ingredients="杨梅", steps="冰镇").crops.add(crop)
        html = self.client.get(f"/p/{GTIN}").content.decode()
        for name, anchor in PRODUCT_LINK_TYPES.items():
            if anchor:
                self.assertIn(f'id="{anchor[1:]}"', html, name)

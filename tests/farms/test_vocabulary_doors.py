"""Quality-test types and certifications offered from the vocabulary (farms.vocabulary) at every
door: the quality-test form and the farm form offer them in the reader's language, the API lists
them; every door takes a term by its code, its Chinese or its English, or any other text. What is
stored is decided in one place (vocabulary.recorded): a code becomes the Chinese term, anything else
is kept as entered, and the consumer page shows a known term in the reader's language."""

from django.test import SimpleTestCase, TestCase

from farms import vocabulary
from farms.models import Farm
from tests.support import api_client, in_english, make_api_world, make_delivered_shipment, make_user
from traceability.models import TraceEvent

AT = "2026-06-12T08:00:00+08:00"


class RecordedTests(SimpleTestCase):
    def test_a_code_is_recorded_as_the_chinese_term_anything_else_as_entered(self):
        self.assertEqual(vocabulary.recorded("test", " pesticide_residue "), "农药残留快速检测")
        self.assertEqual(vocabulary.recorded("test", "HEAVY_METALS"), "重金属检测")
        self.assertEqual(vocabulary.recorded("test", "Pesticide residue rapid test"), "Pesticide residue rapid test")
        self.assertEqual(vocabulary.recorded("test", " 农残速测 "), "农残速测")
        self.assertEqual(vocabulary.recorded("test", "村里自测"), "村里自测")
        self.assertEqual(
            vocabulary.recorded_lines("certification", "organic\n\n Green Food, grade AA \n省级示范农场\norganic"),
            "有机产品认证\nGreen Food, grade AA\n省级示范农场",
        )

    def test_canonical_finds_a_term_by_any_wording(self):
        self.assertEqual(vocabulary.canonical("certification", "green food, grade a"), "绿色食品 A级")
        self.assertEqual(vocabulary.canonical("certification", "绿色食品A级"), "绿色食品 A级")
        self.assertIsNone(vocabulary.canonical("certification", "省级示范农场"))


class QualityTestDoorTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def post_form(self, test: str, language: str):
        self.client.force_login(self.w.alice)
        return self.client.post(
            f"/batches/{self.w.batch.lot_code}/record/quality_test/",
            {"occurred_at": "2026-06-12T09:00", "result": "pass", "lab": "仙居县农检站", "test": test},
            HTTP_ACCEPT_LANGUAGE=language,
        )

    def test_the_form_offers_the_tests_in_the_readers_language_as_a_list_beside_free_text(self):
        self.client.force_login(self.w.alice)
        url = f"/batches/{self.w.batch.lot_code}/record/quality_test/"
        en = self.client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        self.assertIn('list="id_test-terms"', en)
        self.assertIn(
            '<datalist id="id_test-terms"><option value="Pesticide residue rapid test"></option>'
            '<option value="Heavy metals test"></option><option value="Microbiological test"></option>'
            '<option value="Sugar content (Brix)"></option><option value="Nitrite test"></option></datalist>',
            en,
        )
        zh = self.client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        self.assertIn('<option value="农药残留快速检测"></option><option value="重金属检测"></option>', zh)

    def test_the_form_keeps_a_picked_term_and_free_text_as_entered_and_a_code_as_chinese(self):
        for given in ("Pesticide residue rapid test", "叶菜硝酸盐自测", "nitrite"):
            self.assertEqual(self.post_form(given, "en").status_code, 302, given)
        tests = list(TraceEvent.objects.filter(kind="quality_test").order_by("id").values_list("data__test", flat=True))
        self.assertEqual(tests, ["Pesticide residue rapid test", "叶菜硝酸盐自测", "亚硝酸盐检测"])

    def test_the_api_takes_a_code_a_term_or_free_text(self):
        for given in ("pesticide_residue", "重金属检测", "Own rapid kit"):
            body = {
                "batch": self.w.batch.lot_code,
                "kind": "quality_test",
                "occurred_at": AT,
                "data": {"result": "pass", "lab": "县农检站", "test": given},
            }
            response = api_client(self.w.alice, "en").post("/api/v1/events/", body, format="json")
            self.assertEqual(response.status_code, 201, response.content)
        tests = list(TraceEvent.objects.filter(kind="quality_test").order_by("id").values_list("data__test", flat=True))
        self.assertEqual(tests, ["农药残留快速检测", "重金属检测", "Own rapid kit"])

    def test_the_api_lists_the_vocabulary(self):
        body = api_client(self.w.alice, "en").get("/api/v1/vocabulary/").json()
        self.assertEqual(
            body["quality_tests"][0],
            {"code": "pesticide_residue", "zh": "农药残留快速检测", "en": "Pesticide residue rapid test"},
        )
        self.assertEqual([t["code"] for t in body["quality_tests"]], list(vocabulary.QUALITY_TESTS))
        self.assertEqual([t["code"] for t in body["certifications"]], list(vocabulary.CERTIFICATIONS))
        self.assertEqual(api_client(None).get("/api/v1/vocabulary/").status_code, 401)


class CertificationDoorTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def setUp(self):
        in_english(self)

    def form_data(self, **extra):
        data = {
            "village": self.w.xj.pk,
            "name_zh": "李家果园",
            "name_en": "Li Family Orchard",
            "grower_name": "李明",
            "contact_phone": "",
            "certifications": "",
            "notes": "",
        }
        data.update(extra)
        return data

    def test_the_farm_form_offers_them_as_a_checklist_in_the_readers_language(self):
        self.client.force_login(self.w.carol)
        en = self.client.get("/farms/new/").content.decode()
        self.assertIn('value="绿色食品 A级"', en)
        self.assertIn("Green Food, grade A</label>", en)
        self.assertIn("Other certifications", en)
        zh = self.client.get("/farms/new/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        self.assertIn("绿色食品 A级</label>", zh)

    def test_the_farm_form_records_the_checked_terms_and_the_others_as_entered(self):
        self.client.force_login(self.w.carol)
        data = self.form_data(
            known_certifications=["绿色食品 A级", "有机产品认证"], certifications="省级示范家庭农场\n"
        )
        self.assertEqual(self.client.post("/farms/new/", data).status_code, 302)
        farm = Farm.objects.get(name_zh="李家果园")
        self.assertEqual(farm.certifications, "绿色食品 A级\n有机产品认证\n省级示范家庭农场")
        page = self.client.get(f"/farms/{farm.pk}/").content.decode()
        self.assertIn('value="绿色食品 A级" id="id_known_certifications_0" checked', page)
        self.assertIn('value="有机产品认证" id="id_known_certifications_2" checked', page)
        self.assertNotIn('value="GAP 认证" id="id_known_certifications_4" checked', page)
        self.assertIn(">\n省级示范家庭农场</textarea>", page)

    def test_the_api_takes_codes_terms_or_free_text(self):
        body = {
            "village": self.w.xj.pk,
            "name_zh": "李家果园",
            "grower_name": "李明",
            "certifications": "organic\nGreen Food, grade AA\n省级示范家庭农场",
        }
        response = api_client(self.w.carol, "en").post("/api/v1/farms/", body, format="json")
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(
            Farm.objects.get(name_zh="李家果园").certifications, "有机产品认证\nGreen Food, grade AA\n省级示范家庭农场"
        )

    def test_the_admin_takes_a_code(self):
        root = make_user("root", is_staff=True, is_superuser=True)
        self.client.force_login(root)
        data = self.form_data(certifications="gap\n自定", name_zh="王家果园")
        data.update({"fields-TOTAL_FORMS": "0", "fields-INITIAL_FORMS": "0"})
        response = self.client.post(f"/admin/farms/farm/{self.w.farm.pk}/change/", data)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Farm.objects.get(pk=self.w.farm.pk).certifications, "GAP 认证\n自定")

    def test_the_consumer_page_shows_known_terms_in_english_and_free_text_as_entered(self):
        Farm.objects.filter(pk=self.w.farm.pk).update(
            certifications="有机产品认证\nGreen Food, grade AA\n省级示范家庭农场"
        )
        shipment = make_delivered_shipment(batches=[self.w.batch], store=self.w.store)
        en = self.client.get(shipment.public_path + "?lang=en").content.decode()
        zh = self.client.get(shipment.public_path + "?lang=zh-hans").content.decode()
        for text in ("Certified organic", "Green Food, grade AA", "省级示范家庭农场"):
            self.assertIn(text, en)
        for text in ("有机产品认证", "绿色食品 AA级", "省级示范家庭农场"):
            self.assertIn(text, zh)
        self.assertNotIn("有机产品认证", en)

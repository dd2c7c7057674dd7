"""What every resource shares (api/base.py, api/errors.py), through the farms resources:
strict serializers, scoped references, bad input answered 400 in the error format."""

from django.test import TestCase

from farms.models import Farm, Field
from tests.support import api_client, make_api_world

V1 = "/api/v1"


class BadInputTests(TestCase):
    """No input produces a 500; each bad request is a 400 in the error format and writes nothing."""

    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def setUp(self):
        self.client = api_client(self.w.carol)

    def post_farm(self, body, **extra):
        return self.client.post(f"{V1}/farms/", body, format="json", **extra)

    def assert_refused(self, response, field=None):
        self.assertEqual(response.status_code, 400, response.content)
        error = response.json()["error"]
        self.assertEqual(error["code"], "invalid" if field else error["code"])
        if field:
            self.assertIn(field, error["fields"])
        self.assertEqual(Farm.objects.count(), 2)

    def test_nul_bytes_in_strings_are_refused(self):
        self.assert_refused(
            self.post_farm({"village": self.w.xj.pk, "name_zh": "a\x00b", "grower_name": "x"}), "name_zh"
        )

    def test_unknown_fields_are_refused_by_name(self):
        response = self.post_farm({"village": self.w.xj.pk, "name_zh": "新", "grower_name": "x", "colour": "red"})
        self.assert_refused(response, "colour")
        self.assertEqual(response.json()["error"]["fields"], {"colour": ["Unknown field."]})

    def test_very_long_strings_are_refused(self):
        self.assert_refused(
            self.post_farm({"village": self.w.xj.pk, "name_zh": "长" * 101, "grower_name": "x"}), "name_zh"
        )
        body = {"village": self.w.xj.pk, "name_zh": "新", "grower_name": "x", "notes": "n" * 10_001}
        self.assert_refused(self.post_farm(body), "notes")

    def test_wrong_types_and_huge_numbers_are_refused(self):
        self.assert_refused(self.post_farm({"village": "one", "name_zh": "新", "grower_name": "x"}), "village")
        self.assert_refused(self.post_farm({"village": [1], "name_zh": "新", "grower_name": "x"}), "village")
        self.assert_refused(self.post_farm({"village": self.w.xj.pk, "name_zh": 5, "grower_name": {}}), "grower_name")
        response = self.post_farm({"village": 10**30, "name_zh": "新", "grower_name": "x"})
        self.assertEqual(response.status_code, 404)
        response = self.client.patch(f"{V1}/fields/{self.w.field.pk}/", {"area_mu": "1e20"}, format="json")
        self.assertEqual(response.status_code, 400)
        response = self.client.patch(f"{V1}/fields/{self.w.field.pk}/", {"latitude": "91"}, format="json")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(Field.objects.get(pk=self.w.field.pk).latitude, None)

    def test_malformed_json_and_a_non_object_body_are_refused(self):
        response = self.client.post(f"{V1}/farms/", '{"village": 1,', content_type="application/json")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"]["code"], "parse_error")
        self.assert_refused(self.client.post(f"{V1}/farms/", "[1, 2]", content_type="application/json"))
        self.assert_refused(self.client.post(f"{V1}/farms/", "NaN", content_type="application/json"))

    def test_hostile_urls_and_filters_answer_404_or_400(self):
        self.assertEqual(self.client.get(f"{V1}/farms/{10**30}/").status_code, 404)
        self.assertEqual(self.client.get(f"{V1}/farms/999999999999999999/").status_code, 404)
        self.assertEqual(self.client.get(f"{V1}/farms/?village=abc").status_code, 400)
        self.assertEqual(self.client.get(f"{V1}/farms/?village={10**30}").status_code, 400)
        self.assertEqual(self.client.get(f"{V1}/farms/?name_zh=a%00b").status_code, 400)
        self.assertEqual(self.client.get(f"{V1}/farms/?page=99").status_code, 404)
        self.assertEqual(self.client.get(f"{V1}/farms/?ordering=contact_phone").status_code, 200)

"""The one time-zone rule (farms.time_zones.validate_time_zone) through every door that edits a
village or a store: the model, the coordinator's web form (tests/farms/test_views.py), the API and
the admin. A bad zone gets a field message and changes nothing."""

from django.core.exceptions import ValidationError
from django.test import SimpleTestCase, TestCase
from django.urls import reverse
from django.utils import translation

from farms.models import Village
from farms.time_zones import validate_time_zone
from shipments.models import Retailer, Store
from tests.support import api_client, make_api_world, make_user, make_village

V1 = "/api/v1"
MESSAGE = "Mars/Olympus is not a known time zone: use an IANA name such as Asia/Shanghai."


class ValidatorTests(SimpleTestCase):
    def test_iana_names_pass_and_anything_else_is_refused_with_its_code(self):
        for name in ("Asia/Shanghai", "Asia/Urumqi", "America/Los_Angeles", "UTC"):
            validate_time_zone(name)
        for name in ("Mars/Olympus", "", "asia/shanghai", "+08:00", "../etc/passwd"):
            with self.assertRaises(ValidationError) as refused:
                validate_time_zone(name)
            self.assertEqual(refused.exception.code, "invalid_time_zone")


class ModelTests(TestCase):
    def test_a_new_village_and_store_default_to_china_standard_time_and_full_clean_refuses_a_bad_zone(self):
        village = make_village("XJ")
        self.assertEqual(village.time_zone, "Asia/Shanghai")
        village.time_zone = "Mars/Olympus"
        with translation.override("en"):
            with self.assertRaises(ValidationError) as refused:
                village.full_clean()
            self.assertEqual(refused.exception.message_dict, {"time_zone": [MESSAGE]})


class ApiTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def test_a_coordinator_sets_the_villages_address_phone_and_zone_and_a_bad_zone_is_a_400(self):
        client = api_client(self.w.carol)
        url = f"{V1}/villages/{self.w.xj.pk}/"
        location = {
            "address_zh": "浙江省台州市仙居县步路乡杨梅村村委会",
            "address_en": "Yangmei Village Committee, Xianju, Zhejiang",
            "phone": "0576-8773 0001",
            "time_zone": "Asia/Urumqi",
        }
        response = client.patch(url, location)
        self.assertEqual(response.status_code, 200)
        self.assertEqual({key: response.json()[key] for key in location}, location)
        response = client.patch(url, {"time_zone": "Mars/Olympus", "phone": "110"})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"]["fields"], {"time_zone": [MESSAGE]})
        self.assertEqual(
            Village.objects.values_list("phone", "time_zone").get(pk=self.w.xj.pk), ("0576-8773 0001", "Asia/Urumqi")
        )

    def test_a_store_exposes_its_phone_position_address_and_zone_and_refuses_a_bad_zone(self):
        client = api_client(self.w.rita)
        body = {
            "retailer": self.w.retailer.pk,
            "name_zh": "杭州西湖店",
            "city_zh": "杭州",
            "address": "西湖区文三路 398 号",
            "address_en": "No. 398 Wensan Road, Xihu District, Hangzhou",
            "phone": "0571-8799 0102",
            "latitude": "30.279000",
            "longitude": "120.130000",
        }
        response = client.post(f"{V1}/stores/", body)
        self.assertEqual(response.status_code, 201, response.content)
        created = response.json()
        self.assertEqual(
            {key: created[key] for key in (*body, "time_zone") if key != "retailer"},
            {**{k: v for k, v in body.items() if k != "retailer"}, "time_zone": "Asia/Shanghai"},
        )
        response = client.post(f"{V1}/stores/", {**body, "name_zh": "火星店", "time_zone": "Mars/Olympus"})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"]["fields"], {"time_zone": [MESSAGE]})
        self.assertFalse(Store.objects.filter(name_zh="火星店").exists())

    def test_a_retailer_records_its_address_and_business_phone(self):
        response = api_client(self.w.rita).patch(
            f"{V1}/retailers/{self.w.retailer.pk}/",
            {
                "address_zh": "上海市静安区江场路 1401 号",
                "address_en": "No. 1401 Jiangchang Road",
                "phone": "400-820-0100",
            },
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(
            Retailer.objects.values_list("address_zh", "address_en", "phone").get(pk=self.w.retailer.pk),
            ("上海市静安区江场路 1401 号", "No. 1401 Jiangchang Road", "400-820-0100"),
        )


class AdminTests(TestCase):
    def test_the_admin_refuses_a_bad_zone_for_a_village_and_keeps_the_row(self):
        admin = make_user("root", is_superuser=True, is_staff=True)
        self.client.force_login(admin)
        village = make_village("XJ")
        url = reverse("admin:farms_village_change", args=[village.pk])
        form = {
            "name_zh": village.name_zh,
            "code": "XJ",
            "province_zh": village.province_zh,
            "county_zh": village.county_zh,
            "time_zone": "Mars/Olympus",
        }
        response = self.client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["adminform"].form.errors["time_zone"], [MESSAGE])
        self.assertEqual(Village.objects.get(pk=village.pk).time_zone, "Asia/Shanghai")
        response = self.client.post(url, {**form, "time_zone": "Asia/Urumqi"}, HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Village.objects.get(pk=village.pk).time_zone, "Asia/Urumqi")

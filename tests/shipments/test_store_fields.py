"""A store's customer phone and position (the consumer page's store phone and distance): one rule
on the model field, read by the API's serializer and the admin's form alike; the database keeps
the position in range by itself."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.test import TestCase

from shipments.models import Store
from tests.support import api_client, in_english, make_api_world, make_user

V1 = "/api/v1"
PHONE_MESSAGE = "A phone number is digits with spaces, ( ) and -, and may start with +: e.g. 021-6288 0101."


class StoreApiTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def setUp(self):
        in_english(self)
        self.client_api = api_client(self.w.rita)
        self.url = f"{V1}/stores/{self.w.store.pk}/"

    def test_the_api_reads_and_writes_phone_and_position(self):
        body = {"phone": "+86 (21) 6288-0101", "latitude": "31.228611", "longitude": "121.448333"}
        response = self.client_api.patch(self.url, body)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(
            {name: response.json()[name] for name in body},
            {"phone": "+86 (21) 6288-0101", "latitude": "31.228611", "longitude": "121.448333"},
        )
        self.assertEqual(
            Store.objects.values_list("phone", "latitude", "longitude").get(pk=self.w.store.pk),
            ("+86 (21) 6288-0101", Decimal("31.228611"), Decimal("121.448333")),
        )
        shown = self.client_api.get(self.url).json()
        self.assertEqual((shown["phone"], shown["latitude"], shown["longitude"]), tuple(body.values()))
        created = self.client_api.post(
            f"{V1}/stores/",
            {"retailer": self.w.retailer.pk, "name_zh": "深圳南山店", "city_zh": "深圳", "phone": "0755-2601 0101",
             "latitude": "22.533", "longitude": "113.930"},
        )  # fmt: skip
        self.assertEqual(created.status_code, 201, created.content)
        self.assertEqual(
            Store.objects.values_list("phone", "latitude", "longitude").get(name_zh="深圳南山店"),
            ("0755-2601 0101", Decimal("22.533000"), Decimal("113.930000")),
        )

    def test_the_api_clears_them(self):
        Store.objects.filter(pk=self.w.store.pk).update(phone="021-1", latitude=1, longitude=1)
        response = self.client_api.patch(self.url, {"phone": "", "latitude": None, "longitude": None}, format="json")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(
            Store.objects.values_list("phone", "latitude", "longitude").get(pk=self.w.store.pk), ("", None, None)
        )

    def test_the_api_refuses_a_bad_phone_or_position_with_a_field_message_and_changes_nothing(self):
        before = Store.objects.values().get(pk=self.w.store.pk)
        cases = {
            "phone": ("call me", [PHONE_MESSAGE]),
            "latitude": ("90.5", ["Ensure this value is less than or equal to 90."]),
            "longitude": ("-180.000001", ["Ensure this value is greater than or equal to -180."]),
        }
        for name, (value, messages) in cases.items():
            response = self.client_api.patch(self.url, {name: value})
            self.assertEqual(response.status_code, 400, name)
            self.assertEqual(response.json()["error"]["fields"], {name: messages})
        for phone in ("12", "+", "021-6288 0101 ext", "0" * 33, "021\n6288"):
            response = self.client_api.patch(self.url, {"phone": phone})
            self.assertEqual(response.status_code, 400, phone)
        self.assertEqual(Store.objects.values().get(pk=self.w.store.pk), before)

    def test_the_admin_form_uses_the_same_rule(self):
        root = make_user("root", is_staff=True, is_superuser=True)
        self.client.force_login(root)
        data = {
            "retailer": self.w.retailer.pk,
            "name_zh": "上海静安店",
            "city_zh": "上海",
            "phone": "call me",
            "latitude": "91",
            "longitude": "",
        }
        response = self.client.post(f"/admin/shipments/store/{self.w.store.pk}/change/", data)
        self.assertContains(response, PHONE_MESSAGE)
        self.assertContains(response, "Ensure this value is less than or equal to 90.")
        self.assertEqual(Store.objects.get(pk=self.w.store.pk).phone, "")

    def test_the_database_refuses_a_position_out_of_range(self):
        for field, value in (("latitude", 91), ("longitude", -181)):
            with self.assertRaises(IntegrityError, msg=field), transaction.atomic():
                Store.objects.filter(pk=self.w.store.pk).update(**{field: value})

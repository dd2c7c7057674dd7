"""The farms resources of the API: villages, farms, fields, crops, recipes; tenancy, auditors,
query counts. What every resource shares is tested in tests/api/."""

from django.test import TestCase

from farms.models import Farm, Field, Village
from tests.support import api_client, make_api_world, make_farm, make_field

V1 = "/api/v1"


class FarmTenancyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def test_each_role_lists_only_the_farms_it_may_see(self):
        w = self.w
        expected = {
            w.alice: [w.farm.pk],
            w.carol: [w.farm.pk],
            w.bob: [w.other_farm.pk],
            w.rita: [w.farm.pk],
            w.rex: [w.other_farm.pk],
            w.auditor: sorted([w.farm.pk, w.other_farm.pk]),
        }
        for user, ids in expected.items():
            body = api_client(user).get(f"{V1}/farms/").json()
            self.assertEqual(sorted(row["id"] for row in body["results"]), ids, user.username)

    def test_the_growers_phone_and_internal_notes_are_for_the_village_and_auditors_only(self):
        Farm.objects.filter(pk=self.w.farm.pk).update(notes="欠款未结")
        url = f"{V1}/farms/{self.w.farm.pk}/"
        seen = {}
        for user in (self.w.alice, self.w.auditor, self.w.rita):
            body = api_client(user).get(url).json()
            seen[user.username] = (body["contact_phone"], body["notes"])
        self.assertEqual(
            seen,
            {"alice": ("13800000000", "欠款未结"), "audrey": ("13800000000", "欠款未结"), "rita": ("", "")},
        )

    def test_another_tenants_farm_answers_404_to_read_update_and_delete_and_nothing_changes(self):
        client = api_client(self.w.carol)
        url = f"{V1}/farms/{self.w.other_farm.pk}/"
        self.assertEqual(client.get(url).status_code, 404)
        self.assertEqual(client.patch(url, {"name_en": "Mine now"}).status_code, 404)
        self.assertEqual(client.put(url, {"name_zh": "x", "grower_name": "x"}).status_code, 404)
        self.assertEqual(client.delete(url).status_code, 404)
        self.w.other_farm.refresh_from_db()
        self.assertEqual(self.w.other_farm.name_en, "Wang Family Orchard")

    def test_a_coordinator_cannot_create_a_farm_or_field_in_another_tenants_village_or_farm(self):
        client = api_client(self.w.carol)
        response = client.post(f"{V1}/farms/", {"village": self.w.gn.pk, "name_zh": "新农场", "grower_name": "张"})
        self.assertEqual(response.status_code, 404)
        response = client.post(f"{V1}/fields/", {"farm": self.w.other_farm.pk, "name_zh": "西坡"})
        self.assertEqual(response.status_code, 404)
        self.assertEqual(Farm.objects.count(), 2)
        self.assertEqual(Field.objects.count(), 2)

    def test_a_coordinator_creates_and_edits_farms_and_fields_of_their_village(self):
        client = api_client(self.w.carol)
        response = client.post(f"{V1}/farms/", {"village": self.w.xj.pk, "name_zh": "新农场", "grower_name": "张三"})
        self.assertEqual(response.status_code, 201)
        farm = Farm.objects.get(name_zh="新农场")
        self.assertEqual((farm.village, farm.grower_name), (self.w.xj, "张三"))
        response = client.post(f"{V1}/fields/", {"farm": farm.pk, "name_zh": "西坡", "area_mu": "3.5"})
        self.assertEqual(response.status_code, 201)
        self.assertEqual(str(Field.objects.get(farm=farm).area_mu), "3.50")
        response = client.patch(f"{V1}/farms/{farm.pk}/", {"certifications": "绿色食品"})
        self.assertEqual(response.status_code, 200)
        farm.refresh_from_db()
        self.assertEqual(farm.certifications, "绿色食品")

    def test_a_farmer_reads_but_may_not_change_their_villages_farms(self):
        client = api_client(self.w.alice)
        url = f"{V1}/farms/{self.w.farm.pk}/"
        self.assertEqual(client.get(url).json()["name_zh"], "王家果园")
        response = client.patch(url, {"name_en": "Renamed"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(client.delete(url).status_code, 403)
        self.assertEqual(Farm.objects.get(pk=self.w.farm.pk).name_en, "Wang Family Orchard")

    def test_auditors_read_everything_and_change_nothing(self):
        client = api_client(self.w.auditor)
        self.assertEqual(client.get(f"{V1}/farms/{self.w.other_farm.pk}/").status_code, 200)
        response = client.patch(f"{V1}/farms/{self.w.farm.pk}/", {"name_en": "Audited"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json()["error"]["code"], "permission_denied")
        response = client.post(f"{V1}/farms/", {"village": self.w.xj.pk, "name_zh": "审计", "grower_name": "x"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(Farm.objects.count(), 2)

    def test_a_farm_cannot_be_moved_to_another_village(self):
        response = api_client(self.w.carol).patch(f"{V1}/farms/{self.w.farm.pk}/", {"village": self.w.gn.pk})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"]["fields"], {"village": ["This field cannot be set."]})
        self.assertEqual(Farm.objects.get(pk=self.w.farm.pk).village, self.w.xj)

    def test_a_farm_with_batches_cannot_be_deleted_and_says_why(self):
        response = api_client(self.w.carol).delete(f"{V1}/farms/{self.w.farm.pk}/")
        self.assertEqual(response.status_code, 409)
        self.assertTrue(Farm.objects.filter(pk=self.w.farm.pk).exists())

    def test_coordinates_out_of_range_are_refused_for_villages_and_fields_and_change_nothing(self):
        client = api_client(self.w.carol)
        field = make_field(self.w.farm, name_zh="北坡")
        for url, place in ((f"{V1}/villages/{self.w.xj.pk}/", self.w.xj), (f"{V1}/fields/{field.pk}/", field)):
            with self.subTest(url=url):
                response = client.patch(url, {"latitude": "90.5", "longitude": "-180.000001"}, format="json")
                self.assertEqual(response.status_code, 400)
                body = response.json()["error"]
                self.assertEqual(body["fields"]["latitude"], ["Ensure this value is less than or equal to 90."])
                self.assertEqual(body["fields"]["longitude"], ["Ensure this value is greater than or equal to -180."])
                place.refresh_from_db()
                self.assertEqual((place.latitude, place.longitude), (None, None))

    def test_a_coordinator_edits_their_villages_story_but_not_its_code(self):
        client = api_client(self.w.carol)
        response = client.patch(f"{V1}/villages/{self.w.xj.pk}/", {"story_en": "Waxberries since the Tang."})
        self.assertEqual(response.status_code, 200)
        response = client.patch(f"{V1}/villages/{self.w.xj.pk}/", {"code": "ZZ"})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(client.patch(f"{V1}/villages/{self.w.gn.pk}/", {"story_en": "x"}).status_code, 404)
        self.assertEqual(
            list(Village.objects.order_by("code").values_list("code", "story_en")),
            [("GN", ""), ("XJ", "Waxberries since the Tang.")],
        )


class QueryCountTests(TestCase):
    """List endpoints cost the same number of queries for 2 rows as for 20."""

    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def count_queries(self, url, user) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client = api_client(user)
        with CaptureQueriesContext(connection) as queries:
            self.assertEqual(client.get(url).status_code, 200)
        return len(queries)

    def test_farm_field_and_village_lists_do_not_grow_with_page_size(self):
        for n in range(18):
            farm = make_farm(self.w.xj, name_zh=f"农场{n}")
            make_field(farm)
        for url in [f"{V1}/farms/", f"{V1}/fields/", f"{V1}/villages/", f"{V1}/recipes/", f"{V1}/crops/"]:
            small = self.count_queries(url + "?page_size=2", self.w.carol)
            large = self.count_queries(url + "?page_size=20", self.w.carol)
            self.assertEqual(small, large, url)


class CrossTenantMatrixTests(TestCase):
    """Every object route of the other tenant (village GN and its retailer), for every role of
    tenant XJ and every method: 404, or 405 where the route has no such method for anyone,
    and no row changed."""

    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def test_every_method_on_every_other_tenant_object_answers_404_and_changes_nothing(self):
        from shipments.models import Retailer, Shipment, Store
        from traceability.models import Batch

        w = self.w
        routes = {
            f"villages/{w.gn.pk}/": {"DELETE": 405},
            f"farms/{w.other_farm.pk}/": {},
            f"fields/{w.other_field.pk}/": {},
            f"batches/{w.other_batch.lot_code}/": {"DELETE": 405},
            f"retailers/{w.other_retailer.pk}/": {"DELETE": 405},
            f"stores/{w.other_store.pk}/": {},
            f"shipments/{w.other_shipment.pk}/": {"DELETE": 405},
        }
        snapshot = [
            list(model.objects.order_by("pk").values())
            for model in (Village, Farm, Field, Batch, Retailer, Store, Shipment)
        ]
        results = {}
        for user in (w.alice, w.carol, w.rita):
            client = api_client(user)
            for route, exceptions in routes.items():
                for method in ("GET", "PATCH", "PUT", "DELETE"):
                    call = getattr(client, method.lower())
                    status = call(f"{V1}/{route}", {"name_en": "x"} if method in ("PATCH", "PUT") else None)
                    expected = exceptions.get(method, 404)
                    if status.status_code != expected:
                        results[(user.username, method, route)] = status.status_code
        self.assertEqual(results, {})
        after = [
            list(model.objects.order_by("pk").values())
            for model in (Village, Farm, Field, Batch, Retailer, Store, Shipment)
        ]
        self.assertEqual(after, snapshot)

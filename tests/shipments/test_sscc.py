"""Shipments as logistic units: an SSCC (AI 00) for every shipment from its retailer's GS1
company prefix, through every door that creates shipments or sets the prefix."""

import io
import threading

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import TestCase, TransactionTestCase

from api.errors import Invalid
from farms import gs1
from shipments import services
from shipments.models import Retailer, RetailerStaff, Shipment, Store
from tests.support import api_client, in_english, make_user, make_village, requires_postgres


class SsccTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.village = make_village()
        cls.retailer = Retailer.objects.create(name_zh="鲜到家超市", gs1_company_prefix="9520001")
        cls.store = Store.objects.create(retailer=cls.retailer, name_zh="上海静安店", city_zh="上海")
        cls.other = Retailer.objects.create(name_zh="绿源生鲜")
        cls.other_store = Store.objects.create(retailer=cls.other, name_zh="北京朝阳店", city_zh="北京")

    def setUp(self):
        in_english(self)

    def create(self, store=None):
        return services.create_shipment(origin_village=self.village, store=store or self.store)

    def test_each_shipment_gets_the_next_sscc_of_its_retailers_prefix(self):
        first, second = self.create(), self.create()
        self.assertEqual((first.sscc, second.sscc), ("095200010000000010", "095200010000000027"))
        self.assertTrue(all(gs1.is_valid(s.sscc, 18) for s in (first, second)))
        self.assertEqual(first.sscc_url, "http://127.0.0.1:8000/00/095200010000000010")
        self.assertIsNone(self.create(self.other_store).sscc)

    def test_a_ten_digit_prefix_leaves_six_digits_of_serial_reference(self):
        self.assertEqual(gs1.sscc("9520000001", 999999), "095200000019999993")
        with self.assertRaises(ValueError):
            gs1.sscc("9520000001", 1000000)

    def test_setting_a_prefix_numbers_the_retailers_shipments_that_have_none_oldest_first(self):
        older, newer = self.create(self.other_store), self.create(self.other_store)
        self.assertEqual(services.set_company_prefix(retailer=self.other, prefix="9520002"), 2)
        older.refresh_from_db()
        newer.refresh_from_db()
        self.assertEqual((older.sscc, newer.sscc), ("095200020000000019", "095200020000000026"))
        # The short URL stays what it was: codes already printed keep working.
        self.assertEqual(self.client.get(older.public_path).status_code, 200)
        # A new prefix keeps the SSCCs already printed and numbers only what has none.
        services.set_company_prefix(retailer=self.other, prefix="95200030")
        self.assertEqual(Shipment.objects.get(pk=older.pk).sscc, "095200020000000019")
        self.assertEqual(self.create(self.other_store).sscc, "095200030000000018")

    def test_a_bad_or_taken_prefix_is_refused_and_changes_nothing(self):
        self.create(self.other_store)
        for prefix, message in [
            ("952000", "A GS1 company prefix is 7 to 10 digits, as GS1 assigned it."),
            ("95200000001", "A GS1 company prefix is 7 to 10 digits, as GS1 assigned it."),
            ("952OOO1", "A GS1 company prefix is 7 to 10 digits, as GS1 assigned it."),
            ("9520001", "GS1 company prefix 9520001 belongs to another retailer."),
        ]:
            with self.subTest(prefix=prefix), self.assertRaisesMessage(Invalid, message):
                services.set_company_prefix(retailer=self.other, prefix=prefix)
        self.assertEqual(Retailer.objects.get(pk=self.other.pk).gs1_company_prefix, None)
        self.assertEqual(list(Shipment.objects.filter(store=self.other_store).values_list("sscc", flat=True)), [None])

    def test_the_database_refuses_a_bad_prefix_and_a_bad_check_digit(self):
        for update in (
            lambda: Retailer.objects.filter(pk=self.other.pk).update(gs1_company_prefix="12345"),
            lambda: Shipment.objects.filter(pk=self.create().pk).update(sscc="095200010000000011"),
        ):
            with self.subTest(update=update), self.assertRaises(IntegrityError), transaction.atomic():
                update()

    def test_the_api_sets_the_prefix_through_the_service_and_refuses_a_bad_one(self):
        rita = make_user("rita")
        RetailerStaff.objects.create(user=rita, retailer=self.other)
        shipment = self.create(self.other_store)
        client = api_client(rita)
        response = client.patch(f"/api/v1/retailers/{self.other.pk}/", {"gs1_company_prefix": "123"}, format="json")
        self.assertEqual(
            (response.status_code, response.json()["error"]["fields"]),
            (400, {"gs1_company_prefix": ["A GS1 company prefix is 7 to 10 digits, as GS1 assigned it."]}),
        )
        response = client.patch(f"/api/v1/retailers/{self.other.pk}/", {"gs1_company_prefix": "9520002"}, format="json")
        self.assertEqual((response.status_code, response.json()["gs1_company_prefix"]), (200, "9520002"))
        shipment.refresh_from_db()
        self.assertEqual(shipment.sscc, "095200020000000019")
        body = client.get(f"/api/v1/shipments/{shipment.pk}/").json()
        self.assertEqual(body["sscc"], "095200020000000019")

    def test_the_admin_sets_the_prefix_through_the_service(self):
        shipment = self.create(self.other_store)
        root = get_user_model().objects.create_superuser("root", password="pw-root")
        self.client.force_login(root)
        response = self.client.post(
            f"/admin/shipments/retailer/{self.other.pk}/change/",
            {
                "name_zh": "绿源生鲜",
                "name_en": "",
                "gln": "",
                "gs1_company_prefix": "9520002",
                "label_qr": "url",
                "label_date": "",
                "shelf_life_days": "7",
                "stores-TOTAL_FORMS": "1",
                "stores-INITIAL_FORMS": "1",
                "stores-0-id": str(self.other_store.pk),
                "stores-0-retailer": str(self.other.pk),
                "stores-0-name_zh": "北京朝阳店",
                "stores-0-city_zh": "北京",
                "stores-0-time_zone": "Asia/Shanghai",
            },
        )
        self.assertEqual(response.status_code, 302)
        shipment.refresh_from_db()
        self.assertEqual(shipment.sscc, "095200020000000019")


class SeedDemoSsccTests(TestCase):
    def test_demo_retailers_have_a_952_prefix_and_every_demo_shipment_an_sscc(self):
        call_command("seed_demo", stdout=io.StringIO())
        self.assertEqual(
            sorted(Retailer.objects.values_list("gs1_company_prefix", flat=True)), ["9520000001", "9520000002"]
        )
        ssccs = list(Shipment.objects.values_list("sscc", flat=True))
        self.assertTrue(ssccs)
        self.assertTrue(all(sscc and sscc.startswith("0952000000") and gs1.is_valid(sscc, 18) for sscc in ssccs))
        self.assertEqual(len(set(ssccs)), len(ssccs))


@requires_postgres
class ConcurrentSsccTests(TransactionTestCase):
    def test_shipments_created_at_once_never_share_an_sscc(self):
        village = make_village()
        retailer = Retailer.objects.create(name_zh="鲜到家超市", gs1_company_prefix="9520001")
        store = Store.objects.create(retailer=retailer, name_zh="上海静安店", city_zh="上海")
        barrier, errors = threading.Barrier(6), []

        def create():
            try:
                barrier.wait()
                services.create_shipment(origin_village=village, store=store)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=create) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(
            sorted(Shipment.objects.values_list("sscc", flat=True)),
            [gs1.sscc("9520001", n) for n in range(1, 7)],
        )


class BackfillMigrationTests(TransactionTestCase):
    def migrate(self, target):
        executor = MigrationExecutor(connection)
        executor.migrate([target])
        return MigrationExecutor(connection).loader.project_state([target]).apps

    def tearDown(self):
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    def test_shipments_of_retailers_with_a_prefix_get_an_sscc_oldest_first(self):
        # Back to before every sibling 0006 (store phone, lost invalidations), so the tables match
        # the models of the state the backfill ran in.
        self.migrate(("shipments", "0005_move_idempotencyrecord_to_api"))
        old = self.migrate(("shipments", "0006_retailer_gs1_company_prefix_shipment_sscc"))
        Village = old.get_model("farms", "Village")
        OldRetailer, OldStore = old.get_model("shipments", "Retailer"), old.get_model("shipments", "Store")
        OldShipment = old.get_model("shipments", "Shipment")
        village = Village.objects.create(code="XJ", name_zh="仙居县杨梅村", province_zh="浙江省", county_zh="仙居县")
        with_prefix = OldRetailer.objects.create(name_zh="鲜到家超市", gs1_company_prefix="9520001")
        without = OldRetailer.objects.create(name_zh="绿源生鲜")
        store = OldStore.objects.create(retailer=with_prefix, name_zh="上海静安店", city_zh="上海")
        other_store = OldStore.objects.create(retailer=without, name_zh="北京朝阳店", city_zh="北京")
        codes = []
        for code, shop in (("A" * 16, store), ("B" * 16, other_store), ("C" * 16, store)):
            OldShipment.objects.create(public_code=code, origin_village=village, store=shop)
            codes.append(code)

        self.migrate(("shipments", "0007_backfill_shipment_ssccs"))

        self.assertEqual(
            dict(OldShipment.objects.values_list("public_code", "sscc")),
            {"A" * 16: "095200010000000010", "B" * 16: None, "C" * 16: "095200010000000027"},
        )
        self.assertEqual(len(codes), 3)

"""One lot-code alphabet everywhere (traceability.lot_codes): 1 to 40 of A-Z a-z 0-9 . _ -,
starting with a letter or digit. A code with `/` was accepted and then unreachable (no URL
could address it); every door refuses it now."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import TestCase

from tests.support import api_client, in_english, make_api_world, make_batch, make_user
from tests.traceability.test_imports import upload
from traceability import services
from traceability.imports import import_batches
from traceability.lot_codes import validate_lot_code
from traceability.models import Batch

BAD = ["a/b", "XJ/2026/001", "-XJ", "XJ WAX", "批次1", "A" * 41, "XJ\x00", "XJ%2F1", "XJ+1"]
GOOD = ["XJ-WAX-20260612-009", "a", "lot_7.b", "A" * 40]


class LotCodeRuleTests(TestCase):
    def test_the_rule(self):
        for code in GOOD:
            validate_lot_code(code)
        for code in BAD:
            with self.assertRaises(ValidationError, msg=code):
                validate_lot_code(code)


class LotCodeDoorTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def test_the_api_refuses_a_bad_lot_code_with_a_field_message(self):
        for code in BAD:
            data = {"lot_code": code, "farm": self.w.farm.pk, "crop": self.w.crop.pk, "quantity": "5"}
            response = api_client(self.w.alice).post("/api/v1/batches/", data)
            self.assertEqual(response.status_code, 400, code)
            self.assertIn("lot_code", response.json()["error"]["fields"], code)
        self.assertEqual(Batch.objects.count(), 2)

    def test_the_service_refuses_it(self):
        with self.assertRaises(ValidationError):
            services.register_batch(farm=self.w.farm, crop=self.w.crop, quantity=5, unit="kg", lot_code="a/b")
        self.assertFalse(Batch.objects.filter(lot_code="a/b").exists())

    def test_the_import_refuses_it_as_a_row_error(self):
        in_english(self)
        text = "farm,crop,quantity,lot_code\n王家果园,WAX,1,a/b\n"
        result = import_batches(village=self.w.xj, file=upload(text), actor=self.w.carol)
        message = "lot code “a/b” may only use letters, digits and . _ -"
        self.assertEqual([(e.row, e.message) for e in result.errors], [(2, message)])
        self.assertFalse(Batch.objects.filter(lot_code="a/b").exists())

    def test_the_admin_refuses_it(self):
        root = make_user("root", is_staff=True, is_superuser=True)
        self.client.force_login(root)
        in_english(self)
        data = {
            "lot_code": "a/b",
            "farm": self.w.farm.pk,
            "crop": self.w.crop.pk,
            "quantity": "5",
            "unit": "kg",
            "status": "harvested",
            "BatchInput_output-TOTAL_FORMS": "0",
            "BatchInput_output-INITIAL_FORMS": "0",
        }
        response = self.client.post("/admin/traceability/batch/add/", data)
        self.assertEqual(response.status_code, 200)
        self.assertFalse(Batch.objects.filter(lot_code="a/b").exists())

    def test_the_database_refuses_it(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            make_batch(self.w.farm, self.w.crop, "a/b")

    def test_every_good_code_is_reachable_on_the_staff_page_and_the_api(self):
        for code in GOOD:
            make_batch(self.w.farm, self.w.crop, code)
        self.client.force_login(self.w.alice)
        for code in GOOD:
            self.assertContains(self.client.get(f"/batches/{code}/"), code)
            self.assertEqual(api_client(self.w.alice).get(f"/api/v1/batches/{code}/").json()["lot_code"], code)


# The batch pages' own addresses (/batches/new/, /batches/import/, /batches/outbox/), any case.
RESERVED = ["new", "import", "outbox", "NEW", "Import", "OutBox"]


class ReservedLotCodeTests(TestCase):
    """`new` and `import` were accepted as lot codes and then unreachable: /batches/new/ is the
    registration form, /batches/import/ the import page. Every door refuses them now."""

    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def setUp(self):
        in_english(self)

    def test_the_rule_refuses_them_whatever_their_case_and_keeps_longer_codes(self):
        for code in RESERVED:
            with self.assertRaises(ValidationError, msg=code) as refused:
                validate_lot_code(code)
            self.assertEqual(
                refused.exception.messages,
                [f"“{code}” is the address of a batch page, so it cannot be a lot code: choose another."],
            )
        for code in ("new1", "NEW-1", "imports", "outbox.2", "renew"):
            validate_lot_code(code)

    def test_the_service_refuses_them(self):
        for code in RESERVED:
            with self.assertRaises(ValidationError, msg=code):
                services.register_batch(farm=self.w.farm, crop=self.w.crop, quantity=5, unit="kg", lot_code=code)
        self.assertEqual(Batch.objects.filter(lot_code__iregex="^(new|import|outbox)$").count(), 0)

    def test_the_api_refuses_them_with_a_field_message(self):
        before = Batch.objects.count()
        for code in RESERVED:
            data = {"lot_code": code, "farm": self.w.farm.pk, "crop": self.w.crop.pk, "quantity": "5"}
            response = api_client(self.w.alice).post("/api/v1/batches/", data)
            self.assertEqual(response.status_code, 400, code)
            self.assertEqual(
                response.json()["error"]["fields"]["lot_code"],
                [f"“{code}” is the address of a batch page, so it cannot be a lot code: choose another."],
            )
        self.assertEqual(Batch.objects.count(), before)

    def test_the_import_refuses_them_as_row_errors_and_imports_nothing(self):
        before = Batch.objects.count()
        text = "farm,crop,quantity,lot_code\n王家果园,WAX,1,new\n王家果园,WAX,1,IMPORT\n王家果园,WAX,1,XJ-OK-1\n"
        result = import_batches(village=self.w.xj, file=upload(text), actor=self.w.carol)
        self.assertEqual(
            [(e.row, e.message) for e in result.errors],
            [
                (2, "“new” is the address of a batch page, so it cannot be a lot code: choose another."),
                (3, "“IMPORT” is the address of a batch page, so it cannot be a lot code: choose another."),
            ],
        )
        self.assertEqual(Batch.objects.count(), before)

    def test_the_web_admin_refuses_them(self):
        root = make_user("root", is_staff=True, is_superuser=True)
        self.client.force_login(root)
        data = {
            "lot_code": "New",
            "farm": self.w.farm.pk,
            "crop": self.w.crop.pk,
            "quantity": "5",
            "unit": "kg",
            "status": "harvested",
            "BatchInput_output-TOTAL_FORMS": "0",
            "BatchInput_output-INITIAL_FORMS": "0",
        }
        response = self.client.post("/admin/traceability/batch/add/", data)
        self.assertContains(response, "“New” is the address of a batch page, so it cannot be a lot code")
        self.assertFalse(Batch.objects.filter(lot_code="New").exists())

    def test_the_batch_pages_keep_their_addresses(self):
        self.client.force_login(self.w.alice)
        self.assertContains(self.client.get("/batches/new/"), 'name="quantity"')
        self.assertContains(self.client.get("/batches/new/"), "<form")

    def test_the_database_refuses_them(self):
        for code in ("new", "Import", "OUTBOX"):
            with self.assertRaises(IntegrityError, msg=code), transaction.atomic():
                make_batch(self.w.farm, self.w.crop, code)

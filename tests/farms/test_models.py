from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import TestCase

from farms import gs1
from farms.models import Crop, Membership
from tests.support import make_crop, make_user, make_village


class Gs1Tests(TestCase):
    def test_it_computes_the_documented_check_digit(self):
        self.assertEqual(gs1.check_digit("0950600013435"), 2)
        self.assertTrue(gs1.is_valid("09506000134352", 14))
        self.assertFalse(gs1.is_valid("09506000134353", 14))

    def test_the_database_accepts_a_valid_gtin_and_rejects_a_wrong_check_digit(self):
        make_crop("WAX", gtin="09506000134352")
        with self.assertRaises(IntegrityError), transaction.atomic():
            make_crop("TEA", gtin="09506000134353")
        with self.assertRaises(IntegrityError), transaction.atomic():
            make_crop("RIC", gtin="0950600013435X")
        self.assertEqual(list(Crop.objects.values_list("code", flat=True)), ["WAX"])

    def test_the_database_rejects_a_gln_with_a_wrong_check_digit(self):
        make_village("AA", gln="9520000000011")
        with self.assertRaises(IntegrityError), transaction.atomic():
            make_village("BB", gln="9520000000012")

    def test_model_validation_names_the_problem(self):
        crop = Crop(code="WAX", name_zh="杨梅", gtin="09506000134353")
        with self.assertRaises(ValidationError) as caught:
            crop.full_clean()
        self.assertIn("gtin", caught.exception.message_dict)


class MembershipTests(TestCase):
    def test_a_farmer_must_belong_to_a_village(self):
        user = make_user("alice")
        with self.assertRaises(IntegrityError), transaction.atomic():
            Membership.objects.create(user=user, role="farmer", village=None)

    def test_an_auditor_belongs_to_no_village(self):
        user = make_user("bob")
        with self.assertRaises(IntegrityError), transaction.atomic():
            Membership.objects.create(user=user, role="auditor", village=make_village())

"""A lot's registration facts (farm, field, crop, quantity, unit) are in the chain from every door
that makes a lot, change only through a correction of its registration event, and lots registered
before that existed get their event from a data migration."""

import importlib
from datetime import date
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from api import errors
from tests.support import api_client, in_english, make_batch, make_crop, make_farm, make_field, make_user, make_village
from tests.traceability.scenario import Scenario
from traceability import chain
from traceability.imports import import_batches
from traceability.models import Batch, EventBatch, TraceEvent
from traceability.services import CorrectionRefused, record_correction, register_batch
from traceability.verification import verify

V1 = "/api/v1"


def registration_of(lot: Batch) -> TraceEvent:
    return TraceEvent.objects.filter(kind="registration", lines__batch=lot).order_by("-seq").first()


def problems() -> list[str]:
    return [str(problem) for problem in verify(record=False).problems]


class RegistrationTests(TestCase):
    def setUp(self):
        in_english(self)
        self.village = make_village("XJ", gln="9520000000011")
        self.farm = make_farm(self.village)
        self.field = make_field(self.farm)
        self.crop = make_crop("WAX")
        self.carol = make_user("carol", role="coordinator", village=self.village)

    def test_registering_a_lot_records_its_facts_in_the_villages_chain(self):
        lot = register_batch(
            farm=self.farm, crop=self.crop, field=self.field, quantity=Decimal("120.5"), unit="kg",
            harvested_on=date(2026, 6, 12), created_by=self.carol,
        )  # fmt: skip
        event = TraceEvent.objects.get()
        self.assertEqual(
            (event.kind, event.village, event.farm, event.actor, event.seq, event.occurred_at),
            ("registration", self.village, self.farm, self.carol, 1, lot.created_at),
        )
        self.assertEqual(
            event.data,
            {"farm": self.farm.pk, "field": self.field.pk, "crop": self.crop.pk, "quantity": "120.5", "unit": "kg",
             "status": "harvested"},
        )  # fmt: skip
        self.assertEqual(
            list(event.lines.values_list("batch", "role", "quantity", "unit")), [(lot.pk, "subject", None, "")]
        )
        self.assertEqual(chain.verify_all(), [])
        self.assertEqual(problems(), [])

    def test_an_import_registers_every_lot_in_one_run_of_the_chain(self):
        text = "农场,地块,作物,数量,单位\n王家果园,东坡地,WAX,120,kg\n王家果园,,WAX,30.5,box\n"
        upload = SimpleUploadedFile("lots.csv", text.encode(), content_type="text/csv")
        result = import_batches(village=self.village, file=upload, actor=self.carol)
        events = TraceEvent.objects.order_by("seq")
        self.assertEqual(
            [(e.seq, e.kind, e.lines.get().batch_id, e.data["quantity"], e.data["unit"]) for e in events],
            [(1, "registration", result.batches[0].pk, "120", "kg"),
             (2, "registration", result.batches[1].pk, "30.5", "box")],
        )  # fmt: skip
        self.assertEqual(problems(), [])

    def test_the_admin_registers_a_lot_it_adds_and_shows_registered_facts_read_only(self):
        admin = get_user_model().objects.create_superuser("root", "root@example.cn", "pw")
        self.client.force_login(admin)
        response = self.client.post(
            reverse("admin:traceability_batch_add"),
            {"lot_code": "XJ-WAX-20260612-009", "farm": self.farm.pk, "crop": self.crop.pk, "quantity": "40",
             "unit": "kg", "status": "growing", "input_links-TOTAL_FORMS": "0", "input_links-INITIAL_FORMS": "0"},
        )  # fmt: skip
        self.assertEqual(response.status_code, 302, response.content)
        lot = Batch.objects.get(lot_code="XJ-WAX-20260612-009")
        self.assertEqual(registration_of(lot).data["quantity"], "40")
        self.assertEqual(registration_of(lot).actor, admin)
        page = self.client.get(reverse("admin:traceability_batch_change", args=[lot.pk])).content.decode()
        for name in ("lot_code", "farm", "field", "crop", "quantity", "unit", "status"):
            self.assertNotIn(f'name="{name}"', page)
        self.assertIn('name="harvested_on"', page)
        self.assertEqual(problems(), [])

    def test_the_migration_registers_lots_made_before_registration_events(self):
        old = make_batch(self.farm, self.crop, "XJ-WAX-20260601-001", quantity="75")
        held = make_batch(self.farm, self.crop, "XJ-WAX-20260601-002", status="on_hold")
        self.assertIn("lot XJ-WAX-20260601-001: no registration event in the chain", problems()[0])
        migration = importlib.import_module("traceability.migrations.0012_register_existing_lots")
        migration.register_existing_lots(apps, None)
        self.assertEqual(registration_of(old).data["quantity"], "75")
        self.assertEqual(registration_of(held).data["status"], "packed")
        migration.register_existing_lots(apps, None)
        self.assertEqual(EventBatch.objects.filter(event__kind="registration").count(), 2)
        self.assertEqual([p for p in problems() if "status" not in p], [])


class RegistrationCorrectionTests(TestCase):
    def setUp(self):
        in_english(self)
        self.s = Scenario(registered=True)

    def correct(self, lot: Batch, reason: str = "incorrect_data", **changes):
        return record_correction(event=registration_of(lot), reason=reason, actor=self.s.coordinator,
                                 corrected_data=changes, note="weighed again")  # fmt: skip

    def test_a_correction_changes_the_lot_and_the_chain_together(self):
        field = make_field(self.s.farm_b, "西坡地")
        correction, replacement = self.correct(self.s.l3, quantity="58.25", field=field.pk)
        self.s.l3.refresh_from_db()
        self.assertEqual(
            (self.s.l3.quantity, self.s.l3.field, self.s.l3.farm), (Decimal("58.25"), field, self.s.farm_b)
        )
        self.assertEqual((replacement.data["quantity"], replacement.data["field"]), ("58.25", field.pk))
        self.assertEqual(registration_of(self.s.l3), replacement)
        self.assertEqual(problems(), [])

    def test_refused_corrections_change_nothing(self):
        other_farm = make_farm(make_village("LS", name_zh="丽水茶村"), "茶园")
        conflict, invalid = CorrectionRefused, errors.Invalid
        cases = [
            ({"reason": "did_not_occur"}, conflict,
             "A lot's registration cannot be withdrawn: correct its facts instead."),
            ({"status": "packed"}, invalid,
             "A registration correction may change the farm, field, crop, quantity and unit only, not status."),
            ({"farm": other_farm.pk}, invalid, "The farm must be one of the lot's village."),
            ({"quantity": "40"}, conflict,
             "Lot XJ-WAX-20260610-001 has already given 50.000 kg: the quantity cannot be less."),
            ({"quantity": "-1"}, invalid, "The quantity must be a positive number with at most 3 decimals."),
            ({"unit": "box"}, conflict, "The unit of a lot that is already used cannot change."),
            ({"crop": "wax"}, invalid, "The farm, field and crop are given by their ids."),
        ]  # fmt: skip
        before = (TraceEvent.objects.count(), list(Batch.objects.order_by("pk").values_list()))
        for changes, refusal, message in cases:
            reason = changes.pop("reason", "incorrect_data")
            with self.subTest(changes=changes), self.assertRaisesMessage(errors.ServiceError, message) as caught:
                self.correct(self.s.l1, reason, **changes)
            self.assertIs(type(caught.exception), refusal)
        self.assertEqual((TraceEvent.objects.count(), list(Batch.objects.order_by("pk").values_list())), before)

    def test_the_api_corrects_a_registration_and_answers_409_with_the_reason_when_it_cannot(self):
        client = api_client(self.s.coordinator)
        body = {"kind": "correction", "corrects": str(registration_of(self.s.l3).client_id),
                "correction_reason": "incorrect_data", "corrected_data": {"quantity": "61"}}  # fmt: skip
        response = client.post(f"{V1}/events/", body, format="json")
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(Batch.objects.get(pk=self.s.l3.pk).quantity, Decimal("61"))
        body["corrects"] = str(registration_of(self.s.l1).client_id)
        body["corrected_data"] = {"quantity": "1"}
        response = client.post(f"{V1}/events/", body, format="json")
        self.assertEqual(response.status_code, 409)
        self.assertIn("the quantity cannot be less", str(response.json()))
        self.assertEqual(Batch.objects.get(pk=self.s.l1.pk).quantity, Decimal("100"))
        self.assertEqual(problems(), [])


class StatusTests(TestCase):
    def setUp(self):
        self.s = Scenario(registered=True)

    def test_a_status_no_event_gave_and_a_recall_undone_in_the_row_are_named(self):
        from traceability.services import open_recall

        open_recall(batch=self.s.l2, reason="农残超标", actor=self.s.coordinator)
        self.assertEqual(problems(), [])
        Batch.objects.filter(pk=self.s.l3.pk).update(status="packed")
        Batch.objects.filter(pk=self.s.l2.pk).update(status="harvested")
        recall = self.s.l2.recalls.get()
        self.assertEqual(
            [p for p in problems() if "status" in p],
            [
                f"lot {self.s.l2}: status is harvested in the lots table, but recall #{recall.pk} is open on it",
                f"lot {self.s.l3}: status is packed in the lots table, but its events took it no further than "
                "harvested",
            ],
        )

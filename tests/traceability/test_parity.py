"""One rulebook, every door (issue 12, item 7): each rule of a lot's lifecycle is tried through the
service, the web form and the API and, where they reach the rule, the import, the admin and the
management command; each door gives the same answer and leaves the same database state.

Each door works on its own lot, so the doors cannot see each other's writes; messages name the
lot as {lot} so that they compare."""

import io
import re
import shutil
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client, TestCase
from django.utils import timezone, translation

from api import errors
from shipments import services as shipping
from shipments.models import RetailerStaff
from tests.support import api_client, make_crop, make_farm, make_store, make_user, make_village
from tests.traceability.scenario import at
from traceability import lifecycle, services
from traceability.imports import ImportFileError, import_batches
from traceability.models import Batch, BatchImport, Hold, TraceEvent

V1 = "/api/v1"
DOORS = ("service", "web", "api")
FAILED = {"test": "农药残留快速检测", "lab": "仙居县检测站", "result": "fail"}
PASSED = {"test": "农药残留快速检测", "lab": "仙居县检测站", "result": "pass"}
# What the web form asks for each kind; the API and the service take the same as key data.
FACTS = {
    "planting": {},
    "input_applied": {"product": "有机肥"},
    "harvest": {},
    "cooling": {"temperature_c": 3},
    "packing": {},
    "quality_test": PASSED,
    "temperature": {"temperature_c": 3},
}


class Outcome(NamedTuple):
    accepted: bool
    message: str = ""


def flat(messages) -> list[str]:
    """Every message of a (possibly nested) error structure, in order."""
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in flat(value)]
    if isinstance(messages, list | tuple):
        return [text for value in messages for text in flat(value)]
    return [str(messages)]


class ParityTestCase(TestCase):
    def setUp(self):
        translation.activate("en")
        self.addCleanup(translation.deactivate)
        self.village = make_village()
        self.farm = make_farm(self.village, name_zh="王家果园")
        self.crop = make_crop("WAX", storage_min_c=Decimal("0"), storage_max_c=Decimal("5"))
        self.carol = make_user("carol", role="coordinator", village=self.village)
        self.web = Client(HTTP_ACCEPT_LANGUAGE="en")
        self.web.force_login(self.carol)
        self.api = api_client(self.carol)
        self.numbers = iter(range(1, 1000))

    def lot(self, state: str = "harvested", quantity: str = "200") -> Batch:
        """A fresh lot brought into `state` through the services (events on June 10)."""
        lot = services.register_batch(
            farm=self.farm,
            crop=self.crop,
            quantity=Decimal(quantity),
            unit="kg",
            lot_code=f"XJ-WAX-20260610-{next(self.numbers):03d}",
        )
        if state != "growing":
            services.record_batch_event(batch=lot, kind="harvest", occurred_at=at(10, 6), quantity=Decimal("200"))
        if state == "packed":
            services.record_batch_event(batch=lot, kind="packing", occurred_at=at(10, 9), quantity=Decimal("200"))
        if state == "on_hold":
            services.record_batch_event(batch=lot, kind="quality_test", occurred_at=at(10, 7), data=FAILED)
        lot.refresh_from_db()
        return lot

    def record(self, door: str, lot: Batch, kind: str, when, quantity=None, data=None) -> Outcome:
        """Record through one door."""
        outcome = self._record(door, lot, kind, when, quantity, FACTS[kind] | (data or {}))
        return outcome._replace(message=outcome.message.replace(lot.lot_code, "{lot}"))

    def _record(self, door: str, lot: Batch, kind: str, when, quantity, data: dict) -> Outcome:
        if door == "service":
            try:
                with transaction.atomic():
                    services.record_batch_event(
                        batch=lot, kind=kind, occurred_at=when, quantity=quantity, data=data, actor=self.carol
                    )
            except ValidationError as exc:
                return Outcome(False, " ".join(flat(exc.message_dict)))
            except errors.ServiceError as exc:
                return Outcome(False, exc.message)
            return Outcome(True)
        if door == "web":
            fields = {"occurred_at": timezone.localtime(when).strftime("%Y-%m-%dT%H:%M"), **data}
            if quantity is not None:
                fields["quantity"] = str(quantity)
            response = self.web.post(f"/batches/{lot.lot_code}/record/{kind}/", fields)
            if response.status_code == 302:
                return Outcome(True)
            return Outcome(False, " ".join(flat(response.context["form"].errors)))
        body = {"batch": lot.lot_code, "kind": kind, "occurred_at": when.isoformat(), "data": data}
        if quantity is not None:
            body["quantity"] = str(quantity)
        response = self.api.post(f"{V1}/events/", body, format="json")
        if response.status_code == 201:
            return Outcome(True)
        error = response.json()["error"]
        return Outcome(False, " ".join(flat(error["fields"])) if error["fields"] else error["message"])

    def each_door(self, state: str, kind: str, when, quantity=None, data=None) -> dict[str, tuple]:
        """{door: (outcome, the lot's status after, its events' kinds)}, one fresh lot per door."""
        results = {}
        for door in DOORS:
            batch = self.lot(state)
            outcome = self.record(door, batch, kind, when, quantity, data)
            batch.refresh_from_db()
            kinds = list(batch.events.order_by("occurred_at", "pk").values_list("kind", flat=True))
            results[door] = (outcome, batch.status, kinds)
        return results

    def assertSameEverywhere(self, results: dict, expected: tuple):
        self.assertEqual(results, dict.fromkeys(DOORS, expected))


class EventRuleParityTests(ParityTestCase):
    def test_an_event_on_a_held_lot_is_refused_by_every_door_and_a_quality_test_accepted(self):
        message = "Lot {lot} is on hold: until it is released only quality tests and corrections can be recorded."
        self.assertSameEverywhere(
            self.each_door("on_hold", "cooling", at(10, 12)),
            (Outcome(False, message), "on_hold", ["harvest", "quality_test"]),
        )
        self.assertSameEverywhere(
            self.each_door("on_hold", "quality_test", at(10, 12)),
            (Outcome(True), "on_hold", ["harvest", "quality_test", "quality_test"]),
        )

    def test_every_door_takes_the_same_seven_farm_event_kinds_and_no_other(self):
        self.assertEqual(
            list(lifecycle.FARM_EVENT_KINDS),
            ["planting", "input_applied", "harvest", "cooling", "packing", "quality_test", "temperature"],
        )
        for kind in lifecycle.FARM_EVENT_KINDS:
            state = "growing" if kind in ("planting", "input_applied", "harvest") else "harvested"
            with self.subTest(kind=kind):
                results = self.each_door(state, kind, at(10, 8) if state == "harvested" else at(1))
                self.assertEqual({door: r[0] for door, r in results.items()}, dict.fromkeys(DOORS, Outcome(True)))
        lot = self.lot()
        for kind in ("shipping", "receiving", "transformation", "correction", "hold_decision"):
            with self.subTest(kind=kind):
                self.assertEqual(self.web.get(f"/batches/{lot.lot_code}/record/{kind}/").status_code, 404)
                body = {"batch": lot.lot_code, "kind": kind, "occurred_at": at(10, 8).isoformat()}
                expected = 400 if kind != "correction" else 400  # a correction without `corrects` is invalid
                self.assertEqual(self.api.post(f"{V1}/events/", body, format="json").status_code, expected)
                with self.assertRaises(ValidationError):
                    services.record_batch_event(batch=lot, kind=kind, occurred_at=at(10, 8))
        self.assertEqual(TraceEvent.objects.filter(batches=lot).count(), 1)

    def test_a_harvest_after_packing_is_refused_alike_with_how_to_correct(self):
        message = (
            "Lot {lot} is already packed at 2026-06-11 02:00: a harvest cannot come after packing. To change the "
            "harvest's quantity or time, record a correction of the harvest event; if the packing did not happen, "
            "record a correction of the packing event."
        )
        self.assertSameEverywhere(
            self.each_door("packed", "harvest", at(10, 18), Decimal("50")),
            (Outcome(False, message), "packed", ["harvest", "packing"]),
        )

    def test_a_harvest_that_happened_before_the_packing_but_arrives_late_is_accepted_alike(self):
        for door in DOORS:
            lot = self.lot("growing")
            services.record_batch_event(batch=lot, kind="harvest", occurred_at=at(10, 6), quantity=Decimal("150"))
            services.record_batch_event(batch=lot, kind="packing", occurred_at=at(10, 9), quantity=Decimal("150"))
            with self.subTest(door=door):
                self.assertEqual(self.record(door, lot, "harvest", at(10, 7), Decimal("50")), Outcome(True))
                self.assertEqual(list(lot.events.values_list("kind", flat=True)), ["harvest", "harvest", "packing"])
                self.assertEqual(Batch.objects.get(pk=lot.pk).status, "packed")

    def test_a_harvest_beyond_the_lot_is_refused_alike(self):
        message = (
            "Lot {lot} holds 200.000 kg and 200.000 kg of harvest are recorded already: 50.000 kg more would exceed "
            "it. Record the extra as a new lot, or record a correction of the earlier harvest event if its quantity "
            "is wrong."
        )
        self.assertSameEverywhere(
            self.each_door("harvested", "harvest", at(10, 8), Decimal("50")),
            (Outcome(False, message), "harvested", ["harvest"]),
        )

    def test_storage_events_on_a_growing_lot_are_refused_alike(self):
        message = (
            "Lot {lot} has no harvest recorded before 2026-06-10 16:00: record the harvest first, or check the time."
        )
        self.assertSameEverywhere(
            self.each_door("growing", "cooling", at(10, 8)), (Outcome(False, message), "growing", [])
        )

    def test_every_door_has_the_one_clock_skew(self):
        soon = timezone.now().replace(second=0, microsecond=0) + lifecycle.CLOCK_SKEW - timedelta(minutes=1)
        self.assertSameEverywhere(
            self.each_door("harvested", "cooling", soon), (Outcome(True), "harvested", ["harvest", "cooling"])
        )
        self.assertSameEverywhere(
            self.each_door("harvested", "cooling", soon + timedelta(minutes=3)),
            (Outcome(False, "This time is in the future: check the device's clock."), "harvested", ["harvest"]),
        )

    def test_an_impossible_temperature_is_refused_and_an_excursion_flagged_alike(self):
        message = "-40 °C is not a possible produce temperature (-30 to 60 °C): check the sensor."
        self.assertSameEverywhere(
            self.each_door("harvested", "cooling", at(10, 8), data={"temperature_c": -40}),
            (Outcome(False, message), "harvested", ["harvest"]),
        )
        self.assertSameEverywhere(
            self.each_door("harvested", "temperature", at(10, 8), data={"temperature_c": 8.5}),
            (Outcome(True), "harvested", ["harvest", "temperature"]),
        )
        self.assertEqual(
            list(TraceEvent.objects.filter(kind="temperature").values_list("data", flat=True)),
            [{"temperature_c": 8.5, "excursion": True, "storage_range_c": [0.0, 5.0]}] * 3,
        )

    def test_a_failed_quality_test_holds_the_lot_and_what_was_made_from_it_alike(self):
        for door in DOORS:
            lot = self.lot()
            made, _event, _created = services.transform_batches(
                inputs=[(lot, Decimal("20"))], crop=self.crop, farm=self.farm, quantity=Decimal("20"), unit="kg"
            )
            with self.subTest(door=door):
                self.assertEqual(self.record(door, lot, "quality_test", at(10, 8), data=FAILED), Outcome(True))
                hold = Hold.objects.get(batch=lot)
                self.assertEqual(
                    (hold.opened_by, hold.is_open, sorted(hold.lots.values_list("batch_id", flat=True))),
                    (self.carol, True, [lot.pk, made.pk]),
                )
                statuses = (
                    Batch.objects.filter(pk__in=[lot.pk, made.pk]).order_by("pk").values_list("status", flat=True)
                )
                self.assertEqual(list(statuses), ["on_hold", "on_hold"])

    def test_a_held_lot_cannot_go_into_a_shipment_through_any_door(self):
        store = make_store()
        rita = make_user("rita")
        RetailerStaff.objects.create(user=rita, retailer=store.retailer)
        store.retailer.supplier_villages.add(self.village)
        web = Client(HTTP_ACCEPT_LANGUAGE="en")
        web.force_login(rita)
        outcomes = {}
        for door in DOORS:
            lot = self.lot("on_hold")
            shipment = shipping.create_shipment(origin_village=self.village, store=store)
            if door == "service":
                try:
                    shipping.add_item(shipment=shipment, batch=lot, quantity=Decimal("5"))
                except errors.ServiceError as exc:
                    outcomes[door] = exc.message.replace(lot.lot_code, "{lot}")
            elif door == "web":
                offered = lot.lot_code in web.get(f"/shipments/{shipment.public_code}/").content.decode()
                response = web.post(f"/shipments/{shipment.public_code}/items/", {f"qty:{lot.lot_code}": "5"})
                outcomes[door] = (offered, response.status_code)
            else:
                response = api_client(rita).post(
                    f"{V1}/shipments/{shipment.pk}/items/", {"batch": lot.lot_code, "quantity": "5"}
                )
                message = response.json()["error"]["message"].replace(lot.lot_code, "{lot}")
                outcomes[door] = (response.status_code, message)
            self.assertEqual((lot.shipment_items.count(), Batch.objects.get(pk=lot.pk).allocated_quantity), (0, 0))
        message = "Lot {lot} is on hold and cannot be shipped or used until it is released."
        # The web page does not offer a held lot, and a hand-made POST for it finds nothing to add.
        self.assertEqual(outcomes, {"service": message, "web": (False, 404), "api": (409, message)})


class LotDateParityTests(ParityTestCase):
    def register(self, door: str, planted_on: str = "", harvested_on: str = "") -> tuple[bool, list[str]]:
        """Register one lot of 10 kg through a door: (registered, error messages)."""
        before = Batch.objects.count()
        messages: list[str] = []
        if door == "service":
            try:
                services.register_batch(
                    farm=self.farm,
                    crop=self.crop,
                    quantity=Decimal("10"),
                    unit="kg",
                    planted_on=date.fromisoformat(planted_on) if planted_on else None,
                    harvested_on=date.fromisoformat(harvested_on) if harvested_on else None,
                )
            except ValidationError as exc:
                messages = flat(exc.message_dict)
        elif door in ("web", "admin"):
            fields = {"farm": self.farm.pk, "crop": self.crop.pk, "quantity": "10", "unit": "kg"}
            fields |= {"planted_on": planted_on, "harvested_on": harvested_on}
            if door == "web":
                response = self.web.post("/batches/new/", fields)
            else:
                page = self.admin.get("/admin/traceability/batch/add/").content.decode()
                management = dict(re.findall(r'name="([\w-]+_FORMS)"[^>]*value="(\d+)"', page))
                response = self.admin.post("/admin/traceability/batch/add/", fields | management | {"lot_code": ""})
            if response.status_code != 302:
                form = response.context["form"] if door == "web" else response.context["adminform"].form
                messages = flat(form.errors)
        elif door == "api":
            body = {"farm": self.farm.pk, "crop": self.crop.pk, "quantity": "10"}
            body |= {
                name: value for name, value in (("planted_on", planted_on), ("harvested_on", harvested_on)) if value
            }
            response = self.api.post(f"{V1}/batches/", body, format="json")
            if response.status_code != 201:
                messages = flat(response.json()["error"]["fields"])
        else:
            sheet = f"农场,作物,数量,种植日期,采收日期\n王家果园,WAX,10,{planted_on},{harvested_on}\n"
            file = SimpleUploadedFile(f"sheet-{next(self.numbers)}.csv", sheet.encode())
            result = import_batches(village=self.village, file=file, actor=self.carol)
            messages = [error.message for error in result.errors]
        return Batch.objects.count() > before, messages

    def setUp(self):
        super().setUp()
        superuser = get_user_model().objects.create_superuser("root", password="pw-root")
        self.admin = Client(HTTP_ACCEPT_LANGUAGE="en")
        self.admin.force_login(superuser)

    def test_dates_are_checked_by_one_rule_at_every_door(self):
        cases = {
            ("", "9999-12-31"): (False, ["This date is in the future."]),
            ("0001-03-01", ""): (False, ["Dates before 2000 are not accepted: check the year."]),
            ("2026-06-01", "2026-05-01"): (False, ["The harvest date cannot be before the planting date."]),
            ("2026-03-01", "2026-06-12"): (True, []),
        }
        for (planted_on, harvested_on), expected in cases.items():
            for door in (*DOORS, "import", "admin"):
                with self.subTest(door=door, planted_on=planted_on, harvested_on=harvested_on):
                    self.assertEqual(self.register(door, planted_on, harvested_on), expected)

    def test_a_lot_code_carries_the_harvest_date_or_the_day_of_registration_never_the_planting_date(self):
        today = timezone.localdate()
        for door in (*DOORS, "import", "admin"):
            with self.subTest(door=door):
                Batch.objects.all().delete()
                self.register(door, planted_on="2026-03-01", harvested_on="2026-06-12")
                self.register(door, planted_on="2026-03-01")
                self.assertEqual(
                    sorted(Batch.objects.values_list("lot_code", "status")),
                    sorted([("XJ-WAX-20260612-001", "harvested"), (f"XJ-WAX-{today:%Y%m%d}-001", "growing")]),
                )


class ImportTwiceParityTests(ParityTestCase):
    SHEET = "农场,作物,数量,采收日期\n王家果园,WAX,10,2026-06-12\n王家果园,WAX,20,2026-06-12\n"

    def upload(self) -> SimpleUploadedFile:
        return SimpleUploadedFile("picking-day.csv", self.SHEET.encode())

    def sheet_on_disk(self) -> Path:
        directory = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, directory, True)
        path = directory / "picking-day.csv"
        path.write_bytes(self.SHEET.encode())
        return path

    def test_the_same_file_twice_is_refused_by_every_door_unless_confirmed_as_new_data(self):
        path = self.sheet_on_disk()
        self.assertTrue(import_batches(village=self.village, file=self.upload(), actor=self.carol).ok)
        when = timezone.localtime(BatchImport.objects.get().imported_at).strftime("%Y-%m-%d %H:%M")
        refusal = (
            f"This file was already imported into this village on {when} (2 rows): importing it again would "
            "register the same batches twice. If it really holds new data, confirm that it is new data and import "
            "it again."
        )
        with self.assertRaisesMessage(ImportFileError, refusal):
            import_batches(village=self.village, file=self.upload(), actor=self.carol)
        page = self.web.post("/batches/import/", {"village": self.village.pk, "file": self.upload()})
        self.assertEqual(flat(page.context["form"].errors), [refusal])
        with self.assertRaisesMessage(CommandError, refusal):
            call_command("import_batches", "XJ", str(path), stdout=io.StringIO())
        self.assertEqual((Batch.objects.count(), BatchImport.objects.count()), (2, 1))
        # Each door's way of saying "this is new data": the same file then imports again.
        import_batches(village=self.village, file=self.upload(), actor=self.carol, new_data=True)
        page = self.web.post("/batches/import/", {"village": self.village.pk, "file": self.upload(), "new_data": "on"})
        self.assertEqual([len(page.context["result"].batches), page.context["form"].errors], [2, {}])
        call_command("import_batches", "XJ", str(path), "--new-data", stdout=io.StringIO())
        self.assertEqual(BatchImport.objects.count(), 4)
        self.assertEqual(
            sorted(Batch.objects.values_list("lot_code", flat=True)), [f"XJ-WAX-20260612-{n:03d}" for n in range(1, 9)]
        )


class HoldDecisionParityTests(ParityTestCase):
    def test_release_and_recall_decide_alike_through_the_web_and_the_api(self):
        farmer = make_user("alice", role="farmer", village=self.village)
        farmer_web = Client(HTTP_ACCEPT_LANGUAGE="en")
        farmer_web.force_login(farmer)
        results = {}
        for door in ("web", "api"):
            for decision in ("released", "recalled"):
                lot = self.lot("on_hold")
                hold = Hold.objects.get(batch=lot)
                if door == "web":
                    path = f"/holds/{hold.pk}/{decision}/"
                    farmer_web.post(path, {"note": "我觉得没问题"})
                    farmer_refused = Hold.objects.get(pk=hold.pk).is_open
                    self.web.post(path, {"note": "复检报告 R-7"})
                else:
                    path = f"{V1}/holds/{hold.pk}/{'release' if decision == 'released' else 'recall'}/"
                    farmer_refused = api_client(farmer).post(path, {"note": "我觉得没问题"}).status_code == 403
                    self.api.post(path, {"note": "复检报告 R-7"})
                hold.refresh_from_db()
                lot.refresh_from_db()
                results[(door, decision)] = (
                    farmer_refused,
                    hold.decision,
                    hold.decided_by,
                    hold.decision_note,
                    hold.decision_event.kind,
                    lot.status,
                    lot.recalls.open().count(),
                )
        released = (True, "released", self.carol, "复检报告 R-7", "hold_decision", "harvested", 0)
        recalled = (True, "recalled", self.carol, "复检报告 R-7", "hold_decision", "recalled", 1)
        self.assertEqual(
            results,
            {
                ("web", "released"): released,
                ("api", "released"): released,
                ("web", "recalled"): recalled,
                ("api", "recalled"): recalled,
            },
        )

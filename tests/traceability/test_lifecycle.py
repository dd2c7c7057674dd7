"""A lot's lifecycle (traceability/lifecycle.py): the state machine of docs/architecture.md, its
food-safety holds and its temperature rules, through the services every door calls.
tests/traceability/test_parity.py checks that each door gives the same answers."""

from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import TestCase
from django.utils import timezone, translation

from shipments import services as shipping
from tests.support import make_batch, make_crop, make_farm, make_store, make_user, make_village
from tests.traceability.scenario import Scenario, at
from traceability import chain, lifecycle, services
from traceability.models import Batch, Hold, HoldLot, Recall, TraceEvent

FAILED = {"test": "农药残留快速检测", "lab": "仙居县检测站", "result": "fail"}
PASSED = {"test": "农药残留快速检测", "lab": "仙居县检测站", "result": "pass"}

# The table of docs/architecture.md ("A lot's lifecycle"), written out: which farm events each
# state accepts. A change to lifecycle.ACCEPTS must change the documentation too.
TABLE = {
    "growing": {"planting", "input_applied", "harvest", "quality_test"},
    "harvested": {"input_applied", "harvest", "cooling", "packing", "quality_test", "temperature"},
    "packed": {"cooling", "packing", "quality_test", "temperature"},
    "on_hold": {"quality_test"},
    "recalled": {"quality_test"},
}


class English:
    def setUp(self):
        translation.activate("en")
        self.addCleanup(translation.deactivate)
        super().setUp()


def record(lot, kind, when, quantity=None, data=None, actor=None):
    return services.record_batch_event(
        batch=lot, kind=kind, occurred_at=when, quantity=quantity, data=data, actor=actor
    )[0]


def refusal(call) -> str:
    """The message of the refusal `call()` raises, the database left as it was."""
    try:
        with transaction.atomic():
            call()
    except ValidationError as exc:
        return " ".join(exc.messages)
    except services.errors.ServiceError as exc:
        return exc.message
    raise AssertionError("not refused")


class StateMachineTests(English, TestCase):
    def setUp(self):
        super().setUp()
        self.village = make_village()
        self.farm = make_farm(self.village)
        self.crop = make_crop("WAX", storage_min_c=Decimal("0"), storage_max_c=Decimal("5"))
        self.carol = make_user("carol", role="coordinator", village=self.village)

    def lot(self, number: int, state: str) -> Batch:
        """A lot brought into `state` through the services, events on June 10."""
        lot = services.register_batch(
            farm=self.farm,
            crop=self.crop,
            quantity=Decimal("200"),
            unit="kg",
            lot_code=f"XJ-WAX-20260610-{number:03d}",
        )
        if state in ("harvested", "packed", "on_hold", "recalled"):
            record(lot, "harvest", at(10, 6), Decimal("200"))
        if state == "packed":
            record(lot, "packing", at(10, 9), Decimal("200"))
        if state == "on_hold":
            record(lot, "quality_test", at(10, 7), data=FAILED)
        if state == "recalled":
            services.open_recall(batch=lot, reason="农残超标", actor=self.carol)
        lot.refresh_from_db()
        self.assertEqual(lot.status, state)
        return lot

    def test_each_state_accepts_exactly_the_events_of_the_documented_table(self):
        accepted = {}
        for number, state in enumerate(TABLE, start=1):
            lot = self.lot(number, state)
            accepted[state] = set()
            for kind in lifecycle.FARM_EVENT_KINDS:
                try:
                    with transaction.atomic():
                        record(lot, kind, at(10, 12), data={"temperature_c": 3} | PASSED)
                        transaction.set_rollback(True)
                    accepted[state].add(kind)
                except (services.BatchOnHold, services.EventRefused):
                    pass
        self.assertEqual(accepted, TABLE)
        self.assertEqual({state: set(kinds) for state, kinds in lifecycle.ACCEPTS.items()}, TABLE)

    def test_harvest_and_packing_move_a_lot_forward_and_nothing_moves_it_back(self):
        lot = self.lot(1, "growing")
        record(lot, "planting", at(1))
        record(lot, "harvest", at(10, 6), Decimal("120"))
        lot.refresh_from_db()
        self.assertEqual((lot.status, lot.harvested_on.isoformat()), ("harvested", "2026-06-10"))
        record(lot, "packing", at(10, 9), Decimal("120"))
        record(lot, "harvest", at(10, 7), Decimal("80"))  # picked before the packing, typed in after
        lot.refresh_from_db()
        self.assertEqual(lot.status, "packed")

    def test_a_harvest_after_the_packing_is_refused_with_how_to_correct_the_record(self):
        lot = self.lot(1, "packed")
        message = refusal(lambda: record(lot, "harvest", at(10, 18), Decimal("50")))
        self.assertEqual(
            message,
            "Lot XJ-WAX-20260610-001 is already packed at 2026-06-11 02:00: a harvest cannot come after packing. "
            "To change the harvest's quantity or time, record a correction of the harvest event; if the packing "
            "did not happen, record a correction of the packing event.",
        )
        self.assertEqual(
            list(lot.events.exclude(kind="registration").values_list("kind", flat=True)), ["harvest", "packing"]
        )

    def test_a_packing_before_a_recorded_harvest_is_refused_naming_that_harvest(self):
        lot = self.lot(1, "growing")
        record(lot, "harvest", at(10, 6), Decimal("100"))
        message = refusal(lambda: record(lot, "packing", at(10, 5)))
        self.assertEqual(
            message,
            "Lot XJ-WAX-20260610-001 has no harvest recorded before 2026-06-10 13:00: record the harvest first, "
            "or check the time.",
        )
        record(lot, "harvest", at(10, 8), Decimal("50"))
        message = refusal(lambda: record(lot, "packing", at(10, 7)))
        self.assertEqual(
            message,
            "A harvest of lot XJ-WAX-20260610-001 is recorded at 2026-06-10 16:00, after this packing at "
            "2026-06-10 15:00, and cannot follow it: check the time, or record a correction of that harvest event.",
        )

    def test_a_growing_lot_takes_no_storage_event_and_cannot_be_shipped(self):
        lot = self.lot(1, "growing")
        for kind in ("cooling", "temperature", "packing"):
            self.assertIn("has no harvest recorded before", refusal(lambda kind=kind: record(lot, kind, at(10))))
        shipment = shipping.create_shipment(origin_village=self.village, store=make_store())
        self.assertEqual(
            refusal(lambda: shipping.add_item(shipment=shipment, batch=lot, quantity=Decimal("1"))),
            "Lot XJ-WAX-20260610-001 is still growing: record its harvest before shipping or using it.",
        )
        self.assertEqual(list(TraceEvent.objects.filter(batches=lot).values_list("kind", flat=True)), ["registration"])

    def test_quantities_beyond_the_lot_are_refused_one_event_or_added_up(self):
        lot = self.lot(1, "growing")
        self.assertEqual(
            refusal(lambda: record(lot, "harvest", at(10, 6), Decimal("250"))),
            "Lot XJ-WAX-20260610-001 holds 200.000 kg: an event cannot concern 250.000 kg. Record the extra as a "
            "new lot.",
        )
        record(lot, "harvest", at(10, 6), Decimal("150"))
        self.assertEqual(
            refusal(lambda: record(lot, "harvest", at(10, 7), Decimal("60"))),
            "Lot XJ-WAX-20260610-001 holds 200.000 kg and 150.000 kg of harvest are recorded already: 60.000 kg more "
            "would exceed it. Record the extra as a new lot, or record a correction of the earlier harvest event "
            "if its quantity is wrong.",
        )
        record(lot, "harvest", at(10, 7), Decimal("50"))
        self.assertEqual(sum(line.quantity for line in lot.event_lines.filter(event_kind="harvest")), Decimal("200"))

    def test_a_time_ahead_of_the_clock_by_more_than_the_one_tolerance_is_refused(self):
        lot = self.lot(1, "harvested")
        now = timezone.now()
        record(lot, "cooling", now + lifecycle.CLOCK_SKEW - timedelta(seconds=30), data={"temperature_c": 2})
        self.assertEqual(
            refusal(lambda: record(lot, "cooling", now + lifecycle.CLOCK_SKEW + timedelta(minutes=1))),
            "This time is in the future: check the device's clock.",
        )
        self.assertEqual(lifecycle.CLOCK_SKEW, timedelta(minutes=5))

    def test_voiding_the_packing_takes_the_lot_back_to_harvested_so_the_harvest_can_be_fixed(self):
        lot = self.lot(1, "packed")
        packing = lot.events.get(kind="packing")
        services.record_correction(event=packing, reason="did_not_occur", actor=self.carol, note="还没装箱")
        lot.refresh_from_db()
        self.assertEqual(lot.status, "harvested")
        harvest = lot.events.get(kind="harvest")
        _correction, replacement = services.record_correction(
            event=harvest, reason="incorrect_data", actor=self.carol, corrected_quantity=Decimal("180")
        )
        self.assertEqual(replacement.lines.get().quantity, Decimal("180"))
        self.assertEqual(
            list(TraceEvent.objects.effective().filter(batches=lot).values_list("kind", flat=True)),
            ["harvest", "registration"],
        )
        self.assertEqual(chain.verify_all(), [])

    def test_a_corrected_quantity_is_checked_against_the_lot_like_a_new_one(self):
        lot = self.lot(1, "harvested")
        harvest = lot.events.get(kind="harvest")
        self.assertIn(
            "an event cannot concern 250.000 kg",
            refusal(
                lambda: services.record_correction(
                    event=harvest, reason="incorrect_data", actor=self.carol, corrected_quantity=Decimal("250")
                )
            ),
        )
        self.assertEqual(harvest.corrections.count(), 0)


class TemperatureTests(English, TestCase):
    def setUp(self):
        super().setUp()
        village = make_village()
        farm = make_farm(village)
        self.wax = make_batch(farm, make_crop("WAX", storage_min_c=Decimal("0"), storage_max_c=Decimal("5")), "W-1")
        self.rice = make_batch(farm, make_crop("RIC"), "R-1")

    def test_a_physically_impossible_reading_is_refused(self):
        for value in ("-40", "-30.1", "60.5", "nan"):
            with self.subTest(value=value):
                self.assertEqual(
                    refusal(lambda value=value: record(self.wax, "cooling", at(12), data={"temperature_c": value})),
                    f"{value} °C is not a possible produce temperature (-30 to 60 °C): check the sensor.",
                )
        self.assertEqual(
            refusal(lambda: record(self.wax, "temperature", at(12), data={"temperature_c": "cold"})),
            "The temperature must be a number of degrees Celsius.",
        )
        self.assertEqual(TraceEvent.objects.count(), 0)

    def test_a_reading_outside_the_crops_storage_range_is_recorded_and_flagged(self):
        warm = record(self.wax, "temperature", at(12, 9), data={"temperature_c": 8.5})
        cold = record(self.wax, "cooling", at(12, 8), data={"temperature_c": -1, "excursion": False})
        fine = record(self.wax, "temperature", at(12, 10), data={"temperature_c": 3, "excursion": True})
        self.assertEqual(warm.data, {"temperature_c": 8.5, "excursion": True, "storage_range_c": [0.0, 5.0]})
        self.assertEqual(cold.data, {"temperature_c": -1, "excursion": True, "storage_range_c": [0.0, 5.0]})
        self.assertEqual(fine.data, {"temperature_c": 3})  # the flag is the server's, never the client's
        self.assertEqual(
            record(self.rice, "temperature", at(12), data={"temperature_c": 30}).data, {"temperature_c": 30}
        )
        self.assertEqual(list(TraceEvent.objects.excursions().order_by("pk")), [warm, cold])
        self.assertEqual(chain.verify_all(), [])


class SafetyHoldTests(English, TestCase):
    def setUp(self):
        super().setUp()
        self.s = Scenario()
        self.farmer = make_user("alice", role="farmer", village=self.s.village)

    def statuses(self) -> dict[str, str]:
        return dict(Batch.objects.values_list("lot_code", "status"))

    def fail_a_test(self, lot=None, actor=None):
        return record(lot or self.s.l1, "quality_test", at(16), data=FAILED, actor=actor or self.farmer)

    def test_a_failed_test_holds_the_lot_and_every_lot_made_from_it_at_once(self):
        before = self.statuses()
        test = self.fail_a_test()
        hold = Hold.objects.get()
        self.assertEqual(
            (hold.batch, hold.test_event, hold.opened_by, hold.is_open),
            (self.s.l1, test, self.farmer, True),
        )
        self.assertEqual(hold.reason, "Failed quality test 农药残留快速检测 (仙居县检测站): fail")
        held = {self.s.l1.lot_code, self.s.m1.lot_code, self.s.s1.lot_code, self.s.r1.lot_code}
        self.assertEqual(set(HoldLot.objects.values_list("batch__lot_code", flat=True)), held)
        self.assertEqual(
            self.statuses(), {lot: ("on_hold" if lot in held else status) for lot, status in before.items()}
        )
        self.assertEqual(
            dict(Batch.objects.filter(lot_code__in=held).values_list("lot_code", "status_before_hold")),
            {lot: before[lot] for lot in held},
        )

    def test_a_passed_or_unreadable_result_holds_nothing(self):
        record(self.s.l1, "quality_test", at(16), data=PASSED)
        record(self.s.l1, "quality_test", at(16, 9), data={"result": "送检中"})
        self.assertEqual((Hold.objects.count(), Batch.objects.held().count()), (0, 0))

    def test_a_held_lot_cannot_be_shipped_used_dispatched_or_take_events_but_tests_and_corrections(self):
        shipment = shipping.create_shipment(origin_village=self.s.village, store=self.s.store)
        shipping.add_item(shipment=shipment, batch=self.s.l3, quantity=Decimal("5"))
        self.fail_a_test(self.s.l3)
        message = "Lot XJ-WAX-20260610-003 is on hold and cannot be shipped or used until it is released."
        self.assertEqual(refusal(lambda: shipping.add_item(shipment=shipment, batch=self.s.l3, quantity=1)), message)
        self.assertEqual(
            refusal(lambda: shipping.dispatch_shipment(shipment=shipment)),
            "Lot XJ-WAX-20260610-003 is on hold; remove it before dispatch.",
        )
        self.assertEqual(
            refusal(
                lambda: services.transform_batches(
                    inputs=[(self.s.l3, Decimal("1"))], crop=self.s.crop, farm=self.s.farm_b, quantity=1, unit="kg"
                )
            ),
            message,
        )
        self.assertEqual(
            refusal(lambda: record(self.s.l3, "cooling", at(17), data={"temperature_c": 2})),
            "Lot XJ-WAX-20260610-003 is on hold: until it is released only quality tests and corrections can be "
            "recorded.",
        )
        retest = record(self.s.l3, "quality_test", at(17), data=PASSED)
        services.record_correction(event=retest, reason="did_not_occur", actor=self.s.coordinator)
        shipment.refresh_from_db()
        self.assertEqual((shipment.status, Batch.objects.get(pk=self.s.l3.pk).allocated_quantity), ("draft", 5))

    def test_releasing_records_the_decision_and_gives_each_lot_back_its_state(self):
        before = self.statuses()
        self.fail_a_test()
        hold = services.decide_hold(
            hold=Hold.objects.get(), decision="released", actor=self.s.coordinator, note="复检合格，报告 R-7"
        )
        self.assertEqual(self.statuses(), before)
        self.assertEqual(
            (hold.decision, hold.decided_by, hold.decision_note, hold.is_open, hold.recall),
            ("released", self.s.coordinator, "复检合格，报告 R-7", False, None),
        )
        event = hold.decision_event
        self.assertEqual(
            (event.kind, event.actor, event.village), ("hold_decision", self.s.coordinator, self.s.village)
        )
        self.assertEqual(event.data["decision"], "released")
        self.assertEqual(event.data["note"], "复检合格，报告 R-7")
        self.assertEqual(
            set(event.lines.values_list("batch__lot_code", flat=True)),
            {self.s.l1.lot_code, self.s.m1.lot_code, self.s.s1.lot_code, self.s.r1.lot_code},
        )
        self.assertEqual(chain.verify_all(), [])
        with self.assertRaisesMessage(services.HoldStateError, "This hold is already decided."):
            services.decide_hold(hold=hold, decision="recalled", actor=self.s.coordinator)

    def test_recalling_turns_the_hold_into_a_recall_of_the_tested_lot(self):
        self.fail_a_test(self.s.m1)
        hold = services.decide_hold(hold=Hold.objects.get(), decision="recalled", actor=self.s.coordinator, note="销毁")
        recall = Recall.objects.get()
        self.assertEqual(
            (hold.decision, hold.recall, recall.batch, recall.is_open), ("recalled", recall, self.s.m1, True)
        )
        self.assertEqual(recall.reason, "Failed quality test 农药残留快速检测 (仙居县检测站): fail\n销毁")
        statuses = self.statuses()
        self.assertEqual(
            [statuses[lot.lot_code] for lot in (self.s.l1, self.s.m1, self.s.s1, self.s.r1)],
            ["packed", "recalled", "on_hold", "on_hold"],
        )
        services.close_recall(recall=recall, actor=self.s.coordinator, note="已处理")
        self.assertEqual(Batch.objects.held().count(), 0)

    def test_a_lot_held_twice_stays_held_until_both_are_lifted(self):
        self.fail_a_test(self.s.r1)
        recall = services.open_recall(batch=self.s.l1, reason="召回", actor=self.s.coordinator)
        services.close_recall(recall=recall, actor=self.s.coordinator)
        self.assertEqual(Batch.objects.get(pk=self.s.r1.pk).status, "on_hold")  # the failed test still holds it
        self.assertEqual(Batch.objects.get(pk=self.s.l1.pk).status, "packed")
        services.decide_hold(hold=Hold.objects.get(), decision="released", actor=self.s.coordinator, note="复检合格")
        self.assertEqual(Batch.objects.get(pk=self.s.r1.pk).status, "packed")

    def test_only_those_who_may_recall_the_lot_decide_and_a_decision_is_never_corrected(self):
        self.fail_a_test()
        hold = Hold.objects.get()
        with self.assertRaisesMessage(services.NotAllowed, "You may not decide the hold of lot XJ-WAX-20260610-001."):
            services.decide_hold(hold=hold, decision="released", actor=self.farmer, note="我觉得没问题")
        self.assertTrue(Hold.objects.get().is_open)
        hold = services.decide_hold(hold=hold, decision="released", actor=self.s.coordinator, note="复检合格")
        with self.assertRaisesMessage(services.CorrectionRefused, "A hold decision cannot be corrected"):
            services.record_correction(event=hold.decision_event, reason="did_not_occur", actor=self.s.coordinator)

    def test_the_consumer_page_of_a_shipment_warns_at_once_when_a_test_of_its_lot_fails(self):
        """Item 5: the page showed the failure under a green badge and no warning."""
        page = f"/s/{self.s.shipment.public_code}"
        self.assertNotIn("Safety hold", self.client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode())
        with self.captureOnCommitCallbacks(execute=True):  # the page's cache hears of it after the commit
            self.fail_a_test(self.s.l1)  # R1, in the shipment, was made from L1
        html = self.client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        alert = html[html.index('role="alert"') : html.index("</section>")]
        self.assertIn("Safety hold: please do not eat", alert)  # names the product (shipments.page_state)
        held_card = html[html.index("On hold: do not eat for now") :]
        self.assertIn(self.s.r1.lot_code, held_card[: held_card.index("</section>")])

    def test_the_lot_page_offers_the_decision_to_those_who_may_take_it(self):
        self.fail_a_test()
        form = f'action="/holds/{Hold.objects.get().pk}/released/"'
        self.client.force_login(self.farmer)
        page = self.client.get(f"/batches/{self.s.l1.lot_code}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        self.assertIn("Safety hold", page)
        self.assertNotIn(form, page)
        self.assertNotIn("/record/cooling/", page)  # a held lot offers quality tests only
        self.assertIn("/record/quality_test/", page)
        self.client.force_login(self.s.coordinator)
        self.assertIn(form, self.client.get(f"/batches/{self.s.l1.lot_code}/").content.decode())

    def test_a_correction_that_turns_a_test_into_a_failure_holds_the_lot(self):
        test = record(self.s.l3, "quality_test", at(16), data=PASSED)
        _correction, replacement = services.record_correction(
            event=test, reason="incorrect_data", actor=self.s.coordinator, corrected_data={"result": "不合格"}
        )
        self.assertEqual(Hold.objects.get().test_event, replacement)
        self.assertEqual(Batch.objects.get(pk=self.s.l3.pk).status, "on_hold")

"""The auditor's trace page and the API's trace say whether every event behind a lot verified at
the last verification run, and when the last anchor covering them was made."""

from contextlib import suppress
from datetime import datetime
from io import StringIO

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase, override_settings
from django.utils import timezone

from tests.support import anchor_key, api_client, in_english, make_user
from tests.traceability.scenario import Scenario, at
from tests.traceability.test_verification import tamper
from traceability.models import Anchor, ChainCheck, TraceEvent
from traceability.services import record_batch_event

V1 = "/api/v1"
parse = datetime.fromisoformat


@override_settings(ANCHOR_SIGNING_KEY=anchor_key(), ANCHOR_SIGNING_KEY_FILE="", ANCHOR_PUBLIC_KEYS=[])
class TraceVerificationTests(TestCase):
    def setUp(self):
        in_english(self)
        self.s = Scenario(registered=True)
        self.auditor = make_user("audrey", role="auditor")

    def verification(self, lot) -> dict:
        response = api_client(self.auditor).get(f"{V1}/batches/{lot.lot_code}/trace/")
        self.assertEqual(response.status_code, 200)
        return response.json()["verification"]

    def page(self, lot) -> str:
        self.client.force_login(self.auditor)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return self.client.get("/trace/", {"lot": lot.lot_code}).content.decode()

    def events_behind(self, *lots) -> int:
        return TraceEvent.objects.filter(lines__batch__in=lots).distinct().count()

    def check_and_anchor(self):
        call_command("anchor_chains", stdout=StringIO())
        call_command("verify_events", stdout=StringIO(), stderr=StringIO())

    def test_nothing_is_claimed_before_a_verification_run(self):
        n = self.events_behind(self.s.l1, self.s.l2, self.s.m1, self.s.s1, self.s.r1)
        self.assertEqual(
            self.verification(self.s.m1),
            {
                "verified": False, "verified_at": None, "anchored": False, "anchored_at": None, "recorded": True,
                "unverified": {"XJ": n}, "unanchored": {"XJ": n}, "problems": [],
            },
        )  # fmt: skip
        html = self.page(self.s.m1)
        self.assertIn("Not verified yet: events behind this trace were recorded after the last verification.", html)
        self.assertIn("Not anchored yet: events behind this trace were recorded after the last signed anchor.", html)

    def test_after_verifying_and_anchoring_the_trace_says_so_with_both_times(self):
        self.check_and_anchor()
        check, anchor = ChainCheck.objects.get(), Anchor.objects.get()
        body = self.verification(self.s.m1)
        self.assertEqual(
            (body["verified"], parse(body["verified_at"]), body["anchored"], parse(body["anchored_at"])),
            (True, check.verified_at, True, anchor.created_at),
        )
        html = self.page(self.s.m1)
        local = timezone.localtime(check.verified_at)
        self.assertIn(f"Every event behind this trace verified on {local:%Y-%m-%d %H:%M}.", html)
        anchored = timezone.localtime(anchor.created_at)
        self.assertIn(f"Covered by the signed anchor of {anchored:%Y-%m-%d %H:%M}.", html)

    def test_an_event_recorded_after_the_run_unverifies_the_traces_it_is_behind_only(self):
        self.check_and_anchor()
        record_batch_event(batch=self.s.l1, kind="temperature", occurred_at=at(16), data={"temperature_c": 5})
        body = self.verification(self.s.m1)
        self.assertEqual(
            (body["verified"], body["unverified"], body["anchored"], body["unanchored"], body["verified_at"]),
            (False, {"XJ": 1}, False, {"XJ": 1}, None),
        )
        self.assertEqual(self.verification(self.s.l3)["verified"], True)

    def test_a_failed_run_shows_its_problem_on_the_trace(self):
        self.check_and_anchor()
        tamper(("UPDATE traceability_batch SET quantity = 150 WHERE id = %s", [self.s.l3.pk]))
        with self.assertRaises(CommandError):
            call_command("verify_events", stdout=StringIO(), stderr=StringIO())
        registration = TraceEvent.objects.get(kind="registration", lines__batch=self.s.l3)
        problem = (
            f"lot {self.s.l3}: quantity is 150 in the lots table, 60 in the chain "
            f"(registration event, village XJ seq {registration.seq})"
        )
        body = self.verification(self.s.m1)
        self.assertEqual((body["verified"], body["problems"]), (False, [f"XJ: {problem}"]))
        n = self.events_behind(self.s.l1, self.s.l2, self.s.m1, self.s.s1, self.s.r1)
        self.assertEqual(body["unverified"], {"XJ": n})
        html = self.page(self.s.m1)
        self.assertIn("Verification failed: the record behind this trace does not match its hash chain.", html)
        self.assertIn(f"XJ: {problem}", html)

    def test_a_lot_with_no_event_claims_nothing(self):
        from tests.support import make_batch

        bare = make_batch(self.s.farm_b, self.s.crop, "XJ-WAX-20260610-009")
        self.check_and_anchor_ignoring_problems()
        body = self.verification(bare)
        self.assertEqual((body["recorded"], body["verified"], body["anchored"]), (False, False, False))
        self.assertIn("No event has been recorded for these lots.", self.page(bare))

    def test_many_new_events_are_matched_from_the_lots_side(self):
        from traceability import verification

        self.check_and_anchor()
        record_batch_event(batch=self.s.l1, kind="temperature", occurred_at=at(16), data={"temperature_c": 5})
        record_batch_event(batch=self.s.l3, kind="temperature", occurred_at=at(16), data={"temperature_c": 5})
        before = verification.NEW_LINES_READ
        verification.NEW_LINES_READ = 1  # fewer than the new lines: the other way round
        self.addCleanup(setattr, verification, "NEW_LINES_READ", before)
        body = self.verification(self.s.m1)
        self.assertEqual((body["unverified"], body["unanchored"]), ({"XJ": 1}, {"XJ": 1}))

    def check_and_anchor_ignoring_problems(self):
        call_command("anchor_chains", stdout=StringIO())
        with suppress(CommandError):  # the bare lot has no registration: its chain does not verify
            call_command("verify_events", stdout=StringIO(), stderr=StringIO())

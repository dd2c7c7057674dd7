"""The consumer page says "record verified on <date>" only while it is true: the events behind
the page verified clean at the last verification run and are covered by a signed anchor."""

from io import StringIO

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase, override_settings
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext

from tests.support import anchor_key
from tests.traceability.scenario import Scenario, at
from tests.traceability.test_verification import tamper
from traceability.models import ChainCheck
from traceability.services import record_batch_event


@override_settings(ANCHOR_SIGNING_KEY=anchor_key(), ANCHOR_SIGNING_KEY_FILE="", ANCHOR_PUBLIC_KEYS=[])
class RecordVerifiedTests(TestCase):
    def setUp(self):
        self.s = Scenario(registered=True)
        self.url = self.s.shipment.public_path

    def claim(self) -> str:
        day = timezone.localdate(ChainCheck.objects.get().verified_at)
        with translation.override("zh-hans"):
            return gettext("Record verified on %(date)s") % {"date": date_format(day)}

    def page(self) -> str:
        return self.client.get(self.url).content.decode()

    def run_checks(self, *commands: str) -> None:
        # Runs announce() after commit, as in production, so cached pages are replaced at once.
        with self.captureOnCommitCallbacks(execute=True):
            for command in commands:
                call_command(command, stdout=StringIO(), stderr=StringIO())

    def test_the_page_claims_nothing_before_the_record_is_verified_and_anchored(self):
        self.assertNotIn('id="record-verified"', self.page())
        self.run_checks("verify_events")  # verified but not anchored: still nothing
        self.assertNotIn('id="record-verified"', self.page())

    def test_a_verified_and_anchored_record_says_so_in_the_visitors_language(self):
        self.run_checks("anchor_chains", "verify_events")
        html = self.page()
        self.assertIn(f'<p class="muted" id="record-verified">✓ {self.claim()}</p>', html)
        self.assertIn("记录已于", html)

    def test_an_event_recorded_since_the_run_withdraws_the_claim(self):
        self.run_checks("anchor_chains", "verify_events")
        self.assertIn('id="record-verified"', self.page())
        with self.captureOnCommitCallbacks(execute=True):
            record_batch_event(batch=self.s.r1, kind="temperature", occurred_at=at(15, 9), data={"temperature_c": 4})
        self.assertNotIn('id="record-verified"', self.page())

    def test_a_run_that_finds_tampering_withdraws_the_claim_from_a_cached_page(self):
        self.run_checks("anchor_chains", "verify_events")
        self.assertIn('id="record-verified"', self.page())  # now cached
        tamper(("UPDATE traceability_batch SET quantity = 150 WHERE id = %s", [self.s.l3.pk]))
        with self.captureOnCommitCallbacks(execute=True), self.assertRaises(CommandError):
            call_command("verify_events", stdout=StringIO(), stderr=StringIO())
        self.assertNotIn('id="record-verified"', self.page())

"""manage.py export_fsma, export_epcis and export_eu: a lot or a date range to a file; bad
arguments are refused with the reason."""

import json
from pathlib import Path
from tempfile import TemporaryDirectory

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase
from django.utils import translation
from openpyxl import load_workbook

from tests.traceability.exports.support import EXPECTED_FSMA, epcis_validator, requires_schema
from tests.traceability.scenario import Scenario


class ExportCommandTests(TestCase):
    def setUp(self):
        translation.activate("en")  # messages are asserted in English
        self.addCleanup(translation.deactivate)
        self.s = Scenario()

    @requires_schema
    def test_the_commands_write_the_files_and_refuse_a_bad_range(self):
        with TemporaryDirectory() as tmp:
            out = Path(tmp)
            call_command("export_fsma", "--lot", self.s.m1.lot_code, "--format", "xlsx", "--output", out / "f.xlsx")
            call_command("export_fsma", "--from", "2026-06-14", "--to", "2026-06-15", "--output", out / "f.csv")
            call_command("export_epcis", "--lot", self.s.m1.lot_code, "--output", out / "e.json")
            call_command("export_eu", "--lot", self.s.m1.lot_code, "--output", out / "eu.csv")
            self.assertEqual(load_workbook(out / "f.xlsx").active.max_row, len(EXPECTED_FSMA) + 1)
            self.assertEqual((out / "f.csv").read_text("utf-8-sig").count("\n"), 4)
            self.assertEqual(list(epcis_validator().iter_errors(json.loads((out / "e.json").read_text()))), [])
            self.assertEqual((out / "eu.csv").read_text("utf-8-sig").count("\n"), 3)
        with self.assertRaisesMessage(CommandError, "The end date is before the start date."):
            call_command("export_eu", "--from", "2026-06-14", "--to", "2026-06-01")
        with self.assertRaisesMessage(CommandError, "Unknown lot code"):
            call_command("export_epcis", "--lot", "NOPE")
        with self.assertRaisesMessage(CommandError, "Give either --lot LOTCODE or --from DATE and --to DATE."):
            call_command("export_epcis")

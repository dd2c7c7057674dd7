"""The FSMA 204 spreadsheet: the required columns, exactly the closure's events, CSV and XLSX alike,
corrected events left out; PostgreSQL's and the portable reading agree."""

import csv
import io

from django.test import TestCase
from django.utils import translation
from openpyxl import load_workbook

from farms.models import Farm
from tests.support import requires_postgres
from tests.traceability.exports.support import EXPECTED_FSMA, GLN, PRODUCT
from tests.traceability.scenario import Scenario
from traceability import exports
from traceability.exports import fsma
from traceability.models import TraceEvent
from traceability.services import record_correction


class FsmaSpreadsheetTests(TestCase):
    def setUp(self):
        translation.activate("en")  # messages are asserted in English
        self.addCleanup(translation.deactivate)
        self.s = Scenario()

    def test_a_lot_export_has_the_required_columns_and_exactly_its_closures_events(self):
        rows = exports.fsma_rows(exports.events_for_lot(self.s.m1))
        self.assertEqual([row[:-1] for row in rows], EXPECTED_FSMA)
        self.assertEqual(rows[3][-1], f"urn:uuid:{self.s.mixing.client_id}")
        self.assertEqual(
            exports.FSMA_COLUMNS[:8],
            ["Critical tracking event", "Event date", "Event time", "Traceability lot code", "Product description",
             "Quantity", "Unit of measure", "Location description"],
        )  # fmt: skip

    def test_the_csv_and_the_xlsx_carry_the_same_rows(self):
        events = exports.events_for_lot(self.s.m1)
        text = exports.fsma_csv(events).decode("utf-8-sig")
        from_csv = list(csv.reader(io.StringIO(text)))
        self.assertEqual(from_csv[0], exports.FSMA_COLUMNS)
        self.assertEqual([row[:-1] for row in from_csv[1:]], EXPECTED_FSMA)
        sheet = load_workbook(io.BytesIO(exports.fsma_xlsx(events))).active
        from_xlsx = [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]
        self.assertEqual(from_xlsx, from_csv)

    def test_the_xlsx_is_one_frozen_filterable_sheet_of_text_cells(self):
        # Markup, Chinese and a control character in a name reach the sheet through the export.
        Farm.objects.filter(pk=self.s.farm_a.pk).update(name_zh="王家果园 <A&B>\x01")
        book = load_workbook(io.BytesIO(exports.fsma_xlsx(exports.events_for_lot(self.s.m1))))
        sheet = book.active
        self.assertEqual(book.sheetnames, ["FSMA 204"])
        self.assertEqual(sheet.freeze_panes, "A2")
        self.assertEqual(sheet.auto_filter.ref, "A1:T10")
        rows = list(sheet.iter_rows(values_only=True))
        self.assertEqual(rows[0], tuple(exports.FSMA_COLUMNS))
        # Excel stores the control character as _x0001_ and shows it decoded (so does LibreOffice);
        # openpyxl gives the stored form.
        source = "王家果园 <A&B>_x0001_, 仙居县杨梅村"
        self.assertEqual(
            rows[3],
            ("Initial packing", "2026-06-10", "2026-06-10T20:00:00+08:00", "XJ-WAX-20260610-001", PRODUCT, "100",
             "kg", "王家果园", GLN, None, None, None, None, source, GLN, None, None, None, None,
             f"urn:uuid:{TraceEvent.objects.get(kind='packing').client_id}"),
        )  # fmt: skip
        self.assertEqual([row[13] for row in rows[1:]], [source] * len(EXPECTED_FSMA))
        # Every cell is text: dates, quantities and GLNs stay as written.
        self.assertEqual({cell.data_type for row in sheet.iter_rows() for cell in row if cell.value}, {"s"})

    def test_a_corrected_event_leaves_the_spreadsheet(self):
        packing = TraceEvent.objects.get(kind="packing")
        record_correction(event=packing, reason="did_not_occur", actor=self.s.coordinator, note="recorded twice")
        rows = exports.fsma_rows(exports.events_for_lot(self.s.m1))
        self.assertEqual([row[:-1] for row in rows], EXPECTED_FSMA[:2] + EXPECTED_FSMA[3:])


class FsmaPathsAgreeTests(TestCase):
    @requires_postgres
    def test_the_postgres_and_the_portable_fsma_lines_are_the_same(self):
        s = Scenario()
        effective = exports.events_for_lot(s.m1).order_by().exclude(corrections__isnull=False)
        effective = effective.filter(kind__in=list(exports.FSMA_CTES))
        fast = fsma._fsma_lines_postgres(list(effective.values_list("pk", flat=True)))
        portable = fsma._fsma_lines_portable(effective.values("pk"))
        self.assertEqual((sorted(fast[0]), fast[1]), (sorted(portable[0]), portable[1]))
        self.assertEqual(fast[1][s.mixing.pk], f"{s.l1.lot_code} 40 kg; {s.l2.lot_code} 30 kg")

"""The FSMA 204 spreadsheet: the rule's columns, exactly the closure's events, one row per
transformation input, CSV and XLSX alike (typed dates and quantities in the workbook), corrected
events left out; PostgreSQL's and the portable reading agree."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from django.test import TestCase
from django.utils import translation
from openpyxl import load_workbook

from farms.models import Farm
from tests.support import requires_postgres
from tests.traceability.exports.support import EXPECTED_FSMA, FARM, GLN
from tests.traceability.scenario import Scenario
from traceability import exports
from traceability.exports import fsma
from traceability.exports.rows import qty
from traceability.models import TraceEvent
from traceability.services import record_correction


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_as_text(content: bytes) -> list[list[str]]:
    """The workbook's cells as the CSV writes them: dates ISO, numbers without trailing zeros."""
    sheet = load_workbook(io.BytesIO(content)).active

    def text(value):
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, int | float):
            return qty(Decimal(str(value)))
        return value

    return [[text(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]


class FsmaSpreadsheetTests(TestCase):
    def setUp(self):
        translation.activate("en")  # messages are asserted in English
        self.addCleanup(translation.deactivate)
        self.s = Scenario()

    def test_a_lot_export_has_the_rules_columns_and_exactly_its_closures_events(self):
        rows = csv_rows(exports.fsma_csv(exports.events_for_lot(self.s.m1)))
        self.assertEqual(rows[0], exports.FSMA_COLUMNS)
        self.assertEqual([row[:-1] for row in rows[1:]], EXPECTED_FSMA)
        self.assertEqual(rows[4][-1], f"urn:uuid:{self.s.mixing.client_id}")
        self.assertEqual(rows[5][-1], f"urn:uuid:{self.s.mixing.client_id}")

    def test_a_transformation_has_one_sortable_row_per_input_lot(self):
        rows = exports.fsma_rows(exports.events_for_lot(self.s.r1))
        column = exports.FSMA_COLUMNS.index
        inputs = [
            (row[column("Traceability lot code")], row[column("Input traceability lot code")],
             row[column("Input quantity")], row[column("Input unit of measure")])
            for row in rows if row[0] == "Transformation"
        ]  # fmt: skip
        self.assertEqual(
            inputs,
            [
                ("XJ-WAX-20260611-001", "XJ-WAX-20260610-001", Decimal("40"), "kg"),
                ("XJ-WAX-20260611-001", "XJ-WAX-20260610-002", Decimal("30"), "kg"),
                ("XJ-WAX-20260612-001", "XJ-WAX-20260611-001", Decimal("50"), "kg"),
                ("XJ-WAX-20260613-001", "XJ-WAX-20260610-001", Decimal("10"), "kg"),
                ("XJ-WAX-20260613-001", "XJ-WAX-20260612-001", Decimal("20"), "kg"),
            ],
        )

    def test_the_csv_and_the_xlsx_carry_the_same_content(self):
        events = exports.events_for_lot(self.s.m1)
        from_csv = csv_rows(exports.fsma_csv(events))
        self.assertEqual([row[:-1] for row in from_csv[1:]], EXPECTED_FSMA)
        self.assertEqual(xlsx_as_text(exports.fsma_xlsx(events)), from_csv)

    def test_the_xlsx_is_one_frozen_filterable_sheet_with_typed_dates_and_quantities(self):
        # Markup, Chinese and a control character in a name reach the sheet through the export.
        Farm.objects.filter(pk=self.s.farm_a.pk).update(name_zh="王家果园 <A&B>\x01")
        book = load_workbook(io.BytesIO(exports.fsma_xlsx(exports.events_for_lot(self.s.m1))))
        sheet = book.active
        self.assertEqual(book.sheetnames, ["FSMA 204"])
        self.assertEqual(sheet.freeze_panes, "A2")
        self.assertEqual(sheet.auto_filter.ref, f"A1:AI{len(EXPECTED_FSMA) + 1}")
        rows = list(sheet.iter_rows(values_only=True))
        self.assertEqual(rows[0], tuple(exports.FSMA_COLUMNS))
        # Excel stores the control character as _x0001_ and shows it decoded (so does LibreOffice);
        # openpyxl gives the stored form.
        farm = FARM.replace("王家果园", "王家果园 <A&B>_x0001_")
        packing = dict(zip(exports.FSMA_COLUMNS, rows[3], strict=True))
        self.assertEqual(
            [packing[name] for name in ("Critical tracking event", "Traceability lot code", "Quantity", "Event date")],
            ["Initial packing", "XJ-WAX-20260610-001", 100, datetime(2026, 6, 10)],
        )
        self.assertEqual(
            [packing[name] for name in ("Location description", "Harvest date", "Cooling date")],
            [farm, datetime(2026, 6, 10), datetime(2026, 6, 10)],
        )
        self.assertEqual(packing["Event ID"], f"urn:uuid:{TraceEvent.objects.get(kind='packing').client_id}")
        typed = {
            name: {cell.data_type for cell in column[1:] if cell.value is not None}
            for name, column in zip(exports.FSMA_COLUMNS, sheet.iter_cols(), strict=True)
        }
        self.assertEqual((typed["Event date"], typed["Harvest date"], typed["Quantity"]), ({"d"}, {"d"}, {"n"}))
        self.assertTrue(all(sheet.cell(row, 9).number_format == "yyyy\\-mm\\-dd" for row in range(2, len(rows))))
        # Lot codes, GLNs and document numbers stay text.
        for name in ("Traceability lot code", "Location GLN", "Reference document number", "Event time"):
            self.assertEqual(typed[name], {"s"}, name)
        self.assertEqual({row[24] for row in rows[1:]}, {GLN})

    def test_a_corrected_event_leaves_the_spreadsheet(self):
        packing = TraceEvent.objects.get(kind="packing")
        record_correction(event=packing, reason="did_not_occur", actor=self.s.coordinator, note="recorded twice")
        rows = csv_rows(exports.fsma_csv(exports.events_for_lot(self.s.m1)))
        self.assertEqual([row[:-1] for row in rows[1:]], EXPECTED_FSMA[:2] + EXPECTED_FSMA[3:])


class FsmaCellTests(TestCase):
    def test_a_cell_is_written_as_text_the_same_way_in_csv_and_for_comparison(self):
        self.assertEqual(
            [fsma.cell_text(value) for value in (None, date(2026, 6, 1), Decimal("12.500"), Decimal("1E+2"), "x")],
            ["", "2026-06-01", "12.5", "100", "x"],
        )


class FsmaPathsAgreeTests(TestCase):
    @requires_postgres
    def test_the_postgres_and_the_portable_fsma_lines_are_the_same(self):
        s = Scenario()
        effective = exports.events_for_lot(s.m1).order_by().exclude(corrections__isnull=False)
        effective = effective.filter(kind__in=list(exports.FSMA_CTES))
        fast = fsma._fsma_lines_postgres(list(effective.values_list("pk", flat=True)))
        portable = fsma._fsma_lines_portable(effective.values("pk"))
        self.assertEqual(sorted(fast), sorted(portable))
        self.assertEqual(
            sorted((line.batch_id, line.quantity) for line in fast if line.event_id == s.mixing.pk),
            [(s.l1.pk, Decimal("40")), (s.l2.pk, Decimal("30")), (s.m1.pk, Decimal("70"))],
        )

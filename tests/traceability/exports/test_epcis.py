"""EPCIS 2.0: the document validates against the official schema, corrections are error
declarations, lots without a GTIN get an HTTP class URI."""

import copy
import json

from django.test import TestCase

from tests.traceability.exports.support import epcis_validator, requires_schema
from tests.traceability.scenario import Scenario
from traceability import exports
from traceability.models import TraceEvent
from traceability.services import record_correction


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

"""EPCIS 2.0: the document validates against the official schema and passes semantic checks
written from EPCIS 2.0 and CBV 2.0 (tests/traceability/exports/epcis_checks.py): Rec 20 units,
identifiers GS1 parsers accept or the app serves, ILMD, CBV business transactions, party keys,
offsets where events happened, recalls, AggregationEvents for SSCCs, corrections as error
declarations."""

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext

from shipments import services as shipping
from tests.support import make_batch, make_crop, make_farm, make_user, make_village
from tests.traceability.exports import epcis_checks
from tests.traceability.exports.support import epcis_validator, requires_schema
from tests.traceability.scenario import Scenario, at
from traceability import exports, identifiers
from traceability.models import Batch, EventBatch, TraceEvent
from traceability.services import close_recall, open_recall, record_batch_event, record_correction, record_event

BASE = "http://127.0.0.1:8000"
VILLAGE_SGLN = "urn:epc:id:sgln:9520000.00001.0"
STORE_SGLN = "urn:epc:id:sgln:9520000.00003.0"
GLN = "9520000000011"
LONG_LOT = "XJ-WAX-20260610-LONG-LOT-CODE-0123456789"  # 40 characters: the API accepts it


def lgtin(lot: str) -> str:
    return f"urn:epc:class:lgtin:9520000.000001.{lot}"


class World(Scenario):
    """The Scenario's genealogy and shipments (the retailer has a GS1 company prefix, so they have
    SSCCs), a corrected cooling record, a recall of L1 opened and closed, a 40-character lot code
    of a crop with a GTIN, in crates, and a lot in boxes of a crop without one."""

    def __init__(self):
        super().__init__(ship=False)
        shipping.set_company_prefix(retailer=self.retailer, prefix="9520000")
        self.shipment = shipping.create_shipment(
            origin_village=self.village, store=self.store, carrier="京东冷链", reference="BOL-001"
        )
        shipping.add_item(shipment=self.shipment, batch=self.r1, quantity=Decimal("10"))
        shipping.dispatch_shipment(shipment=self.shipment, when=at(14))
        shipping.receive_shipment(shipment=self.shipment, when=at(15))
        self.shipment.refresh_from_db()
        cooling = TraceEvent.objects.get(kind="cooling")
        self.correction, self.replacement = record_correction(
            event=cooling, reason="incorrect_data", actor=self.coordinator, corrected_data={"temperature_c": 3.5}
        )
        self.long = make_batch(self.farm_a, self.crop, LONG_LOT, quantity="12", unit="crate")
        record_batch_event(
            batch=self.long, kind="harvest", occurred_at=at(10, 9), quantity=Decimal("12"), actor=self.coordinator
        )
        self.tea = make_crop(
            "TEA", name_zh="龙井茶", name_en="Longjing tea", variety_zh="龙井43", variety_en="Longjing 43"
        )
        self.t1 = make_batch(self.farm_b, self.tea, "XJ-TEA-20260610-001", quantity="5", unit="box")
        record_batch_event(
            batch=self.t1,
            kind="harvest",
            occurred_at=at(10, 9),
            quantity=Decimal("5"),
            data={"reference_document": "TAG-42", "harvester_name": "李采茶", "harvester_phone": "13900000000"},
            actor=self.coordinator,
        )
        self.recall = open_recall(batch=self.l1, reason="Listeria in a sample", actor=self.coordinator)
        self.recall = close_recall(recall=self.recall, actor=self.coordinator, note="Destroyed")
        for lot in (self.l1, self.m1, self.s1, self.r1):
            lot.refresh_from_db()


def document_of(*lots: Batch) -> dict:
    events = TraceEvent.objects.none()
    for lot in lots:
        events = events | exports.events_for_lot(lot)
    return json.loads(exports.epcis_json(events.distinct()))


def by_kind(document: dict, kind: str) -> list[dict]:
    return [e for e in document["epcisBody"]["eventList"] if e.get("tr:kind") == kind]


class EpcisDocumentTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = World()

    def setUp(self):
        self.document = document_of(self.w.l1, self.w.l3, self.w.long, self.w.t1)
        self.events = self.document["epcisBody"]["eventList"]

    @requires_schema
    def test_the_whole_world_validates_against_the_schema_and_the_semantic_checks(self):
        self.assertEqual(list(epcis_validator().iter_errors(self.document)), [])
        self.assertEqual(epcis_checks.problems(self.document, self.client), [])
        self.assertEqual(
            [(e["type"], e.get("bizStep"), e.get("tr:kind")) for e in self.events],
            [
                ("ObjectEvent", "commissioning", "harvest"),
                ("ObjectEvent", "commissioning", "harvest"),
                ("ObjectEvent", "commissioning", "harvest"),
                ("ObjectEvent", "storing", "cooling"),
                ("ObjectEvent", "storing", "cooling"),
                ("ObjectEvent", "storing", "cooling"),
                ("ObjectEvent", "packing", "packing"),
                ("TransformationEvent", f"{BASE}/ns/trace#mixing", "transformation"),
                ("TransformationEvent", f"{BASE}/ns/trace#sorting", "transformation"),
                ("TransformationEvent", "repackaging", "transformation"),
                ("ObjectEvent", "shipping", "shipping"),
                ("AggregationEvent", "packing", None),
                ("ObjectEvent", "receiving", "receiving"),
                ("AggregationEvent", "unpacking", None),
                ("ObjectEvent", "holding", "recall"),
                ("ObjectEvent", f"{BASE}/ns/trace#closing_recall", "recall_closed"),
            ],
        )

    def test_units_are_current_rec_20_codes(self):
        long, tea = (by_kind(self.document, "harvest")[i]["quantityList"] for i in (1, 2))
        self.assertEqual(tea, [{"epcClass": f"{BASE}/id/lot/XJ-TEA-20260610-001", "quantity": 5.0, "uom": "XBX"}])
        self.assertEqual(long, [{"epcClass": f"{BASE}/id/lot/{LONG_LOT}", "quantity": 12.0, "uom": "XCR"}])
        self.assertEqual(exports.UOM, {"kg": "KGM", "box": "XBX", "crate": "XCR", "piece": "H87"})

    def test_a_lot_code_beyond_gs1_ai_10_and_a_crop_without_gtin_get_served_uris_with_the_gtin_in_the_ilmd(self):
        l1, long, tea = by_kind(self.document, "harvest")
        self.assertEqual(l1["quantityList"][0]["epcClass"], lgtin("XJ-WAX-20260610-001"))
        self.assertEqual(long["ilmd"]["gs1:gtin"], "09520000000011")
        self.assertNotIn("gs1:gtin", tea["ilmd"])
        self.assertNotIn("gs1:gtin", l1["ilmd"])
        for uri in (long["quantityList"][0]["epcClass"], tea["quantityList"][0]["epcClass"]):
            response = self.client.get(uri.removeprefix(BASE))
            self.assertEqual(response.status_code, 200, uri)

    @override_settings(GS1_COMPANY_PREFIX_LENGTH=9)
    def test_the_company_prefix_length_is_a_setting(self):
        self.assertEqual(exports.lot_class_uri("L1", "09520000000011"), "urn:epc:class:lgtin:952000000.0001.L1")
        self.assertEqual(identifiers.sgln("9520000000011"), "urn:epc:id:sgln:952000000.001.0")
        self.assertEqual(identifiers.pgln("9520000000028"), "urn:epc:id:pgln:952000000.002")

    def test_ilmd_on_commissioning_and_transformation_events_as_cbv_names_it(self):
        harvest = by_kind(self.document, "harvest")[0]
        farm_a, farm_b = (f"{BASE}/id/farm/{farm.pk}" for farm in (self.w.farm_a, self.w.farm_b))
        self.assertEqual(
            harvest["ilmd"],
            {
                "cbvmda:lotNumber": "XJ-WAX-20260610-001",
                "cbvmda:harvestStartDate": "2026-06-10T16:00:00+08:00",
                "cbvmda:harvestEndDate": "2026-06-10T16:00:00+08:00",
                "cbvmda:countryOfOrigin": "CN",
                "cbvmda:farmList": [{"cbvmda:farmIdentifierType": "URI", "cbvmda:farmIdentifier": farm_a}],
                "tr:field": "东坡地",
            },
        )
        mixing = by_kind(self.document, "transformation")[0]
        # M1 was made from L1 (harvested on the 10th) and L2 (no harvest record: its harvest date).
        self.assertEqual(
            mixing["ilmd"],
            {
                "cbvmda:lotNumber": self.w.m1.lot_code,
                "cbvmda:harvestStartDate": "2026-06-10T16:00:00+08:00",
                "cbvmda:harvestEndDate": "2026-06-12T00:00:00+08:00",
                "cbvmda:countryOfOrigin": "CN",
                "cbvmda:farmList": [
                    {"cbvmda:farmIdentifierType": "URI", "cbvmda:farmIdentifier": farm_a},
                    {"cbvmda:farmIdentifierType": "URI", "cbvmda:farmIdentifier": farm_b},
                ],
            },
        )
        tea = by_kind(self.document, "harvest")[2]
        self.assertEqual(tea["ilmd"]["tr:variety"], "龙井43 Longjing 43")
        self.assertEqual(
            tea["bizTransactionList"],
            [
                {
                    "type": f"{BASE}/ns/trace#harvest_record",
                    "bizTransaction": "urn:epcglobal:cbv:bt:9520000000011:TAG-42",
                }
            ],
        )

    def test_the_harvester_is_for_regulators_only_never_in_epcis(self):
        text = json.dumps(self.document, ensure_ascii=False)
        for private in ("李采茶", "13900000000", "王建国", "13800000000", "harvester"):
            self.assertNotIn(private, text)

    def test_movements_name_owning_parties_at_both_ends_and_cbv_business_transactions(self):
        shipping_event, receiving = by_kind(self.document, "shipping")[0], by_kind(self.document, "receiving")[0]
        for event in (shipping_event, receiving):
            self.assertEqual(
                event["sourceList"],
                [
                    {"type": "owning_party", "source": "urn:epc:id:pgln:9520000.00001"},
                    {"type": "location", "source": VILLAGE_SGLN},
                ],
            )
            self.assertEqual(
                event["destinationList"],
                [
                    {"type": "owning_party", "destination": "urn:epc:id:pgln:9520000.00002"},
                    {"type": "location", "destination": STORE_SGLN},
                ],
            )
            self.assertEqual(
                event["bizTransactionList"],
                [{"type": "bol", "bizTransaction": "urn:epcglobal:cbv:bt:9520000000011:BOL-001"}],
            )
        # In transit: where it was read, but no business location; a carrier is never a place.
        self.assertEqual(shipping_event["readPoint"], {"id": VILLAGE_SGLN})
        self.assertNotIn("bizLocation", shipping_event)
        self.assertEqual(receiving["readPoint"], {"id": STORE_SGLN})
        self.assertEqual(receiving["bizLocation"], {"id": STORE_SGLN})
        repacking = by_kind(self.document, "transformation")[2]
        self.assertEqual(
            repacking["bizTransactionList"],
            [
                {
                    "type": f"{BASE}/ns/trace#packing_record",
                    "bizTransaction": "urn:epcglobal:cbv:bt:9520000000011:PACK-7",
                }
            ],
        )

    def test_a_shipment_with_an_sscc_is_packed_at_dispatch_and_unpacked_at_receipt(self):
        packing, unpacking = (e for e in self.events if e["type"] == "AggregationEvent")
        children = [{"epcClass": lgtin(self.w.r1.lot_code), "quantity": 10.0, "uom": "KGM"}]
        self.assertEqual(self.w.shipment.sscc, "095200000000000011")
        expected = [(packing, "ADD", "packing", VILLAGE_SGLN), (unpacking, "DELETE", "unpacking", STORE_SGLN)]
        for event, action, step, place in expected:
            self.assertEqual(event["parentID"], "urn:epc:id:sscc:9520000.0000000001")
            self.assertEqual(event["childQuantityList"], children)
            self.assertEqual((event["action"], event["bizStep"], event["readPoint"]), (action, step, {"id": place}))
        self.assertEqual(packing["eventTime"], "2026-06-14T08:00:00Z")
        self.assertEqual(unpacking["eventTime"], "2026-06-15T08:00:00Z")

    def test_a_recall_and_its_closing_leave_events_on_each_lot_it_held(self):
        opened, closed = by_kind(self.document, "recall")[0], by_kind(self.document, "recall_closed")[0]
        lots = sorted((self.w.l1, self.w.m1, self.w.r1, self.w.s1), key=str)
        held = [{"epcClass": lgtin(lot.lot_code)} for lot in lots]
        self.assertEqual(opened["quantityList"], held)
        self.assertEqual(
            (opened["bizStep"], opened["disposition"], opened["persistentDisposition"]),
            ("holding", "recalled", {"set": ["recalled"]}),
        )
        self.assertEqual(opened["tr:recallReason"], "Listeria in a sample")
        self.assertEqual(closed["quantityList"], held)
        self.assertEqual(closed["persistentDisposition"], {"unset": ["recalled"]})
        self.assertEqual(opened["eventID"], document_of(self.w.r1)["epcisBody"]["eventList"][-2]["eventID"])

    def test_a_correction_is_still_an_error_declaration(self):
        original, declared, corrected = by_kind(self.document, "cooling")
        self.assertEqual(declared["eventID"], original["eventID"])
        self.assertEqual(
            declared["errorDeclaration"],
            {
                "declarationTime": self.w.correction.recorded_at.isoformat().replace("+00:00", "Z"),
                "reason": "incorrect_data",
                "correctiveEventIDs": [f"urn:uuid:{self.w.replacement.client_id}"],
            },
        )
        report = corrected["sensorElementList"][0]["sensorReport"]
        self.assertEqual(report, [{"type": "Temperature", "value": 3.5, "uom": "CEL"}])

    def test_sorting_is_not_repackaging_and_the_namespace_is_served(self):
        mixing, sorting, repacking = by_kind(self.document, "transformation")
        self.assertEqual(sorting["bizStep"], f"{BASE}/ns/trace#sorting")
        self.assertEqual(repacking["bizStep"], "repackaging")
        self.assertEqual(self.document["@context"][1], {"tr": f"{BASE}/ns/trace#"})
        page = self.client.get("/ns/trace")
        self.assertEqual(page.status_code, 200)
        terms = ("sorting", "mixing", "packing_record", "harvest_record", "closing_recall", "kind", "variety", "field")
        for term in terms:
            self.assertContains(page, f'id="{term}"')


class PlacesTests(TestCase):
    def test_a_carrier_is_never_a_read_point_and_a_village_without_gln_is_served(self):
        village = make_village("QS")
        lot = make_batch(make_farm(village), make_crop("WAX"), "QS-WAX-20260612-001")
        record_event(
            kind=TraceEvent.Kind.TEMPERATURE,
            village=village,
            occurred_at=datetime(2026, 6, 14, 8, tzinfo=UTC),
            lines=[(lot, EventBatch.Role.SUBJECT, None, "")],
            data={"temperature_c": 4},
            location_name="京东冷链",
        )
        document = json.loads(exports.epcis_json(exports.events_for_lot(lot)))
        (event,) = document["epcisBody"]["eventList"]
        self.assertEqual(event["readPoint"], {"id": f"{BASE}/id/village/QS"})
        self.assertEqual(self.client.get("/id/village/QS").status_code, 200)
        self.assertEqual(epcis_checks.problems(document, self.client), [])


class DemoWorldTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        call_command("seed_demo", stdout=StringIO())

    @requires_schema
    def test_every_demo_lot_exports_a_valid_document_that_passes_the_semantic_checks(self):
        validator = epcis_validator()
        lots = list(Batch.objects.order_by("lot_code"))
        self.assertEqual(len(lots), 8)
        for lot in lots:
            document = json.loads(exports.epcis_json(exports.events_for_lot(lot)))
            self.assertEqual(list(validator.iter_errors(document)), [], lot.lot_code)
            self.assertEqual(epcis_checks.problems(document, self.client), [], lot.lot_code)


class TimeZoneTests(TestCase):
    def test_the_same_harvest_exports_identically_wherever_the_server_runs(self):
        village = make_village("XJ", gln="9520000000011")
        lot = make_batch(make_farm(village), make_crop("WAX", gtin="09520000000011"), "XJ-WAX-20260610-001")
        record_batch_event(batch=lot, kind="harvest", occurred_at=at(10, 16), actor=make_user("u"))
        documents = []
        for zone in ("America/Los_Angeles", "Asia/Shanghai"):
            with self.settings(TIME_ZONE=zone):
                document = exports.epcis_document(exports.events_for_lot(lot))
            del document["creationDate"]
            documents.append(document)
        self.assertEqual(documents[0], documents[1])
        (harvest,) = documents[0]["epcisBody"]["eventList"]
        self.assertEqual(harvest["eventTimeZoneOffset"], "+08:00")
        self.assertEqual(harvest["ilmd"]["cbvmda:harvestStartDate"], "2026-06-11T00:00:00+08:00")

    def test_the_offset_is_the_village_s_and_a_receipt_the_store_s(self):
        s = Scenario(ship=False)
        s.village.time_zone = "America/Los_Angeles"
        s.village.save()
        s.store.time_zone = "Asia/Tokyo"
        s.store.save()
        shipment = shipping.create_shipment(origin_village=s.village, store=s.store)
        shipping.add_item(shipment=shipment, batch=s.r1, quantity=Decimal("10"))
        shipping.dispatch_shipment(shipment=shipment, when=at(14))
        shipping.receive_shipment(shipment=shipment, when=at(15))
        with self.settings(TIME_ZONE="Asia/Shanghai"):
            events = exports.epcis_document(exports.events_for_lot(s.r1))["epcisBody"]["eventList"]
        offsets = {e["tr:kind"]: e["eventTimeZoneOffset"] for e in events}
        farm = {kind: "-07:00" for kind in ("harvest", "cooling", "packing", "transformation", "shipping")}
        self.assertEqual(offsets, {**farm, "receiving": "+09:00"})


class IdentifierPagesTests(TestCase):
    """What /id/lot/... shows: the identifier and the product to anyone, the lot's facts only to
    those who may trace it."""

    def setUp(self):
        self.s = Scenario(ship=False)
        self.outsider_village = make_village("QS", name_zh="青山村")
        self.url = f"/id/lot/{self.s.l1.lot_code}"

    def test_anyone_sees_the_identifier_and_the_product_and_nothing_more(self):
        for user in (None, make_user("stranger", role="farmer", village=self.outsider_village)):
            if user:
                self.client.force_login(user)
            page = self.client.get(self.url)
            self.assertContains(page, f"{BASE}/id/lot/XJ-WAX-20260610-001")
            self.assertContains(page, "杨梅")
            self.assertNotContains(page, "王家果园")
            self.assertNotContains(page, "东坡地")
            self.assertNotContains(page, "王建国")

    def test_who_may_trace_the_lot_sees_its_facts(self):
        self.client.force_login(self.s.coordinator)
        page = self.client.get(self.url)
        self.assertContains(page, "王家果园")
        self.assertContains(page, "东坡地")
        self.assertContains(page, "2026-06-12")
        self.assertNotContains(page, "王建国")  # the grower's name is not a lot fact

    def test_unknown_identifiers_answer_404(self):
        for path in ("/id/lot/NOPE", "/id/village/NOPE", "/id/store/999999", "/id/retailer/999999", "/id/farm/999999"):
            self.assertEqual(self.client.get(path).status_code, 404, path)

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
        self.assertTrue(validator.is_valid(document))


class MasterDataQueriesTests(TestCase):
    """The lots' master data (ILMD) is read once per document, not once per harvest event: an
    export of many lots costs the queries of an export of two."""

    def export_queries(self, lots: int) -> tuple[int, int]:
        village = make_village(f"Q{lots}")
        farm = make_farm(village)
        crop = make_crop(f"C{lots}")
        made = []
        for number in range(1, lots + 1):
            batch = make_batch(farm, crop, f"Q{lots}-C-20260610-{number:03d}")
            record_batch_event(batch=batch, kind="harvest", occurred_at=at(10, 6), data={})
            made.append(batch)
        events = TraceEvent.objects.filter(lines__batch__in=made).distinct()
        with CaptureQueriesContext(connection) as queries:
            document = exports.epcis_document(events)
        harvests = [e for e in document["epcisBody"]["eventList"] if e.get("tr:kind") == "harvest"]
        self.assertTrue(all("cbvmda:harvestStartDate" in e["ilmd"] for e in harvests))
        return len(harvests), len(queries)

    def test_the_queries_do_not_grow_with_the_number_of_lots(self):
        two, eight = self.export_queries(2), self.export_queries(8)
        self.assertEqual((two[0], eight[0]), (2, 8))
        self.assertEqual(eight[1], two[1])

"""A movement's key data elements: written with the keys they always had, read from older events
that lack later keys, and read in SQL by checked names."""

from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection
from django.test import SimpleTestCase, TestCase

from tests.support import make_batch, make_crop, make_farm, make_village
from traceability import exports
from traceability.kdes import MOVEMENT_KEYS, MovementKDEs, json_text
from traceability.models import EventBatch, TraceEvent
from traceability.services import record_event
from traceability.trace import trace_lot

DATA = {
    "shipment": "K7Q2M9XW4PZT8R3N",
    "store": "上海静安店",
    "store_gln": "9520000000035",
    "store_city": "上海",
    "retailer": "盒马鲜生",
    "retailer_gln": "9520000000028",
    "ship_from": "仙居县杨梅村",
    "ship_from_gln": "9520000000011",
    "carrier": "顺丰冷运",
    "reference_document": "BOL-001",
    "ship_from_en": "Yangmei Village",
    "ship_from_address": "浙江省台州市仙居县杨梅村1号",
    "ship_from_address_en": "1 Yangmei Village, Xianju County, Taizhou, Zhejiang",
    "ship_from_phone": "0576-87771234",
    "ship_from_time_zone": "Asia/Shanghai",
    "store_en": "Shanghai Jing'an",
    "store_address": "上海市静安区南京西路1618号",
    "store_address_en": "1618 West Nanjing Road, Jing'an District, Shanghai",
    "store_phone": "021-62881234",
    "store_time_zone": "Asia/Shanghai",
    "retailer_en": "Freshippo",
    "retailer_address": "上海市长宁区金钟路968号",
    "retailer_address_en": "968 Jinzhong Road, Changning District, Shanghai",
    "retailer_phone": "400-800-1234",
    "store_id": "7",
    "retailer_id": "3",
    "sscc": "095200000000000011",
    "sscc_company_prefix": "9520000",
}


class MovementKDEsTests(SimpleTestCase):
    def test_to_data_writes_every_key_in_the_order_it_always_had(self):
        kdes = MovementKDEs(**DATA)
        self.assertEqual(list(kdes.to_data().items()), list(DATA.items()))
        self.assertEqual(MovementKDEs.from_data(kdes.to_data()), kdes)
        self.assertEqual(MOVEMENT_KEYS, tuple(DATA))

    def test_an_older_event_without_later_keys_reads_them_as_blank_and_other_keys_are_ignored(self):
        older = {"shipment": "K7Q2M9XW4PZT8R3N", "store": "上海静安店", "carrier": None, "temperature_c": 4}
        self.assertEqual(
            MovementKDEs.from_data(older),
            MovementKDEs(shipment="K7Q2M9XW4PZT8R3N", store="上海静安店"),
        )
        self.assertEqual(MovementKDEs.from_data({}), MovementKDEs(shipment="", store=""))

    def test_code_reading_the_keys_in_sql_names_only_real_keys(self):
        self.assertEqual(MovementKDEs.keys("store", "store_gln"), ("store", "store_gln"))
        with self.assertRaisesMessage(ValueError, "Not a movement KDE: shop, store_name"):
            MovementKDEs.keys("store", "shop", "store_name")
        with self.assertRaises(ValueError):
            json_text("store'; DROP TABLE x; --", vendor="postgresql")


class OlderMovementEventTests(TestCase):
    """A shipping event written before store_city, retailer_gln and carrier were recorded."""

    def setUp(self):
        village = make_village("XJ", gln="9520000000011")
        self.lot = make_batch(make_farm(village), make_crop("WAX"), "XJ-WAX-20260612-001")
        older = {"shipment": "K7Q2M9XW4PZT8R3N", "store": "上海静安店", "retailer": "盒马鲜生"}
        self.event, _ = record_event(
            kind=TraceEvent.Kind.SHIPPING,
            village=village,
            occurred_at=datetime(2026, 6, 14, 8, tzinfo=UTC),
            lines=[(self.lot, EventBatch.Role.SUBJECT, Decimal("10"), "kg")],
            data=older,
            location_name=village.name_zh,
        )

    def test_sql_reads_a_present_key_as_text_and_a_missing_one_as_null(self):
        columns = ", ".join(json_text(key, vendor=connection.vendor) for key in ("store", "store_city"))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM traceability_traceevent e WHERE e.id = %s", [self.event.pk])
            self.assertEqual(cursor.fetchone(), ("上海静安店", None))

    def test_the_trace_and_the_exports_show_it_with_blanks_for_the_missing_keys(self):
        (stop,) = trace_lot(self.lot, direction="forward").shipments
        self.assertEqual(
            (stop.shipment, stop.store, stop.store_gln, stop.store_city, stop.retailer),
            ("K7Q2M9XW4PZT8R3N", "上海静安店", "", "", "盒马鲜生"),
        )
        events = exports.events_for_lot(self.lot)
        self.assertEqual(
            exports.eu_rows(events),
            [["Waxberry, bulk, by weight (kg)", "杨梅，散装，按千克计", "10", "kg", "", "",
              "王家果园, 仙居县杨梅村 Wang Family Orchard, Xianju Waxberry Village", "", "上海静安店", "", "盒马鲜生",
              "", "XJ-WAX-20260612-001", "2026-06-14", "K7Q2M9XW4PZT8R3N", "", "", ""]],
        )  # fmt: skip
        (shipping,) = exports.epcis_document(events)["epcisBody"]["eventList"]
        # Named by neither GLN nor key, the store and the retailer cannot be identified: left out
        # rather than given an identifier nothing answers.
        self.assertNotIn("destinationList", shipping)
        self.assertEqual(
            shipping["sourceList"],
            [
                {"type": "owning_party", "source": "urn:epc:id:pgln:9520000.00001"},
                {"type": "location", "source": "urn:epc:id:sgln:9520000.00001.0"},
            ],
        )
        (row,) = exports.fsma_rows(events)
        columns = exports.FSMA_COLUMNS
        self.assertEqual(
            row[columns.index("Location description") : columns.index("Immediate subsequent recipient GLN") + 1],
            ["仙居县杨梅村", "", "", "", "上海静安店, 盒马鲜生", ""],
        )

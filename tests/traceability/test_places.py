"""Where an event happened, as a time zone (traceability.places): farm events the lot's village,
shipping the ship-from village and receiving the ship-to store as the movement recorded them, older
movements without those keys the village's zone or the server's."""

import zoneinfo
from datetime import UTC, datetime
from decimal import Decimal

from django.test import TestCase, override_settings

from tests.support import make_batch, make_crop, make_delivered_shipment, make_farm, make_store, make_village
from traceability.kdes import MovementKDEs
from traceability.models import EventBatch, TraceEvent
from traceability.places import event_zone, zone_for
from traceability.services import record_event

Z = zoneinfo.ZoneInfo


class EventZoneTests(TestCase):
    def setUp(self):
        self.village = make_village(
            "XJ",
            time_zone="Asia/Urumqi",
            address_zh="新疆吐鲁番市高昌区葡萄乡",
            address_en="Putao Township, Gaochang, Turpan, Xinjiang",
            phone="0995-855 0001",
        )
        self.lot = make_batch(make_farm(self.village), make_crop("WAX"), "XJ-WAX-20260612-001")

    def record(self, kind, data=None):
        event, _ = record_event(
            kind=kind,
            village=self.village,
            occurred_at=datetime(2026, 6, 14, 8, tzinfo=UTC),
            lines=[(self.lot, EventBatch.Role.SUBJECT, Decimal("10"), "kg")],
            data=data or {},
            location_name=self.village.name_zh,
        )
        return event

    @override_settings(TIME_ZONE="America/Los_Angeles")
    def test_a_farm_event_is_in_its_villages_zone_whatever_the_servers(self):
        self.assertEqual(event_zone(self.record(TraceEvent.Kind.COOLING, {"temperature_c": 3})), Z("Asia/Urumqi"))

    @override_settings(TIME_ZONE="America/Los_Angeles")
    def test_shipping_and_receiving_read_the_zones_and_places_the_movement_recorded(self):
        store = make_store(
            address="静安区南京西路 1266 号",
            address_en="No. 1266 West Nanjing Road, Jing'an, Shanghai",
            phone="021-6288 0101",
            time_zone="Asia/Shanghai",
        )
        store.retailer.address_zh, store.retailer.phone = "上海市静安区江场路 1401 号", "400-820-0100"
        store.retailer.save()
        shipment = make_delivered_shipment(batches=[self.lot], store=store)
        shipping = TraceEvent.objects.get(kind="shipping")
        receiving = TraceEvent.objects.get(kind="receiving")
        self.assertEqual((event_zone(shipping), event_zone(receiving)), (Z("Asia/Urumqi"), Z("Asia/Shanghai")))
        kdes = MovementKDEs.from_data(receiving.data)
        self.assertEqual(
            (kdes.shipment, kdes.ship_from_address, kdes.ship_from_address_en, kdes.ship_from_phone),
            (
                shipment.public_code,
                "新疆吐鲁番市高昌区葡萄乡",
                "Putao Township, Gaochang, Turpan, Xinjiang",
                "0995-855 0001",
            ),
        )
        self.assertEqual(
            (kdes.store_address, kdes.store_address_en, kdes.store_phone, kdes.store_time_zone),
            (
                "静安区南京西路 1266 号",
                "No. 1266 West Nanjing Road, Jing'an, Shanghai",
                "021-6288 0101",
                "Asia/Shanghai",
            ),
        )
        self.assertEqual((kdes.retailer_address, kdes.retailer_phone), ("上海市静安区江场路 1401 号", "400-820-0100"))
        # The record as it was: moving the store later changes no recorded event.
        store.time_zone, store.address = "Asia/Urumqi", "新地址"
        store.save()
        receiving.refresh_from_db()
        self.assertEqual(event_zone(receiving), Z("Asia/Shanghai"))
        self.assertEqual(MovementKDEs.from_data(receiving.data).store_address, "静安区南京西路 1266 号")

    @override_settings(TIME_ZONE="America/Los_Angeles")
    def test_older_movements_fall_back_to_the_village_or_the_server_zone(self):
        older = {"shipment": "K7Q2M9XW4PZT8R3N", "store": "上海静安店"}
        self.assertEqual(event_zone(self.record(TraceEvent.Kind.SHIPPING, older)), Z("Asia/Urumqi"))
        self.assertEqual(event_zone(self.record(TraceEvent.Kind.RECEIVING, older)), Z("America/Los_Angeles"))

    @override_settings(TIME_ZONE="Europe/Berlin")
    def test_a_zone_the_server_does_not_know_reads_as_the_fallback(self):
        self.assertEqual(zone_for("harvest", {}, "Mars/Olympus"), Z("Europe/Berlin"))
        self.assertEqual(zone_for("receiving", {"store_time_zone": "Mars/Olympus"}, "Asia/Urumqi"), Z("Europe/Berlin"))
        self.assertEqual(zone_for("harvest", {}, None), Z("Europe/Berlin"))

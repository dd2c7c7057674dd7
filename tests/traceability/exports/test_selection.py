"""Which events an export covers: a lot's closure (and only its lots in a shared shipment), or a
date range in local dates; a bad range is refused."""

from datetime import date
from decimal import Decimal

from django.test import TestCase
from django.utils import translation

from shipments import services as shipping
from tests.traceability.scenario import Scenario
from traceability import exports


class DateRangeTests(TestCase):
    def setUp(self):
        translation.activate("en")  # messages are asserted in English
        self.addCleanup(translation.deactivate)
        self.s = Scenario()

    def test_a_date_range_export_uses_local_dates_and_a_bad_range_is_refused(self):
        rows = exports.fsma_rows(exports.events_between(date(2026, 6, 14), date(2026, 6, 14)))
        self.assertEqual([row[0] for row in rows], ["Shipping", "Shipping"])
        with self.assertRaisesMessage(exports.InvalidRange, "The end date is before the start date."):
            exports.events_between(date(2026, 6, 14), date(2026, 6, 13))
        with self.assertRaises(exports.InvalidRange):
            exports.parse_range("2026-06-14", "yesterday")


class SharedShipmentTests(TestCase):
    def test_a_lot_export_leaves_out_other_lots_of_a_shared_shipment(self):
        s = Scenario(ship=False)
        shipment = shipping.create_shipment(origin_village=s.village, store=s.store)
        shipping.add_item(shipment=shipment, batch=s.r1, quantity=Decimal("5"))
        shipping.add_item(shipment=shipment, batch=s.l3, quantity=Decimal("7"))
        shipping.dispatch_shipment(shipment=shipment)
        closure = exports.lot_closure(s.m1)
        events = exports.events_for_lot(s.m1, closure)
        shipped = [row[1] for row in exports.fsma_rows(events, lot_ids=closure) if row[0] == "Shipping"]
        self.assertEqual(shipped, [s.r1.lot_code])
        self.assertEqual([row[12] for row in exports.eu_rows(events, lot_ids=closure)], [s.r1.lot_code])
        everything = [row[1] for row in exports.fsma_rows(events) if row[0] == "Shipping"]
        self.assertEqual(sorted(everything), sorted([s.r1.lot_code, s.l3.lot_code]))

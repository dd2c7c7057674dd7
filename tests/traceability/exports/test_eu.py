"""The EU 931/2011 consignment list: one row per lot and consignment."""

from django.test import TestCase

from tests.traceability.exports.support import PRODUCT, SOURCE
from tests.traceability.scenario import Scenario
from traceability import exports


class EuTests(TestCase):
    def setUp(self):
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

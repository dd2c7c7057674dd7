from decimal import Decimal

from django.core.management import call_command
from django.test import TestCase

from tests.traceability.scenario import Scenario, at
from traceability.trace import Link, ancestor_ids, descendant_ids, trace_lot


class TraceThroughTransformationsTests(TestCase):
    """Runs on both databases: the same SQL must give the same answer."""

    def setUp(self):
        self.s = Scenario()

    def codes(self, lots):
        return [lot.lot_code for lot in lots]

    def test_the_new_lots_get_the_next_codes_of_the_transformation_day(self):
        self.assertEqual(
            [self.s.m1.lot_code, self.s.s1.lot_code, self.s.r1.lot_code],
            ["XJ-WAX-20260611-001", "XJ-WAX-20260612-001", "XJ-WAX-20260613-001"],
        )

    def test_backward_from_the_last_lot_reaches_every_input_at_any_depth(self):
        trace = trace_lot(self.s.r1, direction="backward")
        self.assertEqual(
            self.codes(trace.ancestors),
            [self.s.l1.lot_code, self.s.l2.lot_code, self.s.m1.lot_code, self.s.s1.lot_code],
        )
        self.assertEqual(trace.descendants, [])
        self.assertEqual(self.codes(trace.origins), [self.s.l1.lot_code, self.s.l2.lot_code])
        self.assertEqual(trace.farms, [("李家果园", "Li Family Orchard"), ("王家果园", "Wang Family Orchard")])
        self.assertEqual(trace.villages, [("仙居县杨梅村", "Xianju Waxberry Village")])
        l1 = trace.ancestors[0]
        self.assertEqual((l1.field_name_zh, l1.village_code, l1.crop_code), ("东坡地", "XJ", "WAX"))
        self.assertEqual(
            trace.links,
            [
                Link(self.s.l1.lot_code, self.s.m1.lot_code, Decimal("40.000")),
                Link(self.s.l1.lot_code, self.s.r1.lot_code, Decimal("10.000")),
                Link(self.s.l2.lot_code, self.s.m1.lot_code, Decimal("30.000")),
                Link(self.s.m1.lot_code, self.s.s1.lot_code, Decimal("50.000")),
                Link(self.s.s1.lot_code, self.s.r1.lot_code, Decimal("20.000")),
            ],
        )

    def test_forward_from_an_input_reaches_every_lot_made_from_it_and_the_stores(self):
        trace = trace_lot(self.s.l2, direction="forward")
        self.assertEqual(self.codes(trace.descendants), [self.s.m1.lot_code, self.s.s1.lot_code, self.s.r1.lot_code])
        self.assertEqual(trace.ancestors, [])
        stops = [(stop.shipment, stop.store, stop.retailer, stop.lots) for stop in trace.shipments]
        self.assertEqual(
            stops,
            [
                (
                    self.s.shipment.public_code,
                    "上海静安店",
                    "盒马鲜生",
                    [(self.s.r1.lot_code, Decimal("10.000"), "kg")],
                ),
                (
                    self.s.shipment2.public_code,
                    "杭州西湖店",
                    "盒马鲜生",
                    [(self.s.s1.lot_code, Decimal("5.000"), "kg")],
                ),
            ],
        )
        self.assertEqual(trace.shipments[0].received_at, at(15))
        self.assertIsNone(trace.shipments[1].received_at)
        self.assertEqual(trace.stores, ["上海静安店", "杭州西湖店"])

    def test_a_diamond_in_the_graph_is_walked_once(self):
        self.assertEqual(descendant_ids([self.s.l1.pk]), {self.s.m1.pk, self.s.s1.pk, self.s.r1.pk})
        self.assertEqual(ancestor_ids([self.s.r1.pk]), {self.s.l1.pk, self.s.l2.pk, self.s.m1.pk, self.s.s1.pk})
        self.assertEqual(descendant_ids([self.s.l3.pk]), set())

    def test_both_directions_from_the_middle(self):
        trace = trace_lot(self.s.m1)
        self.assertEqual(self.codes(trace.ancestors), [self.s.l1.lot_code, self.s.l2.lot_code])
        self.assertEqual(self.codes(trace.descendants), [self.s.s1.lot_code, self.s.r1.lot_code])

    def test_the_trace_command_prints_both_directions(self):
        from io import StringIO

        out = StringIO()
        call_command("trace", self.s.m1.lot_code, stdout=out)
        text = out.getvalue()
        for code in (self.s.l1.lot_code, self.s.l2.lot_code, self.s.s1.lot_code, self.s.r1.lot_code):
            self.assertIn(code, text)
        self.assertIn(self.s.shipment.public_code, text)
        self.assertNotIn(self.s.l3.lot_code, text)
        # Dispatched 08:00 UTC, received the next day 08:00 UTC: printed in Shanghai time.
        self.assertIn(" 2026-06-14 16:00+0800 / 2026-06-15 16:00+0800: ", text)

"""Traces of lots with many relatives: the page stays small, the answers stay whole."""

from decimal import Decimal

from django.test import TestCase

from tests.support import make_batch, make_crop, make_farm, make_user, make_village
from tests.traceability.scenario import Scenario
from traceability.models import Batch, BatchInput
from traceability.trace import trace_lot
from traceability.views import ROWS_SHOWN


class BigTracePageTests(TestCase):
    """A lot split into ROWS_SHOWN + 20 lots (links written directly: a trace reads only the graph)."""

    def setUp(self):
        village = make_village("XJ")
        self.farm, self.crop = make_farm(village), make_crop("WAX")
        self.root = make_batch(self.farm, self.crop, "XJ-WAX-20260612-001", quantity="1000")
        self.count = ROWS_SHOWN + 20
        children = Batch.objects.bulk_create(
            Batch(farm=self.farm, crop=self.crop, lot_code=f"XJ-WAX-20260613-{n:03d}", quantity=Decimal("5"))
            for n in range(1, self.count + 1)
        )
        BatchInput.objects.bulk_create(
            BatchInput(input=self.root, output=child, quantity=Decimal("5")) for child in children
        )
        self.codes = sorted(child.lot_code for child in children)
        self.auditor = make_user("alice", role="auditor")

    def test_the_trace_keeps_every_descendant_and_link(self):
        trace = trace_lot(self.root, direction="forward")
        self.assertEqual(trace.descendant_count, self.count)
        self.assertEqual([lot.lot_code for lot in trace.descendants], self.codes)
        self.assertEqual([(link.input_lot, link.output_lot) for link in trace.links],
                         [(self.root.lot_code, code) for code in self.codes])  # fmt: skip
        self.assertEqual(trace.shipments, [])

    def test_the_page_shows_counts_and_the_first_rows_only(self):
        self.client.force_login(self.auditor)
        response = self.client.get("/trace/", {"lot": self.root.lot_code}, HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(response.status_code, 200)
        self.assertEqual([lot.lot_code for lot in response.context["shown"]["descendants"]], self.codes[:ROWS_SHOWN])
        html = response.content.decode()
        self.assertIn(f"?lot={self.codes[ROWS_SHOWN - 1]}", html)
        self.assertNotIn(f"?lot={self.codes[ROWS_SHOWN]}", html)
        self.assertIn(f"({self.count})", html)
        self.assertIn(f"Showing the first {ROWS_SHOWN} of {self.count}", html)


class CorrectedMovementTests(TestCase):
    def test_a_shipping_event_declared_as_not_having_occurred_leaves_the_forward_trace(self):
        from traceability.models import TraceEvent
        from traceability.services import record_correction

        s = Scenario()
        shipping = TraceEvent.objects.get(kind="shipping", data__shipment=s.shipment2.public_code)
        record_correction(event=shipping, reason="did_not_occur", actor=s.coordinator, note="wrong lot")
        trace = trace_lot(s.l2, direction="forward")
        self.assertEqual([stop.shipment for stop in trace.shipments], [s.shipment.public_code])
        self.assertEqual(trace.stores, ["上海静安店"])
        self.assertEqual(trace_lot(s.l2, direction="backward").shipments, [])

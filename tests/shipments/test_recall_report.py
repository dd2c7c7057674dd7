import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from django.test import TestCase

from shipments import recall_report
from shipments.models import Scan
from tests.traceability.scenario import Scenario
from traceability.services import open_recall


class RecallReportTests(TestCase):
    def setUp(self):
        self.s = Scenario()
        for day in (16, 17, 18):
            Scan.objects.create(
                shipment=self.s.shipment, scanned_at=datetime(2026, 6, day, tzinfo=UTC), language="zh-hans"
            )

    def test_it_lists_the_shipments_and_stores_holding_recalled_lots_with_scan_counts(self):
        recall = open_recall(batch=self.s.l2, reason="Flood water", actor=self.s.coordinator)
        shipments = recall_report.affected_shipments(recall)
        self.assertEqual(
            [(s.public_code, s.status, s.store, s.lots, s.scans) for s in shipments],
            [
                (
                    self.s.shipment.public_code,
                    "delivered",
                    "上海静安店",
                    [(self.s.r1.lot_code, Decimal("10.000"), "kg")],
                    3,
                ),
                (
                    self.s.shipment2.public_code,
                    "dispatched",
                    "杭州西湖店",
                    [(self.s.s1.lot_code, Decimal("5.000"), "kg")],
                    0,
                ),
            ],
        )
        self.assertEqual(shipments[0].first_scan, datetime(2026, 6, 16, tzinfo=UTC))
        self.assertEqual(shipments[0].last_scan, datetime(2026, 6, 18, tzinfo=UTC))
        stores = recall_report.affected_stores(recall)
        self.assertEqual(
            [(s.store, s.shipments, s.quantities, s.scans) for s in stores],
            [("上海静安店", 1, {"kg": Decimal("10.000")}, 3), ("杭州西湖店", 1, {"kg": Decimal("5.000")}, 0)],
        )
        rows = list(csv.reader(io.StringIO(recall_report.recall_report_csv(recall).decode("utf-8-sig"))))
        self.assertEqual(len(rows), 3)
        self.assertEqual(
            rows[1][2:4] + rows[1][9:13],
            [self.s.shipment.public_code, "delivered", self.s.r1.lot_code, "10", "kg", "3"],
        )

    def test_a_recall_of_an_unshipped_lot_reaches_no_shipment(self):
        recall = open_recall(batch=self.s.l3, reason="x", actor=self.s.coordinator)
        self.assertEqual(recall_report.affected_shipments(recall), [])
        self.assertEqual(recall_report.affected_stores(recall), [])

from django.test import TestCase, override_settings

from shipments import scan_writer
from shipments.models import Scan
from tests.support import make_batch, make_crop, make_delivered_shipment, make_farm, make_village

WECHAT = "Mozilla/5.0 (iPhone) MicroMessenger/8.0.49"


class BatchedScanTests(TestCase):
    def setUp(self):
        batch = make_batch(make_farm(make_village()), make_crop(), "XJ-WAX-20260612-001")
        self.shipment = make_delivered_shipment(batches=[batch])
        self.addCleanup(scan_writer.flush)

    def scan(self, **headers):
        return self.client.get(self.shipment.public_path, HTTP_USER_AGENT=WECHAT, **headers)

    @override_settings(SCAN_BATCH_SIZE=3, SCAN_FLUSH_SECONDS=3600)
    def test_scans_are_written_three_at_a_time_and_the_page_counts_each_at_once(self):
        self.scan()
        self.assertContains(self.scan(HTTP_ACCEPT_LANGUAGE="en"), "Scanned 2 times")
        self.assertEqual(Scan.objects.count(), 0)
        with self.assertNumQueries(1):  # the page is cached: the batch INSERT is the only query
            self.scan()
        self.assertEqual(
            sorted(Scan.objects.values_list("language", "client")),
            [("en", "wechat"), ("zh-hans", "wechat"), ("zh-hans", "wechat")],
        )

    @override_settings(SCAN_BATCH_SIZE=100, SCAN_FLUSH_SECONDS=0)
    def test_a_scan_older_than_the_flush_interval_is_written_with_the_next(self):
        self.scan()
        self.assertEqual(Scan.objects.filter(shipment=self.shipment).count(), 1)

    @override_settings(SCAN_BATCH_SIZE=100, SCAN_FLUSH_SECONDS=3600)
    def test_flush_writes_what_is_waiting(self):
        self.scan()
        self.scan()
        self.assertEqual(Scan.objects.count(), 0)
        scan_writer.flush()
        self.assertEqual(Scan.objects.filter(shipment=self.shipment).count(), 2)

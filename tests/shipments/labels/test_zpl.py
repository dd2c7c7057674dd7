"""ZPL labels: the QR command, UTF-8 Chinese, the copies, escaped text, thermal layouts only."""

from shipments import labels
from tests.shipments.labels.support import LabelFixture


class ZplTests(LabelFixture):
    def test_zpl_has_the_url_in_a_qr_command_utf8_chinese_and_the_copies(self):
        body, content_type, filename = labels.render_labels(self.shipment, "thermal-50x30", 7, 1, "zpl")
        zpl = body.decode("utf-8")
        self.assertEqual(content_type, "text/plain; charset=utf-8")
        self.assertEqual(filename, f"labels-{self.shipment.public_code}-thermal-50x30.zpl")
        self.assertTrue(zpl.startswith("^XA\n^CI28\n"))
        self.assertIn(f"^BQN,2,5^FDMA,{self.url}^FS", zpl)  # 5 dots of 0.125 mm = 0.625 mm modules
        self.assertIn("^PW400\n^LL240\n", zpl)  # 50 x 30 mm at 8 dots/mm
        self.assertIn("^FD杨梅^FS", zpl)
        self.assertIn("^FD仙居县杨梅村^FS", zpl)
        self.assertIn("^PQ7,0,1,Y\n^XZ", zpl)

    def test_zpl_escapes_the_command_characters_in_text(self):
        data = labels.LabelData(url=self.url, crop_zh="杨梅^XZ", village_zh="村~", lot_codes=("A_1",))
        zpl = labels.render_zpl(labels.LAYOUTS["thermal-60x40"], data, 1).decode()
        self.assertIn("^FD杨梅_5EXZ^FS", zpl)
        self.assertIn("^FD村_7E^FS", zpl)

    def test_zpl_is_refused_for_sheet_layouts(self):
        with self.assertRaises(labels.LabelError) as caught:
            labels.render_labels(self.shipment, "a4-3x7", 1, 1, "zpl")
        self.assertEqual(caught.exception.field, "format")
        self.assertEqual(
            caught.exception.message,
            "ZPL is for thermal printers: choose one of thermal-40x30, thermal-50x30, thermal-60x40, shipping-4x6.",
        )

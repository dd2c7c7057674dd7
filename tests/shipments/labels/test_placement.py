"""Where things go on one label: the QR beside the text with its quiet zone, and never below the
minimum module size."""

from shipments import labels
from tests.shipments.labels.support import LabelFixture


class PlacementTests(LabelFixture):
    def test_the_qr_sits_inside_its_label_cell_with_its_quiet_zone(self):
        layout = labels.LAYOUTS["a4-3x7"]
        label = labels.design(layout, self.data)
        self.assertGreaterEqual(label.qr_x, 0)
        self.assertGreaterEqual(label.qr_y, 0)
        self.assertLessEqual(label.qr_y + label.qr_size, label.lines[-1].baseline - label.lines[-1].size / labels.MM)
        text_left = min(line.x for line in label.lines[:-1])
        self.assertGreaterEqual(text_left, label.qr_x + label.qr_size)

    def test_a_url_too_long_for_the_label_is_refused_rather_than_printed_below_the_minimum_module(self):
        data = labels.LabelData(
            url="https://trace.example.cn/s/" + "K" * 150, crop_zh="杨梅", village_zh="村", lot_codes=("L1",)
        )
        with self.assertRaisesMessage(labels.LabelError, "thermal-40x30: choose a larger layout") as caught:
            labels.render_pdf(labels.LAYOUTS["thermal-40x30"], data, 1)
        self.assertEqual(caught.exception.field, "layout")

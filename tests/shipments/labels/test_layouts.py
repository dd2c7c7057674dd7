"""Label stocks: the Avery sheets' sizes and margins."""

from django.test import SimpleTestCase

from shipments import labels
from tests.shipments.labels.support import SHEETS


class LayoutTests(SimpleTestCase):
    def test_sheet_labels_have_the_avery_sizes_and_fit_the_page_symmetrically(self):
        expected = {
            "a4-3x7": (63.5, 38.1, 21),
            "a4-3x8": (63.5, 33.9, 24),
            "a4-4x10": (48.5, 25.4, 40),
        }
        for layout in SHEETS:
            with self.subTest(layout=layout.name):
                self.assertEqual((layout.label_width, layout.label_height, layout.slots), expected[layout.name])
                right_x, bottom_y = layout.slot_origin(layout.slots - 1)
                right_margin = layout.page_width - right_x - layout.label_width
                bottom_margin = layout.page_height - bottom_y - layout.label_height
                self.assertAlmostEqual(right_margin, layout.left, delta=0.02)
                self.assertAlmostEqual(bottom_margin, layout.top, delta=0.02)
        l7160 = labels.LAYOUTS["a4-3x7"]
        self.assertEqual((l7160.top, l7160.left, l7160.pitch_x, l7160.pitch_y), (15.15, 7.2, 66.04, 38.1))

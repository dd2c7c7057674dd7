"""A shipment's print request: the file, its type and name, and every problem named at once."""

from shipments import labels, services
from tests.shipments.labels.support import LabelFixture, decode_cells


class RenderLabelsTests(LabelFixture):
    def test_it_returns_the_pdf_its_type_and_a_file_name(self):
        body, content_type, filename = labels.render_labels(self.shipment, "a4-3x8", 2, 23)
        self.assertEqual(content_type, "application/pdf")
        self.assertEqual(filename, f"labels-{self.shipment.public_code}-a4-3x8.pdf")
        self.assertEqual(decode_cells(body, labels.LAYOUTS["a4-3x8"], 203)[0][21:], ["", self.url, self.url])

    def test_it_names_the_bad_argument_and_explains(self):
        cases = [
            (
                ("nope", 1, 1, "pdf"),
                "layout",
                "Unknown layout “nope”: choose one of " + ", ".join(labels.LAYOUTS) + ".",
            ),
            (("a4-3x7", 0, 1, "pdf"), "copies", "The number of copies must be a whole number from 1 to 5000."),
            (("a4-3x7", 5001, 1, "pdf"), "copies", "The number of copies must be a whole number from 1 to 5000."),
            (("a4-3x7", 1, 22, "pdf"), "start", "The start slot must be from 1 to 21: a4-3x7 has 21 labels per sheet."),
            (
                ("thermal-40x30", 1, 2, "pdf"),
                "start",
                "thermal-40x30 prints one label per page: the start slot must be 1.",
            ),
            (("a4-3x7", 1, 1, "png"), "format", "Unknown format “png”: choose pdf or zpl."),
        ]
        for args, field, message in cases:
            with self.subTest(args=args), self.assertRaises(labels.LabelError) as caught:
                labels.render_labels(self.shipment, *args)
            self.assertEqual((caught.exception.field, caught.exception.message), (field, message))

    def test_it_lists_every_problem_with_the_request_at_once(self):
        with self.assertRaises(labels.LabelError) as caught:
            labels.render_labels(self.shipment, "a4-3x7", 0, 30, "zpl")
        self.assertEqual([error.field for error in caught.exception.errors], ["copies", "start", "format"])
        with self.assertRaises(labels.LabelError) as caught:
            labels.render_labels(self.shipment, "a7", 9999, 30, "gif")
        self.assertEqual([error.field for error in caught.exception.errors], ["layout", "copies", "format"])

    def test_a_shipment_without_items_is_refused(self):
        empty = services.create_shipment(origin_village=self.village, store=self.shipment.store)
        with self.assertRaises(labels.LabelError) as caught:
            labels.render_labels(empty, "a4-3x7", 1)
        self.assertEqual(
            caught.exception.message,
            f"Shipment {empty.public_code} has no items: add at least one batch before printing labels.",
        )

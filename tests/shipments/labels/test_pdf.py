"""PDF labels: every label scans after rasterising, pages have the stock's size, the Chinese text
is in the PDF with its font embedded, and the QR and the label are each drawn once."""

import pypdfium2 as pdfium
import zxingcpp

from shipments import labels
from tests.shipments.labels.support import DPIS, ROLLS, SHEETS, LabelFixture, decode_cells, pages, pdf_text


class PdfLabelsScanTests(LabelFixture):
    def test_every_label_on_every_sheet_scans_at_203_and_300_dpi_from_the_start_slot(self):
        for layout in SHEETS:
            copies = layout.slots + 3
            pdf = labels.render_pdf(layout, self.data, copies, start=2)
            for dpi in DPIS:
                with self.subTest(layout=layout.name, dpi=dpi):
                    first, second = decode_cells(pdf, layout, dpi)
                    # Slot 1 of the half-used sheet stays blank; the rest of that sheet and the
                    # first four slots of the next one carry the labels.
                    self.assertEqual(first, [""] + [self.url] * (layout.slots - 1))
                    self.assertEqual(second, [self.url] * 4 + [""] * (layout.slots - 4))

    def test_every_thermal_and_shipping_label_scans_at_203_and_300_dpi(self):
        for layout in ROLLS:
            pdf = labels.render_pdf(layout, self.data, 3)
            for dpi in DPIS:
                with self.subTest(layout=layout.name, dpi=dpi):
                    # A thermal head prints each dot black or white: decode the page as 1-bit too.
                    decoded = [
                        [barcode.text for barcode in zxingcpp.read_barcodes(picture)]
                        for image, _size in pages(pdf, dpi)
                        for picture in (image, image.point(lambda value: 255 if value >= 128 else 0, mode="1"))
                    ]
                    self.assertEqual(decoded, [[self.url]] * 6)

    def test_reading_a_whole_sheet_finds_as_many_codes_as_labels_requested(self):
        layout = labels.LAYOUTS["a4-3x7"]
        pdf = labels.render_pdf(layout, self.data, 17, start=5)
        ((image, _size),) = list(pages(pdf, 203))
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        self.assertEqual([barcode.text for barcode in found], [self.url] * 17)

    def test_qr_modules_are_at_least_0_396_mm_and_carry_error_correction_m_on_every_layout(self):
        for layout in labels.LAYOUTS.values():
            with self.subTest(layout=layout.name):
                pdf = labels.render_pdf(layout, self.data, 1)
                image, _size = next(pages(pdf, 300))
                (barcode,) = zxingcpp.read_barcodes(image)
                width_px = barcode.position.top_right.x - barcode.position.top_left.x
                symbol_modules = labels.design(layout, self.data).modules - 2 * 4
                module_mm = width_px / symbol_modules / 300 * 25.4
                self.assertGreaterEqual(module_mm, 0.396)
                self.assertEqual(barcode.ec_level, "M")
                self.assertEqual(barcode.text, self.url)


class PdfGeometryAndTextTests(LabelFixture):
    def test_pages_have_the_stock_size_in_millimetres(self):
        expected = {
            "a4-3x7": (210, 297),
            "a4-3x8": (210, 297),
            "a4-4x10": (210, 297),
            "thermal-40x30": (40, 30),
            "thermal-50x30": (50, 30),
            "thermal-60x40": (60, 40),
            "shipping-4x6": (101.6, 152.4),
        }
        for name, (width, height) in expected.items():
            with self.subTest(layout=name):
                layout = labels.LAYOUTS[name]
                pdf = labels.render_pdf(layout, self.data, layout.slots + 1)
                document = pdfium.PdfDocument(pdf)
                sizes = [tuple(round(v / labels.MM, 2) for v in page.get_mediabox()[2:]) for page in document]
                document.close()
                self.assertEqual(sizes, [(width, height)] * 2)

    def test_the_pdf_text_has_the_chinese_crop_and_village_lots_harvest_date_and_url(self):
        pdf = labels.render_pdf(labels.LAYOUTS["thermal-50x30"], self.data, 1)
        text = pdf_text(pdf)
        self.assertIn("杨梅", text)
        self.assertIn("仙居县杨梅村", text)
        self.assertIn("XJ-WAX-20260612-003 +1", text)
        self.assertIn("2026-06-12~06-14", text)
        self.assertIn(self.url, text)
        # The shipping label is roomy enough for English and for every lot.
        text = pdf_text(labels.render_pdf(labels.LAYOUTS["shipping-4x6"], self.data, 1))
        for expected in ("杨梅", "Waxberry", "仙居县杨梅村", "Xianju Waxberry Village", "XJ-WAX-20260614-001"):
            self.assertIn(expected, text)

    def test_the_chinese_font_is_embedded_and_the_qr_and_label_are_each_drawn_once(self):
        pdf = labels.render_pdf(labels.LAYOUTS["a4-3x7"], self.data, 1000)
        self.assertEqual(pdf.count(b"/FontFile2"), 1)  # the embedded TrueType subset
        self.assertEqual(pdf.count(b"/Subtype /Form"), 2)  # the QR, and the label that uses it
        self.assertEqual(pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page "), 48)

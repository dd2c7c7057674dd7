"""Labels: every label scans after rasterising, sizes match the stock, Chinese is in the PDF, ZPL,
and the print page lets only the shipment's retailer staff and village members print."""

import io
import os
import tempfile
from datetime import date
from decimal import Decimal

import pypdfium2 as pdfium
import zxingcpp
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import translation

from shipments import labels, services
from shipments.models import Retailer, RetailerStaff, Store
from tests.support import make_batch, make_crop, make_farm, make_user, make_village

DPIS = (203, 300)
SHEETS = [layout for layout in labels.LAYOUTS.values() if layout.is_sheet]
ROLLS = [layout for layout in labels.LAYOUTS.values() if not layout.is_sheet]


def pages(pdf: bytes, dpi: int):
    """Each page of `pdf` as a greyscale PIL image at `dpi`, with its mediabox in mm."""
    document = pdfium.PdfDocument(pdf)
    try:
        for page in document:
            left, bottom, right, top = page.get_mediabox()
            image = page.render(scale=dpi / 72, grayscale=True).to_pil()
            yield image, ((right - left) / labels.MM, (top - bottom) / labels.MM)
    finally:
        document.close()


def decode_cells(pdf: bytes, layout: labels.Layout, dpi: int) -> list[list[str]]:
    """For every page, the QR texts decoded from each label cell, slot by slot ("" when none)."""
    px = dpi / 25.4
    result = []
    for image, _size in pages(pdf, dpi):
        cells = []
        for slot in range(layout.slots):
            x, y = layout.slot_origin(slot)
            box = (
                round(x * px),
                round(y * px),
                round((x + layout.label_width) * px),
                round((y + layout.label_height) * px),
            )
            found = zxingcpp.read_barcodes(image.crop(box), formats=zxingcpp.BarcodeFormat.QRCode)
            cells.append(",".join(barcode.text for barcode in found))
        result.append(cells)
    return result


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        texts = []
        for page in document:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
        return "\n".join(texts)
    finally:
        document.close()


class LabelFixture(TestCase):
    """Messages are asserted in English (the msgids): the default language is Chinese."""

    def setUp(self):
        self.enterContext(translation.override("en"))
        self.client = Client(HTTP_ACCEPT_LANGUAGE="en")

    @classmethod
    def setUpTestData(cls):
        cls.village = make_village()
        farm = make_farm(cls.village)
        crop = make_crop()
        cls.batch = make_batch(farm, crop, "XJ-WAX-20260612-003", harvested_on=date(2026, 6, 12))
        cls.second = make_batch(farm, crop, "XJ-WAX-20260614-001", harvested_on=date(2026, 6, 14))
        cls.retailer = Retailer.objects.create(name_zh="盒马鲜生", name_en="Hema")
        store = Store.objects.create(retailer=cls.retailer, name_zh="上海静安店", city_zh="上海")
        cls.shipment = services.create_shipment(origin_village=cls.village, store=store)
        services.add_item(shipment=cls.shipment, batch=cls.batch, quantity=Decimal("10"))
        services.add_item(shipment=cls.shipment, batch=cls.second, quantity=Decimal("5"))
        cls.url = cls.shipment.public_url
        cls.data = labels.label_data(cls.shipment)

        cls.alice = make_user("alice")  # staff of the destination store's retailer
        RetailerStaff.objects.create(user=cls.alice, retailer=cls.retailer)
        cls.bob = make_user("bob", role="farmer", village=cls.village)
        other_retailer = Retailer.objects.create(name_zh="永辉超市", name_en="Yonghui")
        cls.charlie = make_user("charlie")
        RetailerStaff.objects.create(user=cls.charlie, retailer=other_retailer)
        cls.dora = make_user("dora", role="auditor")
        cls.erin = make_user("erin", role="coordinator", village=make_village("AJ", name_zh="安吉白茶村"))
        cls.root = get_user_model().objects.create_superuser("root", password="pw-root")


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

    def test_the_qr_sits_inside_its_label_cell_with_its_quiet_zone(self):
        layout = labels.LAYOUTS["a4-3x7"]
        label = labels.design(layout, self.data)
        self.assertGreaterEqual(label.qr_x, 0)
        self.assertGreaterEqual(label.qr_y, 0)
        self.assertLessEqual(label.qr_y + label.qr_size, label.lines[-1].baseline - label.lines[-1].size / labels.MM)
        text_left = min(line.x for line in label.lines[:-1])
        self.assertGreaterEqual(text_left, label.qr_x + label.qr_size)

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

    def test_a_missing_font_names_the_debian_package(self):
        with self.assertRaisesMessage(labels.FontMissing, "apt-get install fonts-wqy-zenhei"):
            labels.register_fonts("/nonexistent/wqy-zenhei.ttc")

    def test_a_url_too_long_for_the_label_is_refused_rather_than_printed_below_the_minimum_module(self):
        data = labels.LabelData(
            url="https://trace.example.cn/s/" + "K" * 150, crop_zh="杨梅", village_zh="村", lot_codes=("L1",)
        )
        with self.assertRaisesMessage(labels.LabelError, "thermal-40x30: choose a larger layout") as caught:
            labels.render_pdf(labels.LAYOUTS["thermal-40x30"], data, 1)
        self.assertEqual(caught.exception.field, "layout")


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


class PrintLabelsPageTests(LabelFixture):
    def page_url(self, code=None):
        return reverse("labels:print", args=[code or self.shipment.public_code])

    def download_url(self, code=None):
        return reverse("labels:download", args=[code or self.shipment.public_code])

    def test_retailer_staff_see_the_form_with_every_layout(self):
        self.client.force_login(self.alice)
        response = self.client.get(self.page_url(self.shipment.public_code.lower()))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["shipment"], self.shipment)
        self.assertEqual(
            [choice[0] for choice in response.context["form"].fields["layout"].choices], list(labels.LAYOUTS)
        )
        self.assertContains(response, f'action="{self.download_url()}"')
        self.assertContains(response, "XJ-WAX-20260614-001")

    def test_the_page_reads_in_english_and_leads_back_to_the_shipment(self):
        self.client.force_login(self.alice)
        response = self.client.get(self.page_url(), HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(response, "Xianju Waxberry Village → 上海静安店 ·")  # the store has no English name
        self.assertContains(response, "<td>Waxberry</td>", html=True)
        code = self.shipment.public_code
        self.assertContains(response, f'<a href="/shipments/{code}/">Back to the shipment</a>', html=True)

    def test_retailer_staff_village_members_and_superusers_download_labels_that_scan(self):
        for user in (self.alice, self.bob, self.root):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                response = self.client.get(
                    self.download_url(), {"layout": "thermal-40x30", "copies": "2", "start": "1", "format": "pdf"}
                )
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response["Content-Type"], "application/pdf")
                self.assertEqual(
                    response["Content-Disposition"],
                    f'attachment; filename="labels-{self.shipment.public_code}-thermal-40x30.pdf"',
                )
                texts = [[b.text for b in zxingcpp.read_barcodes(image)] for image, _ in pages(response.content, 203)]
                self.assertEqual(texts, [[self.url], [self.url]])

    def test_zpl_downloads_as_a_file(self):
        self.client.force_login(self.alice)
        response = self.client.get(
            self.download_url(), {"layout": "shipping-4x6", "copies": "3", "start": "1", "format": "zpl"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response["Content-Disposition"],
            f'attachment; filename="labels-{self.shipment.public_code}-shipping-4x6.zpl"',
        )
        self.assertIn(f"^FDMA,{self.url}^FS", response.content.decode())
        self.assertIn("^PQ3,0,1,Y", response.content.decode())

    def test_others_get_404_on_the_page_and_the_download(self):
        query = {"layout": "a4-3x7", "copies": "1", "start": "1", "format": "pdf"}
        for user in (None, self.charlie, self.dora, self.erin):
            with self.subTest(user=user and user.username):
                self.client.logout()
                if user:
                    self.client.force_login(user)
                self.assertEqual(self.client.get(self.page_url()).status_code, 404)
                response = self.client.get(self.download_url(), query)
                self.assertEqual(response.status_code, 404)
                self.assertNotIn("Content-Disposition", response)
        self.client.force_login(self.alice)
        self.assertEqual(self.client.get(self.page_url("Z" * 16)).status_code, 404)

    def test_bad_input_answers_400_with_the_reason_and_no_file(self):
        self.client.force_login(self.alice)
        cases = [
            (
                {"layout": "a4-9x9", "copies": "1", "start": "1"},
                "Unknown layout “a4-9x9”: choose one of a4-3x7, a4-3x8",
            ),
            ({"layout": "a4-3x7", "copies": "0", "start": "1"}, "whole number from 1 to 5000"),
            ({"layout": "a4-3x7", "copies": "5001", "start": "1"}, "whole number from 1 to 5000"),
            ({"layout": "a4-3x7", "copies": "many", "start": "1"}, "Enter a whole number."),
            ({"layout": "a4-4x10", "copies": "1", "start": "41"}, "The start slot must be from 1 to 40"),
            ({"layout": "thermal-50x30", "copies": "1", "start": "3"}, "the start slot must be 1"),
            ({"layout": "a4-3x7", "copies": "1", "start": "1", "format": "zpl"}, "ZPL is for thermal printers"),
        ]
        for query, message in cases:
            query = {"format": "pdf", **query}
            with self.subTest(query=query):
                response = self.client.get(self.download_url(), query)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response["Content-Type"], "text/html; charset=utf-8")
                self.assertNotIn("Content-Disposition", response)
                self.assertContains(response, message, status_code=400)

    def test_the_form_shows_every_problem_next_to_its_field(self):
        self.client.force_login(self.alice)
        response = self.client.get(
            self.download_url(), {"layout": "a4-3x7", "copies": "0", "start": "30", "format": "zpl"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            response.context["form"].errors,
            {
                "copies": ["The number of copies must be a whole number from 1 to 5000."],
                "start": ["The start slot must be from 1 to 21: a4-3x7 has 21 labels per sheet."],
                "format": [
                    "ZPL is for thermal printers: choose one of thermal-40x30, thermal-50x30, thermal-60x40, "
                    "shipping-4x6."
                ],
            },
        )

    def test_a_shipment_without_items_is_refused_with_400(self):
        empty = services.create_shipment(origin_village=self.village, store=self.shipment.store)
        self.client.force_login(self.alice)
        response = self.client.get(
            self.download_url(empty.public_code),
            {"layout": "a4-3x7", "copies": "1", "start": "1", "format": "pdf"},
        )
        self.assertContains(response, "has no items: add at least one batch", status_code=400)
        self.assertNotIn("Content-Disposition", response)


class PrintLabelsCommandTests(LabelFixture):
    def test_it_writes_the_labels_to_the_output_file(self):
        with tempfile.TemporaryDirectory() as folder:
            output = os.path.join(folder, "labels.pdf")
            call_command(
                "print_labels",
                self.shipment.public_code.lower(),
                layout="a4-4x10",
                copies=3,
                start=39,
                output=output,
                stderr=io.StringIO(),
            )
            with open(output, "rb") as handle:
                cells = decode_cells(handle.read(), labels.LAYOUTS["a4-4x10"], 203)
        self.assertEqual(cells[0][38:], [self.url, self.url])
        self.assertEqual(cells[1][:2], [self.url, ""])

    def test_it_writes_zpl(self):
        with tempfile.TemporaryDirectory() as folder:
            output = os.path.join(folder, "labels.zpl")
            call_command(
                "print_labels",
                self.shipment.public_code,
                layout="thermal-60x40",
                copies=12,
                fmt="zpl",
                output=output,
                stderr=io.StringIO(),
            )
            with open(output, encoding="utf-8") as handle:
                self.assertIn("^PQ12,0,1,Y", handle.read())

    def test_list_layouts_names_every_layout(self):
        out = io.StringIO()
        call_command("print_labels", list_layouts=True, stdout=out)
        self.assertEqual([line.split()[0] for line in out.getvalue().splitlines()], list(labels.LAYOUTS))

    def test_bad_input_writes_nothing(self):
        with tempfile.TemporaryDirectory() as folder:
            output = os.path.join(folder, "labels.pdf")
            for options, message in [
                ({"layout": "a5"}, "Unknown layout “a5”"),
                ({"copies": 5001}, "from 1 to 5000"),
                ({"start": 22}, "from 1 to 21"),
            ]:
                with self.subTest(options=options), self.assertRaisesMessage(CommandError, message):
                    call_command("print_labels", self.shipment.public_code, output=output, **options)
                self.assertFalse(os.path.exists(output))
            with self.assertRaisesMessage(CommandError, "No shipment has the public code"):
                call_command("print_labels", "Z" * 16, output=output)
            self.assertFalse(os.path.exists(output))

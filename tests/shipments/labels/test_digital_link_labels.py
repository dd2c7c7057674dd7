"""Labels whose QR is a GS1 Digital Link: a lot's (`/01/{GTIN}/10/{lot}` with a packing or expiry
date) for consumer units and the SSCC's (`/00/{SSCC}`) for crates. Every layout decodes at 203 dpi
to a URI that a GS1 parser (biip) reads and our resolver opens, with the GS1 element strings
printed under the symbol; the QR keeps the smallest version qrcode's segmentations give."""

import io
import os
import tempfile
from datetime import date, datetime
from zoneinfo import ZoneInfo

import biip
import qrcode
import zxingcpp
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from qrcode.constants import ERROR_CORRECT_M

from shipments import labels, qr, services
from shipments.models import Retailer, Shipment
from tests.shipments.labels.support import DPIS, ROLLS, SHEETS, LabelFixture, decode_cells, pages, pdf_text
from traceability.services import record_batch_event

GTIN = "09506000134352"
LOT = "XJ-WAX-20260612-003"
ITEM = labels.QrContent(kind="item", lot=LOT, date_ai="17", day=date(2026, 6, 19))
SSCC = labels.QrContent(kind="sscc")


def smallest_version(text: str) -> int:
    """The smallest version any of qrcode's segmentations reaches for `text` at level M."""
    versions = []
    for optimize in range(0, 21):
        symbol = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
        symbol.add_data(text, optimize=optimize)
        symbol.make(fit=True)
        versions.append(symbol.version)
    return min(versions)


class DigitalLinkLabelFixture(LabelFixture):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        crop = cls.batch.crop
        crop.gtin = GTIN
        crop.save()
        services.set_company_prefix(retailer=cls.retailer, prefix="9520001")
        cls.shipment = Shipment.objects.select_related("store__retailer").get(pk=cls.shipment.pk)
        cls.item = labels.label_data(cls.shipment, ITEM)
        cls.crate = labels.label_data(cls.shipment, SSCC)
        cls.item_url = f"http://127.0.0.1:8000/01/{GTIN}/10/{LOT}?17=260619"
        cls.crate_url = "http://127.0.0.1:8000/00/095200010000000010"


class DigitalLinkPdfTests(DigitalLinkLabelFixture):
    def test_the_label_data_carries_the_digital_link_and_its_element_strings(self):
        self.assertEqual((self.item.url, self.crate.url), (self.item_url, self.crate_url))
        self.assertEqual(self.item.hri, (f"(01) {GTIN}", f"(10) {LOT}", "(17) 260619"))
        self.assertEqual(self.crate.hri, ("(00) 095200010000000010",))
        self.assertEqual(self.item.lot_codes, (LOT,))  # a consumer unit carries its own lot only

    def test_every_sheet_label_scans_at_203_and_300_dpi_in_both_modes(self):
        for data in (self.item, self.crate):
            for layout in SHEETS:
                pdf = labels.render_pdf(layout, data, layout.slots)
                for dpi in DPIS:
                    with self.subTest(url=data.url, layout=layout.name, dpi=dpi):
                        self.assertEqual(decode_cells(pdf, layout, dpi), [[data.url] * layout.slots])

    def test_every_thermal_and_shipping_label_scans_at_203_dpi_in_one_bit_in_both_modes(self):
        for data in (self.item, self.crate):
            for layout in ROLLS:
                pdf = labels.render_pdf(layout, data, 2)
                with self.subTest(url=data.url, layout=layout.name):
                    decoded = [
                        [barcode.text for barcode in zxingcpp.read_barcodes(picture)]
                        for image, _size in pages(pdf, 203)
                        for picture in (image, image.point(lambda value: 255 if value >= 128 else 0, mode="1"))
                    ]
                    self.assertEqual(decoded, [[data.url]] * 4)

    def test_a_gs1_parser_reads_the_decoded_uri_and_the_resolver_opens_the_consumer_page(self):
        for data in (self.item, self.crate):
            pdf = labels.render_pdf(labels.LAYOUTS["thermal-40x30"], data, 1)
            image, _size = next(pages(pdf, 203))
            (barcode,) = zxingcpp.read_barcodes(image)
            link = biip.parse(barcode.text).gs1_digital_link_uri
            values = {element.ai.ai: element.value for element in link.element_strings}
            if data is self.item:
                self.assertEqual(values, {"01": GTIN, "10": LOT, "17": "260619"})
                self.assertEqual(link.element_strings[2].date, date(2026, 6, 19))
            else:
                self.assertEqual(values, {"00": "095200010000000010"})
                self.assertEqual(link.element_strings[0].sscc.company_prefix.value, "952000")
            response = Client().get(barcode.text.removeprefix("http://127.0.0.1:8000"))
            self.assertEqual(
                (response.status_code, response["Location"].split("?")[0]), (307, self.shipment.public_url)
            )

    def test_the_element_strings_are_printed_under_the_symbol_and_the_host_beside_it(self):
        for name in ("thermal-40x30", "a4-3x7", "shipping-4x6"):
            with self.subTest(layout=name):
                layout = labels.LAYOUTS[name]
                text = pdf_text(labels.render_pdf(layout, self.item, 1))
                for expected in (f"(01) {GTIN}", f"(10) {LOT}", "(17) 260619", "127.0.0.1:8000", "杨梅"):
                    self.assertIn(expected, text)
                design = labels.design(layout, self.item)
                hri_top = min(line.baseline - line.size / labels.MM for line in design.lines if "(01)" in line.text)
                self.assertGreaterEqual(hri_top, design.qr_y + design.qr_size - 1e-6)
                self.assertGreaterEqual(min(line.size for line in design.lines), 4.0)
        self.assertIn("(00) 095200010000000010", pdf_text(labels.render_pdf(labels.LAYOUTS["a4-3x8"], self.crate, 1)))

    def test_the_qr_keeps_the_smallest_version_and_its_modules_on_every_layout(self):
        for data, version in ((self.item, 4), (self.crate, 3)):
            self.assertEqual((qr.version(data.url), smallest_version(data.url)), (version, version))
            for layout in labels.LAYOUTS.values():
                with self.subTest(url=data.url, layout=layout.name):
                    design = labels.design(layout, data)
                    self.assertEqual(len(design.matrix), 17 + 4 * version)
                    self.assertGreaterEqual(design.module, labels.MIN_MODULE_MM)
        # With a production host, an upper-case lot keeps the lot in alphanumeric mode; a
        # lower-case one needs bytes, which the date attribute needs anyway: both are version 5.
        for lot in ("XJ-WAX-20260612-003", "xj-wax-20260612-003"):
            url = f"https://trace.example.cn/01/{GTIN}/10/{lot}?17=260619"
            self.assertEqual((qr.version(url), smallest_version(url)), (5, 5))
        self.assertEqual(qr.version(f"https://trace.example.cn/01/{GTIN}/10/{LOT}"), 4)


class DigitalLinkRequestTests(DigitalLinkLabelFixture):
    def test_what_a_shipment_cannot_carry_is_refused_with_the_field_to_fix(self):
        no_gtin = services.create_shipment(origin_village=self.village, store=self.shipment.store)
        other = self.second.crop.__class__.objects.create(code="BAM", name_zh="竹笋")
        bamboo = self.second.__class__.objects.create(
            farm=self.second.farm,
            crop=other,
            lot_code="XJ-BAM-20260614-001",
            quantity=5,
            status="harvested",
            harvested_on=date(2026, 6, 14),
        )
        services.add_item(shipment=no_gtin, batch=bamboo, quantity=1)
        long_lot = self.second.__class__.objects.create(
            farm=self.second.farm,
            crop=self.batch.crop,
            lot_code="XJ-WAX-20260614-000000001",
            quantity=5,
            status="harvested",
            harvested_on=date(2026, 6, 14),
        )
        with_long = services.create_shipment(origin_village=self.village, store=self.shipment.store)
        services.add_item(shipment=with_long, batch=long_lot, quantity=1)
        retailer = Retailer.objects.create(name_zh="无前缀超市")
        store = retailer.stores.create(name_zh="杭州店", city_zh="杭州")
        no_sscc = services.create_shipment(origin_village=self.village, store=store)
        services.add_item(shipment=no_sscc, batch=self.second, quantity=1)
        for shipment, content, field, message in [
            (self.shipment, labels.QrContent(kind="item"), "lot", "holds 2 lots: choose the lot"),
            (self.shipment, labels.QrContent(kind="item", lot="NOPE"), "lot", "Lot NOPE is not in this shipment."),
            (no_gtin, labels.QrContent(kind="item"), "qr", "竹笋 has no GTIN"),
            (with_long, labels.QrContent(kind="item"), "lot", "AI 10 must be 1 to 20 characters."),
            (no_sscc, SSCC, "qr", "needs a GS1 company prefix"),
        ]:
            with self.subTest(message=message), self.assertRaises(labels.LabelError) as caught:
                labels.render_labels(shipment, "a4-3x7", 1, 1, "pdf", content)
            self.assertEqual(caught.exception.field, field)
            self.assertIn(message, caught.exception.message)

    def test_the_dates_default_to_the_packing_date_and_the_retailers_shelf_life(self):
        packed = datetime(2026, 6, 13, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        record_batch_event(batch=self.batch, kind="packing", occurred_at=packed)
        self.retailer.shelf_life_days = 5
        self.retailer.save()
        shipment = Shipment.objects.select_related("store__retailer").get(pk=self.shipment.pk)
        for date_ai, expected in (("13", "?13=260613"), ("17", "?17=260618"), ("", "")):
            with self.subTest(date_ai=date_ai):
                data = labels.label_data(shipment, labels.QrContent(kind="item", lot=LOT, date_ai=date_ai))
                self.assertEqual(data.url, f"http://127.0.0.1:8000/01/{GTIN}/10/{LOT}{expected}")

    def test_zpl_carries_the_digital_link_and_its_element_strings(self):
        body, _type, _name = labels.render_labels(self.shipment, "thermal-50x30", 2, 1, "zpl", ITEM)
        zpl = body.decode()
        self.assertIn(f"^FDMA,{self.item_url}^FS", zpl)
        self.assertIn(f"^FD(01) {GTIN}", zpl)
        self.assertIn("(17) 260619^FS", zpl)
        self.assertIn("^FD127.0.0.1:8000^FS", zpl)

    def test_the_retailers_choice_is_the_default_and_one_print_may_override_it(self):
        self.retailer.label_qr = Retailer.LabelQr.SSCC
        self.retailer.save()
        self.client.force_login(self.alice)
        url = reverse("labels:download", args=[self.shipment.public_code])
        base = {"layout": "thermal-60x40", "copies": "1", "start": "1", "format": "pdf"}
        page = self.client.get(reverse("labels:print", args=[self.shipment.public_code]))
        self.assertEqual(page.context["form"]["qr"].value(), "sscc")
        for query, expected in [
            ({"qr": "sscc"}, self.crate_url),
            ({"qr": "item", "lot": LOT, "date_ai": "17", "day": "2026-06-19"}, self.item_url),
            ({"qr": "url"}, self.url),
        ]:
            with self.subTest(query=query):
                response = self.client.get(url, {**base, **query})
                self.assertEqual(response.status_code, 200)
                image, _size = next(pages(response.content, 203))
                self.assertEqual([b.text for b in zxingcpp.read_barcodes(image)], [expected])
        response = self.client.get(url, {**base, "qr": "item"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("choose the lot these consumer-unit labels are for", response.context["form"].errors["lot"][0])

    def test_print_labels_takes_the_qr_choice(self):
        with tempfile.TemporaryDirectory() as folder:
            output = os.path.join(folder, "labels.pdf")
            call_command(
                "print_labels",
                self.shipment.public_code,
                "--layout=thermal-40x30",
                "--qr=item",
                f"--lot={LOT}",
                "--date-ai=17",
                "--date=2026-06-19",
                f"--output={output}",
                stderr=io.StringIO(),
            )
            with open(output, "rb") as handle:
                image, _size = next(pages(handle.read(), 203))
        self.assertEqual([b.text for b in zxingcpp.read_barcodes(image)], [self.item_url])

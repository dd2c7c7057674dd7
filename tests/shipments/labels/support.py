"""The labels' shared fixture (a shipment of two lots, the users who may and may not print it) and
the helpers that rasterise a PDF and decode its QR codes."""

from datetime import date
from decimal import Decimal

import pypdfium2 as pdfium
import zxingcpp
from django.contrib.auth import get_user_model
from django.test import Client, TestCase
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

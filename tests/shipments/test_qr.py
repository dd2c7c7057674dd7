import io
import re
import xml.etree.ElementTree as ET

import zxingcpp
from django.test import TestCase, override_settings
from PIL import Image

from shipments import qr
from shipments.models import CODE_ALPHABET, Shipment
from tests.support import make_batch, make_crop, make_delivered_shipment, make_farm, make_village

SVG = "{http://www.w3.org/2000/svg}"


def decode(png: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def svg_modules(svg: bytes) -> tuple[set[tuple[int, int]], int]:
    """The dark modules an SVG path draws (one `Mx,yH..V..H..z` square per module), and the viewBox size."""
    root = ET.fromstring(svg)
    size = int(root.get("viewBox").split()[2])
    path = root.find(f"{SVG}path").get("d")
    return {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", path)}, size


@override_settings(PUBLIC_BASE_URL="https://trace.example.cn")
class QrImageTests(TestCase):
    def setUp(self):
        farm = make_farm(make_village())
        self.shipment = make_delivered_shipment(batches=[make_batch(farm, make_crop(), "XJ-WAX-20260612-001")])
        self.url = self.shipment.public_url

    def test_the_png_decodes_to_the_exact_public_url(self):
        response = self.client.get(f"{self.shipment.public_path}/qr.png")
        self.assertEqual(response["Content-Type"], "image/png")
        self.assertEqual(decode(response.content), [f"https://trace.example.cn/s/{self.shipment.public_code}"])
        self.assertEqual(response["Cache-Control"], "public, max-age=31536000, immutable")

    def test_the_scale_sets_pixels_per_module_within_bounds(self):
        modules = len(qr.matrix(self.url)) + 2 * qr.QUIET_ZONE
        for asked, scale in (("2", 2), ("12", 12), ("0", 1), ("1000", 40)):
            response = self.client.get(f"{self.shipment.public_path}/qr.png?scale={asked}")
            self.assertEqual(Image.open(io.BytesIO(response.content)).size, (modules * scale, modules * scale))
        self.assertEqual(decode(self.client.get(f"{self.shipment.public_path}/qr.png?scale=2").content), [self.url])

    def test_a_scale_that_is_not_a_number_is_refused(self):
        response = self.client.get(f"{self.shipment.public_path}/qr.png?scale=big")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.content, b"scale must be a whole number from 1 to 40.")

    def test_the_svg_draws_exactly_the_modules_of_the_symbol(self):
        response = self.client.get(f"{self.shipment.public_path}/qr.svg")
        self.assertEqual(response["Content-Type"], "image/svg+xml")
        self.assertEqual(response["Cache-Control"], "public, max-age=31536000, immutable")
        drawn, size = svg_modules(response.content)
        matrix = qr.matrix(self.url)
        expected = {
            (x + qr.QUIET_ZONE, y + qr.QUIET_ZONE) for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark
        }
        self.assertEqual(drawn, expected)
        self.assertEqual(size, len(matrix) + 2 * qr.QUIET_ZONE)

    def test_the_svg_and_png_show_the_same_symbol(self):
        png = Image.open(io.BytesIO(self.client.get(f"{self.shipment.public_path}/qr.png?scale=1").content))
        png = png.convert("L")
        drawn, size = svg_modules(self.client.get(f"{self.shipment.public_path}/qr.svg").content)
        dark_pixels = {(x, y) for x in range(size) for y in range(size) if png.getpixel((x, y)) < 128}
        self.assertEqual(dark_pixels, drawn)

    def test_a_typical_host_keeps_the_symbol_at_version_4_or_less_at_error_correction_m(self):
        for code in ("2" * 16, "Z" * 16, self.shipment.public_code):
            url = Shipment(public_code=code).public_url
            self.assertLessEqual(qr.version(url), 4, url)
            self.assertLessEqual(qr.version(url.upper()), 4, url)
        # The alphabet's densest QR mode: every code character is QR-alphanumeric.
        self.assertTrue(set(CODE_ALPHABET) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))

    def test_lowercase_codes_serve_the_same_image(self):
        upper = self.client.get(f"/s/{self.shipment.public_code}/qr.png").content
        lower = self.client.get(f"/s/{self.shipment.public_code.lower()}/qr.png").content
        self.assertEqual(upper, lower)

    def test_unknown_and_malformed_codes_have_no_image(self):
        self.assertEqual(self.client.get("/s/ABCDEFGHJKLMNPQR/qr.png").status_code, 404)
        with self.assertNumQueries(0):
            self.assertEqual(self.client.get("/s/not-a-code/qr.svg").status_code, 404)

    def test_a_cached_image_needs_no_query(self):
        path = f"{self.shipment.public_path}/qr.svg"
        first = self.client.get(path).content
        with self.assertNumQueries(0):
            self.assertEqual(self.client.get(path).content, first)

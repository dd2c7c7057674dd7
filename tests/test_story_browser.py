"""The whole story in headless Chromium at a phone's 360x640: a farmer registers a batch and its
harvest, a retailer ships it and prints its labels, and the shipment's consumer page shows it."""

import os
from pathlib import Path

from django.contrib.staticfiles.testing import StaticLiveServerTestCase

from shipments.models import Shipment
from tests.support import make_crop, make_farm, make_field, make_retailer, make_user, make_village, requires_chromium
from traceability.models import Batch

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@requires_chromium
class FarmToStoreStoryTests(StaticLiveServerTestCase):
    @classmethod
    def setUpClass(cls):
        # Playwright's sync API runs an event loop in this thread; the ORM calls in the test are
        # still plain synchronous code.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        super().setUpClass()
        from playwright.sync_api import sync_playwright

        cls.playwright = sync_playwright().start()
        cls.browser = cls.playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        ARTIFACTS.mkdir(exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.playwright.stop()
        super().tearDownClass()
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    def setUp(self):
        self.village = make_village("XJ")
        self.farm = make_farm(self.village)
        self.field = make_field(self.farm)
        self.crop = make_crop("WAX")
        make_user("farmer", role="farmer", village=self.village)
        retailer_user = make_user("retailer")
        _, self.store = make_retailer(villages=[self.village], staff=[retailer_user])

    def phone(self):
        # A Chinese phone: the app's default language and the one most of its users read.
        context = self.browser.new_context(
            viewport={"width": 360, "height": 640}, locale="zh-CN", accept_downloads=True
        )
        self.addCleanup(context.close)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    def log_in(self, page, username: str) -> None:
        page.goto(f"{self.live_server_url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", f"pw-{username}")
        page.click("button.btn.big")
        page.wait_for_url(f"{self.live_server_url}/")

    def assert_fits_the_screen(self, page) -> None:
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        self.assertEqual(overflow, 0, f"{page.url} scrolls sideways at 360 px")

    def test_a_batch_goes_from_the_farm_to_the_store_and_the_consumer_page(self):
        farmer = self.phone()
        self.log_in(farmer, "farmer")
        farmer.click('a.btn.big[href="/batches/new/"]')
        farmer.select_option("#id_crop", str(self.crop.pk))
        farmer.select_option("#id_field", str(self.field.pk))
        farmer.fill("#id_quantity", "120")
        farmer.select_option("#id_unit", "kg")
        self.assert_fits_the_screen(farmer)
        farmer.screenshot(path=str(ARTIFACTS / "story-1-register.png"), full_page=True)
        farmer.click("button.btn.big")
        farmer.wait_for_url("**/batches/*-001/")
        batch = Batch.objects.get()
        self.assertEqual((batch.farm, batch.field, batch.status), (self.farm, self.field, "growing"))
        farmer.click(f'a[href="/batches/{batch.lot_code}/record/harvest/"]')
        farmer.fill("#id_quantity", "118")
        farmer.click("button.btn.big")
        farmer.wait_for_url(f"**/batches/{batch.lot_code}/")
        batch.refresh_from_db()
        self.assertEqual(batch.status, "harvested")
        # Both happened within the minute: the form's time is to the minute, the registration's not.
        self.assertEqual(
            sorted(batch.events.values_list("kind", "actor__username")),
            [("harvest", "farmer"), ("registration", "farmer")],
        )
        farmer.screenshot(path=str(ARTIFACTS / "story-2-harvested.png"), full_page=True)

        retailer = self.phone()
        self.log_in(retailer, "retailer")
        retailer.click('a.btn.big[href="/shipments/new/"]')
        retailer.select_option("#id_store", str(self.store.pk))
        retailer.select_option("#id_origin_village", str(self.village.pk))
        retailer.fill("#id_carrier", "顺丰冷链")
        retailer.click("button.btn.big")
        retailer.wait_for_url("**/shipments/*/")
        shipment = Shipment.objects.get()
        retailer.fill(f'input[name="qty:{batch.lot_code}"]', "100")
        retailer.click("form[action$='/items/'] button.btn.big")
        retailer.wait_for_selector(f"#items a:has-text('{batch.lot_code}')")
        retailer.click("form[action$='/dispatch/'] button")
        retailer.wait_for_selector("#shipment-status.dispatched")
        shipment.refresh_from_db()
        self.assertEqual(shipment.status, "dispatched")
        self.assertEqual(list(shipment.items.values_list("batch__lot_code", "quantity")), [(batch.lot_code, 100)])
        self.assert_fits_the_screen(retailer)
        retailer.screenshot(path=str(ARTIFACTS / "story-3-dispatched.png"), full_page=True)

        self.assertEqual(retailer.locator("#consumer-link").get_attribute("href"), shipment.public_url)
        retailer.click("#labels-link")
        retailer.wait_for_url(f"**/shipments/{shipment.public_code}/labels/")
        self.assert_fits_the_screen(retailer)
        retailer.screenshot(path=str(ARTIFACTS / "story-4-labels.png"), full_page=True)
        with retailer.expect_download() as download_info:
            retailer.click("form[action$='/labels/download'] button[type=submit]")
        download = download_info.value
        pdf = Path(download.path()).read_bytes()
        self.assertEqual(pdf[:5], b"%PDF-")
        self.assertTrue(download.suggested_filename.endswith(".pdf"), download.suggested_filename)

        consumer = self.phone()
        consumer.goto(f"{self.live_server_url}{shipment.public_path}")
        self.assertEqual(consumer.locator(".lot").first.inner_text(), batch.lot_code)
        self.assertEqual(consumer.evaluate("document.documentElement.lang"), "zh-hans")
        self.assertIn("王家果园", consumer.content())
        self.assert_fits_the_screen(consumer)
        consumer.screenshot(path=str(ARTIFACTS / "story-5-consumer.png"), full_page=True)

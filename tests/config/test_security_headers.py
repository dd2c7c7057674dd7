"""Security headers: a Content-Security-Policy that no page needs to break (no inline script or
style anywhere, nothing from another site), a Permissions-Policy, and HSTS from the environment."""

import os

from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.test import SimpleTestCase, TestCase, override_settings

from shipments.models import RetailerStaff
from tests.support import (
    make_batch,
    make_crop,
    make_delivered_shipment,
    make_farm,
    make_retailer,
    make_user,
    make_village,
    requires_chromium,
)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


class HeaderTests(TestCase):
    def test_every_page_forbids_inline_script_style_and_other_sites(self):
        for url in ("/", "/accounts/login/", "/s/ABCDEFGHJKLMNPQR", "/api/v1/", "/admin/login/"):
            policy = self.client.get(url)["Content-Security-Policy"]
            directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
            self.assertEqual(directives["script-src"], "'self'", url)
            self.assertEqual(directives["style-src"], "'self'", url)
            self.assertEqual(directives["default-src"], "'self'", url)
            self.assertEqual(directives["frame-ancestors"], "'none'", url)

    def test_unused_browser_features_are_off(self):
        policy = self.client.get("/accounts/login/")["Permissions-Policy"]
        self.assertIn("microphone=()", policy)
        self.assertIn("payment=()", policy)
        self.assertIn("camera=(self)", policy)


class HstsTests(SimpleTestCase):
    def test_hsts_includes_subdomains_and_preload_when_the_environment_says_so(self):
        import subprocess
        import sys

        from tests.config.test_settings import ROOT

        code = "from django.conf import settings as s; print(s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)"
        env = {**os.environ, "DEBUG": "1", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1", "SECURE_HSTS_PRELOAD": "yes"}
        env["DJANGO_SETTINGS_MODULE"] = "config.settings"
        result = subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); " + code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(result.stdout.strip(), "True True", result.stderr)

    @override_settings(
        SECURE_HSTS_SECONDS=31536000,
        SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
        SECURE_HSTS_PRELOAD=True,
        SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    )
    def test_the_header_carries_them(self):
        from django.test import Client

        response = Client().get("/healthz", HTTP_X_FORWARDED_PROTO="https")
        self.assertEqual(response["Strict-Transport-Security"], "max-age=31536000; includeSubDomains; preload")


@requires_chromium
class NoPolicyViolationTests(StaticLiveServerTestCase):
    """Every kind of page, in Chromium, under the policy: nothing is refused."""

    def setUp(self):
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        self.addCleanup(os.environ.pop, "DJANGO_ALLOW_ASYNC_UNSAFE", None)
        village = make_village()
        root = make_user("root", role="coordinator", village=village, is_staff=True, is_superuser=True)
        retailer, store = make_retailer(villages=[village])
        RetailerStaff.objects.create(user=root, retailer=retailer)
        self.batch = make_batch(make_farm(village), make_crop(), "XJ-WAX-20260612-001", status="packed")
        self.shipment = make_delivered_shipment(batches=[self.batch], store=store)

    def test_no_page_breaks_the_policy(self):
        from playwright.sync_api import sync_playwright

        code = self.shipment.public_code
        pages = [
            self.shipment.public_path,
            "/s/ABCDEFGHJKLMNPQR",
            "/",
            "/batches/",
            f"/batches/{self.batch.lot_code}/",
            f"/trace/?lot={self.batch.lot_code}",
            "/recalls/",
            "/shipments/",
            f"/shipments/{code}/",
            f"/shipments/{code}/labels/",
            "/village/",
            "/village/XJ/",
            "/farms/",
            "/admin/",
            "/admin/traceability/batch/",
            "/api/v1/",
            "/api/docs/",
            "/api/docs/redoc/",
        ]
        refused = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.on("console", lambda message: refused.append((page.url, message.text)))
                page.goto(f"{self.live_server_url}/accounts/login/")
                page.fill("#id_username", "root")
                page.fill("#id_password", "pw-root")
                page.click("button.btn.big")
                page.wait_for_url(f"{self.live_server_url}/")
                for path in pages:
                    response = page.goto(self.live_server_url + path)
                    self.assertIn(response.status, (200, 404) if path.startswith("/s/") else (200,), path)
                    page.wait_for_load_state("networkidle")
            finally:
                browser.close()
        violations = [(url, text) for url, text in refused if "Content Security Policy" in text]
        # What the policy is for: Redoc's bundle may ask for its logo from its makers' CDN.
        third_party = [(url, text) for url, text in violations if "https://cdn.redoc.ly/" in text]
        self.maxDiff = None
        self.assertLessEqual({url for url, _text in third_party}, {f"{self.live_server_url}/api/docs/redoc/"})
        self.assertEqual([v for v in violations if v not in third_party], [])

"""The OpenAPI schema, its offline docs, and a fuzzer (schemathesis) run against a live server."""

import re
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.test import LiveServerTestCase, TestCase
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from tests.support import make_api_world

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


class SchemaTests(TestCase):
    def test_the_schema_is_openapi_3_and_names_every_resource_and_action(self):
        response = self.client.get("/api/schema/", HTTP_ACCEPT="application/json")
        self.assertEqual(response.status_code, 200)
        schema = response.json()
        self.assertTrue(schema["openapi"].startswith("3."))
        paths = set(schema["paths"])
        for path in [
            "/api/v1/villages/",
            "/api/v1/farms/{id}/",
            "/api/v1/fields/",
            "/api/v1/crops/",
            "/api/v1/recipes/",
            "/api/v1/batches/{lot_code}/",
            "/api/v1/events/",
            "/api/v1/recalls/",
            "/api/v1/retailers/",
            "/api/v1/stores/",
            "/api/v1/shipments/{id}/dispatch/",
            "/api/v1/shipments/{id}/receive/",
            "/api/v1/shipments/{id}/cancel/",
            "/api/v1/shipments/{id}/items/",
            "/api/v1/shipments/{id}/items/{item_id}/",
            "/api/v1/scans/",
            "/api/v1/auth/token/",
        ]:
            self.assertIn(path, paths)
        self.assertEqual(
            schema["paths"]["/api/v1/shipments/{id}/dispatch/"]["post"]["operationId"],
            "shipments_dispatch_create",
        )


class OfflineDocsTests(StaticLiveServerTestCase):
    def test_the_docs_load_their_scripts_from_this_server_and_never_from_a_cdn(self):
        import urllib.request

        html = urllib.request.urlopen(f"{self.live_server_url}/api/docs/").read().decode()
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        self.assertTrue(any("swagger-ui-bundle.js" in asset for asset in assets), assets)
        for asset in assets:
            self.assertFalse(asset.startswith(("http://", "https://", "//")), asset)
            with urllib.request.urlopen(f"{self.live_server_url}{asset}") as response:
                self.assertEqual(response.status, 200, asset)
                self.assertGreater(len(response.read()), 100, asset)
        redoc = urllib.request.urlopen(f"{self.live_server_url}/api/docs/redoc/").read().decode()
        self.assertNotRegex(redoc, r'src="(https?:)?//')


class FuzzTests(LiveServerTestCase):
    """Schemathesis generates requests from the schema (valid and invalid ones) for every
    operation; no response may be a 500 and every documented response must match the schema."""

    def test_no_generated_request_causes_a_server_error_or_an_off_schema_response(self):
        world = make_api_world()
        token = Token.objects.create(user=world.rita).key
        command = [
            str(SCHEMATHESIS),
            "run",
            f"{self.live_server_url}/api/schema/",
            "--header",
            f"Authorization: Token {token}",
            "--checks",
            "not_a_server_error,response_schema_conformance,content_type_conformance",
            "--max-examples",
            "10",
            "--phases",
            "examples,fuzzing",
            "--exclude-path-regex",
            "auth/token",  # DELETE would revoke the token the run uses
            "--generation-database",
            "none",
            "--workers",
            "1",
            "--no-color",
            "--seed",
            "20260612",
        ]
        # The run sends a few thousand requests in seconds: more than the per-user rate allows.
        # It runs in a scratch directory because schemathesis writes its state in the cwd.
        with (
            mock.patch.dict(SimpleRateThrottle.THROTTLE_RATES, {"user": "1000000/minute"}),
            tempfile.TemporaryDirectory() as scratch,
        ):
            result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=scratch)
        self.assertEqual(result.returncode, 0, result.stdout[-6000:] + result.stderr[-2000:])
        self.assertRegex(result.stdout, r"\d+ generated, \d+ passed")

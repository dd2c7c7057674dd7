"""Start-up refuses bad environment values with a message that says how to fix them."""

import os
import subprocess
import sys
from pathlib import Path

from django.test import SimpleTestCase

ROOT = Path(__file__).resolve().parents[2]


def start(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


class SettingsValidationTests(SimpleTestCase):
    def test_it_starts_in_debug_with_development_defaults(self):
        result = start(DEBUG="1")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("System check identified no issues", result.stdout)

    def test_it_refuses_to_start_without_a_secret_key_outside_debug(self):
        result = start(DEBUG="0", ALLOWED_HOSTS="trace.example.cn")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("SECRET_KEY is not set", result.stderr)

    def test_it_names_a_malformed_boolean_and_the_accepted_values(self):
        result = start(DEBUG="maybe")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("DEBUG='maybe' is not a boolean", result.stderr)

    def test_it_rejects_a_database_url_it_cannot_parse(self):
        result = start(DEBUG="1", DATABASE_URL="mysqlx://nowhere")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("DATABASE_URL='mysqlx://nowhere' is not a database URL", result.stderr)

    def test_it_rejects_a_public_base_url_without_a_scheme_or_with_a_path(self):
        result = start(DEBUG="1", PUBLIC_BASE_URL="trace.example.cn")
        self.assertIn("PUBLIC_BASE_URL='trace.example.cn' is not a valid URL", result.stderr)
        result = start(DEBUG="1", PUBLIC_BASE_URL="https://trace.example.cn/qr")
        self.assertIn("has a path", result.stderr)

    def test_it_rejects_an_unknown_time_zone(self):
        result = start(DEBUG="1", TIME_ZONE="Mars/Olympus")
        self.assertIn("TIME_ZONE='Mars/Olympus' is not a known time zone", result.stderr)

    def test_it_requires_allowed_hosts_outside_debug(self):
        result = start(DEBUG="0", SECRET_KEY="x" * 50)
        self.assertIn("ALLOWED_HOSTS is empty", result.stderr)


class HttpsRedirectTests(SimpleTestCase):
    def test_with_ssl_redirect_pages_move_to_https_but_the_health_check_stays_on_http(self):
        from django.test import Client, override_settings

        with override_settings(SECURE_SSL_REDIRECT=True):
            client = Client()
            self.assertEqual(client.get("/healthz").status_code, 200)
            response = client.get("/accounts/login/")
            self.assertEqual((response.status_code, response["Location"]), (301, "https://testserver/accounts/login/"))

"""Start-up refuses bad environment values with a message that says how to fix them."""

import os
import subprocess
import sys
from pathlib import Path

from django.test import SimpleTestCase

ROOT = Path(__file__).resolve().parents[2]


# What the test run itself sets (tests/environment.py) or the caller's shell may hold.
NOT_INHERITED = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SECURE_COOKIES", "PUBLIC_BASE_URL")


def start(ARGS: str = "", **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", *ARGS.split()],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
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

    def test_it_refuses_a_gs1_company_prefix_length_outside_6_to_12(self):
        for raw in ("5", "13"):
            result = start(DEBUG="1", GS1_COMPANY_PREFIX_LENGTH=raw)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(f"GS1_COMPANY_PREFIX_LENGTH={raw} is out of range", result.stderr)
        result = start(DEBUG="1", GS1_COMPANY_PREFIX_LENGTH="eight")
        self.assertIn("GS1_COMPANY_PREFIX_LENGTH='eight' is not an integer", result.stderr)
        result = start(DEBUG="1", GS1_COMPANY_PREFIX_LENGTH="9")
        self.assertEqual(result.returncode, 0, result.stderr)

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


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k9Q-2vR_7wLp4sX8zT1mN6bJ3cF0hY5gD-eA9uK2qW7rE4tZ1xV8",
    "ALLOWED_HOSTS": "trace.example.cn",
    "PUBLIC_BASE_URL": "https://trace.example.cn",
}


class StartupErrorTests(SimpleTestCase):
    """A bad setting is one clear line on stderr and a non-zero exit, under manage.py and gunicorn."""

    def test_manage_py_prints_one_line_and_no_traceback(self):
        result = start(DEBUG="maybe")
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(
            result.stderr.strip().splitlines(),
            ["Configuration error: DEBUG='maybe' is not a boolean: set it to one of 1/0, true/false, yes/no, on/off."],
        )

    def test_gunicorn_prints_the_same_line_exits_non_zero_and_shows_no_traceback(self):
        clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        result = subprocess.run(
            [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "-b", "127.0.0.1:8179", "-w", "1"],
            cwd=ROOT,
            env={**clean, **PRODUCTION, "SECRET_KEY": ""},
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("Configuration error: SECRET_KEY is not set.", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_production_requires_the_public_base_url(self):
        result = start(**{**PRODUCTION, "PUBLIC_BASE_URL": ""})
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("Configuration error: PUBLIC_BASE_URL is not set", result.stderr)

    def test_check_deploy_is_clean_with_the_documented_production_environment(self):
        env = {
            **PRODUCTION,
            "BEHIND_TLS_PROXY": "1",
            "TRUSTED_PROXY_COUNT": "1",
            "CSRF_TRUSTED_ORIGINS": "https://trace.example.cn",
            "SECURE_SSL_REDIRECT": "1",
            "SECURE_HSTS_SECONDS": "31536000",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
            "SECURE_HSTS_PRELOAD": "1",
        }
        result = start(**env, ARGS="--deploy --fail-level WARNING")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("System check identified no issues", result.stdout)

    def test_check_deploy_warns_about_a_public_base_url_no_phone_can_reach(self):
        env = {**PRODUCTION, "PUBLIC_BASE_URL": "http://127.0.0.1:8000", "ALLOWED_HOSTS": "127.0.0.1"}
        result = start(**env, ARGS="--deploy")
        self.assertIn("shipments.W001", result.stderr)

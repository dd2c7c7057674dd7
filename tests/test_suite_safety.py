"""The test suite never empties a Redis database it was not given, and its database name can be chosen."""

import os
import subprocess
import sys
from pathlib import Path

from django.test import SimpleTestCase

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_NAME")}
    return subprocess.run(args, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120)


class SuiteSafetyTests(SimpleTestCase):
    def test_the_suite_refuses_redis_database_0(self):
        # Nothing listens on that port: the refusal comes before any connection, let alone a FLUSHDB.
        for url in ("redis://127.0.0.1:6399", "redis://127.0.0.1:6399/0"):
            result = run([sys.executable, "-m", "pytest", "-q", "tests/test_makefile.py"], REDIS_URL=url)
            self.assertEqual(result.returncode, 4, url)
            self.assertIn("selects Redis database 0, which the tests would empty", result.stderr)

    def test_the_test_database_name_comes_from_the_environment(self):
        code = (
            "import django; django.setup(); from django.db import connection; print(connection.settings_dict['TEST'])"
        )
        result = run(
            [sys.executable, "-c", code],
            DJANGO_SETTINGS_MODULE="config.settings",
            DEBUG="1",
            DATABASE_URL="postgres://postgres@127.0.0.1:5432/trace",
            TEST_DATABASE_NAME="test_trace_ci_2",
        )
        self.assertIn("'NAME': 'test_trace_ci_2'", result.stdout, result.stderr)

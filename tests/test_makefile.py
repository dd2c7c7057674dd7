"""The Makefile: `make run PORT=8100` serves, prints, links and encodes port 8100; an old Python
is refused with a clear message."""

import os
import subprocess
import tempfile
from pathlib import Path

from django.test import SimpleTestCase

ROOT = Path(__file__).resolve().parent.parent


def make(*args: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_BASE_URL", "HOST", "PORT", "MAKEFLAGS")}
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


class MakeRunTests(SimpleTestCase):
    def test_port_is_where_it_serves_what_it_prints_and_what_links_and_qr_codes_use(self):
        commands = make("-n", "run", "PORT=8100").stdout
        self.assertIn("manage.py runserver 127.0.0.1:8100", commands)
        self.assertIn("Serving on http://127.0.0.1:8100/", commands)
        self.assertIn("DEBUG=1 PUBLIC_BASE_URL=http://127.0.0.1:8100 .venv/bin/python manage.py seed_demo", commands)

    def test_a_public_base_url_given_wins(self):
        commands = make("-n", "run", "PORT=8100", PUBLIC_BASE_URL="http://192.0.2.10:8100").stdout
        self.assertIn("PUBLIC_BASE_URL=http://192.0.2.10:8100 .venv/bin/python manage.py runserver", commands)

    def test_a_python_older_than_3_11_is_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            old = Path(tmp) / "python"
            old.write_text("#!/bin/sh\necho 3.9\n")
            old.chmod(0o755)
            result = make("venv", f"VENV={tmp}/venv", f"PYTHON={old}")
            self.assertFalse((Path(tmp) / "venv").exists())
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("This project needs Python 3.11 or newer", result.stderr)

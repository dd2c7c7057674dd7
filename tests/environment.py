"""Loaded with `-p tests.environment` before pytest-django reads the settings: the suite runs
with development settings unless the caller sets them."""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECURE_COOKIES", "0")

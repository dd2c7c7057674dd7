"""Loaded with `-p tests.environment` before pytest-django reads the settings: the suite runs
with development settings unless the caller sets them."""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECURE_COOKIES", "0")
# Scans are written as they happen, so tests can pin the one INSERT of a cached page view;
# tests/shipments/test_scan_writer.py covers batching.
os.environ.setdefault("SCAN_BATCH_SIZE", "1")

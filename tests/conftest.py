"""Test-suite wiring: development settings, and skips that are never silent.

Tests that need PostgreSQL or Chromium use the `requires_postgres` / `requires_chromium`
markers from tests.support; they skip with a stated reason elsewhere. `pytest --no-skips`
(used by CI on PostgreSQL) turns any skip into a failure, so nothing passes by skipping.
"""

import pytest


def pytest_configure(config):
    """Tests create users in many places; the production hasher spends most of a second on each
    hash by design. Tests check who may do what, not the hasher, so they use a fast one.

    The suite empties the Redis database REDIS_URL names before every test, so it refuses
    database 0, where a shared or production Redis keeps its data by default."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache = settings.CACHES["default"]
    if cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        from redis.connection import parse_url

        if int(parse_url(cache["LOCATION"]).get("db", 0)) == 0:
            raise pytest.UsageError(
                f"REDIS_URL={cache['LOCATION']} selects Redis database 0, which the tests would empty: "
                "give them a database of their own, e.g. redis://127.0.0.1:6379/15"
            )


def pytest_addoption(parser):
    parser.addoption("--no-skips", action="store_true", help="fail any test that would be skipped")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if item.config.getoption("--no-skips") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under --no-skips: {report.longrepr}"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (the shared Redis one in CI)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _no_scans_waiting():
    """The consumer page writes Scan rows in batches (shipments.scans): rows a test left waiting
    belong to its rolled-back transaction and must not be written by a later test."""
    from shipments import scans

    scans.waiting.clear()
    yield
    scans.waiting.clear()

"""A live site with a farmer on it, for bench/offline_sync.py and docs/guides/screenshots.py
(not a benchmark itself: bench/run_all.py skips files starting with "_").

Its own PostgreSQL database (trace_bench_offline, or the caller's), made afresh on each run
(OFFLINE_BENCH_DATABASE_URL names another database, which is then kept as it is), migrated and
seeded through the project's services (a village, a farm with two fields, a crop, farmer `farmer`
with password `demo-password`, a growing lot), gunicorn with DEBUG=0 on a loopback port (8180,
the port range of this work), and headless Chromium at a phone's 360x640.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/trace_bench_offline"
PASSWORD = "demo-password"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def ensure_database(url: str, *, fresh: bool) -> None:
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    connection = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    connection.autocommit = True
    with connection.cursor() as cursor:
        if fresh:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def environment(port: int, database_url: str) -> dict:
    """The server's settings, also used by this process to seed the database."""
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "ERROR",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "MEDIA_ROOT": str(ROOT / "var" / "bench-offline-media"),
    }


def seed():
    """The village, farm, fields, crop, farmer and one growing lot; idempotent. Returns the lot."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from farms.models import Crop, Farm, Field, Membership, Village
    from traceability import services
    from traceability.models import Batch

    village, _ = Village.objects.get_or_create(
        code="XJ",
        defaults={"name_zh": "仙居县杨梅村", "name_en": "Xianju Waxberry Village", "province_zh": "浙江省"},
    )
    farm, _ = Farm.objects.get_or_create(
        village=village, name_zh="王家杨梅园", defaults={"name_en": "Wang Family Orchard", "grower_name": "王建国"}
    )
    field, _ = Field.objects.get_or_create(farm=farm, name_zh="东坡地", defaults={"name_en": "East Slope"})
    Field.objects.get_or_create(farm=farm, name_zh="西坡地", defaults={"name_en": "West Slope"})
    crop, _ = Crop.objects.get_or_create(code="WAX", defaults={"name_zh": "杨梅", "name_en": "Waxberry"})
    village.specialties.add(crop)
    User = get_user_model()
    if not User.objects.filter(username="farmer").exists():
        farmer = User.objects.create_user("farmer", password=PASSWORD, first_name="建国")
        Membership.objects.create(user=farmer, role=Membership.Role.FARMER, village=village)
    lot = Batch.objects.filter(farm=farm, status=Batch.Status.GROWING).order_by("created_at").first()
    if lot is None:
        lot = services.register_batch(farm=farm, crop=crop, field=field, quantity=Decimal("120"), unit="kg")
    return lot


def wait_until_up(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"gunicorn did not answer {url} within {seconds:.0f} s")
        time.sleep(0.2)


@contextmanager
def live_site(port: int = 8180, workers: int = 2, database_url: str = DEFAULT_DB):
    """Seeds the database, serves the project with gunicorn; yields (base URL, the seeded lot)."""
    chosen = os.environ.get("OFFLINE_BENCH_DATABASE_URL", "").strip()
    env = environment(port, chosen or database_url)
    os.environ.update(env)
    ensure_database(env["DATABASE_URL"], fresh=not chosen)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    lot = seed()
    gunicorn = [
        str(Path(sys.executable).with_name("gunicorn")),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(gunicorn, cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/healthz")
        yield base, lot
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


@contextmanager
def phone_browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls here stay synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_phone(browser):
    context = browser.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(30000)
    page.on("dialog", lambda dialog: dialog.accept())
    return context, page


def log_in_and_get_ready(page, base: str) -> None:
    """Signs the farmer in and waits until the phone keeps the pages (the service worker runs)."""
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "farmer")
    page.fill("#id_password", PASSWORD)
    page.click("button.btn.big")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/batches/")
    page.wait_for_selector('#offline[data-ready="1"]', state="attached")

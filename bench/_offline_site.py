"""A live site with a farmer on it, for bench/offline_sync.py and docs/guides/screenshots.py
(not a benchmark itself: bench/run_all.py skips files starting with "_").

Its own PostgreSQL database (trace_bench_offline, or the caller's), made afresh on each run
(OFFLINE_BENCH_DATABASE_URL names another database, which is then kept as it is), migrated and
seeded through the project's services (a village, a farm with two fields, a crop, farmer `farmer`
with password `demo-password`, a growing lot), gunicorn with DEBUG=0 on a loopback port (8180,
the port range of this work), and headless Chromium at a phone's 360x640.
"""

import os
from contextlib import contextmanager

from _server import ROOT, ensure_database, environment, gunicorn, setup_django, stop, wait_until_up

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/trace_bench_offline"
PASSWORD = "demo-password"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


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


@contextmanager
def live_site(port: int = 8180, workers: int = 2, database_url: str = DEFAULT_DB):
    """Seeds the database, serves the project with gunicorn; yields (base URL, the seeded lot)."""
    chosen = os.environ.get("OFFLINE_BENCH_DATABASE_URL", "").strip()
    env = environment(port, chosen or database_url, MEDIA_ROOT=str(ROOT / "var" / "bench-offline-media"))
    ensure_database(env["DATABASE_URL"], fresh=not chosen)
    setup_django(env)
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG=0 serves hashed names only
    lot = seed()
    server = gunicorn("config.wsgi", port, env, workers=workers)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=20)
        yield f"http://127.0.0.1:{port}", lot
    finally:
        stop(server)


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

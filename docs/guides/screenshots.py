"""Take the farmer's guide screenshots (docs/guides/img/farmer-*.png) of the app itself.

    .venv/bin/python docs/guides/screenshots.py

Runs the site of bench/_offline_site.py (a fresh database, trace_guide_screens; gunicorn on port
8180) and headless
Chromium at a phone's 360x640 in Chinese, plays a day in the field with no signal, and saves each
screen as a small palette PNG. Rerun it after changing the farmer's pages.
"""

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from _offline_site import live_site, log_in_and_get_ready, new_phone, phone_browser  # noqa: E402

IMAGES = Path(__file__).resolve().parent / "img"


def save(page, name: str, selector: str | None = None) -> None:
    """A screenshot of the page (or one element) as a 64-colour PNG: a few tens of kilobytes."""
    from PIL import Image

    shot = page.locator(selector).screenshot() if selector else page.screenshot(full_page=True)
    image = Image.open(io.BytesIO(shot)).convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    path = IMAGES / f"farmer-{name}.png"
    image.save(path, optimize=True)
    print(f"{path.relative_to(ROOT)}: {image.size[0]}x{image.size[1]}, {path.stat().st_size // 1024} KB")


def main() -> int:
    IMAGES.mkdir(exist_ok=True)
    database = "postgres://postgres@127.0.0.1:5432/trace_guide_screens"
    with live_site(database_url=database) as (base, lot), phone_browser() as browser:
        from django.contrib.sessions.models import Session

        context, page = new_phone(browser)
        log_in_and_get_ready(page, base)
        page.evaluate("FarmOutbox.all().then(all => FarmOutbox.remove(all.map(r => r.id)))")

        # 1. On the hillside: no signal, the form still opens and saves.
        context.set_offline(True)
        page.goto(f"{base}/batches/{lot.lot_code}/record/harvest/")
        page.fill("#id_occurred_at", "2026-06-12T06:30")
        page.fill("#id_quantity", "118.5")
        save(page, "1-record-offline")
        page.click("button.btn.big")
        page.wait_for_url("**/batches/outbox/?saved=*")
        page.goto(f"{base}/batches/{lot.lot_code}/record/cooling/")
        page.fill("#id_occurred_at", "2026-06-12T08:10")
        page.fill("#id_temperature_c", "3.5")
        page.click("button.btn.big")
        page.wait_for_url("**/batches/outbox/?saved=*")

        # 2. A new batch registered with no signal: a provisional label until it is sent.
        page.goto(f"{base}/batches/new/")
        page.select_option("#id_crop", index=1)
        page.select_option("#id_field", index=1)
        page.fill("#id_harvested_on", "2026-06-12")
        page.fill("#id_quantity", "60")
        page.click("button.btn.big")
        page.wait_for_url("**/batches/outbox/?saved=*")
        page.wait_for_selector("#outbox-waiting li[data-record]")
        save(page, "2-waiting")

        # 3. Signal again: everything is sent by itself; the batch gets its lot code.
        context.set_offline(False)
        page.evaluate("FarmOutbox.send({now: true})")
        page.goto(f"{base}/batches/outbox/")
        page.wait_for_selector("#outbox-sent li[data-record]")
        save(page, "3-sent")

        # 4. A record the server refuses (the phone's clock was wrong): its reason, Fix and Drop.
        context.set_offline(True)
        page.goto(f"{base}/batches/{lot.lot_code}/record/temperature/")
        page.fill("#id_occurred_at", "2099-06-12T09:00")
        page.fill("#id_temperature_c", "5")
        page.click("button.btn.big")
        page.wait_for_url("**/batches/outbox/?saved=*")
        context.set_offline(False)
        page.evaluate("FarmOutbox.send({now: true})")
        page.goto(f"{base}/batches/outbox/")
        page.wait_for_selector("#outbox-refused li[data-record]")
        save(page, "4-refused", "#outbox-refused-section")
        page.locator("#outbox-refused li").first.get_by_role("button").last.click()  # drop it
        page.wait_for_selector("#outbox-refused-section", state="hidden")

        # 5. The sign-in ended while the phone was offline: sign in again, nothing is lost.
        context.set_offline(True)
        page.goto(f"{base}/batches/{lot.lot_code}/record/cooling/")
        page.fill("#id_temperature_c", "4")
        page.click("button.btn.big")
        page.wait_for_url("**/batches/outbox/?saved=*")
        Session.objects.all().delete()
        context.set_offline(False)  # the page open on the phone tries to send and learns it
        page.wait_for_selector("#sign-in-again")
        save(page, "5-sign-in-again", "#offline-bar")
        context.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

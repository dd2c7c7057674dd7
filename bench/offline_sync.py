"""How long the phone's outbox takes to send records queued with no signal.

    .venv/bin/python bench/offline_sync.py                    # about two minutes
    .venv/bin/python bench/offline_sync.py --records 100 --rounds 3 --photos 10

Starts the site of bench/_offline_site.py (gunicorn with DEBUG=0 on port 8180, its own PostgreSQL
database), signs the farmer in on headless Chromium at a phone's 360x640 and waits until the
service worker keeps the pages. Each round then, with the phone offline, queues N cooling readings
in the outbox as the record form does (FarmOutbox.add: IndexedDB), sets the phone online and times
FarmOutbox.send() until every record is sent, on the loopback network and on "rural 3G"
(Chromium's network emulation: 300 ms round trip, 750 kbit/s down, 250 kbit/s up). The photo
round saves P quality tests through the form offline, each with a 4000x3000 camera JPEG that the
phone shrinks to 1600 px, and times the saves and the sending.

Baseline, same run: the same N records posted by this script straight to the API (sequential,
token auth, loopback), i.e. the server's share of the time. Every round checks that the server
has exactly one event per record, with the time it was queued with; the script exits 1 otherwise.
"""

import argparse
import io
import json
import os
import statistics
import sys
import time
import urllib.request
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _offline_site import PASSWORD, live_site, log_in_and_get_ready, new_phone, phone_browser  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
RURAL_3G = {"offline": False, "latency": 300, "downloadThroughput": 750_000 / 8, "uploadThroughput": 250_000 / 8}

QUEUE = """async ([user, lot, start, count]) => {
  const began = performance.now();
  const ids = [];
  for (let i = 0; i < count; i++) {
    const at = new Date(Date.parse(start) + i * 60000).toISOString();
    const record = await FarmOutbox.add({
      id: FarmOutbox.newId(), user: user, type: "event", lot: lot, batchRef: null,
      payload: {kind: "cooling", occurred_at: at, data: {temperature_c: 4 + (i % 10) / 10}},
    });
    ids.push([record.id, at]);
  }
  return {ms: performance.now() - began, ids: ids};
}"""

SEND = """async () => {
  const began = performance.now();
  let report;
  let passes = 0;
  do {
    report = await FarmOutbox.send({now: true});
  } while (report.waiting && !report.offline && !report.signIn && ++passes < 5);
  const all = await FarmOutbox.all();
  return {ms: performance.now() - began, sent: all.filter(r => r.state === "sent").length,
          open: all.filter(FarmOutbox.isOpen).length, refused: all.filter(r => r.state === "refused").length};
}"""


def camera_photo() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (4000, 3000), (200, 120, 40))
    for x in range(0, 4000, 80):
        image.paste((40, 120 + x % 100, 200), (x, 0, x + 40, 3000))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def recorded(ids_and_times: list) -> int:
    """How many of the queued records the server has, once each and with their times."""
    from traceability.models import TraceEvent

    wanted = {client_id: datetime.fromisoformat(at.replace("Z", "+00:00")) for client_id, at in ids_and_times}
    found = dict(TraceEvent.objects.filter(client_id__in=list(wanted)).values_list("client_id", "occurred_at"))
    return sum(1 for client_id, at in wanted.items() if found.get(uuid.UUID(client_id)) == at)


def api_baseline(base: str, lot: str, count: int, start: datetime) -> float:
    token_request = urllib.request.Request(
        f"{base}/api/v1/auth/token/",
        data=json.dumps({"username": "farmer", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(token_request) as response:
        token = json.load(response)["token"]
    began = time.perf_counter()
    for i in range(count):
        body = {
            "batch": lot,
            "kind": "cooling",
            "occurred_at": (start + timedelta(minutes=i)).isoformat(),
            "client_id": str(uuid.uuid4()),
            "data": {"temperature_c": 4},
        }
        request = urllib.request.Request(
            f"{base}/api/v1/events/",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        with urllib.request.urlopen(request) as response:
            assert response.status == 201, response.status
    return (time.perf_counter() - began) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100, help="records queued per round (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per network (default 3)")
    parser.add_argument("--photos", type=int, default=10, help="quality tests with a photo (default 10; 0 skips)")
    parser.add_argument("--port", type=int, default=8180)
    args = parser.parse_args()
    failures = 0
    results: dict[str, list[float]] = {"api": [], "queue": [], "loopback": [], "rural 3G": []}
    os.environ["API_THROTTLE_USER"] = "100000/minute"  # one farmer sends far more than a day's records here
    with live_site(port=args.port) as (base, lot), phone_browser() as browser:
        from traceability import services

        # Cooling readings follow a harvest (traceability.lifecycle): the lot was picked the day before.
        harvest_time = datetime(2026, 6, 11, 6, 0, tzinfo=SHANGHAI)
        services.record_batch_event(batch=lot, kind="harvest", occurred_at=harvest_time, quantity=lot.quantity)
        context, page = new_phone(browser)
        log_in_and_get_ready(page, base)
        user = page.get_attribute("#offline", "data-user")
        cdp = context.new_cdp_session(page)
        day = datetime(2026, 6, 12, 6, 0, tzinfo=SHANGHAI)
        for round_number in range(args.rounds):
            start = day + timedelta(days=round_number)
            results["api"].append(api_baseline(base, lot.lot_code, args.records, start - timedelta(hours=3)))
            for network in ("loopback", "rural 3G"):
                context.set_offline(True)
                queued = page.evaluate(QUEUE, [user, lot.lot_code, start.isoformat(), args.records])
                results["queue"].append(queued["ms"])
                context.set_offline(False)
                if network == "rural 3G":
                    cdp.send("Network.emulateNetworkConditions", RURAL_3G)
                sent = page.evaluate(SEND)
                cdp.send(
                    "Network.emulateNetworkConditions",
                    {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
                )
                on_server = recorded(queued["ids"])
                ok = on_server == args.records and sent["open"] == 0 and sent["refused"] == 0
                failures += not ok
                results[network].append(sent["ms"])
                print(
                    f"round {round_number + 1} {network:>9}: queued {args.records} in {queued['ms']:.0f} ms, "
                    f"sent in {sent['ms']:.0f} ms ({sent['ms'] / args.records:.1f} ms/record), "
                    f"on the server {on_server}/{args.records}{'' if ok else '  FAILED'}",
                    flush=True,
                )
                start += timedelta(hours=12)
                page.evaluate("FarmOutbox.all().then(all => FarmOutbox.remove(all.map(r => r.id)))")
        if args.photos:
            photo = camera_photo()
            context.set_offline(True)
            saves = []
            for i in range(args.photos):
                page.goto(f"{base}/batches/{lot.lot_code}/record/quality_test/")
                page.fill("#id_occurred_at", f"2026-06-20T{8 + i // 6:02d}:{(i % 6) * 10:02d}")
                page.select_option("#id_result", "pass")
                page.fill("#id_lab", "仙居县农检站")
                page.set_input_files(
                    "#id_photo", files=[{"name": "report.jpg", "mimeType": "image/jpeg", "buffer": photo}]
                )
                began = time.perf_counter()
                page.click("button.btn.big")
                page.wait_for_url("**/batches/outbox/?saved=*")
                saves.append((time.perf_counter() - began) * 1000)
            sizes = page.evaluate("FarmOutbox.all().then(all => all.filter(r => r.photo).map(r => r.photoSize))")
            context.set_offline(False)
            sent = page.evaluate(SEND)
            ok = sent["sent"] == args.photos and sent["open"] == 0
            failures += not ok
            print(
                f"photos: {args.photos} quality tests saved offline in {statistics.median(saves):.0f} ms each "
                f"(median, photo {len(photo) // 1024} KB shrunk to {statistics.median(sizes) // 1024} KB), "
                f"sent in {sent['ms']:.0f} ms on loopback{'' if ok else '  FAILED'}",
                flush=True,
            )
    print()
    print(f"median of {args.rounds} rounds, {args.records} records:")
    for name, values in results.items():
        label = {"api": "API baseline (urllib)", "queue": "queue in IndexedDB"}.get(name, f"outbox, {name}")
        median = statistics.median(values)
        print(f"  {label:>24}: {median:7.0f} ms  ({median / args.records:.1f} ms/record)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

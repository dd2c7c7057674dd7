"""Load the consumer page and two bare Django views under the same gunicorn and the same wrk load.

    .venv/bin/python bench/scan_page.py            # about 60 seconds
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trace_bench REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python bench/scan_page.py --rounds 3 --duration 5 --port 8130

Creates and migrates its own PostgreSQL database (trace_bench unless DATABASE_URL says otherwise),
seeds one delivered shipment with three batches, their events and recipes through the project's
services, starts gunicorn on a loopback port with DEBUG=0 for the project and, with the same
gunicorn options on the next port, the one-file bare application of bench/_bare_app.py (no
middleware, no database). Then it runs `wrk --latency` in turn against the bare application, the
project's /healthz (touches no database, goes through every middleware) and the shipment's page
(every request records a scan). Prints requests/s, p50 and p99 for each, the CPU time its
gunicorn workers spent per request (from /proc: steadier than throughput when neighbours load the
machine), errors and non-2xx responses, and the page's ratio against both baselines. Exits
non-zero on any error or non-2xx response or a missing Scan row, and with --strict also when the
page serves less than half of /healthz's throughput (on a shared machine the ratio moves with the
neighbours' load, so `make bench` does not fail on it by default).
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from _server import ROOT, ensure_database, environment, gunicorn, setup_django, stop, wait_until_up

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/trace_bench"
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN"
)
TARGET_RATIO = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed() -> str:
    """One delivered shipment of three batches with a full journey and recipes; returns its code.
    Idempotent: a second run reuses the shipment."""
    from datetime import date, datetime, timedelta
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    from farms.models import Crop, Farm, Field, Recipe, Village
    from shipments import services
    from shipments.models import Retailer, Shipment, Store
    from traceability import services as trace

    existing = Shipment.objects.filter(origin_village__code="BENCH").first()
    if existing is not None:
        return existing.public_code
    village = Village.objects.create(
        code="BENCH",
        name_zh="仙居县白塔村",
        name_en="Baita Village, Xianju",
        province_zh="浙江省",
        province_en="Zhejiang",
        county_zh="仙居县",
        county_en="Xianju County",
        story_zh="白塔村的杨梅长在海拔四百米的山坡上，昼夜温差大，果实甜中带酸。" * 3,
        story_en="Baita's waxberries grow on slopes at 400 m, where cool nights make them sweet and tart. " * 3,
    )
    crop = Crop.objects.create(code="BWAX", name_zh="杨梅", name_en="Waxberry", category="fruit")
    farm = Farm.objects.create(
        village=village,
        name_zh="白塔果园",
        name_en="Baita Orchard",
        grower_name="陈",
        certifications="绿色食品 A级\n有机产品认证",
    )
    store = Store.objects.create(
        retailer=Retailer.objects.get_or_create(name_zh="基准零售", defaults={"name_en": "Bench Retail"})[0],
        name_zh="上海基准店",
        name_en="Shanghai Bench Store",
        city_zh="上海",
        city_en="Shanghai",
    )
    shanghai = ZoneInfo("Asia/Shanghai")
    shipment = services.create_shipment(origin_village=village, store=store)
    for number in range(1, 4):
        day = date(2026, 6, 10 + number)
        field = Field.objects.create(farm=farm, name_zh=f"{number}号坡地", name_en=f"Slope {number}")
        batch = trace.register_batch(
            farm=farm, crop=crop, field=field, quantity=Decimal("500"), unit="kg", harvested_on=day
        )
        at = datetime(day.year, day.month, day.day, 6, 0, tzinfo=shanghai)
        for hours, kind, data in (
            (0, "harvest", {"temperature_c": 24}),
            (2, "cooling", {"temperature_c": 4}),
            (4, "packing", {}),
            (5, "quality_test", {"test": "农药残留快检", "result": "pass", "lab": "仙居县农检站"}),
        ):
            trace.record_batch_event(batch=batch, kind=kind, occurred_at=at + timedelta(hours=hours), data=data)
        services.add_item(shipment=shipment, batch=batch, quantity=Decimal("100"))
    for title, language in (("杨梅酒", "zh-hans"), ("冰糖杨梅", "zh-hans"), ("Waxberry Sorbet", "en")):
        recipe = Recipe.objects.create(
            title=f"{title} (bench)", language=language, ingredients="杨梅\n冰糖", steps="洗净\n加糖\n冷藏"
        )
        recipe.crops.add(crop)
    services.dispatch_shipment(shipment=shipment)
    services.receive_shipment(shipment=shipment)
    return shipment.public_code


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def workers_cpu_seconds(master_pid: int) -> float:
    """CPU time (user and system) spent so far by the worker processes of a gunicorn master, from
    Linux's /proc: the neighbours' load stretches throughput but not the CPU a request costs."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == master_pid:  # ppid; then utime and stime are fields 14 and 15 of stat
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_wrk(url: str, args, master_pid: int) -> dict:
    cpu_before = workers_cpu_seconds(master_pid)
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    # Each request another shopper (bench/_distinct_visitors.lua), so every page view is a scan.
    command += ["-s", str(ROOT / "bench" / "_distinct_visitors.lua"), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = workers_cpu_seconds(master_pid) - cpu_before
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": requests,
        "cpu_us": cpu / requests * 1e6 if requests else 0.0,
        "p50": to_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),
        "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),
        "errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=3, help="seconds of load per URL and round (default 3)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of both URLs (default 5)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    # Sync workers block on the database: twice as many as cores keeps the cores busy meanwhile
    # (gunicorn's own guidance is 2 x cores + 1). The bare view gets the same server.
    workers = 2 * (os.cpu_count() or 1)
    parser.add_argument("--workers", type=int, default=workers, help=f"gunicorn worker processes (default {workers})")
    parser.add_argument(
        "--worker-class", default="sync", choices=["sync", "gthread"], help="gunicorn worker class (default sync)"
    )
    parser.add_argument("--gunicorn-threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--strict", action="store_true", help="also exit 1 when the ratio is below the target")
    parser.add_argument(
        "--port", type=int, default=0, help="the project's port; the bare app takes the next (default: free ports)"
    )
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "").strip() or DEFAULT_DB
    if not database_url.startswith("postgres"):
        raise SystemExit("The benchmark runs on PostgreSQL: set DATABASE_URL=postgres://... (default trace_bench).")
    port = args.port or free_port()
    bare_port = args.port + 1 if args.port else free_port()
    env = environment(port, database_url)
    if env.get("REDIS_URL"):
        env.setdefault("CACHE_KEY_PREFIX", "trace-bench")
    ensure_database(database_url)
    setup_django(env)
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG=0 serves hashed names only
    code = seed()
    from django.db import connections

    from shipments.models import Scan

    scans_before = Scan.objects.count()
    connections.close_all()

    chdir = ("--chdir", str(ROOT / "bench"))
    options = ("--worker-class", args.worker_class)
    if args.worker_class == "gthread":
        options += ("--threads", str(args.gunicorn_threads))
    servers = [
        gunicorn("config.wsgi:application", port, env, workers=args.workers, options=options),
        gunicorn("_bare_app:application", bare_port, env, workers=args.workers, options=(*chdir, *options)),
    ]
    base = f"http://127.0.0.1:{port}"
    bare_url = f"http://127.0.0.1:{bare_port}/"
    try:
        wait_until_up(f"{base}/healthz")
        wait_until_up(bare_url)
        page_url = f"{base}/s/{code}"
        for language in ("zh-CN", "en"):  # fill each worker's page cache, as steady state would
            for index in range(args.workers * 2):
                shopper = f"{WECHAT_UA} warm-up/{language}-{index}"
                request = urllib.request.Request(page_url, headers={"Accept-Language": language, "User-Agent": shopper})
                with urllib.request.urlopen(request, timeout=5) as response:
                    body = response.read()
                    assert response.status == 200 and (b"Genuine" in body or "正品".encode() in body), "page broken"
        # Take the URLs in turn: on a shared machine the background load drifts, and a ratio of
        # back-to-back runs is steadier than a ratio of two distant ones.
        rounds = []
        targets = ((bare_url, servers[1].pid), (f"{base}/healthz", servers[0].pid), (page_url, servers[0].pid))
        for _ in range(args.rounds):
            rounds.append(tuple(run_wrk(url, args, pid) for url, pid in targets))
    finally:
        stop(*servers)

    # Every page request counts as a scan; the workers write them in batches and the last ones
    # at their graceful exit. wrk counts completed responses only, so a few in-flight requests at
    # the end of each round may add rows, but none may be missing.
    warmup = 2 * 2 * args.workers
    page_requests = warmup + sum(page["requests"] for *_bare, page in rounds)
    scans_written = Scan.objects.count() - scans_before
    connections.close_all()
    # gunicorn inherits REDIS_URL from `env` (this process's environment).
    cache = f"redis {env['REDIS_URL']}" if env.get("REDIS_URL") else "local memory (per process)"
    threads = f" x {args.gunicorn_threads} threads" if args.worker_class == "gthread" else ""
    print(
        f"gunicorn {args.worker_class} {args.workers} workers{threads}; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s x {args.rounds} rounds of the three URLs in turn; PostgreSQL "
        f"{urlsplit(database_url).path.lstrip('/')}; cache {cache}; {os.cpu_count()} CPUs"
    )
    print(
        f"{'round':<7}{'url':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'requests':>10}{'errors':>8}{'non-2xx':>9}"
        f"{'cpu µs/req':>12}"
    )
    names = ("bare app", "/healthz", "/s/<code> (page)")
    to_bare, to_healthz = [], []
    for number, (bare, healthz, page) in enumerate(rounds, 1):
        for name, row in zip(names, (bare, healthz, page), strict=True):
            print(
                f"{number:<7}{name:<22}{row['rps']:>9.0f}{row['p50']:>9.2f}{row['p99']:>9.2f}"
                f"{row['requests']:>10}{row['errors']:>8}{row['non_2xx']:>9}{row['cpu_us']:>12.0f}"
            )
        to_bare.append(page["rps"] / bare["rps"] if bare["rps"] else 0.0)
        to_healthz.append(page["rps"] / healthz["rps"] if healthz["rps"] else 0.0)
    failures = sum(row["errors"] + row["non_2xx"] for trio in rounds for row in trio)
    for index, name in enumerate(("bare app", "/healthz", "page")):
        row = {key: statistics.median(trio[index][key] for trio in rounds) for key in ("rps", "p50", "p99", "cpu_us")}
        print(
            f"median {name}: {row['rps']:.0f} req/s, p50 {row['p50']:.2f} ms, p99 {row['p99']:.2f} ms, "
            f"workers' CPU {row['cpu_us']:.0f} µs per request"
        )
    ratio = statistics.median(to_healthz)
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    print(
        f"ratio page/bare app per round: {', '.join(f'{r:.2f}' for r in to_bare)}; "
        f"median {statistics.median(to_bare):.2f}"
    )
    print(
        f"ratio page/healthz per round: {', '.join(f'{r:.2f}' for r in to_healthz)}; median {ratio:.2f}, "
        f"{verdict} the target of {TARGET_RATIO}; errors and non-2xx: {failures}"
    )
    print(f"scan rows written: {scans_written} for {page_requests} page requests answered")
    if failures or scans_written < page_requests:
        return 1
    return 1 if args.strict and ratio < TARGET_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())

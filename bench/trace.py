"""Trace and export speed on a realistic PostgreSQL dataset.

    .venv/bin/python bench/trace.py [--events 200000] [--fanout 10] [--levels 4] [--runs 7] [--keep]

Reads DATABASE_URL (must be PostgreSQL) for the server and creates its own database next to the
named one (`<name>_bench`, dropped first, dropped again at the end unless --keep), so no real data
is touched. Builds the dataset with COPY: background villages whose lots carry harvest, cooling,
packing, temperature and quality events (every fifth lot a mix of the four before it), and one
lot whose descendants fan out `fanout` ways over `levels` transformation levels (10 x 4 gives
11,110 descendants; every third one also takes a background lot as a second input), a quarter of
the leaves shipped and received, and a bulk lot made from every leaf (so one lot has more than
10,000 ancestors). Events carry real hash chains, so `verify_events` works on the result.

Then times, median of `runs` after one warm-up, against a baseline measured in the same run (one
plain SELECT of as many lot rows as the root lot has descendants, by primary key): the closure;
the forward trace of the root lot computed (nothing stored), computed again after a change to one
of its leaves, and read back stored (the query and its decoding; then with every Lot, Link and
ShipmentStop built, as a caller that reads every list pays); the backward trace of a leaf and of
the bulk lot; the FSMA 204 CSV and XLSX export of the root lot.
Targets (issue 7): a trace of a lot with 10,000 descendants under 50 ms, its FSMA export under 1 s.
"""

import argparse
import io
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")


def bench_database_url() -> tuple[str, str, dict]:
    import dj_database_url

    url = os.environ.get("DATABASE_URL", "")
    config = dj_database_url.parse(url) if url else {}
    if config.get("ENGINE") != "django.db.backends.postgresql":
        # Exit 0 so that `make bench` (bench/run_all.py) goes on with the other benchmarks.
        print("bench/trace.py skipped: it needs PostgreSQL; set DATABASE_URL=postgres://postgres@127.0.0.1:5432/trace")
        sys.exit(0)
    name = f"{config['NAME']}_bench"
    base = url.rsplit("/", 1)[0]
    return f"{base}/{name}", name, config


def recreate(name: str, config: dict, *, drop_only: bool = False) -> None:
    import psycopg2

    admin = psycopg2.connect(
        dbname="postgres",
        user=config.get("USER") or "postgres",
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or "127.0.0.1",
        port=config.get("PORT") or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not drop_only:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # shipments.models.CODE_ALPHABET


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    """COPY in PostgreSQL's text format (tab-separated, \\N for NULL)."""

    def cell(value) -> str:
        if value is None:
            return "\\N"
        return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(cell(v) for v in row) + "\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


class Builder:
    """Accumulates batches, events, lines and inputs with explicit ids and per-village hash chains."""

    def __init__(self, chain_module, json_module):
        self.chain, self.json = chain_module, json_module
        self.batches, self.events, self.lines, self.inputs = [], [], [], []
        self.shipments, self.items = [], []
        self.heads: dict[int, tuple[int, str]] = {}
        self.clock = datetime(2026, 3, 1, tzinfo=UTC)
        self.lot_numbers: dict[str, int] = {}

    def batch(self, farm, crop, quantity, *, status="packed", harvested=None, registered="harvested") -> int:
        """A lot and its registration event (`registered`: the status it started with)."""
        pk = len(self.batches) + 1
        prefix = f"{farm.village_code}-{crop.code}-{(harvested or self.clock.date()):%Y%m%d}-"
        number = self.lot_numbers[prefix] = self.lot_numbers.get(prefix, 0) + 1
        lot_code = f"{prefix}{number:04d}"
        self.batches.append(
            (pk, lot_code, harvested or self.clock.date(), quantity, "kg", Decimal("0"), status, "",
             self.clock.isoformat(), crop.id, farm.id)
        )  # fmt: skip
        facts = self.chain.registration_data(
            farm_id=farm.id, field_id=None, crop_id=crop.id, quantity=quantity, unit="kg", status=registered
        )
        self.event("registration", farm, [(pk, "subject", None)], facts)
        return pk

    def allocated(self) -> list[tuple]:
        """The lot rows with what their transformation links and shipments take from them."""
        taken: dict[int, Decimal] = {}
        for _pk, amount, lot, _out in self.inputs:
            taken[lot] = taken.get(lot, Decimal(0)) + amount
        for _pk, _shipment, lot, quantity in self.items:
            taken[lot] = taken.get(lot, Decimal(0)) + quantity
        # status_before_hold (NOT NULL since issue 12) last: empty, nothing is held.
        return [row[:5] + (taken.get(row[0], Decimal(0)),) + row[6:] + ("",) for row in self.batches]

    def ship(self, lot: int, farm, data: dict) -> None:
        """A shipment of one unit of `lot`, dispatched and received, with its shipping and receiving events."""
        code = "BENCH" + "".join(CODE_ALPHABET[len(self.shipments) // 32**i % 32] for i in range(11))
        data = {**data, "shipment": code}
        self.event("shipping", farm, [(lot, "subject", Decimal("1"))], data)
        shipped = self.clock
        self.event("receiving", farm, [(lot, "subject", Decimal("1"))], data)
        pk = len(self.shipments) + 1
        self.shipments.append((pk, code, farm.village_id, farm.id, "delivered", shipped, self.clock))
        self.items.append((pk, pk, lot, Decimal("1")))

    def lot_code(self, pk: int) -> str:
        return self.batches[pk - 1][1]

    def event(self, kind, farm, lines, data=None) -> int:
        self.clock += timedelta(seconds=7)
        pk = len(self.events) + 1
        village = farm.village_id
        seq, prev = self.heads.get(village, (0, self.chain.GENESIS))
        fake = SimpleNamespace(
            client_id=uuid.UUID(int=random.getrandbits(128)),
            kind=kind,
            occurred_at=self.clock,
            recorded_at=self.clock + timedelta(minutes=3),
            village_id=village,
            farm_id=farm.id,
            location_gln="",
            location_name=farm.name_zh,
            actor_id=None,
            data=data or {},
            corrects_id=None,
            correction_reason="",
            seq=seq + 1,
        )
        facts = [(self.lot_code(b), role, q, "kg" if q is not None else "") for b, role, q in lines]
        digest = self.chain.link_hash(prev, self.chain.canonical_content(fake, facts))
        self.heads[village] = (seq + 1, digest)
        self.events.append(
            (pk, fake.client_id, kind, fake.occurred_at.isoformat(), fake.recorded_at.isoformat(), "",
             farm.name_zh, self.json.dumps(fake.data, ensure_ascii=False), "", fake.seq, prev, digest,
             farm.id, village)
        )  # fmt: skip
        for batch, role, quantity in lines:
            self.lines.append((len(self.lines) + 1, role, quantity, "kg" if quantity is not None else "", batch, pk))
        return pk

    def transform(self, farm, crop, inputs: list[tuple[int, Decimal]], quantity: Decimal) -> int:
        out = self.batch(farm, crop, quantity, registered="packed")
        for batch, amount in inputs:
            self.inputs.append((len(self.inputs) + 1, amount, batch, out))
        lines = [(b, "input", q) for b, q in inputs] + [(out, "output", quantity)]
        self.event("transformation", farm, lines, {"transformation": "sorting" if len(inputs) == 1 else "mixing"})
        return out


def build(args) -> dict:
    import json

    from django.db import connection

    from farms.models import Crop, Farm, Village
    from shipments.models import Retailer, Store
    from traceability import chain

    random.seed(7)
    villages = [
        Village.objects.create(code=f"V{i:02d}", name_zh=f"测试村{i}", province_zh="浙江省", county_zh="仙居县")
        for i in range(20)
    ]
    farms = []
    for village in villages:
        for j in range(5):
            farm = Farm.objects.create(village=village, name_zh=f"农场{j}", grower_name="王")
            farm.village_code = village.code
            farms.append(farm)
    crops = [
        Crop.objects.create(code="WAX", name_zh="杨梅", name_en="Waxberry", gtin="09520000000011"),
        Crop.objects.create(code="TEA", name_zh="茶叶", name_en="Tea"),
        Crop.objects.create(code="CIT", name_zh="柑橘", name_en="Citrus"),
    ]
    b = Builder(chain, json)
    wax, tree_farm = crops[0], farms[0]
    shipment_data = {
        "store": "上海静安店", "store_gln": "9520000000035", "store_city": "上海", "retailer": "盒马鲜生",
        "retailer_gln": "9520000000028", "ship_from": "测试村0", "ship_from_gln": "", "carrier": "顺丰冷运",
        # What shipping events record since issue 17: each place's address, phone and time zone.
        "ship_from_address": "浙江省台州市仙居县测试村", "ship_from_phone": "0576-8773 0001",
        "ship_from_time_zone": "Asia/Shanghai", "store_address": "静安区南京西路 1266 号",
        "store_phone": "021-6288 0101", "store_time_zone": "Asia/Shanghai",
    }  # fmt: skip

    # Background lots first, so the tree can draw second inputs from them.
    background = []
    tree_size = sum(args.fanout**level for level in range(1, args.levels + 1))
    background_events = max(0, args.events - 3 * tree_size)
    while len(b.events) < background_events:
        farm, crop = random.choice(farms), random.choice(crops)
        if len(background) % 5 == 4:
            lot = b.transform(farm, crop, [(p, Decimal("5")) for p in background[-4:]], Decimal("20"))
        else:
            lot = b.batch(farm, crop, Decimal("100"), harvested=b.clock.date())
            b.event("harvest", farm, [(lot, "subject", None)])
            b.event("cooling", farm, [(lot, "subject", None)], {"temperature_c": round(random.uniform(2, 6), 1)})
            b.event("packing", farm, [(lot, "subject", Decimal("100"))])
            b.event("temperature", farm, [(lot, "subject", None)], {"temperature_c": round(random.uniform(2, 6), 1)})
        background.append(lot)

    root = b.batch(tree_farm, wax, Decimal("1000000"), harvested=b.clock.date())
    b.event("harvest", tree_farm, [(root, "subject", None)])
    b.event("cooling", tree_farm, [(root, "subject", None)], {"temperature_c": 4.0})
    b.event("packing", tree_farm, [(root, "subject", Decimal("1000000"))])
    level, count = [root], 0
    for depth in range(1, args.levels + 1):
        amount = Decimal(1000000 // args.fanout**depth // 2)
        nxt = []
        for parent in level:
            for _ in range(args.fanout):
                inputs = [(parent, amount)]
                count += 1
                if count % 3 == 0 and background:
                    inputs.append((random.choice(background), Decimal("1")))
                nxt.append(b.transform(tree_farm, wax, inputs, amount + len(inputs) - 1))
        level = nxt
    leaves = level
    for i, leaf in enumerate(leaves[::4]):
        b.ship(leaf, tree_farm, {**shipment_data, "reference_document": f"BOL-{i}"})
    bulk = b.transform(tree_farm, wax, [(leaf, Decimal("1")) for leaf in leaves], Decimal(len(leaves)))

    with connection.cursor() as cursor:
        copy_rows(
            cursor,
            "traceability_batch",
            ["id", "lot_code", "harvested_on", "quantity", "unit", "allocated_quantity", "status", "notes",
             "created_at", "crop_id", "farm_id", "status_before_hold"],
            b.allocated(),
        )  # fmt: skip
        copy_rows(
            cursor,
            "traceability_traceevent",
            ["id", "client_id", "kind", "occurred_at", "recorded_at", "location_gln", "location_name", "data",
             "correction_reason", "seq", "prev_hash", "hash", "farm_id", "village_id"],
            b.events,
        )  # fmt: skip
        copy_rows(
            cursor, "traceability_eventbatch", ["id", "role", "quantity", "unit", "batch_id", "event_id"], b.lines
        )
        copy_rows(cursor, "traceability_batchinput", ["id", "quantity", "input_id", "output_id"], b.inputs)
        store = Store.objects.create(
            retailer=Retailer.objects.create(name_zh="盒马鲜生", gln="9520000000028"), name_zh="上海静安店",
            city_zh="上海", gln="9520000000035",
        )  # fmt: skip
        copy_rows(
            cursor,
            "shipments_shipment",
            ["id", "public_code", "origin_village_id", "origin_farm_id", "status", "dispatched_at", "delivered_at",
             "created_at", "store_id", "carrier", "reference", "notes"],
            [(pk, code, v, f, st, sent.isoformat(), got.isoformat(), sent.isoformat(), store.pk, "", "", "")
             for pk, code, v, f, st, sent, got in b.shipments],
        )  # fmt: skip
        copy_rows(cursor, "shipments_shipmentitem", ["id", "shipment_id", "batch_id", "quantity"], b.items)
        for table in (
            "traceability_batch",
            "traceability_traceevent",
            "traceability_eventbatch",
            "traceability_batchinput",
            "shipments_shipment",
            "shipments_shipmentitem",
        ):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            # What autovacuum does soon after a bulk load: statistics, and the visibility map that
            # lets the recursive CTE read (input_id, output_id) from the index alone.
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {
        "root": root,
        "leaf": leaves[len(leaves) // 2],
        "bulk": bulk,
        "counts": (len(b.batches), len(b.events), len(b.lines), len(b.inputs)),
    }


def median_ms(fn, runs: int, *, before=None) -> tuple[float, object]:
    """Median wall time of `fn` over `runs` runs after one warm-up; `before` runs untimed before
    each run (to drop stored traces, say)."""
    if before:
        before()
    result = fn()  # warm-up: plans and caches, as in a running server
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--fanout", type=int, default=10)
    parser.add_argument("--levels", type=int, default=4)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="also time anchor_chains and verify_events over the whole dataset (once each, with progress)",
    )
    args = parser.parse_args()

    url, name, config = bench_database_url()
    recreate(name, config)
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        built = build(args)
        build_seconds = time.perf_counter() - started
        report(args, built, build_seconds)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            recreate(name, config, drop_only=True)


def report(args, built, build_seconds) -> None:
    from django.db import connection
    from django.db.models import F

    from traceability import exports
    from traceability.models import Batch, StoredTrace
    from traceability.trace import descendant_ids, trace_lot

    root, leaf, bulk = (Batch.objects.get(pk=built[k]) for k in ("root", "leaf", "bulk"))
    batches, events, lines, inputs = built["counts"]
    print(f"dataset: {events:,} events, {lines:,} event lines, {batches:,} lots, {inputs:,} transformation inputs")
    print(f"built with COPY in {build_seconds:.1f} s, load average {os.getloadavg()[0]:.1f}\n")

    def forget():
        StoredTrace.objects.all().delete()

    def every_object(trace):
        # The lists are built on first read: this is the cost of a caller that reads them all.
        return len(trace.descendants) + len(trace.links) + len(trace.shipments) + len(trace.ancestors)

    ids = sorted(descendant_ids([root.pk]))

    def baseline():
        # The reference for this machine at this moment: one plain query reading as many lot rows
        # as the root lot has descendants, by primary key, as tuples.
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, lot_code, status FROM traceability_batch WHERE id = ANY(%s)", [ids])
            return cursor.fetchall()

    def toggle_a_leaf():
        # A change inside the root lot's closure, as a shipment or a recall makes: the next trace
        # of the root must be computed again.
        forget()
        Batch.objects.filter(pk=leaf.pk).update(quantity=F("quantity") + 1)

    figures = []
    base, rows = median_ms(baseline, args.runs)
    figures.append(("baseline: lot rows by primary key", base, f"{len(rows):,} rows, one SELECT"))
    ms, found = median_ms(lambda: descendant_ids([root.pk]), args.runs)
    figures.append(("closure only (lineage table, ids)", ms, f"{len(found):,} descendant ids"))
    ms, trace = median_ms(lambda: trace_lot(root, direction="forward"), args.runs, before=forget)
    figures.append(("forward trace of the root lot, computed", ms, f"{len(trace.descendants):,} descendants, "
                    f"{len(trace.shipments):,} shipments; then kept"))  # fmt: skip
    ms, _trace = median_ms(lambda: trace_lot(root, direction="forward"), args.runs, before=toggle_a_leaf)
    figures.append(("  computed again after a change to one leaf", ms, "the stored one is stale"))
    # The change is no recorded fact: put the quantity back, or verify_events (rightly) reports it.
    Batch.objects.filter(pk=leaf.pk).update(quantity=leaf.quantity)
    ms, trace = median_ms(lambda: trace_lot(root, direction="forward"), args.runs)
    figures.append(("forward trace of the root lot, stored", ms, "read back, nothing changed"))
    ms, _count = median_ms(lambda: every_object(trace_lot(root, direction="forward")), args.runs)
    figures.append(("  the same, every Lot/Link/ShipmentStop built", ms, f"{len(trace.links):,} links"))
    ms, trace = median_ms(lambda: trace_lot(leaf, direction="backward"), args.runs, before=forget)
    figures.append(("backward trace of a leaf lot, computed", ms, f"{len(trace.ancestors):,} ancestors"))
    ms, trace = median_ms(lambda: trace_lot(bulk, direction="backward"), args.runs, before=forget)
    figures.append(("backward trace of the bulk lot, computed", ms, f"{len(trace.ancestors):,} ancestors"))
    ms, trace = median_ms(lambda: trace_lot(bulk, direction="backward"), args.runs)
    figures.append(("backward trace of the bulk lot, stored", ms, f"{len(trace.ancestors):,} ancestors"))
    ms, content = median_ms(lambda: exports.fsma_csv(exports.events_for_lot(root)), max(3, args.runs // 2))
    rows = content.count(b"\n") - 1
    figures.append(("FSMA 204 CSV of the root lot", ms, f"{rows:,} rows, {len(content) // 1024:,} KB"))
    ms, content = median_ms(lambda: exports.fsma_xlsx(exports.events_for_lot(root)), 3)
    figures.append(("FSMA 204 XLSX of the root lot", ms, f"{len(content) // 1024:,} KB"))
    width = max(len(name) for name, _ms, _note in figures)
    print(f"{'':<{width}}  {'median':>9}      {'x baseline':>10}")
    for name, ms, note in figures:
        print(f"{name:<{width}}  {ms:9.1f} ms   {ms / base:10.1f}   {note}")
    print(f"\nload average {os.getloadavg()[0]:.1f}")
    if args.verify:
        time_verification(args, root, base)


def time_verification(args, root, base: float) -> None:
    """anchor_chains (the first one walks every chain), verify_events (every chain and every fact
    check, in one snapshot), anchor_chains again after one new event (walks only what is new), and
    then what the trace page adds: the verification status of the root lot's forward trace."""
    import base64

    from django.conf import settings
    from django.core.management import call_command

    from traceability.models import Batch
    from traceability.services import record_batch_event
    from traceability.trace import trace_lot

    settings.ANCHOR_SIGNING_KEY = base64.b64encode(os.urandom(32)).decode()
    print()
    for name, command in (
        ("first anchor_chains (walks every chain)", "anchor_chains"),
        ("verify_events (chains, anchor, every fact)", "verify_events"),
    ):
        started = time.perf_counter()
        call_command(command)
        print(f"{name}: {time.perf_counter() - started:.1f} s, load average {os.getloadavg()[0]:.1f}\n")
    record_batch_event(batch=Batch.objects.order_by("pk").first(), kind="temperature", occurred_at=datetime.now(UTC))
    started = time.perf_counter()
    call_command("anchor_chains")
    print(f"next anchor_chains (one new event): {time.perf_counter() - started:.2f} s\n")
    trace = trace_lot(root, direction="forward")

    def verification():
        trace.__dict__.pop("verification", None)  # a cached_property: computed afresh each run
        return trace.verification

    ms, status = median_ms(verification, args.runs)
    print(
        f"verification status of the root lot's forward trace: {ms:.1f} ms ({ms / base:.1f} x baseline), "
        f"verified {status.verified}, anchored {status.anchored}"
    )


if __name__ == "__main__":
    main()

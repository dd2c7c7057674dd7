"""Verification of the whole record: that what traces, pages and exports show is what was recorded.

`verify()` (behind `manage.py verify_events`) checks, in one database snapshot:
- every village chain, link by link (traceability.chain);
- the chains against an anchor (traceability.anchors): the newest anchor of the database whose
  signature verifies, or one kept in a file. A chain recomputed from some event on no longer holds
  the anchored event at the anchored seq; a chain cut short ends before it;
- every fact a row holds against the event that recorded it (the fact checks, `CHECKS`): a lot's
  farm, field, crop, quantity and unit against its registration event; the transformation links
  against the transformation events' lines; the lineage table against the links; a lot's status
  against its events and open recalls. shipments adds its own (a dispatched or delivered
  shipment's items against its shipping and receiving lines, and every lot's allocated quantity)
  through `fact_check`, so that traceability never imports it.

Each problem is attributed to a village chain and the result is kept per chain in ChainCheck, which
pages read (`lots_verification`, `record_verified_on`) instead of walking chains on every view.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from farms.models import Village
from traceability import anchors, chain
from traceability.models import Batch, BatchInput, ChainCheck, EventBatch, Recall, RecallHold, TraceEvent
from traceability.signals import announce

Kind = TraceEvent.Kind


@dataclass(frozen=True)
class Problem:
    """Something that does not verify, in words, and the village chain it concerns (None: all)."""

    text: str
    village_id: int | None = None

    def __str__(self) -> str:
        return self.text


class Facts:
    """What the fact checks of one run share: rows read once, and how to name an event."""

    def __init__(self, villages: dict[int, str]):
        self.villages = villages  # id -> code, every village
        self.counts: dict[str, int] = {}
        # lot id -> [(village id, seq, data)] of its effective registration events (registrations())
        self.registered: dict[int, list[tuple]] = {}

    @cached_property
    def lots(self) -> dict[int, tuple]:
        """pk -> (lot_code, village_id, farm_id, field_id, crop_id, quantity, unit, status, allocated)."""
        rows = Batch.objects.values_list(
            "pk", "lot_code", "farm__village_id", "farm_id", "field_id", "crop_id", "quantity", "unit", "status",
            "allocated_quantity",
        )  # fmt: skip
        return {row[0]: row[1:] for row in rows.order_by("pk").iterator(chunk_size=5000)}

    def code(self, lot_id: int) -> str:
        lot = self.lots.get(lot_id)
        return lot[0] if lot else f"id {lot_id}"

    def village_of(self, lot_id: int) -> int | None:
        lot = self.lots.get(lot_id)
        return lot[1] if lot else None

    def where(self, kind: str, village_id: int, seq: int) -> str:
        return f"{kind} event, village {self.villages.get(village_id, village_id)} seq {seq}"


FactCheck = Callable[[Facts], Iterable[Problem]]
CHECKS: list[FactCheck] = []


def fact_check(check: FactCheck) -> FactCheck:
    """Register a check of rows against the chain (a decorator); every verification runs it."""
    CHECKS.append(check)
    return check


def _text(value) -> str:
    return "none" if value is None or value == "" else str(value)


# ---------------------------------------------------------------------------------------------
# The fact checks of traceability's own tables


@fact_check
def registrations(facts: Facts) -> Iterable[Problem]:
    """Every lot has one effective registration event, and its row says what that event says."""
    corrected = set(
        TraceEvent.objects.filter(kind=Kind.CORRECTION, corrects__kind=Kind.REGISTRATION).values_list(
            "corrects_id", flat=True
        )
    )
    registered: dict[int, list[tuple]] = defaultdict(list)
    rows = EventBatch.objects.filter(event__kind=Kind.REGISTRATION).values_list(
        "batch_id", "event_id", "event__village_id", "event__seq", "event__data"
    )
    for lot_id, event_id, village_id, seq, data in rows.iterator(chunk_size=5000):
        if event_id not in corrected:
            registered[lot_id].append((village_id, seq, data if isinstance(data, dict) else {}))
    facts.registered = registered
    for lot_id, (code, village_id, farm, fld, crop, quantity, unit, _status, _allocated) in facts.lots.items():
        found = registered.get(lot_id, [])
        if not found:
            yield Problem(
                f"lot {code}: no registration event in the chain (its farm, field, crop, quantity and unit "
                "are not covered)",
                village_id,
            )
            continue
        if len(found) > 1:
            seqs = ", ".join(str(seq) for _v, seq, _d in sorted(found))
            yield Problem(f"lot {code}: registered more than once in the chain (seq {seqs})", village_id)
        chain_village, seq, data = found[0]
        row = {"farm": farm, "field": fld, "crop": crop, "quantity": chain.quantity_text(quantity), "unit": unit}
        for name, value in row.items():
            if data.get(name, "missing") != value:
                yield Problem(
                    f"lot {code}: {name} is {_text(value)} in the lots table, {_text(data.get(name))} in the chain "
                    f"({facts.where(Kind.REGISTRATION, chain_village, seq)})",
                    chain_village,
                )
    facts.counts["lot(s)"] = len(facts.lots)


@fact_check
def transformation_links(facts: Facts) -> Iterable[Problem]:
    """The links table holds exactly the inputs and quantities of the transformation events."""
    events: dict[int, dict] = {}
    rows = EventBatch.objects.filter(event__kind=Kind.TRANSFORMATION).values_list(
        "event_id", "event__village_id", "event__seq", "batch_id", "role", "quantity"
    )
    for event_id, village_id, seq, lot_id, role, quantity in rows.iterator(chunk_size=5000):
        event = events.setdefault(event_id, {"where": (village_id, seq), "inputs": [], "outputs": []})
        if role == EventBatch.Role.OUTPUT:
            event["outputs"].append(lot_id)
        else:
            event["inputs"].append((lot_id, quantity))
    recorded: dict[tuple[int, int], tuple] = {}
    # A replacement (correction) repeats its original's lines: the earliest event names a link.
    for event in sorted(events.values(), key=lambda e: e["where"]):
        for output in event["outputs"]:
            for lot_id, quantity in event["inputs"]:
                recorded.setdefault((lot_id, output), (quantity, event["where"]))
    stored = {(i, o): q for i, o, q in BatchInput.objects.values_list("input_id", "output_id", "quantity").iterator()}
    for pair in sorted(recorded.keys() | stored.keys()):
        name = f"transformation link {facts.code(pair[0])} -> {facts.code(pair[1])}"
        if pair not in stored:
            quantity, (village_id, seq) = recorded[pair]
            where = facts.where(Kind.TRANSFORMATION, village_id, seq)
            yield Problem(f"{name}: in the chain ({where}) but missing from the links table", village_id)
        elif pair not in recorded:
            yield Problem(f"{name}: in the links table but in no transformation event", facts.village_of(pair[1]))
        elif stored[pair] != recorded[pair][0]:
            quantity, (village_id, seq) = recorded[pair]
            yield Problem(
                f"{name}: quantity is {chain.quantity_text(stored[pair])} in the links table, "
                f"{chain.quantity_text(quantity)} in the chain ({facts.where(Kind.TRANSFORMATION, village_id, seq)})",
                village_id,
            )
    facts.counts["transformation link(s)"] = len(stored)


_CLOSURE = """
    WITH RECURSIVE pairs(a, d) AS (
        SELECT input_id, output_id FROM traceability_batchinput
        UNION
        SELECT p.a, bi.output_id FROM pairs p JOIN traceability_batchinput bi ON bi.input_id = p.d
    )
"""
_LINEAGE = "SELECT ancestor_id, descendant_id FROM traceability_lineage"


@fact_check
def lineage(facts: Facts) -> Iterable[Problem]:
    """The lineage table is the closure of the links (kept by triggers; a bypass shows here)."""
    shown = 5
    with connection.cursor() as cursor:
        cursor.execute(f"{_CLOSURE} SELECT a, d FROM pairs EXCEPT {_LINEAGE}")
        missing = cursor.fetchall()
        cursor.execute(f"{_CLOSURE} {_LINEAGE} EXCEPT SELECT a, d FROM pairs")
        extra = cursor.fetchall()
    if missing or extra:
        examples = [f"missing {facts.code(a)} -> {facts.code(d)}" for a, d in sorted(missing)[:shown]]
        examples += [f"no link gives {facts.code(a)} -> {facts.code(d)}" for a, d in sorted(extra)[:shown]]
        # A derived table every trace reads: all chains stop counting as verified.
        yield Problem(
            f"lineage table: {len(missing)} pair(s) missing, {len(extra)} pair(s) no link gives ({'; '.join(examples)})"
        )


STATUS_RANK = {Batch.Status.GROWING: 0, Batch.Status.HARVESTED: 1, Batch.Status.PACKED: 2}
KIND_RANK = {Kind.HARVEST: 1, Kind.PACKING: 2}


@fact_check
def statuses(facts: Facts) -> Iterable[Problem]:
    """A lot's status is no further on than its registration and its harvest and packing events
    took it, and a lot that an open recall holds is held."""
    reached: dict[int, int] = {}
    for lot_id, kind in (
        EventBatch.objects.filter(event__kind__in=list(KIND_RANK)).values_list("batch_id", "event__kind").distinct()
    ):
        reached[lot_id] = max(reached.get(lot_id, 0), KIND_RANK[kind])
    registered = facts.registered
    recalled = dict(Recall.objects.open().values_list("batch_id", "pk"))
    held = dict(RecallHold.objects.filter(recall__closed_at__isnull=True).values_list("batch_id", "recall_id"))
    for lot_id, (code, village_id, *_facts, status, _allocated) in facts.lots.items():
        if lot_id in recalled and status != Batch.Status.RECALLED:
            yield Problem(
                f"lot {code}: status is {status} in the lots table, but recall #{recalled[lot_id]} is open on it",
                village_id,
            )
        elif lot_id in held and status not in (Batch.Status.ON_HOLD, Batch.Status.RECALLED):
            yield Problem(
                f"lot {code}: status is {status} in the lots table, but recall #{held[lot_id]} holds it", village_id
            )
        elif status in STATUS_RANK:
            started = [STATUS_RANK.get(data.get("status"), 0) for _v, _s, data in registered.get(lot_id, [])]
            ceiling = max([reached.get(lot_id, 0), *started])
            if STATUS_RANK[status] > ceiling:
                allowed = next(name for name, rank in STATUS_RANK.items() if rank == ceiling)
                yield Problem(
                    f"lot {code}: status is {status} in the lots table, but its events took it no further than "
                    f"{allowed}",
                    village_id,
                )


# ---------------------------------------------------------------------------------------------
# A run


@dataclass
class Report:
    """What a verification found. `problems` empty means everything verified."""

    villages: int = 0
    events: int = 0
    anchor: anchors.Anchor | None = None
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


@contextmanager
def _one_snapshot():
    """Every read of the run sees one state of the database: on PostgreSQL a REPEATABLE READ
    transaction, so a lot registered while the run reads is wholly in it or wholly out of it."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def verify(
    *,
    villages=None,
    anchor: anchors.Anchor | None = None,
    trust: list[str] = (),
    progress: Callable[[Village | None, int, int], None] | None = None,
    record: bool = True,
) -> Report:
    """Verify the chains of `villages` (default all), against `anchor` (default: the newest anchor of
    the database that verifies), and every fact check; keep the result per chain in ChainCheck
    unless `record` is false. `progress(village, events_read, events_total)` is called as chains
    are walked (counts over all chains), and `progress(None, total, total)` before the fact checks.
    Raises anchors.AnchorError when the given anchor's signature does not verify.

    Side effects (when recording): updates ChainCheck rows; announces the lots of a chain that
    stopped verifying, so consumer pages stop saying "verified" at once."""
    keys = anchors.trusted_keys(list(trust))
    report = Report()
    if anchor is not None:
        anchors.check_signature(anchor, keys)
        report.anchor = anchor
    else:
        report.anchor, bad = anchors.latest(keys)
        report.problems += [Problem(text) for text in bad]
    every_village = dict(Village.objects.values_list("pk", "code"))
    villages = list((Village.objects.all() if villages is None else villages).order_by("pk"))
    walks: dict[int, chain.Walk] = {}
    with _one_snapshot():
        sizes = dict(
            TraceEvent.objects.filter(village__in=villages)
            .values("village_id")
            .annotate(n=Count("id"))
            .values_list("village_id", "n")
        )
        total = sum(sizes.values())
        for village in villages:
            done = report.events
            report_progress = (lambda read, v=village, done=done: progress(v, done + read, total)) if progress else None
            walk = walks[village.pk] = chain.walk_village(village, progress=report_progress)
            report.events += walk.events
            if walk.broken is not None:
                report.problems.append(Problem(str(walk.broken), village.pk))
            head = report.anchor.head(village.pk) if report.anchor else None
            departed = anchors.departure(village, report.anchor, head) if head else None
            if departed:
                report.problems.append(Problem(departed, village.pk))
        if report.anchor is not None:
            for head in report.anchor.heads:
                if head.village_id not in every_village:
                    report.problems.append(
                        Problem(f"village {head.village} (id {head.village_id}) of {report.anchor} no longer exists")
                    )
        if progress:
            progress(None, report.events, total)
        facts = Facts(every_village)
        wanted = {village.pk for village in villages}
        for check in CHECKS:
            report.problems += [p for p in check(facts) if p.village_id is None or p.village_id in wanted]
        report.counts = facts.counts
    report.villages = len(villages)
    if record:
        _record(villages, walks, report.problems)
    return report


def _record(villages: list[Village], walks: dict[int, chain.Walk], problems: list[Problem]) -> None:
    first: dict[int | None, str] = {}
    for problem in problems:
        first.setdefault(problem.village_id, problem.text)
    now = timezone.now()
    was_ok = set(ChainCheck.objects.filter(ok=True, village__in=villages).values_list("village_id", flat=True))
    broken = []
    with transaction.atomic():
        for village in villages:
            text = first.get(village.pk) or first.get(None, "")
            if text and village.pk in was_ok:
                broken.append(village.pk)
            ChainCheck.objects.update_or_create(
                village=village,
                defaults={
                    "ok": not text,
                    "problem": text[:2000],
                    "verified_at": now,
                    "verified_seq": walks[village.pk].seq,
                },
            )
        if broken:
            announce(Batch.objects.filter(farm__village_id__in=broken).values_list("pk", flat=True))


# ---------------------------------------------------------------------------------------------
# What pages show


@dataclass(frozen=True)
class LotsVerification:
    """Whether every event behind some lots verified clean at the last verification run, and the
    time of the last anchor covering them all. `unverified` and `unanchored` count, per village
    code, the events behind the lots that were recorded since the last run (or are in a chain
    whose last run failed) and since the last anchor. `recorded`: the lots have events at all."""

    recorded: bool = False
    unverified: dict[str, int] = field(default_factory=dict)
    unanchored: dict[str, int] = field(default_factory=dict)
    verified_at: datetime | None = None
    anchored_at: datetime | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.recorded and not self.unverified

    @property
    def anchored(self) -> bool:
        return self.recorded and not self.unanchored


# The lines of the events recorded in each chain after a given seq: one range scan of the
# (village, seq) index per chain, then each event's lines by index. The cost follows what is new
# since the last run and anchor, not the size of the trace (a lot with 10,000 descendants has
# tens of thousands of events), and the lots' ids need not be sent: they are matched here.
_NEW_LINES = """
    SELECT t.village_id, e.seq, l.batch_id FROM (VALUES {chains}) AS t (village_id, after)
    CROSS JOIN LATERAL (
        SELECT e.id, e.seq FROM traceability_traceevent e WHERE e.village_id = t.village_id AND e.seq > t.after
    ) e
    JOIN traceability_eventbatch l ON l.event_id = e.id
    LIMIT %s
"""
# When that is too much (no run yet, or a chain that failed: all its events count as new), the
# events concerning the lots are found from the lots' side instead.
_CONCERNED = """
    SELECT e.village_id, e.seq FROM traceability_traceevent e
    WHERE e.id IN (SELECT event_id FROM traceability_eventbatch WHERE batch_id = ANY(%s))
"""
NEW_LINES_READ = 50_000


def _events_after(after: dict[int, int], lot_ids: set[int]) -> set[tuple[int, int]]:
    """(village id, seq) of the events concerning `lot_ids` with a seq above after[village]."""
    if connection.vendor == "postgresql":
        from traceability.trace import fast_plans  # trace imports this module

        chains = ", ".join(["(%s::bigint, %s::bigint)"] * len(after))
        params = [*(x for pair in after.items() for x in pair), NEW_LINES_READ + 1]
        # Index probes and no JIT: the planner's estimate of the new rows is far above the few a
        # run leaves, and would have it hash whole tables or JIT-compile a 1 ms query for 800 ms.
        with fast_plans(index_probes=True), connection.cursor() as cursor:
            cursor.execute(_NEW_LINES.format(chains=chains), params)
            rows = cursor.fetchall()
            if len(rows) <= NEW_LINES_READ:
                return {(village, seq) for village, seq, lot in rows if lot in lot_ids}
        with fast_plans(), connection.cursor() as cursor:
            cursor.execute(_CONCERNED, [sorted(lot_ids)])
            return {(village, seq) for village, seq in cursor.fetchall() if seq > after.get(village, 0)}
    found = set()
    ids = sorted(lot_ids)
    for village_id, seq in after.items():
        for start in range(0, len(ids), 5000):
            events = TraceEvent.objects.filter(
                village_id=village_id, seq__gt=seq, lines__batch_id__in=ids[start : start + 5000]
            )
            found.update((village_id, s) for s in events.values_list("seq", flat=True))
    return found


def lots_verification(lot_ids, *, traced: int, village_ids=None) -> LotsVerification:
    """The verification status of every event that concerns any of `lot_ids` (among them `traced`,
    the lot a page is about), from ChainCheck: what the last verify_events and anchor_chains runs
    found. `village_ids`, the villages of the lots' farms when the caller knows them, choose the
    run times shown (default: every village's). A handful of small queries in the usual state
    (every chain verified and anchored but for its newest events)."""
    if not EventBatch.objects.filter(batch_id=traced).exists():
        return LotsVerification()
    villages = dict(Village.objects.values_list("pk", "code"))
    checks = {check.village_id: check for check in ChainCheck.objects.all()}
    # Past this seq an event of the chain is not both verified and anchored (a chain that failed:
    # none of its events counts as verified).
    after = {}
    for village_id in villages:
        check = checks.get(village_id)
        after[village_id] = min(check.verified_seq if check.ok else 0, check.anchored_seq) if check else 0
    unverified: dict[str, int] = defaultdict(int)
    unanchored: dict[str, int] = defaultdict(int)
    for village_id, seq in sorted(_events_after(after, set(lot_ids))):
        check = checks.get(village_id)
        if check is None or not check.ok or seq > check.verified_seq:
            unverified[villages[village_id]] += 1
        if check is None or seq > check.anchored_seq:
            unanchored[villages[village_id]] += 1
    shown = [checks[v] for v in (village_ids if village_ids is not None else villages) if v in checks]
    failed = {villages[c.village_id]: c.problem for c in checks.values() if not c.ok and c.problem}
    return LotsVerification(
        recorded=True,
        unverified=dict(unverified),
        unanchored=dict(unanchored),
        verified_at=None if unverified else min((c.verified_at for c in shown if c.verified_at), default=None),
        anchored_at=None if unanchored else min((c.anchored_at for c in shown if c.anchored_at), default=None),
        problems=[f"{code}: {failed[code]}" for code in sorted(unverified) if code in failed],
    )


def record_verified_on(village: Village, events: list[TraceEvent]) -> date | None:
    """The day the events behind a consumer page (all in `village`'s chain) were last verified
    clean, when they are also anchored; None otherwise, and the page then claims nothing. Reads
    the ChainCheck the caller fetched with the village (select_related("...__chain_check")): no
    query."""
    check = getattr(village, "chain_check", None)
    if check is None or not events or any(event.village_id != village.pk for event in events):
        return None
    if not check.covers(max(event.seq for event in events)):
        return None
    return timezone.localdate(check.verified_at)

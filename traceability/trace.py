"""Forward and backward traces of a lot, computed in the database with recursive CTEs.

The genealogy is a graph (BatchInput: input -> output). The closure CTE is one SQL text for
PostgreSQL and SQLite (both support WITH RECURSIVE ... UNION, which discards rows already found,
so diamonds in the graph are walked once); the follow-up queries take the closure as an array on
PostgreSQL and repeat the CTE on SQLite, with identical answers (tests run on both).
Results are plain dataclasses, ready for a page, a command or
the API. Shipments and stores come from the shipping and receiving events' batch lines and their
key data elements (data["shipment"], data["store"], ...): traceability never imports shipments.

Public functions: ancestor_ids, descendant_ids, closure_sql, trace_lot (backward, forward or both).
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from traceability.models import Batch, TraceEvent

DIRECTIONS = ("both", "forward", "backward")

_DOWN = """
    WITH RECURSIVE closure(id) AS (
        SELECT output_id FROM traceability_batchinput WHERE input_id IN ({seeds})
        UNION
        SELECT bi.output_id FROM traceability_batchinput bi JOIN closure c ON bi.input_id = c.id
    )
"""
_UP = """
    WITH RECURSIVE closure(id) AS (
        SELECT input_id FROM traceability_batchinput WHERE output_id IN ({seeds})
        UNION
        SELECT bi.input_id FROM traceability_batchinput bi JOIN closure c ON bi.output_id = c.id
    )
"""

# The closure's batches: one evaluation of the CTE. Names of crops, farms, fields and villages are
# fetched separately for the few distinct ids, which is cheaper than joining them to every row.
_BATCHES = """
    SELECT b.id, b.lot_code, b.status, b.quantity, b.unit, b.harvested_on, b.crop_id, b.farm_id, b.field_id
    FROM closure c JOIN traceability_batch b ON b.id = c.id
"""

# The links and shipping/receiving lines of a set of lots. {lots} is "= ANY(%s)" with an array of
# ids on PostgreSQL (the closure is not computed twice); on SQLite, which has no arrays, it is
# "IN (closure again)". Corrected events are left out (the rule of TraceEvent.objects.effective()).
_LINKS = "SELECT input_id, output_id, quantity FROM traceability_batchinput WHERE {column} {lots}"
_MOVEMENTS = """
    SELECT e.kind, e.occurred_at, {keys}, eb.batch_id, eb.quantity, eb.unit
    FROM traceability_eventbatch eb
    JOIN traceability_traceevent e ON e.id = eb.event_id
    WHERE eb.batch_id {lots}
      AND e.kind IN ('shipping', 'receiving')
      AND NOT EXISTS (SELECT 1 FROM traceability_traceevent c WHERE c.corrects_id = e.id)
    ORDER BY e.occurred_at, e.id
"""


@dataclass(frozen=True, slots=True)
class Lot:
    """One batch of a trace with where it comes from. No private data (phones, notes)."""

    id: int
    lot_code: str
    status: str
    quantity: Decimal
    unit: str
    harvested_on: date | None
    crop_code: str
    crop_name_zh: str
    crop_name_en: str
    farm_id: int
    farm_name_zh: str
    farm_name_en: str
    field_id: int | None
    field_name_zh: str
    field_name_en: str
    village_id: int
    village_code: str
    village_name_zh: str
    village_name_en: str
    village_gln: str


@dataclass(frozen=True, slots=True)
class Link:
    """`quantity` of lot `input_lot` went into lot `output_lot`."""

    input_lot: str
    output_lot: str
    quantity: Decimal


@dataclass
class ShipmentStop:
    """A shipment that carried lots of the trace to a store, from its shipping/receiving events."""

    shipment: str
    store: str
    store_gln: str
    store_city: str
    retailer: str
    shipped_at: datetime | None = None
    received_at: datetime | None = None
    lots: list[tuple[str, Decimal | None, str]] = field(default_factory=list)


@dataclass
class Trace:
    lot: Lot
    direction: str
    ancestors: list[Lot] = field(default_factory=list)
    descendants: list[Lot] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    shipments: list[ShipmentStop] = field(default_factory=list)

    @property
    def lot_codes(self) -> list[str]:
        """Every lot of the trace, the traced lot first."""
        return [self.lot.lot_code] + [lot.lot_code for lot in self.ancestors + self.descendants]

    @property
    def origins(self) -> list[Lot]:
        """The lots with no inputs: where the food was grown (the traced lot itself if it has none)."""
        made = {link.output_lot for link in self.links}
        lots = [self.lot, *self.ancestors]
        return [lot for lot in lots if lot.lot_code not in made]

    @property
    def farms(self) -> list[tuple[str, str]]:
        return sorted({(lot.farm_name_zh, lot.farm_name_en) for lot in [self.lot, *self.ancestors]})

    @property
    def villages(self) -> list[tuple[str, str]]:
        return sorted({(lot.village_name_zh, lot.village_name_en) for lot in [self.lot, *self.ancestors]})

    @property
    def stores(self) -> list[str]:
        return sorted({stop.store for stop in self.shipments})


def _ids(cte: str, batch_ids) -> set[int]:
    batch_ids = [int(pk) for pk in batch_ids]
    if not batch_ids:
        return set()
    sql = cte.format(seeds=", ".join(["%s"] * len(batch_ids))) + "SELECT id FROM closure"
    with fast_plans(), connection.cursor() as cursor:
        cursor.execute(sql, batch_ids)
        return {row[0] for row in cursor.fetchall()}


def closure_sql(batch_id: int, direction: str) -> tuple[str, list]:
    """SQL selecting the ids of a lot's descendants ("forward") or ancestors ("backward"), for use
    as a subquery: Q(batch_id__in=RawSQL(*closure_sql(pk, "forward")))."""
    cte = {"forward": _DOWN, "backward": _UP}[direction]
    return cte.format(seeds="%s") + "SELECT id FROM closure", [batch_id]


def descendant_ids(batch_ids) -> set[int]:
    """Primary keys of every batch made, at any depth, from any of `batch_ids` (not themselves)."""
    return _ids(_DOWN, batch_ids)


def ancestor_ids(batch_ids) -> set[int]:
    """Primary keys of every batch that went, at any depth, into any of `batch_ids` (not themselves)."""
    return _ids(_UP, batch_ids)


def _lots(rows) -> list[Lot]:
    """Lot dataclasses from (id, lot_code, status, quantity, unit, harvested_on, crop, farm, field) rows."""
    from farms.models import Crop, Farm, Field

    crops = {
        c[0]: c[1:]
        for c in Crop.objects.filter(pk__in={r[6] for r in rows}).values_list("pk", "code", "name_zh", "name_en")
    }
    farms = {
        f[0]: f[1:]
        for f in Farm.objects.filter(pk__in={r[7] for r in rows}).values_list(
            "pk",
            "name_zh",
            "name_en",
            "village_id",
            "village__code",
            "village__name_zh",
            "village__name_en",
            "village__gln",
        )
    }
    fields = {
        f[0]: f[1:]
        for f in Field.objects.filter(pk__in={r[8] for r in rows if r[8]}).values_list("pk", "name_zh", "name_en")
    }
    lots = []
    for pk, code, status, qty, unit, harvested, crop_id, farm_id, field_id in rows:
        if isinstance(harvested, str):  # SQLite returns dates as text from raw SQL
            harvested = date.fromisoformat(harvested)
        crop, farm = crops[crop_id], farms[farm_id]
        field_zh, field_en = fields.get(field_id, ("", ""))
        lots.append(
            Lot(pk, code, status, _dec(qty), unit, harvested, *crop, farm_id, farm[0], farm[1], field_id, field_zh,
                field_en, farm[2], farm[3], farm[4], farm[5], farm[6] or "")
        )  # fmt: skip
    lots.sort(key=lambda lot: lot.lot_code)
    return lots


@contextmanager
def fast_plans():
    """On PostgreSQL, no JIT for the enclosed queries. A recursive CTE's row estimate is a guess
    (thousands of times the real size), which makes the planner JIT-compile a 5 ms query for
    400 ms; SET LOCAL keeps the change inside this transaction."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _as_datetime(value) -> datetime:
    """Raw SQL on SQLite gives naive UTC text; PostgreSQL gives an aware datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


_MILLI = Decimal("0.001")


def _dec(value) -> Decimal | None:
    """PostgreSQL gives Decimal('10.000'), SQLite a float or int: one form for both."""
    if value is None or type(value) is Decimal:
        return value
    return Decimal(str(value)).quantize(_MILLI)


_SHIPMENT_KEYS = ("shipment", "store", "store_gln", "store_city", "retailer")


def _json_keys() -> str:
    """The shipment's key data elements as columns, read in the database rather than parsing every
    event's JSON in Python."""
    if connection.vendor == "postgresql":
        return ", ".join(f"e.data->>'{key}'" for key in _SHIPMENT_KEYS)
    return ", ".join(f"json_extract(e.data, '$.{key}')" for key in _SHIPMENT_KEYS)


def _shipments(rows, codes: dict[int, str]) -> list[ShipmentStop]:
    stops: dict[str, ShipmentStop] = {}
    for kind, occurred_at, code, store, store_gln, city, retailer, batch_id, qty, unit in rows:
        code = code or ""
        stop = stops.get(code)
        if stop is None:
            stop = stops[code] = ShipmentStop(code, store or "", store_gln or "", city or "", retailer or "")
        occurred_at = _as_datetime(occurred_at)
        if kind == TraceEvent.Kind.SHIPPING:
            stop.shipped_at = occurred_at
            stop.lots.append((codes[batch_id], _dec(qty), unit))
        else:
            stop.received_at = occurred_at
    for stop in stops.values():
        stop.lots.sort()
    return sorted(stops.values(), key=lambda s: (s.shipped_at is None, s.shipped_at or datetime.min, s.shipment))


def trace_lot(batch: Batch, *, direction: str = "both") -> Trace:
    """The trace of a lot: backward to every input lot and its farm, field and village; forward to
    every lot made from it and the shipments and stores that received them.

    Per direction the recursive CTE runs once (once more for each follow-up query on SQLite):
    about four queries backward, five forward.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
    with fast_plans():
        [lot] = _lots(_fetch("WITH closure(id) AS (SELECT %s)" + _BATCHES, [batch.pk]))
        result = Trace(lot=lot, direction=direction)
        links: list[Link] = []
        if direction in ("both", "backward"):
            result.ancestors, found = _walk(batch, _UP, "output_id", with_movements=False)
            links += found
        if direction in ("both", "forward"):
            result.descendants, found, result.shipments = _walk(batch, _DOWN, "input_id", with_movements=True)
            links += found
    # Backward links end in the traced lot or an ancestor, forward ones start in it or a
    # descendant: the two lists never share a link.
    result.links = sorted(links, key=lambda link: (link.input_lot, link.output_lot))
    return result


def _walk(batch: Batch, cte: str, column: str, *, with_movements: bool):
    """The closure one way: its lots, the links among them and the seed, and (forward) the shipments."""
    closure = cte.format(seeds="%s")
    lots = _lots(_fetch(closure + _BATCHES, [batch.pk]))
    codes = {lot.id: lot.lot_code for lot in lots}
    codes[batch.pk] = batch.lot_code
    if connection.vendor == "postgresql":
        prefix, lots_sql, params = "", "= ANY(%s)", [list(codes)]
    else:
        prefix = closure + ", lots(id) AS (SELECT id FROM closure UNION SELECT %s) "
        lots_sql, params = "IN (SELECT id FROM lots)", [batch.pk, batch.pk]
    rows = _fetch(prefix + _LINKS.format(column=column, lots=lots_sql), params)
    links = [Link(codes[i], codes[o], _dec(q)) for i, o, q in rows if i in codes and o in codes]
    if not with_movements:
        return lots, links
    movements = _fetch(prefix + _MOVEMENTS.format(lots=lots_sql, keys=_json_keys()), params)
    return lots, links, _shipments(movements, codes)

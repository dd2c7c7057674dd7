"""Forward and backward traces of a lot, computed in the database with recursive CTEs.

The genealogy is a graph (BatchInput: input -> output). The closure CTEs run on PostgreSQL and
SQLite alike (both support WITH RECURSIVE ... UNION, which discards rows already found, so
diamonds in the graph are walked once). trace_lot asks one query that returns the whole trace
(lots, links, shipping and receiving lines, names) as one JSON document, column by column; its
lists of Lots, Links and ShipmentStops are built when first read. Tests run on both databases
and expect the same answers. Shipments and stores come from the shipping and receiving events'
batch lines and their key data elements (data["shipment"], data["store"], ...): traceability
never imports shipments.

Public functions: ancestor_ids, descendant_ids, closure_sql, trace_lot (backward, forward or both).
"""

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property
from operator import attrgetter
from typing import NamedTuple

from django.db import connection, transaction

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


class Lot(NamedTuple):
    """One batch of a trace with where it comes from. No private data (phones, notes).

    A named tuple rather than a dataclass: a trace of a big lot builds tens of thousands of
    them, and tuple construction is several times cheaper than a frozen dataclass's __init__."""

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


class Link(NamedTuple):
    """`quantity` of lot `input_lot` went into lot `output_lot`."""

    input_lot: str
    output_lot: str
    quantity: Decimal


@dataclass(slots=True)
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


class Trace:
    """The trace of a lot (see trace_lot). `ancestors`, `descendants` (Lots sorted by lot code),
    `links` (sorted by input then output lot code) and `shipments` (ShipmentStops by time shipped)
    are built from the query's columns on first use: a page that shows counts and the first rows
    of a lot with 10,000 descendants does not pay for 30,000 Python objects it never shows."""

    def __init__(self, *, lot: Lot, direction: str, columns: "_Columns"):
        self.lot = lot
        self.direction = direction
        self._columns = columns

    @cached_property
    def ancestors(self) -> list[Lot]:
        return self._columns.lots(1)

    @cached_property
    def descendants(self) -> list[Lot]:
        return self._columns.lots(2)

    @cached_property
    def links(self) -> list[Link]:
        return self._columns.links()

    @cached_property
    def shipments(self) -> list[ShipmentStop]:
        return self._columns.shipments()

    @property
    def ancestor_count(self) -> int:
        return self._columns.count(1)

    @property
    def descendant_count(self) -> int:
        return self._columns.count(2)

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


_MILLI = Decimal("0.001")


class _Decimals(dict):
    """Quantities arrive as text: '10.000' from PostgreSQL's numeric(12,3), '10' or '10.5' from
    SQLite, which keeps a number. One form for both, Decimal('10.000'), made once per distinct
    text (a big trace repeats a few quantities thousands of times; Decimals are immutable)."""

    def __missing__(self, text):
        value = self[text] = None if text is None else Decimal(text).quantize(_MILLI)
        return value


def _moment(text: str | None) -> datetime | None:
    """Timestamps arrive as JSON text: ISO with an offset from PostgreSQL, naive UTC from SQLite."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


_SHIPMENT_KEYS = ("shipment", "store", "store_gln", "store_city", "retailer")

# The recursive parts of the trace query: the ancestors ("up") and descendants ("down") of the
# seed. UNION (not UNION ALL) discards lots already found, so diamonds are walked once.
_WALKS = {
    "up": """up(id) AS (
        SELECT input_id FROM traceability_batchinput WHERE output_id = %(seed)s
        UNION
        SELECT bi.input_id FROM traceability_batchinput bi JOIN up ON bi.output_id = up.id
    )""",
    "down": """down(id) AS (
        SELECT output_id FROM traceability_batchinput WHERE input_id = %(seed)s
        UNION
        SELECT bi.output_id FROM traceability_batchinput bi JOIN down ON bi.input_id = down.id
    )""",
}

_LOT_COLUMNS = (
    "side",
    "id",
    "lot_code",
    "status",
    "quantity",
    "unit",
    "harvested_on",
    "crop_id",
    "farm_id",
    "field_id",
)
_MOVE_COLUMNS = ("kind", "occurred_at", *_SHIPMENT_KEYS, "batch_id", "quantity", "unit", "event_id")


def _trace_sql(direction: str) -> str:
    """One query that returns the whole trace as one JSON document:

        [lots, links, movements, crops, farms, fields]

    lots, links and movements column by column (a list per column: _LOT_COLUMNS, input, output
    and quantity, _MOVE_COLUMNS), the few crops, farms and fields as row arrays. PostgreSQL
    builds it with array_agg and json_build_array, SQLite with json_group_array and json_array
    (JSON1 is built in); both give the same values. One JSON text decoded by json.loads (C code)
    is several times cheaper than tens of thousands of row tuples through the DB-API, and it is
    one round trip. Lots carry a side: 0 the traced lot, 1 an ancestor, 2 a descendant.
    Movements are the shipping and receiving lines of the traced lot and its descendants,
    corrected events left out (the rule of TraceEvent.objects.effective()), in no order.
    Quantities are text, so that no float ever holds one.
    """
    postgres = connection.vendor == "postgresql"
    array = "json_build_array" if postgres else "json_array"

    def columns(names: list[str], source: str) -> str:
        if postgres:
            return f"(SELECT json_build_array({', '.join(f'array_agg({n})' for n in names)}) {source})"
        # SQLite: json() keeps the subquery's result JSON rather than a string.
        return f"json((SELECT json_array({', '.join(f'json_group_array({n})' for n in names)}) {source}))"

    def rows(names: str, source: str) -> str:
        if postgres:
            return f"(SELECT coalesce(json_agg(json_build_array({names})), '[]'::json) {source})"
        return f"json((SELECT json_group_array(json_array({names})) {source}))"

    text = "::text" if postgres else ""
    if postgres:
        keys = [f"e.data->>'{key}'" for key in _SHIPMENT_KEYS]
    else:
        keys = [f"json_extract(e.data, '$.{key}')" for key in _SHIPMENT_KEYS]
    backward, forward = direction in ("both", "backward"), direction in ("both", "forward")
    ctes = [walk for name, walk in _WALKS.items() if (backward if name == "up" else forward)]
    sides = ["SELECT %(seed)s AS id, 0 AS side"]
    links = []
    if backward:
        sides.append("SELECT id, 1 FROM up")
        # Backward links end in the traced lot or an ancestor, forward ones start in it or a
        # descendant: the two never share a link.
        links.append(
            "SELECT bi.input_id, bi.output_id, bi.quantity FROM traceability_batchinput bi"
            " JOIN lots l ON l.id = bi.output_id AND l.side <> 2"
        )
    if forward:
        sides.append("SELECT id, 2 FROM down")
        links.append(
            "SELECT bi.input_id, bi.output_id, bi.quantity FROM traceability_batchinput bi"
            " JOIN lots l ON l.id = bi.input_id AND l.side <> 1"
        )
    ctes.append(f"lots(id, side) AS ({' UNION ALL '.join(sides)})")
    ctes.append(
        "lot_rows AS (SELECT l.side, b.id, b.lot_code, b.status, b.quantity, b.unit, b.harvested_on, b.crop_id,"
        " b.farm_id, b.field_id FROM lots l JOIN traceability_batch b ON b.id = l.id)"
    )
    ctes.append(f"links(i, o, q) AS ({' UNION ALL '.join(links)})")
    # Shipping and receiving lines in two steps: first which lines of the traced lot and its
    # descendants belong to such an event, from indexes alone (the lines' (batch, event) index and
    # the partial index traceevent_movement_idx), then only the lines and events found are read.
    materialized = "MATERIALIZED" if postgres else ""
    ctes.append(
        f"""movements AS {materialized} (
        SELECT x.batch_id, x.event_id FROM traceability_eventbatch x
        JOIN lots l ON l.id = x.batch_id AND l.side <> 1
        JOIN traceability_traceevent y ON y.id = x.event_id AND y.kind IN ('shipping', 'receiving')
        WHERE {"1 = 1" if forward else "1 = 0"}
          AND NOT EXISTS (SELECT 1 FROM traceability_traceevent c WHERE c.corrects_id = x.event_id)
    )"""
    )
    lot_columns = [f"{name}{text}" if name == "quantity" else name for name in _LOT_COLUMNS]
    parts = [
        columns(lot_columns, "FROM lot_rows"),
        columns(["i", "o", f"q{text}"], "FROM links"),
        columns(
            ["e.kind", "e.occurred_at", *keys, "eb.batch_id", f"eb.quantity{text}", "eb.unit", "e.id"],
            "FROM movements m JOIN traceability_eventbatch eb ON eb.event_id = m.event_id AND eb.batch_id = m.batch_id"
            " JOIN traceability_traceevent e ON e.id = m.event_id",
        ),
        rows("id, code, name_zh, name_en", "FROM farms_crop WHERE id IN (SELECT crop_id FROM lot_rows)"),
        rows(
            "f.id, f.name_zh, f.name_en, v.id, v.code, v.name_zh, v.name_en, coalesce(v.gln, '')",
            "FROM farms_farm f JOIN farms_village v ON v.id = f.village_id"
            " WHERE f.id IN (SELECT farm_id FROM lot_rows)",
        ),
        rows("id, name_zh, name_en", "FROM farms_field WHERE id IN (SELECT field_id FROM lot_rows)"),
    ]
    # ::text: psycopg2 would decode a json value itself.
    return f"WITH RECURSIVE {', '.join(ctes)} SELECT {array}({', '.join(parts)}){text}"


class _Columns:
    """The decoded query result, column by column; builds Lots, Links and ShipmentStops on demand."""

    def __init__(self, document: str):
        lots, links, moves, crops, farms, fields = json.loads(document)
        # array_agg over no rows is NULL on PostgreSQL.
        self.lot_columns = dict(zip(_LOT_COLUMNS, (column or [] for column in lots), strict=True))
        self.link_columns = [column or [] for column in links]
        self.move_columns = [column or [] for column in moves]
        self.crops = {row[0]: tuple(row[1:]) for row in crops}
        self.farms = {row[0]: (row[0], row[1], row[2]) for row in farms}
        self.villages = {row[0]: tuple(row[3:]) for row in farms}
        self.fields = {row[0]: tuple(row) for row in fields}
        self.fields[None] = (None, "", "")
        self.decimals = _Decimals()

    def count(self, side: int) -> int:
        return self.lot_columns["side"].count(side)

    def lots(self, side: int) -> list[Lot]:
        c = self.lot_columns
        crops, farms, fields, villages, dec = self.crops, self.farms, self.fields, self.villages, self.decimals
        dates: dict[str | None, date | None] = {None: None}
        new = tuple.__new__
        lots = []
        for s, pk, code, status, qty, unit, harvested, crop_id, farm_id, field_id in zip(*c.values(), strict=True):
            if s != side:
                continue
            day = dates.get(harvested, dates)
            if day is dates:
                day = dates[harvested] = date.fromisoformat(harvested)
            lots.append(
                new(Lot, (pk, code, status, dec[qty], unit, day) + crops[crop_id] + farms[farm_id]
                    + fields[field_id] + villages[farm_id])
            )  # fmt: skip
        lots.sort(key=attrgetter("lot_code"))
        return lots

    @cached_property
    def codes(self) -> dict[int, str]:
        return dict(zip(self.lot_columns["id"], self.lot_columns["lot_code"], strict=True))

    def links(self) -> list[Link]:
        codes, new, dec = self.codes, tuple.__new__, self.decimals
        links = [new(Link, (codes[i], codes[o], dec[q])) for i, o, q in zip(*self.link_columns, strict=True)]
        # By input then output lot code: a link is unique per pair, so the quantity never decides.
        links.sort()
        return links

    def shipments(self) -> list[ShipmentStop]:
        """Stops from the movement lines in time order: the last shipping and the last receiving
        time win, shipping lines give the lots carried."""
        codes = self.codes
        moves = sorted(zip(*self.move_columns, strict=True), key=lambda row: (_moment(row[1]), row[-1]))
        stops: dict[str, ShipmentStop] = {}
        shipping = TraceEvent.Kind.SHIPPING.value
        for kind, occurred_at, code, store, store_gln, city, retailer, batch_id, qty, unit, _event in moves:
            code = code or ""
            stop = stops.get(code)
            if stop is None:
                stop = stops[code] = ShipmentStop(code, store or "", store_gln or "", city or "", retailer or "")
            if kind == shipping:
                stop.shipped_at = occurred_at
                stop.lots.append((codes[batch_id], self.decimals[qty], unit))
            else:
                stop.received_at = occurred_at
        for stop in stops.values():
            stop.shipped_at, stop.received_at = _moment(stop.shipped_at), _moment(stop.received_at)
            stop.lots.sort()
        return sorted(stops.values(), key=lambda s: (s.shipped_at is None, s.shipped_at or datetime.min, s.shipment))


def trace_lot(batch: Batch, *, direction: str = "both") -> Trace:
    """The trace of a lot: backward to every input lot and its farm, field and village; forward to
    every lot made from it and the shipments and stores that received them.

    One query whatever the direction and the size (see _trace_sql); the lists of the result are
    built when first read.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
    with fast_plans(), connection.cursor() as cursor:
        cursor.execute(_trace_sql(direction), {"seed": batch.pk})
        [document] = cursor.fetchone()
    columns = _Columns(document)
    [lot] = columns.lots(0)
    return Trace(lot=lot, direction=direction, columns=columns)

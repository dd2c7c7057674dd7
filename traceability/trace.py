"""Forward and backward traces of a lot, computed in the database.

The genealogy is a graph (BatchInput: input -> output). Its transitive closure is kept in
traceability_lineage by database triggers (models.Lineage, migration 0004: PostgreSQL and SQLite
alike), so a lot's ancestors or descendants, at any depth and through multi-input
transformations, are one index range scan; the closure itself was computed by a recursive CTE
when the table was created, and the tests check it against one. trace_lot asks one query that
returns the whole trace (lots, links, shipping and receiving lines, names) as one JSON document,
column by column; its lists of Lots, Links and ShipmentStops are built when first read. Tests run
on both databases and expect the same answers. Shipments and stores come from the shipping and
receiving events' batch lines and their key data elements (traceability.kdes.MovementKDEs):
traceability never imports shipments.

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

from traceability.kdes import MovementKDEs, json_text
from traceability.models import Batch, TraceEvent

DIRECTIONS = ("both", "forward", "backward")

# The genealogy's closure is kept in traceability_lineage (one row per ancestor/descendant pair,
# filled by database triggers when a transformation link is inserted: see models.Lineage), so both
# directions are one index range scan, whatever the depth.
_DOWN = "SELECT DISTINCT descendant_id FROM traceability_lineage WHERE ancestor_id IN ({seeds})"
_UP = "SELECT DISTINCT ancestor_id FROM traceability_lineage WHERE descendant_id IN ({seeds})"


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
        # The columns hold both directions; a one-way trace shows its own side only.
        self._backward = direction in ("both", "backward")
        self._forward = direction in ("both", "forward")
        self._limited = False

    @cached_property
    def ancestors(self) -> list[Lot]:
        return self._columns.lots(1) if self._backward else []

    @cached_property
    def descendants(self) -> list[Lot]:
        return self._columns.lots(2) if self._forward else []

    @cached_property
    def links(self) -> list[Link]:
        return self._columns.links(self.direction)

    @cached_property
    def shipments(self) -> list[ShipmentStop]:
        return self._columns.shipments() if self._forward else []

    @property
    def ancestor_count(self) -> int:
        if self._limited:
            return len(self.ancestors)
        return self._columns.count(1) if self._backward else 0

    @property
    def descendant_count(self) -> int:
        if self._limited:
            return len(self.descendants)
        return self._columns.count(2) if self._forward else 0

    def limited_to(self, *, lot_ids: set[int], shipments: set[str]) -> "Trace":
        """The same trace showing only the lots of `lot_ids` (and the traced lot), the links
        between lots it shows, and the shipments whose codes are in `shipments`: the part of a
        trace someone who may not see all of it is shown (traceability.permissions.visible_trace)."""
        limited = Trace(lot=self.lot, direction=self.direction, columns=self._columns)
        limited._limited = True
        # Filled here, the cached properties are never computed from the columns.
        limited.ancestors = [lot for lot in self.ancestors if lot.id in lot_ids]
        limited.descendants = [lot for lot in self.descendants if lot.id in lot_ids]
        shown = {lot.lot_code for lot in (self.lot, *limited.ancestors, *limited.descendants)}
        limited.links = [link for link in self.links if link.input_lot in shown and link.output_lot in shown]
        limited.shipments = [stop for stop in self.shipments if stop.shipment in shipments]
        return limited

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


def _ids(sql: str, batch_ids) -> set[int]:
    batch_ids = [int(pk) for pk in batch_ids]
    if not batch_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(sql.format(seeds=", ".join(["%s"] * len(batch_ids))), batch_ids)
        return {row[0] for row in cursor.fetchall()}


def lineage_errors() -> tuple[int, int]:
    """(missing, extra): pairs the transformation links imply that the lineage table lacks, and
    pairs it holds that no chain of links gives. Both 0 unless someone bypassed the triggers;
    `manage.py verify_events` reports them. Walks every link with a recursive CTE."""
    walk = """
        WITH RECURSIVE pairs(a, d) AS (
            SELECT input_id, output_id FROM traceability_batchinput
            UNION
            SELECT p.a, bi.output_id FROM pairs p JOIN traceability_batchinput bi ON bi.input_id = p.d
        )
    """
    lineage = "SELECT ancestor_id, descendant_id FROM traceability_lineage"
    with connection.cursor() as cursor:
        cursor.execute(
            f"{walk} SELECT (SELECT count(*) FROM (SELECT a, d FROM pairs EXCEPT {lineage}) m),"
            f" (SELECT count(*) FROM ({lineage} EXCEPT SELECT a, d FROM pairs) x)"
        )
        return tuple(cursor.fetchone())


def closure_sql(batch_id: int, direction: str) -> tuple[str, list]:
    """SQL selecting the ids of a lot's descendants ("forward") or ancestors ("backward"), for use
    as a subquery: Q(batch_id__in=RawSQL(*closure_sql(pk, "forward")))."""
    sql = {"forward": _DOWN, "backward": _UP}[direction]
    return sql.format(seeds="%s"), [batch_id]


def descendant_ids(batch_ids) -> set[int]:
    """Primary keys of every batch made, at any depth, from any of `batch_ids` (not themselves)."""
    return _ids(_DOWN, batch_ids)


def ancestor_ids(batch_ids) -> set[int]:
    """Primary keys of every batch that went, at any depth, into any of `batch_ids` (not themselves)."""
    return _ids(_UP, batch_ids)


STATEMENT_TIMEOUT_SECONDS = 300


@contextmanager
def fast_plans(*, index_probes: bool = False):
    """On PostgreSQL, no JIT for the enclosed queries, and a statement timeout if the server has
    none. Row estimates of closure sets are averages (a lot with 17,000 ancestors makes every lot
    look like it has hundreds), which can make the planner JIT-compile a 5 ms query for 400 ms.
    With `index_probes`, no hash or merge joins either: a trace reads each of its lots' rows by
    index, which is what a lot with ten relatives needs (the average estimate made it hash the
    whole lot table: 25 ms instead of 3) and no slower for one with 10,000. set_config(..., true)
    keeps every change inside this transaction."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            settings = ["set_config('jit', 'off', true)"]
            if index_probes:
                settings += [
                    "set_config('enable_hashjoin', 'off', true)",
                    "set_config('enable_mergejoin', 'off', true)",
                ]
            # No statement here runs unbounded (forget_trace_changes relies on it).
            settings.append(
                "CASE WHEN current_setting('statement_timeout') = '0'"
                f" THEN set_config('statement_timeout', '{STATEMENT_TIMEOUT_SECONDS}s', true) END"
            )
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {', '.join(settings)}")
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


_SHIPMENT_KEYS = MovementKDEs.keys("shipment", "store", "store_gln", "store_city", "retailer")

# The ancestors ("up") and descendants ("down") of the seed, from the closure table.
_WALKS = {
    "up": "up(id) AS (SELECT ancestor_id FROM traceability_lineage WHERE descendant_id = %(seed)s)",
    "down": "down(id) AS (SELECT descendant_id FROM traceability_lineage WHERE ancestor_id = %(seed)s)",
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


def _trace_sql() -> str:
    ctes, document = _trace_parts()
    return f"WITH {ctes} SELECT {document}"


def _trace_parts() -> tuple[str, str]:
    """(the CTEs, the document expression) of one query that returns a lot's whole trace, both
    directions, as one JSON document:

        [lots, links, movements]

    column by column (a list per column: _LOT_COLUMNS; input, output and quantity;
    _MOVE_COLUMNS). PostgreSQL builds it with array_agg and json_build_array, SQLite with
    json_group_array and json_array (JSON1 is built in); both give the same values. One JSON text
    decoded by json.loads (C code) is several times cheaper than tens of thousands of row tuples
    through the DB-API, and it is one round trip. Lots carry a side: 0 the traced lot, 1 an
    ancestor, 2 a descendant. Links are the backward ones (ending in the traced lot or an
    ancestor) and the forward ones (starting in it or a descendant); the two never share a link.
    Movements are the shipping and receiving lines of the traced lot and its descendants,
    corrected events left out (the rule of TraceEvent.objects.effective()), in no order.
    Quantities are text, so that no float ever holds one. Names are not in it (see _names): a
    stored document must not go stale when a farm is renamed.
    """
    postgres = connection.vendor == "postgresql"
    array = "json_build_array" if postgres else "json_array"

    def columns(names: list[str], source: str) -> str:
        if postgres:
            return f"(SELECT json_build_array({', '.join(f'array_agg({n})' for n in names)}) {source})"
        # SQLite: json() keeps the subquery's result JSON rather than a string.
        return f"json((SELECT json_array({', '.join(f'json_group_array({n})' for n in names)}) {source}))"

    text = "::text" if postgres else ""
    keys = [json_text(key, vendor=connection.vendor) for key in _SHIPMENT_KEYS]
    ctes = [
        *_WALKS.values(),
        "lots(id, side) AS (SELECT %(seed)s AS id, 0 AS side UNION ALL SELECT id, 1 FROM up"
        " UNION ALL SELECT id, 2 FROM down)",
        "lot_rows AS (SELECT l.side, b.id, b.lot_code, b.status, b.quantity, b.unit, b.harvested_on, b.crop_id,"
        " b.farm_id, b.field_id FROM lots l JOIN traceability_batch b ON b.id = l.id)",
        "links(i, o, q) AS ("
        "SELECT bi.input_id, bi.output_id, bi.quantity FROM traceability_batchinput bi"
        " JOIN lots l ON l.id = bi.output_id AND l.side <> 2"
        " UNION ALL SELECT bi.input_id, bi.output_id, bi.quantity FROM traceability_batchinput bi"
        " JOIN lots l ON l.id = bi.input_id AND l.side <> 1)",
    ]
    # The shipping and receiving lines of the traced lot and its descendants come from the partial
    # covering index eventbatch_movement_idx alone (lines carry their event's kind); then only the
    # events found are read, for their time and key data elements.
    materialized = "MATERIALIZED" if postgres else ""
    ctes.append(
        f"""movements AS {materialized} (
        SELECT x.batch_id, x.event_id, x.quantity, x.unit FROM traceability_eventbatch x
        JOIN lots l ON l.id = x.batch_id AND l.side <> 1
        WHERE x.event_kind IN ('shipping', 'receiving')
          AND NOT EXISTS (SELECT 1 FROM traceability_traceevent c WHERE c.corrects_id = x.event_id)
    )"""
    )
    lot_columns = [f"{name}{text}" if name == "quantity" else name for name in _LOT_COLUMNS]
    parts = [
        columns(lot_columns, "FROM lot_rows"),
        columns(["i", "o", f"q{text}"], "FROM links"),
        columns(
            ["e.kind", "e.occurred_at", *keys, "m.batch_id", f"m.quantity{text}", "m.unit", "e.id"],
            "FROM movements m JOIN traceability_traceevent e ON e.id = m.event_id",
        ),
    ]
    # ::text: psycopg2 would decode a json value itself.
    return ", ".join(ctes), f"{array}({', '.join(parts)}){text}"


# PostgreSQL keeps computed documents (models.StoredTrace). A stored document is read only if no
# trace change of its lot (models.TraceChange, written by triggers) comes from a transaction its
# snapshot does not see; changes older than the snapshot's xmin are seen by definition, so the
# check reads only the few recent changes from the index (batch_id, xid).
_STORED_SQL = """
    SELECT s.document FROM traceability_storedtrace s
    WHERE s.batch_id = %(seed)s AND NOT EXISTS (
        SELECT 1 FROM traceability_tracechange c
        WHERE c.batch_id = s.batch_id AND c.xid >= pg_snapshot_xmin(s.snapshot)
          AND NOT pg_visible_in_snapshot(c.xid, s.snapshot)
    )
"""


def _store_sql() -> str:
    """Compute the document and keep it with the snapshot of this very statement, in one
    statement. Not kept when this transaction has written anything already: its own later
    writes would look seen by that snapshot."""
    ctes, document = _trace_parts()
    return (
        f"WITH {ctes}, document AS MATERIALIZED (SELECT {document} AS text),"
        " kept AS (INSERT INTO traceability_storedtrace (batch_id, snapshot, document)"
        " SELECT %(seed)s, pg_current_snapshot(), text FROM document WHERE pg_current_xact_id_if_assigned() IS NULL"
        " ON CONFLICT (batch_id) DO UPDATE SET snapshot = EXCLUDED.snapshot, document = EXCLUDED.document)"
        " SELECT text FROM document"
    )


def _document(batch_id: int) -> str:
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute(_STORED_SQL, {"seed": batch_id})
            row = cursor.fetchone()
        if row is not None:
            return row[0]
    with fast_plans(index_probes=True), connection.cursor() as cursor:
        cursor.execute(_store_sql() if postgres else _trace_sql(), {"seed": batch_id})
        return cursor.fetchone()[0]


def forget_trace_changes(*, older_than_days: int = 7) -> tuple[int, int]:
    """Delete trace changes older than `older_than_days`, after dropping the stored traces that do
    not see them. Returns (stored traces dropped, changes deleted). Safe while traces are being
    computed: a trace statement runs at most STATEMENT_TIMEOUT_SECONDS (fast_plans), so every
    snapshot taken after the changes' transactions committed sees them; only a writing
    transaction left open for longer than `older_than_days` could defeat it. Run it from cron
    (`manage.py forget_trace_changes`). On other databases there is nothing to do."""
    if connection.vendor != "postgresql":
        return 0, 0
    old = "changed_at < now() - make_interval(days => %(days)s)"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM traceability_storedtrace s USING traceability_tracechange c"
            f" WHERE c.{old} AND s.batch_id = c.batch_id AND NOT pg_visible_in_snapshot(c.xid, s.snapshot)",
            {"days": older_than_days},
        )
        dropped = cursor.rowcount
        cursor.execute(f"DELETE FROM traceability_tracechange WHERE {old}", {"days": older_than_days})
        return dropped, cursor.rowcount


def _names(crop_ids, farm_ids, field_ids) -> tuple[list, list, list]:
    """The crops, farms (with their villages) and fields of a trace's lots, in one query."""
    postgres = connection.vendor == "postgresql"

    def rows(names: str, source: str, ids) -> tuple[str, list]:
        marks = ", ".join(["%s"] * len(ids)) or "NULL"
        if postgres:
            return f"(SELECT coalesce(json_agg(json_build_array({names})), '[]'::json) {source} IN ({marks}))", ids
        return f"json((SELECT json_group_array(json_array({names})) {source} IN ({marks})))", ids

    parts = [
        rows("id, code, name_zh, name_en", "FROM farms_crop WHERE id", crop_ids),
        rows(
            "f.id, f.name_zh, f.name_en, v.id, v.code, v.name_zh, v.name_en, coalesce(v.gln, '')",
            "FROM farms_farm f JOIN farms_village v ON v.id = f.village_id WHERE f.id",
            farm_ids,
        ),
        rows("id, name_zh, name_en", "FROM farms_field WHERE id", field_ids),
    ]
    array, text = ("json_build_array", "::text") if postgres else ("json_array", "")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {array}({', '.join(sql for sql, _ in parts)}){text}", [i for _, ids in parts for i in ids]
        )
        return json.loads(cursor.fetchone()[0])


class _Columns:
    """The decoded query result, column by column; builds Lots, Links and ShipmentStops on demand."""

    def __init__(self, document: str):
        lots, links, moves = json.loads(document)
        # array_agg over no rows is NULL on PostgreSQL.
        self.lot_columns = dict(zip(_LOT_COLUMNS, (column or [] for column in lots), strict=True))
        self.link_columns = [column or [] for column in links]
        self.move_columns = [column or [] for column in moves]
        c = self.lot_columns
        crops, farms, fields = _names(sorted(set(c["crop_id"])), sorted(set(c["farm_id"])),
                                      sorted(set(c["field_id"]) - {None}))  # fmt: skip
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

    def links(self, direction: str) -> list[Link]:
        """The links of one direction (or both): a backward link starts in an ancestor, a forward
        one in the traced lot or a descendant."""
        codes, new, dec = self.codes, tuple.__new__, self.decimals
        rows = zip(*self.link_columns, strict=True)
        if direction != "both":
            c = self.lot_columns
            ancestors = {pk for pk, side in zip(c["id"], c["side"], strict=True) if side == 1}
            backward = direction == "backward"
            rows = [row for row in rows if (row[0] in ancestors) == backward]
        links = [new(Link, (codes[i], codes[o], dec[q])) for i, o, q in rows]
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

    One query computes both directions whatever the size (see _trace_sql); on PostgreSQL the
    result is kept, and read back while nothing it shows has changed (_STORED_SQL). A second
    query reads the names. The lists of the result are built when first read.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
    columns = _Columns(_document(batch.pk))
    [lot] = columns.lots(0)
    return Trace(lot=lot, direction=direction, columns=columns)

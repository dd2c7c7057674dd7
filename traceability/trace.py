"""Forward and backward traces of a lot, computed in the database with recursive CTEs.

The genealogy is a graph (BatchInput: input -> output). One SQL text serves PostgreSQL and
SQLite (both support WITH RECURSIVE ... UNION, which discards rows already found, so diamonds
in the graph are walked once). Results are plain dataclasses, ready for a page, a command or
the API. Shipments and stores come from the shipping and receiving events' batch lines and their
key data elements (data["shipment"], data["store"], ...): traceability never imports shipments.

Public functions: ancestor_ids, descendant_ids, closure_sql, trace_lot (backward, forward or both).
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connection
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

_LOTS = """
    SELECT b.id, b.lot_code, b.status, b.quantity, b.unit, b.harvested_on,
           cr.code, cr.name_zh, cr.name_en, f.id, f.name_zh, f.name_en, fi.id, fi.name_zh, fi.name_en,
           v.id, v.code, v.name_zh, v.name_en, v.gln
    FROM closure c
    JOIN traceability_batch b ON b.id = c.id
    JOIN farms_crop cr ON cr.id = b.crop_id
    JOIN farms_farm f ON f.id = b.farm_id
    JOIN farms_village v ON v.id = f.village_id
    LEFT JOIN farms_field fi ON fi.id = b.field_id
    ORDER BY b.lot_code
"""

# Links among the lots of the closure (and the traced lot itself): the edges of the subgraph.
_LINKS = """
    , lots(id) AS (SELECT id FROM closure UNION SELECT {seed})
    SELECT i.lot_code, o.lot_code, bi.quantity
    FROM traceability_batchinput bi
    JOIN lots li ON li.id = bi.input_id
    JOIN lots lo ON lo.id = bi.output_id
    JOIN traceability_batch i ON i.id = bi.input_id
    JOIN traceability_batch o ON o.id = bi.output_id
    ORDER BY i.lot_code, o.lot_code
"""

# Shipping and receiving lines of the lot and its descendants, leaving out corrected events
# (the same rule as TraceEvent.objects.effective()).
_MOVEMENTS = """
    , lots(id) AS (SELECT id FROM closure UNION SELECT {seed})
    SELECT e.kind, e.occurred_at, e.data, b.lot_code, eb.quantity, eb.unit
    FROM traceability_eventbatch eb
    JOIN lots l ON l.id = eb.batch_id
    JOIN traceability_traceevent e ON e.id = eb.event_id
    JOIN traceability_batch b ON b.id = eb.batch_id
    WHERE e.kind IN ('shipping', 'receiving')
      AND NOT EXISTS (SELECT 1 FROM traceability_traceevent c WHERE c.corrects_id = e.id)
    ORDER BY e.occurred_at, e.id, b.lot_code
"""


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
    with connection.cursor() as cursor:
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


def _lot(row) -> Lot:
    (pk, code, status, qty, unit, harvested, crop_code, crop_zh, crop_en, farm_id, farm_zh, farm_en) = row[:12]
    field_id, field_zh, field_en, village_id, village_code, village_zh, village_en, gln = row[12:]
    if isinstance(harvested, str):  # SQLite returns dates as text from raw SQL
        harvested = date.fromisoformat(harvested)
    return Lot(
        pk,
        code,
        status,
        _dec(qty),
        unit,
        harvested,
        crop_code,
        crop_zh,
        crop_en,
        farm_id,
        farm_zh,
        farm_en,
        field_id,
        field_zh or "",
        field_en or "",
        village_id,
        village_code,
        village_zh,
        village_en,
        gln or "",
    )


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _self(batch: Batch) -> Lot:
    sql = "WITH closure(id) AS (SELECT %s)" + _LOTS
    return _lot(_fetch(sql, [batch.pk])[0])


def _as_datetime(value) -> datetime:
    """Raw SQL on SQLite gives naive UTC text; PostgreSQL gives an aware datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _dec(value) -> Decimal | None:
    """PostgreSQL gives Decimal('10.000'), SQLite a float or int: one form for both."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.001"))


def _shipments(rows) -> list[ShipmentStop]:
    stops: dict[str, ShipmentStop] = {}
    for kind, occurred_at, data, lot_code, qty, unit in rows:
        data = json.loads(data) if isinstance(data, str) else data
        code = data.get("shipment", "")
        stop = stops.get(code)
        if stop is None:
            stop = stops[code] = ShipmentStop(
                code,
                data.get("store", ""),
                data.get("store_gln", ""),
                data.get("store_city", ""),
                data.get("retailer", ""),
            )
        occurred_at = _as_datetime(occurred_at)
        if kind == TraceEvent.Kind.SHIPPING:
            stop.shipped_at = occurred_at
            stop.lots.append((lot_code, _dec(qty), unit))
        else:
            stop.received_at = occurred_at
    for stop in stops.values():
        stop.lots.sort()
    return sorted(stops.values(), key=lambda s: (s.shipped_at is None, s.shipped_at or datetime.min, s.shipment))


def trace_lot(batch: Batch, *, direction: str = "both") -> Trace:
    """The trace of a lot: backward to every input lot and its farm, field and village; forward to
    every lot made from it and the shipments and stores that received them. Five queries at most."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
    result = Trace(lot=_self(batch), direction=direction)
    links: list[Link] = []
    if direction in ("both", "backward"):
        up = _UP.format(seeds="%s")
        result.ancestors = [_lot(row) for row in _fetch(up + _LOTS, [batch.pk])]
        links += [Link(i, o, _dec(q)) for i, o, q in _fetch(up + _LINKS.format(seed="%s"), [batch.pk, batch.pk])]
    if direction in ("both", "forward"):
        down = _DOWN.format(seeds="%s")
        result.descendants = [_lot(row) for row in _fetch(down + _LOTS, [batch.pk])]
        links += [Link(i, o, _dec(q)) for i, o, q in _fetch(down + _LINKS.format(seed="%s"), [batch.pk, batch.pk])]
        result.shipments = _shipments(_fetch(down + _MOVEMENTS.format(seed="%s"), [batch.pk, batch.pk]))
    result.links = sorted(set(links), key=lambda link: (link.input_lot, link.output_lot))
    return result

"""The FSMA 204 electronic sortable spreadsheet, as CSV and as an Excel workbook: one row per
Critical Tracking Event and lot, with its Key Data Elements.

Both files come from one pipeline: `_fsma_lines` reads the lines (FsmaLine) and `fsma_rows`
turns them into cells. Reading has two SQL paths of the same query because this export must stay
fast on a lot with 10,000 descendants (bench/trace.py): PostgreSQL gets hand-written SQL over
arrays of event ids, any other database the ORM; tests check that both give the same lines.
"""

from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple

from django.db import connection
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from traceability.exports import xlsx
from traceability.exports.rows import csv_bytes, qty
from traceability.kdes import MovementKDEs, json_text
from traceability.models import EventBatch, TraceEvent
from traceability.trace import fast_plans

FSMA_CTES = {
    TraceEvent.Kind.HARVEST: "Harvesting",
    TraceEvent.Kind.COOLING: "Cooling",
    TraceEvent.Kind.PACKING: "Initial packing",
    TraceEvent.Kind.SHIPPING: "Shipping",
    TraceEvent.Kind.RECEIVING: "Receiving",
    TraceEvent.Kind.TRANSFORMATION: "Transformation",
}

DOCUMENT_TYPES = {
    TraceEvent.Kind.SHIPPING: "Bill of lading",
    TraceEvent.Kind.RECEIVING: "Bill of lading",
    TraceEvent.Kind.TRANSFORMATION: "Production record",
    TraceEvent.Kind.PACKING: "Packing record",
}

FSMA_COLUMNS = [
    "Critical tracking event",
    "Event date",
    "Event time",
    "Traceability lot code",
    "Product description",
    "Quantity",
    "Unit of measure",
    "Location description",
    "Location GLN",
    "Ship-from location",
    "Ship-from GLN",
    "Immediate recipient (ship-to) location",
    "Ship-to GLN",
    "Traceability lot code source",
    "Traceability lot code source GLN",
    "Harvest field",
    "Input lots (transformation)",
    "Reference document type",
    "Reference document number",
    "Event ID",
]


class FsmaLine(NamedTuple):
    """A non-input batch line of an FSMA event, in the order both SQL paths select it. The key
    data elements are null where the event's JSON lacks them."""

    event_id: int
    client_id: str
    kind: str
    occurred_at: datetime
    location_name: str
    location_gln: str
    store: str | None
    retailer: str | None
    store_city: str | None
    ship_from: str | None
    ship_from_gln: str | None
    store_gln: str | None
    reference_document: str | None
    reference_document_type: str | None
    batch_id: int
    lot_code: str
    role: str
    quantity: Decimal | None
    unit: str
    crop_zh: str
    crop_en: str | None
    farm_zh: str
    field_zh: str | None
    village_zh: str
    village_gln: str | None


# The key data elements read from each event's JSON, in the database, in FsmaLine's order; any
# event may name its reference document's type.
_KDE_KEYS = (
    *MovementKDEs.keys(
        "store", "retailer", "store_city", "ship_from", "ship_from_gln", "store_gln", "reference_document",
    ),
    "reference_document_type",
)  # fmt: skip


def _fsma_lines(events, lot_ids: set[int] | None) -> tuple[list[FsmaLine], dict[int, str]]:
    """The non-input batch lines of the effective FSMA events, and each transformation's input
    cell ("LOT QTY UNIT; ...", by lot code)."""
    events = events.order_by().filter(kind__in=list(FSMA_CTES))
    with fast_plans():
        if connection.vendor == "postgresql":
            lines, inputs = _fsma_lines_postgres(list(events.values_list("pk", flat=True)))
        else:
            lines, inputs = _fsma_lines_portable(events.exclude(corrections__isnull=False).values("pk"))
    if lot_ids is not None:
        # Inputs of a transformation stay (the cells): they are key data of the new lot,
        # wherever they came from.
        lines = [line for line in lines if line.batch_id in lot_ids]
    return lines, inputs


def _fsma_lines_postgres(event_ids: list[int]) -> tuple[list[FsmaLine], dict[int, str]]:
    """PostgreSQL: the events as an array (the planner then reads lines and events by index, not
    by scanning every line), the corrected ones left out here (an index probe per event, where
    the ORM's exclude() hashed every event of the table), input cells built with string_agg
    (trim_scale gives qty's form of a number)."""
    keys = ", ".join(json_text(key, vendor="postgresql") for key in _KDE_KEYS)
    sql = f"""
        SELECT eb.event_id, e.client_id::text, e.kind, e.occurred_at, e.location_name, e.location_gln, {keys},
               eb.batch_id, b.lot_code, eb.role, eb.quantity, eb.unit, c.name_zh, c.name_en, f.name_zh,
               fl.name_zh, v.name_zh, v.gln
        FROM traceability_eventbatch eb
        JOIN traceability_traceevent e ON e.id = eb.event_id
        JOIN traceability_batch b ON b.id = eb.batch_id
        JOIN farms_crop c ON c.id = b.crop_id
        JOIN farms_farm f ON f.id = b.farm_id
        JOIN farms_village v ON v.id = f.village_id
        LEFT JOIN farms_field fl ON fl.id = b.field_id
        -- e.id as well as eb.event_id: it tells the planner how few events there are (index
        -- probes instead of a merge join over the whole event index).
        WHERE eb.event_id = ANY(%(events)s) AND e.id = ANY(%(events)s) AND eb.role <> 'input'
          AND NOT EXISTS (SELECT FROM traceability_traceevent x WHERE x.corrects_id = e.id)
    """
    cells = """
        SELECT i.event_id, string_agg(
            rtrim(ib.lot_code || ' ' || coalesce(trim_scale(i.quantity)::text, '') || ' ' || i.unit),
            '; ' ORDER BY ib.lot_code COLLATE "C")
        FROM traceability_eventbatch i JOIN traceability_batch ib ON ib.id = i.batch_id
        WHERE i.event_id = ANY(%(events)s) AND i.role = 'input'
        GROUP BY i.event_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"events": event_ids})
        lines = list(map(FsmaLine._make, cursor.fetchall()))
        cursor.execute(cells, {"events": event_ids})
        inputs = dict(cursor.fetchall())
    return lines, inputs


def _fsma_lines_portable(effective) -> tuple[list[FsmaLine], dict[int, str]]:
    """Any database: the same lines through the ORM."""
    keys = {f"k_{key}": KeyTextTransform(key, "event__data") for key in _KDE_KEYS}
    query = (
        EventBatch.objects.filter(event_id__in=effective)
        .annotate(**keys)
        .values_list(
            "event_id", "event__client_id", "event__kind", "event__occurred_at", "event__location_name",
            "event__location_gln", *keys, "batch_id", "batch__lot_code", "role", "quantity", "unit",
            "batch__crop__name_zh", "batch__crop__name_en", "batch__farm__name_zh", "batch__field__name_zh",
            "batch__farm__village__name_zh", "batch__farm__village__gln",
        )
        .order_by()
    )  # fmt: skip
    lines, inputs = [], {}
    for line in sorted(
        (FsmaLine(row[0], str(row[1]), *row[2:]) for row in query), key=attrgetter("event_id", "lot_code")
    ):
        if line.role == EventBatch.Role.INPUT:
            cell = f"{line.lot_code} {qty(line.quantity)} {line.unit}".strip()
            inputs[line.event_id] = f"{inputs[line.event_id]}; {cell}" if line.event_id in inputs else cell
        else:
            lines.append(line)
    return lines, inputs


_MOVING = frozenset({TraceEvent.Kind.SHIPPING.value, TraceEvent.Kind.RECEIVING.value})
_HARVEST = TraceEvent.Kind.HARVEST.value


def fsma_rows(events, *, lot_ids: set[int] | None = None) -> list[list[str]]:
    """One row per Critical Tracking Event and lot (the FSMA_COLUMNS), corrected events left out,
    sorted by event time then lot code. A transformation gives one row per new lot, with its
    input lots and quantities in one cell."""
    lines, inputs = _fsma_lines(events, lot_ids)
    # Time order is local time order: an aware datetime compares as its instant.
    lines.sort(key=attrgetter("occurred_at", "event_id", "lot_code", "role"))
    zone = timezone.get_current_timezone()
    moments: dict[int, str] = {}  # each event's local time, for each of its lines
    amounts: dict[Decimal | None, str] = {}  # a lot's quantities repeat: format each value once
    rows = []
    for line in lines:
        event_id, kind, quantity = line.event_id, line.kind, line.quantity
        moving = kind in _MOVING
        reference = line.reference_document or ""
        moment = moments.get(event_id)
        if moment is None:
            moment = moments[event_id] = line.occurred_at.astimezone(zone).isoformat()
        amount = amounts.get(quantity)
        if amount is None:
            amount = amounts[quantity] = qty(quantity)
        rows.append(
            [
                FSMA_CTES[kind],
                moment[:10],  # the local date
                moment,
                line.lot_code,
                f"{line.crop_zh} {line.crop_en or ''}".strip(),
                amount,
                line.unit if quantity is not None else "",
                line.location_name,
                line.location_gln,
                (line.ship_from or "") if moving else "",
                (line.ship_from_gln or "") if moving else "",
                f"{line.store or ''}, {line.retailer or ''}, {line.store_city or ''}" if moving else "",
                (line.store_gln or "") if moving else "",
                f"{line.farm_zh}, {line.village_zh}",
                line.village_gln or "",
                (line.field_zh or "") if kind == _HARVEST else "",
                inputs.get(event_id, ""),
                (line.reference_document_type or DOCUMENT_TYPES.get(kind, "Record")) if reference else "",
                reference,
                f"urn:uuid:{line.client_id}",
            ]
        )
    return rows


def fsma_csv(events, *, lot_ids: set[int] | None = None) -> bytes:
    """The FSMA 204 sortable spreadsheet as UTF-8 CSV (with a BOM, so spreadsheet programs read
    the Chinese names correctly)."""
    return csv_bytes(FSMA_COLUMNS, fsma_rows(events, lot_ids=lot_ids))


def fsma_xlsx(events, *, lot_ids: set[int] | None = None) -> bytes:
    """The FSMA 204 sortable spreadsheet as an Excel workbook: the header row frozen and
    filterable, every cell text, as in the CSV (lot codes and document numbers must not turn into
    numbers or dates). traceability.exports.xlsx says how the workbook is written and why by hand."""
    return xlsx.workbook("FSMA 204", FSMA_COLUMNS, fsma_rows(events, lot_ids=lot_ids))

"""The FSMA 204 electronic sortable spreadsheet (21 CFR 1.1325-1.1350, 1.1455(c)(3)(ii)), as CSV and
as an Excel workbook: one row per Critical Tracking Event and traceability lot, with every Key Data
Element the rule asks of that event (docs/standards.md lists each one and where it comes from).

- Column names are the rule's own KDE wording (FDA's template could not be consulted here; see
  docs/standards.md), in the order below; a KDE a CTE does not have leaves its cell empty.
- A transformation gives one row per new lot and input lot (the input's lot code, description,
  quantity and unit in their own columns), so inputs can be sorted and filtered.
- Location descriptions are the business name (Chinese and English), the address (Chinese and
  English) and the phone, as the rule defines them; shipping and receiving read them from what
  the event recorded (traceability.kdes.MovementKDEs), farm events from the farm and its village.
- Dates and times are those of the place where the event happened (traceability.places), not the
  server's time zone. In the workbook dates are date cells and quantities numbers; the CSV writes
  the same values as text (ISO dates, quantities without exponent).
- The harvester's name and phone are for regulators: filled in only when the caller may see them
  (`harvester=True`, asked of traceability.permissions.may_see_harvester), else empty.
- A recall of a lot shows on each of its rows: the last three columns before the event id.

Both files come from one pipeline: `_fsma_lines` reads the event lines (FsmaLine), `_lot_facts`
what each lot is, and `fsma_rows` turns them into cells. Reading the lines has two SQL paths of
the same query because this export must stay fast on a lot with 10,000 descendants
(bench/trace.py): PostgreSQL gets hand-written SQL over arrays of event ids, any other database
the ORM; tests check that both give the same lines.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models.fields.json import KeyTextTransform

from traceability.exports import xlsx
from traceability.exports.rows import csv_bytes, qty
from traceability.kdes import MovementKDEs, json_text
from traceability.models import Batch, EventBatch, Recall, RecallHold, TraceEvent
from traceability.places import zone_for
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
    TraceEvent.Kind.HARVEST: "Field tag",
    TraceEvent.Kind.COOLING: "Cooling log",
}

FSMA_COLUMNS = [
    "Critical tracking event",
    "Traceability lot code",
    "Product description",
    "Product description (Chinese)",
    "Commodity",
    "Variety",
    "Quantity",
    "Unit of measure",
    "Event date",
    "Event time",
    "Location description",
    "Location GLN",
    "Immediate previous source location description",
    "Immediate previous source GLN",
    "Immediate subsequent recipient location description",
    "Immediate subsequent recipient GLN",
    "Farm where harvested location description",
    "Field or other growing area name",
    "Harvest date",
    "Harvester business name",
    "Harvester phone number",
    "Cooling date",
    "Cooling location description",
    "Traceability lot code source location description",
    "Traceability lot code source GLN",
    "Input traceability lot code",
    "Input product description",
    "Input quantity",
    "Input unit of measure",
    "Reference document type",
    "Reference document number",
    "Recall status",
    "Recall opened",
    "Recall closed",
    "Event ID",
]

# Which columns hold dates and which numbers (typed cells in the workbook).
DATE_COLUMNS = frozenset(
    FSMA_COLUMNS.index(name)
    for name in ("Event date", "Harvest date", "Cooling date", "Recall opened", "Recall closed")
)
NUMBER_COLUMNS = frozenset(FSMA_COLUMNS.index(name) for name in ("Quantity", "Input quantity"))

# Packaging, for the product description: the unit a lot is counted in.
PACKAGING = {
    "kg": ("bulk, by weight (kg)", "散装，按千克计"),
    "box": ("in boxes", "箱装"),
    "crate": ("in crates", "筐装"),
    "piece": ("by the piece", "按个计"),
}


class FsmaLine(NamedTuple):
    """A batch line of an FSMA event, in the order both SQL paths select it. The key data elements
    are null where the event's JSON lacks them."""

    event_id: int
    client_id: str
    kind: str
    occurred_at: datetime
    location_name: str
    location_gln: str
    village_time_zone: str | None  # of the event's village
    store: str | None
    store_en: str | None
    retailer: str | None
    retailer_en: str | None
    store_gln: str | None
    store_address: str | None
    store_address_en: str | None
    store_phone: str | None
    store_time_zone: str | None
    ship_from: str | None
    ship_from_en: str | None
    ship_from_gln: str | None
    ship_from_address: str | None
    ship_from_address_en: str | None
    ship_from_phone: str | None
    ship_from_time_zone: str | None
    reference_document: str | None
    reference_document_type: str | None
    harvester_name: str | None
    harvester_phone: str | None
    batch_id: int
    role: str
    quantity: Decimal | None
    unit: str


# The key data elements read from each event's JSON, in the database, in FsmaLine's order; any
# event may name its reference document and its type, a harvest its harvester.
_KDE_KEYS = (
    *MovementKDEs.keys(
        "store", "store_en", "retailer", "retailer_en", "store_gln", "store_address", "store_address_en",
        "store_phone", "store_time_zone", "ship_from", "ship_from_en", "ship_from_gln", "ship_from_address",
        "ship_from_address_en", "ship_from_phone", "ship_from_time_zone", "reference_document",
    ),
    "reference_document_type",
    "harvester_name",
    "harvester_phone",
)  # fmt: skip


def _fsma_lines(events) -> list[FsmaLine]:
    """The batch lines (inputs included) of the effective FSMA events."""
    events = events.order_by().filter(kind__in=list(FSMA_CTES))
    with fast_plans():
        if connection.vendor == "postgresql":
            return _fsma_lines_postgres(list(events.values_list("pk", flat=True)))
        return _fsma_lines_portable(events.exclude(corrections__isnull=False).values("pk"))


def _fsma_lines_postgres(event_ids: list[int]) -> list[FsmaLine]:
    """PostgreSQL: the events as an array (the planner then reads lines and events by index, not
    by scanning every line), the corrected ones left out here (an index probe per event, where
    the ORM's exclude() hashed every event of the table)."""
    keys = ", ".join(json_text(key, vendor="postgresql") for key in _KDE_KEYS)
    sql = f"""
        SELECT eb.event_id, e.client_id::text, e.kind, e.occurred_at, e.location_name, e.location_gln,
               v.time_zone, {keys}, eb.batch_id, eb.role, eb.quantity, eb.unit
        FROM traceability_eventbatch eb
        JOIN traceability_traceevent e ON e.id = eb.event_id
        JOIN farms_village v ON v.id = e.village_id
        -- e.id as well as eb.event_id: it tells the planner how few events there are (index
        -- probes instead of a merge join over the whole event index).
        WHERE eb.event_id = ANY(%(events)s) AND e.id = ANY(%(events)s)
          AND NOT EXISTS (SELECT FROM traceability_traceevent x WHERE x.corrects_id = e.id)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"events": event_ids})
        return list(map(FsmaLine._make, cursor.fetchall()))


def _fsma_lines_portable(effective) -> list[FsmaLine]:
    """Any database: the same lines through the ORM."""
    keys = {f"k_{key}": KeyTextTransform(key, "event__data") for key in _KDE_KEYS}
    query = (
        EventBatch.objects.filter(event_id__in=effective)
        .annotate(**keys)
        .values_list(
            "event_id", "event__client_id", "event__kind", "event__occurred_at", "event__location_name",
            "event__location_gln", "event__village__time_zone", *keys, "batch_id", "role", "quantity", "unit",
        )
        .order_by()
    )  # fmt: skip
    return [FsmaLine(row[0], str(row[1]), *row[2:]) for row in query]


class Lot(NamedTuple):
    """What a lot is, for its rows: product, origin and its traceability lot code source."""

    lot_code: str
    quantity: Decimal
    unit: str
    harvested_on: date | None
    product_en: str
    product_zh: str
    commodity: str
    variety: str
    farm: str  # the farm's location description
    field: str
    village: str  # the village's (the cooperative's) location description
    village_gln: str
    village_time_zone: str


def describe(name_zh: str | None, name_en: str | None, address_zh: str | None, address_en: str | None, phone) -> str:
    """A location description as 21 CFR 1.1310 defines it: business name, address and phone, here
    "name_zh name_en; address_zh / address_en; phone" without the parts that are empty."""
    name = " ".join(filter(None, [name_zh, name_en]))
    address = " / ".join(filter(None, [address_zh, address_en]))
    return "; ".join(filter(None, [name, address, phone or ""]))


def product_description(crop_zh: str, crop_en: str, variety_zh: str, variety_en: str, unit: str) -> tuple[str, str]:
    """(English, Chinese): commodity, variety and packaging (21 CFR 1.1310 "product description")."""
    packaging_en, packaging_zh = PACKAGING.get(unit, (unit, unit))
    english = ", ".join(filter(None, [crop_en or crop_zh, variety_en or variety_zh, packaging_en]))
    chinese = "，".join(filter(None, [crop_zh, variety_zh, packaging_zh]))
    return english, chinese


def _lot_facts(batch_ids: set[int]) -> dict[int, Lot]:
    query = Batch.objects.filter(pk__in=batch_ids).values_list(
        "pk", "lot_code", "quantity", "unit", "harvested_on", "crop__name_zh", "crop__name_en", "crop__variety_zh",
        "crop__variety_en", "farm__name_zh", "farm__name_en", "farm__address_zh", "farm__address_en",
        "field__name_zh", "field__name_en", "farm__village__name_zh", "farm__village__name_en",
        "farm__village__address_zh", "farm__village__address_en", "farm__village__phone", "farm__village__gln",
        "farm__village__time_zone",
    )  # fmt: skip
    lots = {}
    for (
        pk, lot_code, quantity, unit, harvested_on, crop_zh, crop_en, variety_zh, variety_en, farm_zh, farm_en,
        farm_address_zh, farm_address_en, field_zh, field_en, village_zh, village_en, village_address_zh,
        village_address_en, village_phone, village_gln, village_time_zone,
    ) in query:  # fmt: skip
        english, chinese = product_description(crop_zh, crop_en, variety_zh, variety_en, unit)
        farm_name_zh = f"{farm_zh}, {village_zh}"
        farm_name_en = ", ".join(filter(None, [farm_en, village_en]))
        lots[pk] = Lot(
            lot_code=lot_code,
            quantity=quantity,
            unit=unit,
            harvested_on=harvested_on,
            product_en=english,
            product_zh=chinese,
            commodity=" ".join(filter(None, [crop_zh, crop_en])),
            variety=" ".join(filter(None, [variety_zh, variety_en])),
            farm=describe(
                farm_name_zh,
                farm_name_en,
                farm_address_zh or village_address_zh,
                farm_address_en or village_address_en,
                village_phone,
            ),
            field=" ".join(filter(None, [field_zh, field_en])),
            village=describe(village_zh, village_en, village_address_zh, village_address_en, village_phone),
            village_gln=village_gln or "",
            village_time_zone=village_time_zone,
        )
    return lots


class Moment(NamedTuple):
    day: date
    time: str  # ISO 8601 with the place's offset


def _moment(line: FsmaLine) -> Moment:
    data = {"ship_from_time_zone": line.ship_from_time_zone, "store_time_zone": line.store_time_zone}
    local = line.occurred_at.astimezone(zone_for(line.kind, data, line.village_time_zone))
    return Moment(local.date(), local.isoformat())


class FarmFacts(NamedTuple):
    """A lot's harvest and cooling, for the rows of the events after them (initial packing)."""

    harvest_date: date | None = None
    harvester_name: str = ""
    harvester_phone: str = ""
    cooling_date: date | None = None
    cooling_location: str = ""


def _farm_facts(lot_ids: set[int], lots: dict[int, Lot]) -> dict[int, FarmFacts]:
    """Each lot's effective harvest and cooling events (the latest of each), wherever the export's
    selection ends: an initial packing row carries them."""
    if not lot_ids:
        return {}
    lines = (
        EventBatch.objects.filter(
            batch_id__in=lot_ids, event__kind__in=[TraceEvent.Kind.HARVEST, TraceEvent.Kind.COOLING]
        )
        .exclude(event__corrections__isnull=False)
        .values_list(
            "batch_id", "event__kind", "event__occurred_at", "event__village__time_zone", "event__data",
            "event__location_name",
        )
        .order_by("event__occurred_at", "event_id")
    )  # fmt: skip
    facts: dict[int, dict] = {}
    for batch_id, kind, occurred_at, village_time_zone, data, _location in lines:
        day = occurred_at.astimezone(zone_for(kind, data, village_time_zone)).date()
        fact = facts.setdefault(batch_id, {})
        if kind == TraceEvent.Kind.HARVEST:
            fact.update(
                harvest_date=day,
                harvester_name=data.get("harvester_name") or "",
                harvester_phone=data.get("harvester_phone") or "",
            )
        else:
            fact.update(cooling_date=day, cooling_location=lots[batch_id].farm)
    return {batch_id: FarmFacts(**fact) for batch_id, fact in facts.items()}


class RecallFacts(NamedTuple):
    status: str  # "open" or "closed"
    opened: date
    closed: date | None


def lot_recalls(zones: dict[int, str]) -> dict[int, RecallFacts]:
    """The latest recall of each lot of `zones` (lot id: its village's time zone, in which the
    dates are given): a recall of the lot itself or one that held it (a lot it was made from was
    recalled). The FSMA and EU exports show it on the lot's rows."""
    found: dict[int, tuple] = {}
    direct = Recall.objects.filter(batch_id__in=zones).values_list("batch_id", "opened_at", "closed_at")
    held = RecallHold.objects.filter(batch_id__in=zones).values_list(
        "batch_id", "recall__opened_at", "recall__closed_at"
    )
    for batch_id, opened_at, closed_at in [*direct, *held]:
        if batch_id not in found or opened_at > found[batch_id][0]:
            found[batch_id] = (opened_at, closed_at)
    facts = {}
    for batch_id, (opened_at, closed_at) in found.items():
        zone = zone_for(TraceEvent.Kind.HARVEST, None, zones[batch_id])
        facts[batch_id] = RecallFacts(
            "closed" if closed_at else "open",
            opened_at.astimezone(zone).date(),
            closed_at.astimezone(zone).date() if closed_at else None,
        )
    return facts


_HARVEST = TraceEvent.Kind.HARVEST.value
_COOLING = TraceEvent.Kind.COOLING.value
_PACKING = TraceEvent.Kind.PACKING.value
_SHIPPING = TraceEvent.Kind.SHIPPING.value
_RECEIVING = TraceEvent.Kind.RECEIVING.value
_TRANSFORMATION = TraceEvent.Kind.TRANSFORMATION.value
_INPUT = EventBatch.Role.INPUT.value
_NO_RECALL = ("", None, None)


def _ship_from(line: FsmaLine) -> str:
    return describe(
        line.ship_from, line.ship_from_en, line.ship_from_address, line.ship_from_address_en, line.ship_from_phone
    )


def _ship_to(line: FsmaLine) -> str:
    name_zh = ", ".join(filter(None, [line.store, line.retailer]))
    name_en = ", ".join(filter(None, [line.store_en, line.retailer_en]))
    return describe(name_zh, name_en, line.store_address, line.store_address_en, line.store_phone)


def fsma_rows(events, *, lot_ids: set[int] | None = None, harvester: bool = False) -> list[list]:
    """One row per Critical Tracking Event and lot (the FSMA_COLUMNS; a transformation one per new
    lot and input lot), corrected events left out, sorted by event time then lot code. Cells are
    text, dates (datetime.date) or quantities (Decimal), None where empty. `lot_ids` keeps the
    rows of those lots (a transformation's inputs stay on its rows); `harvester` fills in the
    harvester's name and phone."""
    lines = _fsma_lines(events)
    outputs = [line for line in lines if line.role != _INPUT]
    if lot_ids is not None:
        outputs = [line for line in outputs if line.batch_id in lot_ids]
    inputs: dict[int, list[FsmaLine]] = {}
    for line in lines:
        if line.role == _INPUT:
            inputs.setdefault(line.event_id, []).append(line)
    lots = _lot_facts({line.batch_id for line in outputs} | {line.batch_id for line in lines if line.role == _INPUT})
    for group in inputs.values():
        group.sort(key=lambda line: lots[line.batch_id].lot_code)
    farm_facts = _farm_facts({line.batch_id for line in outputs if line.kind in (_COOLING, _PACKING)}, lots)
    recalls = lot_recalls({line.batch_id: lots[line.batch_id].village_time_zone for line in outputs})
    # Time order is instant order: an aware datetime compares as its instant.
    outputs.sort(key=lambda line: (line.occurred_at, line.event_id, lots[line.batch_id].lot_code))
    moments: dict[int, Moment] = {}
    rows = []
    for line in outputs:
        lot = lots[line.batch_id]
        kind = line.kind
        moment = moments.get(line.event_id)
        if moment is None:
            moment = moments[line.event_id] = _moment(line)
        quantity, unit = line.quantity, line.unit
        if quantity is None and kind in (_HARVEST, _COOLING):
            quantity, unit = lot.quantity, lot.unit  # recorded without a quantity: the whole lot
        location, location_gln = line.location_name, line.location_gln
        previous = previous_gln = recipient = recipient_gln = ""
        farm = field = harvester_name = harvester_phone = cooling_location = ""
        harvest_date = cooling_date = None
        if kind == _SHIPPING:
            location, location_gln = _ship_from(line) or location, line.ship_from_gln or location_gln
            recipient, recipient_gln = _ship_to(line), line.store_gln or ""
        elif kind == _RECEIVING:
            location, location_gln = _ship_to(line) or location, line.store_gln or location_gln
            previous, previous_gln = _ship_from(line), line.ship_from_gln or ""
        elif kind in (_HARVEST, _COOLING, _PACKING):
            location = lot.farm
            farm = lot.farm
            facts = farm_facts.get(line.batch_id, FarmFacts())
            if kind == _HARVEST:
                field, harvest_date = lot.field, moment.day
                harvester_name, harvester_phone = line.harvester_name or "", line.harvester_phone or ""
            else:
                harvest_date = facts.harvest_date or lot.harvested_on
            if kind in (_HARVEST, _COOLING):
                # The cooperative cools, packs and ships what its farms harvest.
                recipient, recipient_gln = lot.village, lot.village_gln
            if kind == _COOLING:
                cooling_date, cooling_location = moment.day, lot.farm
            if kind == _PACKING:
                field = lot.field
                harvester_name, harvester_phone = facts.harvester_name, facts.harvester_phone
                cooling_date, cooling_location = facts.cooling_date, facts.cooling_location
        elif kind == _TRANSFORMATION:
            location = lot.farm
        if not harvester:
            harvester_name = harvester_phone = ""
        reference = line.reference_document or ""
        recall = recalls.get(line.batch_id, _NO_RECALL)
        head = [
            FSMA_CTES[kind],
            lot.lot_code,
            lot.product_en,
            lot.product_zh,
            lot.commodity,
            lot.variety,
            quantity,
            unit if quantity is not None else "",
            moment.day,
            moment.time,
            location,
            location_gln,
            previous,
            previous_gln,
            recipient,
            recipient_gln,
            farm,
            field,
            harvest_date,
            harvester_name,
            harvester_phone,
            cooling_date,
            cooling_location,
            lot.farm,
            lot.village_gln,
        ]
        tail = [
            (line.reference_document_type or DOCUMENT_TYPES.get(kind, "Record")) if reference else "",
            reference,
            *recall,
            f"urn:uuid:{line.client_id}",
        ]
        used = inputs.get(line.event_id) if kind == _TRANSFORMATION else None
        if not used:
            rows.append([*head, "", "", None, "", *tail])
            continue
        for source in used:
            source_lot = lots[source.batch_id]
            rows.append(
                [
                    *head,
                    source_lot.lot_code,
                    source_lot.product_en,
                    source.quantity,
                    source.unit if source.quantity is not None else "",
                    *tail,
                ]
            )
    return rows


def cell_text(value) -> str:
    """A cell as the CSV writes it: ISO dates, quantities without exponent or trailing zeros."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return qty(value)
    return value


def fsma_csv(events, *, lot_ids: set[int] | None = None, harvester: bool = False) -> bytes:
    """The FSMA 204 sortable spreadsheet as UTF-8 CSV (with a BOM, so spreadsheet programs read
    the Chinese names correctly)."""
    rows = fsma_rows(events, lot_ids=lot_ids, harvester=harvester)
    return csv_bytes(FSMA_COLUMNS, [[cell_text(value) for value in row] for row in rows])


def fsma_xlsx(events, *, lot_ids: set[int] | None = None, harvester: bool = False) -> bytes:
    """The FSMA 204 sortable spreadsheet as an Excel workbook: the header row frozen and
    filterable, dates as date cells, quantities as numbers, everything else text (lot codes and
    document numbers must not turn into numbers or dates). traceability.exports.xlsx says how the
    workbook is written and why by hand."""
    return xlsx.workbook("FSMA 204", FSMA_COLUMNS, fsma_rows(events, lot_ids=lot_ids, harvester=harvester))

"""Exports for regulators and trading partners: FSMA 204 sortable spreadsheet (CSV, XLSX),
EPCIS 2.0 JSON-LD and the EU 931/2011 consignment list (CSV).

Every export takes a queryset of TraceEvents (choose it with events_for_lot or events_between,
then scope it to the caller) and returns bytes. Column headers are the standards' English terms,
not translated: the readers are regulators' tools and people who expect those words.

Public functions: lot_closure, events_for_lot, events_between, fsma_rows, fsma_csv, fsma_xlsx,
epcis_document, epcis_json, eu_rows, eu_csv, recall_csv.
"""

import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from operator import itemgetter
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone
from django.utils.translation import gettext as _

from traceability import csvsafe, xlsx
from traceability.models import Batch, EventBatch, TraceEvent
from traceability.trace import ancestor_ids, closure_sql, descendant_ids, fast_plans

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# Our own terms (the event kind, the transformation kind, lab results) live in this namespace.
EXTENSION_PREFIX = "tr"
MAX_RANGE_DAYS = 366


class InvalidRange(ValueError):
    """The date range of an export is missing, reversed or too long. The message is for people."""


def lot_closure(batch: Batch) -> set[int]:
    """Primary keys of the lot, all its ancestors and all its descendants."""
    return {batch.pk} | ancestor_ids([batch.pk]) | descendant_ids([batch.pk])


def events_for_lot(batch: Batch, closure: set[int] | None = None):
    """Every event of the lot's full trace closure: the lot, all its ancestors and all its descendants.

    Pass the same `closure` (lot_closure(batch)) as `lot_ids` to fsma_* and eu_* so that a
    shipment carrying other lots too gives rows for the traced lots only.
    """
    if connection.vendor == "postgresql":
        # The closure once, as an array: the planner then reads the lines by index.
        ids = sorted(closure if closure is not None else lot_closure(batch))
        lines = RawSQL("SELECT event_id FROM traceability_eventbatch WHERE batch_id = ANY(%s)", [ids])
        return TraceEvent.objects.filter(pk__in=lines)
    scope = Q(lines__batch_id=batch.pk)
    for direction in ("backward", "forward"):
        sql, params = closure_sql(batch.pk, direction)
        scope |= Q(lines__batch_id__in=RawSQL(sql, params))
    return TraceEvent.objects.filter(scope).distinct()


def events_between(start: date | None, end: date | None):
    """Events that happened between two local dates, both included. Raises InvalidRange."""
    if start is None or end is None:
        raise InvalidRange(_("Give both a start date and an end date."))
    if end < start:
        raise InvalidRange(_("The end date is before the start date."))
    if (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidRange(_("The range is longer than %(days)s days: export it in parts.") % {"days": MAX_RANGE_DAYS})
    zone = timezone.get_default_timezone()
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    return TraceEvent.objects.filter(occurred_at__gte=since, occurred_at__lt=until)


def parse_range(start: str | None, end: str | None) -> tuple[date, date]:
    """Dates from text (YYYY-MM-DD), for commands and views. Raises InvalidRange."""
    try:
        return date.fromisoformat(start or ""), date.fromisoformat(end or "")
    except ValueError:
        raise InvalidRange(_("Dates must be given as YYYY-MM-DD, both start and end."))


# --- One flat row per event line: what all three exports read ------------------------------------


@dataclass(frozen=True)
class _Line:
    event_id: int
    client_id: str
    kind: str
    occurred_at: datetime
    recorded_at: datetime
    location_name: str
    location_gln: str
    data: dict
    corrects_client_id: str | None
    correction_reason: str
    lot_code: str
    role: str
    quantity: Decimal | None
    unit: str
    crop_zh: str
    crop_en: str
    gtin: str
    farm_zh: str
    field_zh: str
    village_zh: str
    village_code: str
    village_gln: str


def _lines(events, *, effective: bool, lot_ids: set[int] | None = None) -> list[_Line]:
    """The events' batch lines in time order, each with its event's facts (read once per event)
    and its lot's product and origin. Occurred_at is in local time."""
    events = events.order_by()
    if effective:
        events = events.exclude(kind=TraceEvent.Kind.CORRECTION).exclude(corrections__isnull=False)
    event_query = events.values_list(
        "pk", "client_id", "kind", "occurred_at", "recorded_at", "location_name", "location_gln", "data",
        "corrects__client_id", "correction_reason",
    )  # fmt: skip
    line_query = EventBatch.objects.filter(event_id__in=events.values("pk")).values_list(
        "event_id", "batch_id", "batch__lot_code", "role", "quantity", "unit", "batch__crop__name_zh",
        "batch__crop__name_en", "batch__crop__gtin", "batch__farm__name_zh", "batch__field__name_zh",
        "batch__farm__village__name_zh",
        "batch__farm__village__code", "batch__farm__village__gln",
    )  # fmt: skip
    zone = timezone.get_current_timezone()
    with fast_plans():
        facts = {}
        for pk, client_id, kind, occurred, recorded, name, gln, data, corrects, reason in event_query:
            corrects = str(corrects) if corrects else None
            facts[pk] = (
                pk,
                str(client_id),
                kind,
                occurred.astimezone(zone),
                recorded,
                name,
                gln,
                data,
                corrects,
                reason,
            )
        rows = list(line_query)
    # Inputs of a transformation stay: they are key data of the new lot, wherever they came from.
    lines = [
        _Line(*facts[row[0]], row[2], row[3], row[4], row[5], row[6], row[7], row[8] or "", row[9], row[10] or "",
              row[11], row[12], row[13] or "")
        for row in rows
        if lot_ids is None or row[1] in lot_ids or row[3] == EventBatch.Role.INPUT
    ]  # fmt: skip
    lines.sort(key=lambda line: (line.occurred_at, line.event_id, line.lot_code, line.role))
    return lines


def _qty(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment)


# --- FSMA 204 ----------------------------------------------------------------------------------

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


_FSMA_KEYS = (
    "store", "retailer", "store_city", "ship_from", "ship_from_gln", "store_gln", "reference_document",
    "reference_document_type",
)  # fmt: skip


def _fsma_lines(events, lot_ids: set[int] | None) -> tuple[list[tuple], dict[int, str]]:
    """The non-input batch lines of the effective FSMA events, as tuples (event id, client id,
    kind, occurred_at, location name, location GLN, the _FSMA_KEYS, batch id, lot code, role,
    quantity, unit, crop zh, crop en, farm zh, field zh, village zh, village GLN), and each
    transformation's input cell ("LOT QTY UNIT; ...", by lot code). Only the key data elements
    are read from each event's JSON, in the database."""
    events = events.order_by().filter(kind__in=list(FSMA_CTES))
    with fast_plans():
        if connection.vendor == "postgresql":
            rows, inputs = _fsma_lines_postgres(list(events.values_list("pk", flat=True)))
        else:
            rows, inputs = _fsma_lines_portable(events.exclude(corrections__isnull=False).values("pk"))
    if lot_ids is not None:
        # Inputs of a transformation stay (the cells): they are key data of the new lot,
        # wherever they came from.
        rows = [row for row in rows if row[14] in lot_ids]
    return rows, inputs


def _fsma_lines_postgres(event_ids: list[int]) -> tuple[list[tuple], dict[int, str]]:
    """PostgreSQL: the events as an array (the planner then reads lines and events by index, not
    by scanning every line), the corrected ones left out here (an index probe per event, where
    the ORM's exclude() hashed every event of the table), input cells built with string_agg
    (trim_scale gives _qty's form of a number)."""
    keys = ", ".join(f"e.data->>'{key}'" for key in _FSMA_KEYS)
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
        rows = cursor.fetchall()
        cursor.execute(cells, {"events": event_ids})
        inputs = dict(cursor.fetchall())
    return rows, inputs


def _fsma_lines_portable(effective) -> tuple[list[tuple], dict[int, str]]:
    """Any database: the same lines through the ORM."""
    keys = {f"k_{key}": KeyTextTransform(key, "event__data") for key in _FSMA_KEYS}
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
    rows, inputs = [], {}
    for row in sorted(query, key=itemgetter(0, 15)):
        if row[16] == EventBatch.Role.INPUT:
            cell = f"{row[15]} {_qty(row[17])} {row[18]}".strip()
            inputs[row[0]] = f"{inputs[row[0]]}; {cell}" if row[0] in inputs else cell
        else:
            rows.append((row[0], str(row[1]), *row[2:]))
    return rows, inputs


def fsma_rows(events, *, lot_ids: set[int] | None = None) -> list[list[str]]:
    """One row per Critical Tracking Event and lot (the FSMA_COLUMNS), corrected events left out,
    sorted by event time then lot code. A transformation gives one row per new lot, with its
    input lots and quantities in one cell."""
    lines, inputs = _fsma_lines(events, lot_ids)
    zone = timezone.get_current_timezone()
    local: dict[int, datetime] = {}
    for line in lines:
        if line[0] not in local:
            local[line[0]] = line[3].astimezone(zone)
    lines.sort(key=lambda line: (local[line[0]], line[0], line[15], line[16]))
    moving_kinds = (TraceEvent.Kind.SHIPPING, TraceEvent.Kind.RECEIVING)
    rows = []
    for (
        event_id, client_id, kind, _occurred, location_name, location_gln,
        store, retailer, city, ship_from, ship_from_gln, store_gln, reference, reference_type,
        _batch_id, lot_code, _role, quantity, unit, crop_zh, crop_en, farm_zh, field_zh, village_zh, village_gln,
    ) in lines:  # fmt: skip
        moving = kind in moving_kinds
        reference = reference or ""
        moment = local[event_id]
        rows.append(
            [
                FSMA_CTES[kind],
                moment.date().isoformat(),
                moment.isoformat(),
                lot_code,
                f"{crop_zh} {crop_en or ''}".strip(),
                _qty(quantity),
                unit if quantity is not None else "",
                location_name,
                location_gln,
                (ship_from or "") if moving else "",
                (ship_from_gln or "") if moving else "",
                f"{store or ''}, {retailer or ''}, {city or ''}" if moving else "",
                (store_gln or "") if moving else "",
                f"{farm_zh}, {village_zh}",
                village_gln or "",
                (field_zh or "") if kind == TraceEvent.Kind.HARVEST else "",
                inputs.get(event_id, ""),
                (reference_type or DOCUMENT_TYPES.get(kind, "Record")) if reference else "",
                reference,
                f"urn:uuid:{client_id}",
            ]
        )
    return rows


def fsma_csv(events, *, lot_ids: set[int] | None = None) -> bytes:
    """The FSMA 204 sortable spreadsheet as UTF-8 CSV (with a BOM, so spreadsheet programs read
    the Chinese names correctly)."""
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    writer.writerow(FSMA_COLUMNS)
    writer.writerows(fsma_rows(events, lot_ids=lot_ids))
    return ("\ufeff" + buffer.getvalue()).encode()


def fsma_xlsx(events, *, lot_ids: set[int] | None = None) -> bytes:
    """The FSMA 204 sortable spreadsheet as an Excel workbook: the header row frozen and
    filterable, every cell text, as in the CSV (lot codes and document numbers must not turn into
    numbers or dates). traceability.xlsx says how the workbook is written and why by hand."""
    return xlsx.workbook("FSMA 204", FSMA_COLUMNS, fsma_rows(events, lot_ids=lot_ids))


# --- EPCIS 2.0 ---------------------------------------------------------------------------------

BIZ_STEPS = {
    TraceEvent.Kind.HARVEST: "commissioning",
    TraceEvent.Kind.COOLING: "storing",
    TraceEvent.Kind.PACKING: "packing",
    TraceEvent.Kind.SHIPPING: "shipping",
    TraceEvent.Kind.RECEIVING: "receiving",
    TraceEvent.Kind.QUALITY_TEST: "inspecting",
    TraceEvent.Kind.TEMPERATURE: "sensor_reporting",
    TraceEvent.Kind.TRANSFORMATION: "repackaging",
    TraceEvent.Kind.PLANTING: "other",
    TraceEvent.Kind.INPUT_APPLIED: "other",
}
DISPOSITIONS = {
    TraceEvent.Kind.HARVEST: "active",
    TraceEvent.Kind.SHIPPING: "in_transit",
    TraceEvent.Kind.RECEIVING: "in_progress",
    TraceEvent.Kind.TRANSFORMATION: "active",
}
UOM = {"kg": "KGM", "box": "BX", "crate": "CR", "piece": "H87"}
GS1_COMPANY_PREFIX_LENGTH = 7  # GS1 China issues 7 to 9 digit prefixes; demo data uses 952 + 4.


def _base() -> str:
    return settings.PUBLIC_BASE_URL


def lot_class_uri(lot_code: str, gtin: str) -> str:
    """urn:epc:class:lgtin:... when the crop has a GTIN, else an HTTP URI under PUBLIC_BASE_URL."""
    if gtin:
        n = GS1_COMPANY_PREFIX_LENGTH
        company, item = gtin[1 : 1 + n], gtin[0] + gtin[1 + n : 13]
        return f"urn:epc:class:lgtin:{company}.{item}.{quote(lot_code, safe='')}"
    return f"{_base()}/lot/{quote(lot_code, safe='')}"


def _place(gln: str, kind: str, name: str) -> str:
    if gln:
        return f"https://id.gs1.org/414/{gln}"
    return f"{_base()}/id/{kind}/{quote(name, safe='')}"


def _offset(moment: datetime) -> str:
    total = int(_local(moment).utcoffset().total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _quantity_list(lines: list[_Line]) -> list[dict]:
    out = []
    for line in lines:
        element = {"epcClass": lot_class_uri(line.lot_code, line.gtin)}
        if line.quantity is not None:
            element["quantity"] = float(line.quantity)
            element["uom"] = UOM.get(line.unit, "H87")
        out.append(element)
    return out


def _epcis_event(first: _Line, lines: list[_Line], correction: _Line | None) -> dict:
    tr = EXTENSION_PREFIX
    data = first.data
    event: dict = {
        "type": "TransformationEvent" if first.kind == TraceEvent.Kind.TRANSFORMATION else "ObjectEvent",
        "eventID": f"urn:uuid:{first.client_id}",
        "eventTime": _iso(first.occurred_at),
        "eventTimeZoneOffset": _offset(first.occurred_at),
        "recordTime": _iso(first.recorded_at),
    }
    if correction is not None:
        declaration = {"declarationTime": _iso(correction.recorded_at), "reason": correction.correction_reason}
        if correction.data.get("corrective_event"):
            declaration["correctiveEventIDs"] = [f"urn:uuid:{correction.data['corrective_event']}"]
        if correction.data.get("note"):
            declaration[f"{tr}:note"] = correction.data["note"]
        event["errorDeclaration"] = declaration
    if first.kind == TraceEvent.Kind.TRANSFORMATION:
        event["inputQuantityList"] = _quantity_list([x for x in lines if x.role == EventBatch.Role.INPUT])
        event["outputQuantityList"] = _quantity_list([x for x in lines if x.role == EventBatch.Role.OUTPUT])
        event["transformationID"] = f"urn:uuid:{first.client_id}"
    else:
        event["action"] = "ADD" if first.kind == TraceEvent.Kind.HARVEST else "OBSERVE"
        event["quantityList"] = _quantity_list(lines)
    event["bizStep"] = BIZ_STEPS.get(first.kind, "other")
    if first.kind in DISPOSITIONS:
        event["disposition"] = DISPOSITIONS[first.kind]
    place = _place(first.location_gln, "place", first.location_name or first.village_code)
    event["readPoint"] = {"id": place}
    event["bizLocation"] = {"id": place}
    if first.kind in (TraceEvent.Kind.SHIPPING, TraceEvent.Kind.RECEIVING):
        origin = _place(data.get("ship_from_gln", ""), "village", data.get("ship_from", ""))
        event["sourceList"] = [{"type": "location", "source": origin}]
        event["destinationList"] = [
            {
                "type": "owning_party",
                "destination": _place(data.get("retailer_gln", ""), "retailer", data.get("retailer", "")),
            },
            {"type": "location", "destination": _place(data.get("store_gln", ""), "store", data.get("store", ""))},
        ]
    if data.get("reference_document"):
        kind = "bol" if first.kind in (TraceEvent.Kind.SHIPPING, TraceEvent.Kind.RECEIVING) else "prodorder"
        document = f"{_base()}/id/document/{quote(data['reference_document'], safe='')}"
        event["bizTransactionList"] = [{"type": kind, "bizTransaction": document}]
    if "temperature_c" in data:
        event["sensorElementList"] = [
            {
                "sensorMetadata": {"time": _iso(first.occurred_at)},
                "sensorReport": [{"type": "Temperature", "value": float(data["temperature_c"]), "uom": "CEL"}],
            }
        ]
    event[f"{tr}:kind"] = first.kind
    for key in ("transformation", "lab", "result", "shipment"):
        if data.get(key):
            event[f"{tr}:{key}"] = data[key]
    return event


def epcis_document(events) -> dict:
    """An EPCIS 2.0 EPCISDocument (JSON-LD) of the events, in time order.

    Corrected events appear once as recorded and once more, under the same eventID, with an
    errorDeclaration (reason did_not_occur / incorrect_data, correctiveEventIDs naming the
    replacement) as EPCIS prescribes; the correction events themselves are not separate EPCIS
    events. Our event kind travels as the extension field tr:kind.
    """
    lines = _lines(events, effective=False)
    by_event: dict[int, list[_Line]] = {}
    for line in lines:
        by_event.setdefault(line.event_id, []).append(line)
    corrections = {
        group[0].corrects_client_id: group[0]
        for group in by_event.values()
        if group[0].kind == TraceEvent.Kind.CORRECTION
    }
    missing = set(corrections) - {group[0].client_id for group in by_event.values()}
    if missing:
        # A correction in range whose original is not: declare the original too.
        extra = _lines(TraceEvent.objects.filter(client_id__in=missing), effective=False)
        for line in extra:
            by_event.setdefault(line.event_id, []).append(line)
    event_list = []
    for group in sorted(by_event.values(), key=lambda g: (g[0].occurred_at, g[0].event_id)):
        first = group[0]
        if first.kind == TraceEvent.Kind.CORRECTION:
            continue
        event_list.append(_epcis_event(first, group, None))
        if first.client_id in corrections:
            event_list.append(_epcis_event(first, group, corrections[first.client_id]))
    return {
        "@context": [EPCIS_CONTEXT, {EXTENSION_PREFIX: f"{_base()}/ns/trace#"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _iso(timezone.now()),
        "epcisBody": {"eventList": event_list},
    }


def epcis_json(events, *, lot_ids: set[int] | None = None) -> bytes:
    """EPCIS events are kept whole (a shipping event lists every lot it moved); lot_ids is accepted
    for a uniform signature and not used."""
    return json.dumps(epcis_document(events), ensure_ascii=False, indent=2).encode()


# --- EU 931/2011 -------------------------------------------------------------------------------

EU_COLUMNS = [
    "Description",
    "Quantity",
    "Unit",
    "Dispatcher",
    "Consignor",
    "Recipient",
    "Consignee",
    "Lot reference",
    "Dispatch date",
    "Consignment reference",
]


def eu_rows(events, *, lot_ids: set[int] | None = None) -> list[list[str]]:
    """One row per lot per consignment (shipping event), corrected events left out: the
    information Regulation (EU) No 931/2011 article 3 asks for."""
    rows = []
    for line in _lines(events.filter(kind=TraceEvent.Kind.SHIPPING), effective=True, lot_ids=lot_ids):
        data = line.data
        rows.append(
            [
                f"{line.crop_zh} {line.crop_en}".strip(),
                _qty(line.quantity),
                line.unit if line.quantity is not None else "",
                " ".join(filter(None, [data.get("ship_from", ""), data.get("ship_from_gln", "")])),
                f"{line.farm_zh}, {line.village_zh}",
                " ".join(
                    filter(None, [f"{data.get('store', '')}, {data.get('store_city', '')}", data.get("store_gln", "")])
                ),
                " ".join(filter(None, [data.get("retailer", ""), data.get("retailer_gln", "")])),
                line.lot_code,
                _local(line.occurred_at).date().isoformat(),
                data.get("shipment", ""),
            ]
        )
    return rows


def eu_csv(events, *, lot_ids: set[int] | None = None) -> bytes:
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    writer.writerow(EU_COLUMNS)
    writer.writerows(eu_rows(events, lot_ids=lot_ids))
    return ("\ufeff" + buffer.getvalue()).encode()


# --- The recall record -------------------------------------------------------------------------


def recall_csv(recall) -> bytes:
    """The recall record: who, when, why, what was held and which shipments and stores received it."""
    from traceability.trace import trace_lot

    trace = trace_lot(recall.batch, direction="forward")
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    local = timezone.localtime
    writer.writerow(["Recall", "Lot", "Reason", "Opened by", "Opened at", "Closed by", "Closed at", "Closing note"])
    writer.writerow(
        [
            recall.pk,
            recall.batch.lot_code,
            recall.reason,
            recall.opened_by.get_username(),
            local(recall.opened_at).isoformat(),
            recall.closed_by.get_username() if recall.closed_by else "",
            local(recall.closed_at).isoformat() if recall.closed_at else "",
            recall.close_note,
        ]
    )
    writer.writerow([])
    writer.writerow(["Held lot", "Status before the recall", "Quantity", "Unit"])
    for hold in recall.holds.select_related("batch").order_by("batch__lot_code"):
        writer.writerow([hold.batch.lot_code, hold.previous_status, hold.batch.quantity, hold.batch.unit])
    writer.writerow([])
    writer.writerow(["Shipment", "Store", "City", "Retailer", "Shipped at", "Received at", "Lot", "Quantity", "Unit"])
    for stop in trace.shipments:
        for lot_code, quantity, unit in stop.lots:
            writer.writerow(
                [
                    stop.shipment,
                    stop.store,
                    stop.store_city,
                    stop.retailer,
                    local(stop.shipped_at).isoformat() if stop.shipped_at else "",
                    local(stop.received_at).isoformat() if stop.received_at else "",
                    lot_code,
                    quantity,
                    unit,
                ]
            )
    return ("\ufeff" + buffer.getvalue()).encode()

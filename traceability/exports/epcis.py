"""EPCIS 2.0 JSON-LD (GS1): the events with what, when, where, why and how, corrections as error
declarations. CBV has no harvesting or cooling bizStep: they map to commissioning and storing,
and our own event kind travels as the extension field tr:kind."""

import json
from datetime import UTC, datetime
from urllib.parse import quote

from django.conf import settings
from django.utils import timezone

from traceability.exports.rows import EventLine, event_lines, local
from traceability.models import EventBatch, TraceEvent

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# Our own terms (the event kind, the transformation kind, lab results) live in this namespace.
EXTENSION_PREFIX = "tr"

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


def _base() -> str:
    return settings.PUBLIC_BASE_URL


def lot_class_uri(lot_code: str, gtin: str) -> str:
    """urn:epc:class:lgtin:... when the crop has a GTIN, else an HTTP URI under PUBLIC_BASE_URL."""
    if gtin:
        n = settings.GS1_COMPANY_PREFIX_LENGTH
        company, item = gtin[1 : 1 + n], gtin[0] + gtin[1 + n : 13]
        return f"urn:epc:class:lgtin:{company}.{item}.{quote(lot_code, safe='')}"
    return f"{_base()}/lot/{quote(lot_code, safe='')}"


def _place(gln: str, kind: str, name: str) -> str:
    if gln:
        return f"https://id.gs1.org/414/{gln}"
    return f"{_base()}/id/{kind}/{quote(name, safe='')}"


def _offset(moment: datetime) -> str:
    total = int(local(moment).utcoffset().total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _quantity_list(lines: list[EventLine]) -> list[dict]:
    out = []
    for line in lines:
        element = {"epcClass": lot_class_uri(line.lot_code, line.gtin)}
        if line.quantity is not None:
            element["quantity"] = float(line.quantity)
            element["uom"] = UOM.get(line.unit, "H87")
        out.append(element)
    return out


def _epcis_event(first: EventLine, lines: list[EventLine], correction: EventLine | None) -> dict:
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
        movement = first.movement
        origin = _place(movement.ship_from_gln, "village", movement.ship_from)
        event["sourceList"] = [{"type": "location", "source": origin}]
        event["destinationList"] = [
            {"type": "owning_party", "destination": _place(movement.retailer_gln, "retailer", movement.retailer)},
            {"type": "location", "destination": _place(movement.store_gln, "store", movement.store)},
        ]
    # Any event may name a reference document (packing, transformation), not only a movement.
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
    # A lot's registration (and its corrections) is the record's own proof of the lot's facts,
    # which every event here carries as master data: no EPCIS event of its own.
    registration = TraceEvent.Kind.REGISTRATION
    lines = event_lines(events.exclude(kind=registration).exclude(corrects__kind=registration), effective=False)
    by_event: dict[int, list[EventLine]] = {}
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
        extra = event_lines(TraceEvent.objects.filter(client_id__in=missing), effective=False)
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

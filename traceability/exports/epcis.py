"""EPCIS 2.0 JSON-LD (GS1): the events with what, when, where, why and how, as CBV 2.0 defines
them; docs/standards.md has the mapping table (event kind -> event type, bizStep, disposition,
identifiers, ILMD).

- What: lots as LGTIN classes or served URIs (traceability/identifiers.py), quantities in
  UN/CEFACT Rec 20 units; a shipment with an SSCC is packed (AggregationEvent ADD) when it leaves
  and unpacked (DELETE) when it arrives.
- When: eventTimeZoneOffset is the offset where the event happened (traceability/places.py), not
  the server's: a harvest exports the same wherever the server runs.
- Where: read points and business locations are SGLNs or served URIs of villages and stores,
  never a carrier (a carrier is not a place); an in-transit shipping event has no bizLocation.
- Why: CBV 2.0 bizSteps and dispositions; what CBV lacks (sorting, mixing, a packing record,
  closing a recall) is a term of our namespace (`/ns/trace`, served). Owning parties (PGLN or
  served URI) at both source and destination; business transactions in CBV's
  `urn:epcglobal:cbv:bt:<issuer GLN>:<id>` form.
- Master data: harvest (commissioning) and transformation events carry the new lot's ILMD
  (cbvmda: lotNumber, harvest dates, country of origin, farm list; gs1:gtin when the lot's class
  is not an LGTIN; our variety and field).
- Recalls: an ObjectEvent (bizStep holding, disposition recalled) on the lots a recall held, and
  one more when it closed. Corrections are EPCIS error declarations.
"""

import json
import uuid
from datetime import UTC, datetime, time

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from farms.models import Farm
from traceability import identifiers
from traceability.exports.rows import EventLine, event_lines
from traceability.models import Batch, BatchInput, EventBatch, Lineage, Recall, RecallHold, TraceEvent
from traceability.places import zone_for

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# Our own terms (the event kind, the transformation kind, lab results) live in this namespace.
EXTENSION_PREFIX = "tr"
UOM = identifiers.UOM
Kind = TraceEvent.Kind

BIZ_STEPS = {
    Kind.HARVEST: "commissioning",
    Kind.COOLING: "storing",
    Kind.PACKING: "packing",
    Kind.SHIPPING: "shipping",
    Kind.RECEIVING: "receiving",
    Kind.QUALITY_TEST: "inspecting",
    Kind.TEMPERATURE: "sensor_reporting",
    Kind.TRANSFORMATION: "repackaging",  # repacking; sorting and mixing: TRANSFORMATION_STEPS
    Kind.HOLD_DECISION: "holding",
    Kind.PLANTING: "other",
    Kind.INPUT_APPLIED: "other",
}
# CBV 2.0 has no step for sorting (grading) or mixing lots into a new one: our own terms.
TRANSFORMATION_STEPS = {"repacking": "repackaging", "sorting": "tr:sorting", "mixing": "tr:mixing"}
DISPOSITIONS = {
    Kind.HARVEST: "active",
    Kind.SHIPPING: "in_transit",
    Kind.RECEIVING: "in_progress",
    Kind.TRANSFORMATION: "active",
}
MOVEMENTS = (Kind.SHIPPING, Kind.RECEIVING)
RECALL_STEP, RECALL_DISPOSITION, RECALL_CLOSED_STEP = "holding", "recalled", "tr:closing_recall"
# A shipment's reference: a bill of lading or delivery note number, issued by the shipper.
MOVEMENT_DOCUMENT = "bol"
PACKING_RECORD = "tr:packing_record"  # CBV's prodorder is an order to produce, not this record
HARVEST_RECORD = "tr:harvest_record"  # a field tag or harvest record number


def _ns(value: str) -> str:
    """A `tr:` term as the full URI the schema asks for where a CBV value could stand."""
    return identifiers.term(value[3:]) if value.startswith("tr:") else value


def lot_class_uri(lot_code: str, gtin: str) -> str:
    return identifiers.lot_class(lot_code, gtin)


def _offset(moment: datetime) -> str:
    total = int(moment.utcoffset().total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _local_iso(moment: datetime, zone) -> str:
    return moment.astimezone(zone).isoformat()


def _derived_id(*parts) -> str:
    """A stable eventID for an event we derive (a recall, a shipment's packing): the same in every
    export of the same record."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '/'.join([settings.PUBLIC_BASE_URL, *map(str, parts)]))}"


class _Facts:
    """What the lines do not carry, read once per document: each event's village (identifier and
    time zone) and each lot's master data."""

    def __init__(self, event_ids: set[int], lot_codes: set[str]):
        self.villages = {
            pk: (code, gln or "", zone)
            for pk, code, gln, zone in TraceEvent.objects.filter(pk__in=event_ids).values_list(
                "pk", "village__code", "village__gln", "village__time_zone"
            )
        }
        lots = Batch.objects.filter(lot_code__in=lot_codes).select_related("crop", "farm__village", "field")
        self.lots = {lot.lot_code: lot for lot in lots}
        self._master: _MasterData | None = None

    def master_data(self) -> "_MasterData":
        """The ILMD facts of every lot of the document, read at the first event that needs them."""
        if self._master is None:
            self._master = _MasterData(list(self.lots.values()))
        return self._master

    def village(self, event_id: int) -> tuple[str, str, str]:
        return self.villages[event_id]

    def zone(self, line: EventLine):
        _code, _gln, village_zone = self.village(line.event_id)
        return zone_for(line.kind, line.data, village_zone)


def _quantity_list(lines: list[EventLine]) -> list[dict]:
    out = []
    for line in lines:
        element = {"epcClass": lot_class_uri(line.lot_code, line.gtin)}
        if line.quantity is not None:
            element["quantity"] = float(line.quantity)
            if line.unit in UOM:  # a quantity without a unit is a count (EPCIS: no uom)
                element["uom"] = UOM[line.unit]
        out.append(element)
    return out


class _MasterData:
    """The lots' master data the ILMD names, for every lot of a document at once (three queries
    however many lots): the lots each was made from, their harvest records and dates, and which of
    them no transformation made (the ones that were grown)."""

    def __init__(self, lots: list[Batch]):
        ids = {lot.pk for lot in lots}
        self.ancestors: dict[int, set[int]] = {pk: set() for pk in ids}
        for ancestor, descendant in Lineage.objects.filter(descendant_id__in=ids).values_list(
            "ancestor_id", "descendant_id"
        ):
            self.ancestors[descendant].add(ancestor)
        sources = ids.union(*self.ancestors.values())
        self.harvests: dict[int, list[datetime]] = {}
        recorded = TraceEvent.objects.effective().filter(kind=Kind.HARVEST, lines__batch_id__in=sources)
        for batch_id, occurred in recorded.values_list("lines__batch_id", "occurred_at"):
            self.harvests.setdefault(batch_id, []).append(occurred)
        self.sources = {
            source.pk: source
            for source in Batch.objects.filter(pk__in=sources)
            .select_related("farm")
            .annotate(made=Exists(BatchInput.objects.filter(output=OuterRef("pk"))))
        }

    def harvest_span(self, lot: Batch, zone) -> tuple[datetime, datetime] | None:
        """When the lot's produce was harvested: for the lot and each lot it was made from, its
        harvest records, else its harvest date (the start of that day where the event happened)."""
        moments = []
        for source in sorted({lot.pk, *self.ancestors[lot.pk]}):
            if source in self.harvests:
                moments += self.harvests[source]
            elif self.sources[source].harvested_on is not None:
                moments.append(datetime.combine(self.sources[source].harvested_on, time.min, tzinfo=zone))
        return (min(moments), max(moments)) if moments else None

    def farms(self, lot: Batch) -> list[Farm]:
        """The farms that grew this lot's produce: the lot's own for a harvested lot, else those of
        the lots it was made from that no transformation made, in the order they were registered."""
        grown = [self.sources[pk] for pk in self.ancestors[lot.pk] if not self.sources[pk].made]
        farms = {source.farm_id: source.farm for source in grown} or {lot.farm_id: lot.farm}
        return [farms[pk] for pk in sorted(farms)]


def _ilmd(lot: Batch, zone, master: _MasterData) -> dict:
    """The lot's master data as CBV 2.0 names it (cbvmda), with our own terms for what CBV lacks."""
    crop = lot.crop
    ilmd: dict = {"cbvmda:lotNumber": lot.lot_code}
    span = master.harvest_span(lot, zone)
    if span:
        ilmd["cbvmda:harvestStartDate"] = _local_iso(span[0], zone)
        ilmd["cbvmda:harvestEndDate"] = _local_iso(span[1], zone)
    ilmd["cbvmda:countryOfOrigin"] = identifiers.COUNTRY_OF_ORIGIN
    ilmd["cbvmda:farmList"] = [
        {"cbvmda:farmIdentifierType": "URI", "cbvmda:farmIdentifier": identifiers.farm_uri(farm.pk)}
        for farm in master.farms(lot)
    ]
    if crop.gtin and not identifiers.is_lgtin(lot_class_uri(lot.lot_code, crop.gtin)):
        ilmd["gs1:gtin"] = crop.gtin
    variety = " ".join(filter(None, [crop.variety_zh, crop.variety_en]))
    if variety:
        ilmd["tr:variety"] = variety
    if lot.field_id:
        ilmd["tr:field"] = " ".join(filter(None, [lot.field.name_zh, lot.field.name_en]))
    return ilmd


def _movement_parties(first: EventLine, facts: _Facts, event: dict) -> None:
    movement = first.movement
    code, village_gln, _zone_name = facts.village(first.event_id)
    ship_from_gln = movement.ship_from_gln or village_gln
    event["sourceList"] = [
        {"type": "owning_party", "source": identifiers.village_party(ship_from_gln, code)},
        {"type": "location", "source": identifiers.village_location(ship_from_gln, code)},
    ]
    destinations = []
    owner = identifiers.retailer_party(movement.retailer_gln, movement.retailer_id)
    if owner:
        destinations.append({"type": "owning_party", "destination": owner})
    store = identifiers.store_location(movement.store_gln, movement.store_id)
    if store:
        destinations.append({"type": "location", "destination": store})
    if destinations:
        event["destinationList"] = destinations


def _place(first: EventLine, facts: _Facts) -> str:
    """Where a farm event or a shipment's dispatch happened: the recorded location's GLN, else the
    village; a receipt: the store. A carrier's or a free-text name is never a place."""
    code, village_gln, _zone_name = facts.village(first.event_id)
    if first.kind == Kind.RECEIVING:
        movement = first.movement
        store = identifiers.store_location(movement.store_gln, movement.store_id)
        if store:
            return store
    elif first.location_gln:
        return identifiers.sgln(first.location_gln)
    return identifiers.village_location(village_gln, code)


def _transactions(first: EventLine, facts: _Facts, event: dict) -> None:
    document = first.data.get("reference_document") or ""
    if not document:
        return
    code, village_gln, _zone_name = facts.village(first.event_id)
    if first.kind in MOVEMENTS:
        kind, issuer = MOVEMENT_DOCUMENT, first.movement.ship_from_gln or village_gln
    else:
        record = HARVEST_RECORD if first.kind == Kind.HARVEST else PACKING_RECORD
        kind, issuer = _ns(record), first.location_gln or village_gln
    transaction = identifiers.business_transaction(issuer, document)
    if transaction:
        event["bizTransactionList"] = [{"type": kind, "bizTransaction": transaction}]
    else:
        event["tr:referenceDocument"] = document


def _declaration(correction: EventLine) -> dict:
    declaration = {"declarationTime": _iso(correction.recorded_at), "reason": correction.correction_reason}
    if correction.data.get("corrective_event"):
        declaration["correctiveEventIDs"] = [f"urn:uuid:{correction.data['corrective_event']}"]
    if correction.data.get("note"):
        declaration["tr:note"] = correction.data["note"]
    return declaration


def _epcis_event(first: EventLine, lines: list[EventLine], correction: EventLine | None, facts: _Facts) -> dict:
    data = first.data
    zone = facts.zone(first)
    event: dict = {
        "type": "TransformationEvent" if first.kind == Kind.TRANSFORMATION else "ObjectEvent",
        "eventID": f"urn:uuid:{first.client_id}",
        "eventTime": _iso(first.occurred_at),
        "eventTimeZoneOffset": _offset(first.occurred_at.astimezone(zone)),
        "recordTime": _iso(first.recorded_at),
    }
    if correction is not None:
        event["errorDeclaration"] = _declaration(correction)
    step = BIZ_STEPS.get(first.kind, "other")
    new_lot = None
    if first.kind == Kind.TRANSFORMATION:
        outputs = [x for x in lines if x.role == EventBatch.Role.OUTPUT]
        event["inputQuantityList"] = _quantity_list([x for x in lines if x.role == EventBatch.Role.INPUT])
        event["outputQuantityList"] = _quantity_list(outputs)
        event["transformationID"] = f"urn:uuid:{first.client_id}"
        step = _ns(TRANSFORMATION_STEPS.get(data.get("transformation", ""), "repackaging"))
        new_lot = outputs[0] if outputs else None
    else:
        event["action"] = "ADD" if first.kind == Kind.HARVEST else "OBSERVE"
        event["quantityList"] = _quantity_list(lines)
        new_lot = lines[0] if first.kind == Kind.HARVEST else None
    event["bizStep"] = step
    if first.kind in DISPOSITIONS:
        event["disposition"] = DISPOSITIONS[first.kind]
    place = _place(first, facts)
    event["readPoint"] = {"id": place}
    if first.kind != Kind.SHIPPING:  # in transit: no business location
        event["bizLocation"] = {"id": place}
    if first.kind in MOVEMENTS:
        _movement_parties(first, facts, event)
    _transactions(first, facts, event)
    if "temperature_c" in data:
        event["sensorElementList"] = [
            {
                "sensorMetadata": {"time": _iso(first.occurred_at)},
                "sensorReport": [{"type": "Temperature", "value": float(data["temperature_c"]), "uom": "CEL"}],
            }
        ]
    if new_lot is not None:
        event["ilmd"] = _ilmd(facts.lots[new_lot.lot_code], zone, facts.master_data())
    event["tr:kind"] = first.kind
    for key in ("transformation", "lab", "result", "shipment"):
        if data.get(key):
            event[f"tr:{key}"] = data[key]
    return event


def _aggregation(first: EventLine, lines: list[EventLine], correction: EventLine | None, facts: _Facts) -> dict | None:
    """A shipment with an SSCC is packed onto its logistic unit when it leaves and unpacked when it
    arrives: AggregationEvents whose parent is the SSCC and whose children are the lots."""
    movement = first.movement
    if first.kind not in MOVEMENTS or not movement.sscc:
        return None
    packing = first.kind == Kind.SHIPPING
    prefix = movement.sscc_company_prefix
    zone = facts.zone(first)
    place = _place(first, facts)
    event: dict = {
        "type": "AggregationEvent",
        "eventID": _derived_id("aggregation", first.client_id),
        "eventTime": _iso(first.occurred_at),
        "eventTimeZoneOffset": _offset(first.occurred_at.astimezone(zone)),
        "recordTime": _iso(first.recorded_at),
    }
    if correction is not None:
        event["errorDeclaration"] = _declaration(correction)
    event.update(
        {
            "parentID": identifiers.sscc(movement.sscc, len(prefix) if prefix else None),
            "childQuantityList": _quantity_list(lines),
            "action": "ADD" if packing else "DELETE",
            "bizStep": "packing" if packing else "unpacking",
            "disposition": "container_closed" if packing else "container_open",
            "readPoint": {"id": place},
            "bizLocation": {"id": place},
            "tr:shipment": movement.shipment,
        }
    )
    return event


def _recall_observed(
    recall_id: int, state: str, moment: datetime, zone, what: list[dict], place: str, why: dict, extension: dict
) -> tuple[datetime, dict]:
    """A recall's lots observed as it opened or closed, at the recalled lot's village."""
    event = {
        "type": "ObjectEvent",
        "eventID": _derived_id("recall", recall_id, state),
        "eventTime": _iso(moment),
        "eventTimeZoneOffset": _offset(moment.astimezone(zone)),
        "recordTime": _iso(moment),
        "action": "OBSERVE",
        "quantityList": what,
        **why,
        "readPoint": {"id": place},
        "bizLocation": {"id": place},
        **extension,
    }
    return moment, event


def _recall_events(facts: _Facts) -> list[tuple[datetime, dict]]:
    """Each recall holding a lot of the document: an ObjectEvent on the lots it held (bizStep
    holding, disposition recalled, which persists until the recall closes) and, once closed, one
    that lifts it."""
    holds: dict[int, list[str]] = {}
    held = RecallHold.objects.filter(batch__lot_code__in=facts.lots).values_list("recall_id", "batch__lot_code")
    for recall_id, lot_code in held:
        holds.setdefault(recall_id, []).append(lot_code)
    out = []
    recalls = Recall.objects.filter(pk__in=holds).select_related("batch__farm__village", "batch__crop")
    for recall in recalls:
        village = recall.batch.farm.village
        zone = zone_for(Kind.HOLD_DECISION, {}, village.time_zone)
        place = identifiers.village_location(village.gln or "", village.code)
        lots = [facts.lots[code] for code in sorted(holds[recall.pk])]
        what = [{"epcClass": lot_class_uri(lot.lot_code, lot.crop.gtin or "")} for lot in lots]
        out.append(
            _recall_observed(
                recall.pk,
                "opened",
                recall.opened_at,
                zone,
                what,
                place,
                {
                    "bizStep": RECALL_STEP,
                    "disposition": RECALL_DISPOSITION,
                    "persistentDisposition": {"set": [RECALL_DISPOSITION]},
                },
                {"tr:kind": "recall", "tr:recallReason": recall.reason},
            )
        )
        if recall.closed_at:
            out.append(
                _recall_observed(
                    recall.pk,
                    "closed",
                    recall.closed_at,
                    zone,
                    what,
                    place,
                    {"bizStep": _ns(RECALL_CLOSED_STEP), "persistentDisposition": {"unset": [RECALL_DISPOSITION]}},
                    {"tr:kind": "recall_closed"},
                )
            )
    return out


def epcis_document(events) -> dict:
    """An EPCIS 2.0 EPCISDocument (JSON-LD) of the events, in time order.

    Corrected events appear once as recorded and once more, under the same eventID, with an
    errorDeclaration (reason did_not_occur / incorrect_data, correctiveEventIDs naming the
    replacement) as EPCIS prescribes; the correction events themselves are not separate EPCIS
    events. Our event kind travels as the extension field tr:kind. Shipments with an SSCC add
    their AggregationEvents, recalls of the document's lots their ObjectEvents.
    """
    # A lot's registration (and its corrections) is the record's own proof of the lot's facts,
    # which every event here carries as master data: no EPCIS event of its own.
    registration = Kind.REGISTRATION
    lines = event_lines(events.exclude(kind=registration).exclude(corrects__kind=registration), effective=False)
    by_event: dict[int, list[EventLine]] = {}
    for line in lines:
        by_event.setdefault(line.event_id, []).append(line)
    corrections = {
        group[0].corrects_client_id: group[0] for group in by_event.values() if group[0].kind == Kind.CORRECTION
    }
    missing = set(corrections) - {group[0].client_id for group in by_event.values()}
    if missing:
        # A correction in range whose original is not: declare the original too.
        extra = event_lines(TraceEvent.objects.filter(client_id__in=missing), effective=False)
        for line in extra:
            by_event.setdefault(line.event_id, []).append(line)
    facts = _Facts(set(by_event), {line.lot_code for group in by_event.values() for line in group})
    timed: list[tuple[datetime, int, dict]] = []
    for group in sorted(by_event.values(), key=lambda g: (g[0].occurred_at, g[0].event_id)):
        first = group[0]
        if first.kind == Kind.CORRECTION:
            continue
        declarations = [None] + ([corrections[first.client_id]] if first.client_id in corrections else [])
        for correction in declarations:
            timed.append((first.occurred_at, len(timed), _epcis_event(first, group, correction, facts)))
            aggregation = _aggregation(first, group, correction, facts)
            if aggregation is not None:
                timed.append((first.occurred_at, len(timed), aggregation))
    for moment, event in _recall_events(facts):
        timed.append((moment, len(timed), event))
    timed.sort(key=lambda item: (item[0], item[1]))
    return {
        "@context": [EPCIS_CONTEXT, {EXTENSION_PREFIX: identifiers.namespace()}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _iso(timezone.now()),
        "epcisBody": {"eventList": [event for _moment, _order, event in timed]},
    }


def epcis_json(events, *, lot_ids: set[int] | None = None) -> bytes:
    """EPCIS events are kept whole (a shipping event lists every lot it moved); lot_ids is accepted
    for a uniform signature and not used."""
    return json.dumps(epcis_document(events), ensure_ascii=False, indent=2).encode()

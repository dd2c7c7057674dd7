"""What a recall reaches on the shipments side: the shipments and stores that hold recalled lots,
with quantities and how often consumers scanned those shipments' QR codes.

Lives in shipments because ShipmentItem and Scan do (traceability never imports shipments).
Public functions: affected_shipments, affected_stores, recall_report_csv.
"""

import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Max, Min
from django.utils import timezone

from shipments.models import Scan, Shipment, ShipmentItem
from traceability.exports import csvsafe
from traceability.models import Recall


@dataclass
class AffectedShipment:
    public_code: str
    status: str
    store: str
    store_city: str
    retailer: str
    dispatched_at: datetime | None
    delivered_at: datetime | None
    lots: list[tuple[str, Decimal, str]] = field(default_factory=list)
    scans: int = 0
    first_scan: datetime | None = None
    last_scan: datetime | None = None


@dataclass
class AffectedStore:
    store: str
    store_city: str
    retailer: str
    shipments: int
    quantities: dict[str, Decimal]
    scans: int


def affected_shipments(recall: Recall) -> list[AffectedShipment]:
    """Every shipment, not cancelled, with an item of a batch the recall holds. Three queries."""
    held = recall.holds.values("batch_id")
    items = (
        ShipmentItem.objects.filter(batch_id__in=held)
        .exclude(shipment__status=Shipment.Status.CANCELLED)
        .select_related("shipment__store__retailer", "batch")
        .order_by("shipment__created_at", "shipment_id", "batch__lot_code")
    )
    by_code: dict[str, AffectedShipment] = {}
    for item in items:
        shipment = item.shipment
        affected = by_code.get(shipment.public_code)
        if affected is None:
            affected = by_code[shipment.public_code] = AffectedShipment(
                shipment.public_code,
                shipment.status,
                shipment.store.name_zh,
                shipment.store.city_zh,
                shipment.store.retailer.name_zh,
                shipment.dispatched_at,
                shipment.delivered_at,
            )
        affected.lots.append((item.batch.lot_code, item.quantity, item.batch.unit))
    scans = (
        Scan.objects.filter(shipment__public_code__in=by_code)
        .values("shipment__public_code")
        .annotate(n=Count("id"), first=Min("scanned_at"), last=Max("scanned_at"))
    )
    for row in scans:
        affected = by_code[row["shipment__public_code"]]
        affected.scans, affected.first_scan, affected.last_scan = row["n"], row["first"], row["last"]
    return list(by_code.values())


def affected_stores(recall: Recall, shipments: list[AffectedShipment] | None = None) -> list[AffectedStore]:
    """The stores those shipments go to, with total quantities per unit and scan counts."""
    stores: dict[tuple[str, str, str], AffectedStore] = {}
    for shipment in affected_shipments(recall) if shipments is None else shipments:
        key = (shipment.store, shipment.store_city, shipment.retailer)
        store = stores.setdefault(key, AffectedStore(*key, shipments=0, quantities={}, scans=0))
        store.shipments += 1
        store.scans += shipment.scans
        for _lot, quantity, unit in shipment.lots:
            store.quantities[unit] = store.quantities.get(unit, Decimal("0")) + quantity
    return sorted(stores.values(), key=lambda s: (s.retailer, s.store))


def recall_report_csv(recall: Recall, shipments: list[AffectedShipment] | None = None) -> bytes:
    """One row per affected shipment and lot, with the shipment's scan figures (UTF-8 with BOM).
    `shipments` limits the report to those (the ones a caller may see); default all."""
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    writer.writerow(
        ["Recall", "Recalled lot", "Shipment", "Status", "Store", "City", "Retailer", "Dispatched at",
         "Delivered at", "Lot", "Quantity", "Unit", "Scans", "First scan", "Last scan"]
    )  # fmt: skip

    def when(moment):
        return timezone.localtime(moment).isoformat() if moment else ""

    for s in affected_shipments(recall) if shipments is None else shipments:
        for lot_code, quantity, unit in s.lots:
            writer.writerow(
                [recall.pk, recall.batch.lot_code, s.public_code, s.status, s.store, s.store_city, s.retailer,
                 when(s.dispatched_at), when(s.delivered_at), lot_code, format(quantity.normalize(), "f"), unit,
                 s.scans, when(s.first_scan), when(s.last_scan)]
            )  # fmt: skip
    return ("\ufeff" + buffer.getvalue()).encode()

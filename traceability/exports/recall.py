"""The recall record as CSV: who, when, why, what was held and where the lots went."""

import io

from django.utils import timezone

from traceability.exports import csvsafe
from traceability.trace import trace_lot


def recall_csv(recall, *, trace=None) -> bytes:
    """The recall record: who, when, why, what was held and which shipments and stores received it
    (those of `trace`, the recalled lot's forward trace, by default all of it)."""
    trace = trace or trace_lot(recall.batch, direction="forward")
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

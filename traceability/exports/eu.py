"""The EU consignment list, Regulation (EU) No 931/2011 article 3 (under 178/2002 article 18):
one step back, one step forward, per consignment, as CSV."""

from traceability.exports.rows import csv_bytes, event_lines, local, qty
from traceability.models import TraceEvent

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
    for line in event_lines(events.filter(kind=TraceEvent.Kind.SHIPPING), effective=True, lot_ids=lot_ids):
        movement = line.movement
        rows.append(
            [
                f"{line.crop_zh} {line.crop_en}".strip(),
                qty(line.quantity),
                line.unit if line.quantity is not None else "",
                " ".join(filter(None, [movement.ship_from, movement.ship_from_gln])),
                f"{line.farm_zh}, {line.village_zh}",
                " ".join(filter(None, [f"{movement.store}, {movement.store_city}", movement.store_gln])),
                " ".join(filter(None, [movement.retailer, movement.retailer_gln])),
                line.lot_code,
                local(line.occurred_at).date().isoformat(),
                movement.shipment,
            ]
        )
    return rows


def eu_csv(events, *, lot_ids: set[int] | None = None) -> bytes:
    return csv_bytes(EU_COLUMNS, eu_rows(events, lot_ids=lot_ids))

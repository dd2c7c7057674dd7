"""The EU consignment list, Regulation (EU) No 931/2011 article 3 (under 178/2002 article 18):
one step back, one step forward, per consignment, as CSV.

Article 3(1) asks, for each consignment, (a) an accurate description of the food, (b) its volume
or quantity, (c) the name and address of the business that dispatched it, (d) of the consignor
(owner) if different, (e) of the business it was dispatched to, (f) of the consignee (owner) if
different, (g) a reference identifying the lot or consignment, (h) the date of dispatch. Here the
dispatcher is the village cooperative that shipped, the consignor the farm the lot comes from, the
recipient the store and the consignee its retailer; names and addresses of the dispatcher,
recipient and consignee are those the shipping event recorded when it happened (MovementKDEs), the
consignor's the farm's. The regulation covers food of animal origin; this export is offered for
any produce as a general one-step-back/one-step-forward record (docs/standards.md). A recalled lot
carries its recall in the last three columns, as in the FSMA export.
"""

from traceability.exports.fsma import describe, lot_recalls, product_description
from traceability.exports.rows import csv_bytes, event_lines, qty
from traceability.models import Batch, TraceEvent
from traceability.places import zone_for

EU_COLUMNS = [
    "Description of the food",
    "Description of the food (Chinese)",
    "Volume or quantity",
    "Unit",
    "Dispatcher name",
    "Dispatcher address",
    "Consignor name",
    "Consignor address",
    "Recipient name",
    "Recipient address",
    "Consignee name",
    "Consignee address",
    "Lot reference",
    "Date of dispatch",
    "Consignment reference",
    "Recall status",
    "Recall opened",
    "Recall closed",
]


def _name(zh: str | None, en: str | None, gln: str | None = None) -> str:
    """A business name in Chinese and English, with its GLN when it has one."""
    name = " ".join(filter(None, [zh, en]))
    return f"{name} (GLN {gln})" if gln else name


def _address(zh: str | None, en: str | None, phone: str | None = None) -> str:
    """The address in Chinese and English, and the phone: "address_zh / address_en; phone"."""
    return describe(None, None, zh, en, phone)


def eu_rows(events, *, lot_ids: set[int] | None = None) -> list[list[str]]:
    """One row per lot per consignment (shipping event), corrected events left out: the
    information Regulation (EU) No 931/2011 article 3 asks for."""
    lines = event_lines(events.filter(kind=TraceEvent.Kind.SHIPPING), effective=True, lot_ids=lot_ids)
    lots = {
        row[0]: row[1:]
        for row in Batch.objects.filter(lot_code__in={line.lot_code for line in lines}).values_list(
            "lot_code", "pk", "crop__variety_zh", "crop__variety_en", "farm__name_en", "farm__address_zh",
            "farm__address_en", "farm__village__name_en", "farm__village__address_zh",
            "farm__village__address_en", "farm__village__phone", "farm__village__time_zone",
        )
    }  # fmt: skip
    recalls = lot_recalls({lot[0]: lot[-1] for lot in lots.values()})
    rows = []
    for line in lines:
        movement = line.movement
        (
            pk, variety_zh, variety_en, farm_en, farm_address_zh, farm_address_en, village_en, village_address_zh,
            village_address_en, village_phone, village_time_zone,
        ) = lots[line.lot_code]  # fmt: skip
        english, chinese = product_description(line.crop_zh, line.crop_en, variety_zh, variety_en, line.unit)
        dispatched = line.occurred_at.astimezone(zone_for(line.kind, line.data, village_time_zone)).date()
        recall = recalls.get(pk)
        rows.append(
            [
                english,
                chinese,
                qty(line.quantity),
                line.unit if line.quantity is not None else "",
                _name(movement.ship_from, movement.ship_from_en, movement.ship_from_gln),
                _address(movement.ship_from_address, movement.ship_from_address_en, movement.ship_from_phone),
                _name(f"{line.farm_zh}, {line.village_zh}", ", ".join(filter(None, [farm_en, village_en]))),
                _address(farm_address_zh or village_address_zh, farm_address_en or village_address_en, village_phone),
                _name(
                    ", ".join(filter(None, [movement.store, movement.store_city])),
                    movement.store_en,
                    movement.store_gln,
                ),
                _address(movement.store_address, movement.store_address_en, movement.store_phone),
                _name(movement.retailer, movement.retailer_en, movement.retailer_gln),
                _address(movement.retailer_address, movement.retailer_address_en, movement.retailer_phone),
                line.lot_code,
                dispatched.isoformat(),
                movement.shipment,
                recall.status if recall else "",
                recall.opened.isoformat() if recall else "",
                recall.closed.isoformat() if recall and recall.closed else "",
            ]
        )
    return rows


def eu_csv(events, *, lot_ids: set[int] | None = None) -> bytes:
    return csv_bytes(EU_COLUMNS, eu_rows(events, lot_ids=lot_ids))

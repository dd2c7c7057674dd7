"""A small known genealogy that several traceability tests share.

    L1 (王家果园, 100 kg) ──40──┐
                                ├─ mixing ─> M1 (70 kg) ──50── sorting ─> S1 (50 kg) ──20──┐
    L2 (李家果园,  80 kg) ──30──┘                                                           ├─ repacking ─> R1 (30 kg)
    L1 ─────────────────────────────────────────────────────────────────────────────10───────┘
    L3 (unrelated, 60 kg)

R1 is shipped (10 kg) to 上海静安店 and received there; S1 (5 kg) to 杭州西湖店, dispatched only.

With `registered=True`, L1, L2 and L3 are registered through traceability.services.register_batch
(as every door does) instead of written as bare rows.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from shipments import services as shipping
from shipments.models import Retailer, Store
from tests.support import make_batch, make_crop, make_farm, make_field, make_user, make_village
from traceability.services import record_batch_event, register_batch, transform_batches


def at(day: int, hour: int = 8) -> datetime:
    return datetime(2026, 6, day, hour, 0, tzinfo=UTC)


class Scenario:
    def __init__(self, *, ship: bool = True, registered: bool = False):
        self.village = make_village("XJ", gln="9520000000011")
        self.crop = make_crop("WAX", gtin="09520000000011")
        self.farm_a = make_farm(self.village, "王家果园")
        self.field_a = make_field(self.farm_a, "东坡地")
        self.farm_b = make_farm(self.village, "李家果园", name_en="Li Family Orchard")
        self.coordinator = make_user("carol", role="coordinator", village=self.village)
        lot = self._register if registered else make_batch
        self.l1 = lot(self.farm_a, self.crop, "XJ-WAX-20260610-001", quantity="100", field=self.field_a)
        self.l2 = lot(self.farm_b, self.crop, "XJ-WAX-20260610-002", quantity="80")
        self.l3 = lot(self.farm_b, self.crop, "XJ-WAX-20260610-003", quantity="60")
        record_batch_event(batch=self.l1, kind="harvest", occurred_at=at(10), actor=self.coordinator)
        record_batch_event(
            batch=self.l1, kind="cooling", occurred_at=at(10, 10), data={"temperature_c": 4.5}, actor=self.coordinator
        )
        record_batch_event(
            batch=self.l1, kind="packing", occurred_at=at(10, 12), quantity=Decimal("100"), actor=self.coordinator
        )
        self.m1, self.mixing, _ = transform_batches(
            inputs=[(self.l1, Decimal("40")), (self.l2, Decimal("30"))],
            crop=self.crop,
            farm=self.farm_a,
            quantity=Decimal("70"),
            unit="kg",
            kind="mixing",
            actor=self.coordinator,
            occurred_at=at(11),
        )
        self.s1, self.sorting, _ = transform_batches(
            inputs=[(self.m1, Decimal("50"))],
            crop=self.crop,
            farm=self.farm_a,
            quantity=Decimal("50"),
            unit="kg",
            kind="sorting",
            actor=self.coordinator,
            occurred_at=at(12),
        )
        self.r1, self.repacking, _ = transform_batches(
            inputs=[(self.s1, Decimal("20")), (self.l1, Decimal("10"))],
            crop=self.crop,
            farm=self.farm_a,
            quantity=Decimal("30"),
            unit="kg",
            kind="repacking",
            actor=self.coordinator,
            occurred_at=at(13),
            reference_document="PACK-7",
        )
        self.retailer = Retailer.objects.create(name_zh="盒马鲜生", name_en="Hema", gln="9520000000028")
        self.store = Store.objects.create(
            retailer=self.retailer, name_zh="上海静安店", city_zh="上海", gln="9520000000035"
        )
        self.store2 = Store.objects.create(retailer=self.retailer, name_zh="杭州西湖店", city_zh="杭州")
        if ship:
            self.shipment = shipping.create_shipment(
                origin_village=self.village, store=self.store, carrier="顺丰冷运", reference="BOL-001"
            )
            shipping.add_item(shipment=self.shipment, batch=self.r1, quantity=Decimal("10"))
            shipping.dispatch_shipment(shipment=self.shipment, when=at(14))
            shipping.receive_shipment(shipment=self.shipment, when=at(15))
            self.shipment2 = shipping.create_shipment(origin_village=self.village, store=self.store2)
            shipping.add_item(shipment=self.shipment2, batch=self.s1, quantity=Decimal("5"))
            shipping.dispatch_shipment(shipment=self.shipment2, when=at(14, 9))
        for lot in (self.l1, self.l2, self.l3, self.m1, self.s1, self.r1):
            lot.refresh_from_db()

    def _register(self, farm, crop, lot_code, *, quantity, field=None):
        return register_batch(
            farm=farm,
            crop=crop,
            quantity=Decimal(quantity),
            unit="kg",
            field=field,
            harvested_on=date(2026, 6, 12),
            lot_code=lot_code,
            created_by=self.coordinator,
        )

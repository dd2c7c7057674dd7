"""The EU 931/2011 consignment list: one row per lot and consignment, each Article 3 item in its
own column, names with their addresses as the shipment recorded them, a recall at the end."""

from datetime import UTC, datetime
from decimal import Decimal

from django.test import TestCase

from farms.models import Farm, Village
from shipments import services as shipping
from shipments.models import Retailer, Store
from tests.traceability.exports.support import P_EN, P_ZH
from tests.traceability.scenario import Scenario
from traceability import exports
from traceability.models import Recall
from traceability.services import close_recall, open_recall


class EuTests(TestCase):
    def setUp(self):
        self.s = Scenario(ship=False)
        Village.objects.filter(pk=self.s.village.pk).update(
            address_zh="浙江省台州市仙居县步路乡杨梅村村委会",
            address_en="Yangmei Village Committee, Bulu Township, Xianju, Zhejiang",
            phone="0576-8773 0001",
        )
        Farm.objects.filter(pk=self.s.farm_b.pk).update(address_zh="杨梅村后山 3 号", address_en="3 Back Hill")
        Store.objects.filter(pk=self.s.store.pk).update(
            address="静安区南京西路 1266 号", address_en="No. 1266 West Nanjing Road", phone="021-6288 0101"
        )
        Retailer.objects.filter(pk=self.s.retailer.pk).update(
            address_zh="上海市长宁区金钟路 968 号", address_en="No. 968 Jinzhong Road", phone="400-800-1234"
        )
        self.s.village.refresh_from_db()
        self.shipment = shipping.create_shipment(
            origin_village=self.s.village, store=Store.objects.get(pk=self.s.store.pk)
        )
        shipping.add_item(shipment=self.shipment, batch=self.s.l2, quantity=Decimal("12.5"))
        shipping.dispatch_shipment(shipment=self.shipment, when=datetime(2026, 6, 14, 17, tzinfo=UTC))

    def test_each_article_3_item_has_its_column_and_names_come_with_addresses(self):
        (row,) = exports.eu_rows(exports.events_for_lot(self.s.l2))
        self.assertEqual(
            dict(zip(exports.EU_COLUMNS, row, strict=True)),
            {
                "Description of the food": P_EN,
                "Description of the food (Chinese)": P_ZH,
                "Volume or quantity": "12.5",
                "Unit": "kg",
                "Dispatcher name": "仙居县杨梅村 Xianju Waxberry Village (GLN 9520000000011)",
                "Dispatcher address": "浙江省台州市仙居县步路乡杨梅村村委会 / Yangmei Village Committee, "
                "Bulu Township, Xianju, Zhejiang; 0576-8773 0001",
                "Consignor name": "李家果园, 仙居县杨梅村 Li Family Orchard, Xianju Waxberry Village",
                "Consignor address": "杨梅村后山 3 号 / 3 Back Hill; 0576-8773 0001",
                "Recipient name": "上海静安店, 上海 (GLN 9520000000035)",
                "Recipient address": "静安区南京西路 1266 号 / No. 1266 West Nanjing Road; 021-6288 0101",
                "Consignee name": "盒马鲜生 Hema (GLN 9520000000028)",
                "Consignee address": "上海市长宁区金钟路 968 号 / No. 968 Jinzhong Road; 400-800-1234",
                "Lot reference": "XJ-WAX-20260610-002",
                # 17:00 UTC is 01:00 the next day in Xianju, where the lot was dispatched.
                "Date of dispatch": "2026-06-15",
                "Consignment reference": self.shipment.public_code,
                "Recall status": "",
                "Recall opened": "",
                "Recall closed": "",
            },
        )

    def test_the_addresses_are_those_recorded_when_the_consignment_left(self):
        Store.objects.filter(pk=self.s.store.pk).update(address="新地址", phone="")
        (row,) = exports.eu_rows(exports.events_for_lot(self.s.l2))
        self.assertEqual(row[9], "静安区南京西路 1266 号 / No. 1266 West Nanjing Road; 021-6288 0101")

    def test_a_recall_of_the_lot_shows_on_its_consignments(self):
        recall = open_recall(batch=self.s.l2, reason="Listeria", actor=self.s.coordinator)
        Recall.objects.filter(pk=recall.pk).update(opened_at=datetime(2026, 6, 20, 18, tzinfo=UTC))
        (row,) = exports.eu_rows(exports.events_for_lot(self.s.l2))
        self.assertEqual(row[-3:], ["open", "2026-06-21", ""])  # dates in the lot's village
        close_recall(recall=recall, actor=self.s.coordinator, note="Lab retest negative")
        Recall.objects.filter(pk=recall.pk).update(closed_at=datetime(2026, 6, 22, 2, tzinfo=UTC))
        (row,) = exports.eu_rows(exports.events_for_lot(self.s.l2))
        self.assertEqual(row[-3:], ["closed", "2026-06-21", "2026-06-22"])

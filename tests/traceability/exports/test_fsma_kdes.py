"""Issue 17, what an auditor saw: FSMA 204 records with every KDE the rule asks of each CTE
(21 CFR 1.1325-1.1350), EU 931/2011 Article 3 names with addresses, the harvester for regulators
only, dates where the event happened.

The world: every demo lot (seed_demo, with its sorting transformation), plus a correction, a
recall, a lot with a 40-character lot code of a crop without a GTIN, shipped and received."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import TestCase, override_settings
from django.utils import timezone

from farms.models import Crop, Farm, Village
from shipments import services as shipping
from shipments.models import Store
from traceability import exports
from traceability.models import Batch, TraceEvent
from traceability.services import open_recall, record_batch_event, record_correction, register_batch

LONG_LOT = "XJ-LYC-20260610-" + "A" * 24  # 40 characters
assert len(LONG_LOT) == 40

# What 21 CFR 1.1325-1.1350 asks of each CTE, as the export's columns: each must be filled on
# every row of that CTE. (Harvester columns: 1.1330(a)(5), on the packing row and, recorded at
# harvest, on the harvesting row.)
LOCATION = ["Location description", "Location GLN"]
LOT = ["Traceability lot code", "Product description", "Product description (Chinese)", "Quantity", "Unit of measure"]
REFERENCE = ["Reference document type", "Reference document number"]
SOURCE = ["Traceability lot code source location description", "Traceability lot code source GLN"]
REQUIRED = {
    "Harvesting": [
        "Commodity", "Quantity", "Unit of measure", "Event date", "Farm where harvested location description",
        "Field or other growing area name", "Immediate subsequent recipient location description",
        "Harvester business name", "Harvester phone number", *REFERENCE,
    ],
    "Cooling": [
        "Commodity", "Quantity", "Unit of measure", "Event date", *LOCATION,
        "Immediate subsequent recipient location description", "Farm where harvested location description",
        *REFERENCE,
    ],
    "Initial packing": [
        *LOT, "Commodity", "Event date", *LOCATION, "Harvest date", "Farm where harvested location description",
        "Field or other growing area name", "Harvester business name", "Harvester phone number", "Cooling date",
        "Cooling location description", *SOURCE, *REFERENCE,
    ],
    "Shipping": [
        *LOT, "Event date", *LOCATION, "Immediate subsequent recipient location description",
        "Immediate subsequent recipient GLN", *SOURCE, *REFERENCE,
    ],
    "Receiving": [
        *LOT, "Event date", *LOCATION, "Immediate previous source location description",
        "Immediate previous source GLN", *SOURCE, *REFERENCE,
    ],
    "Transformation": [
        *LOT, "Event date", *LOCATION, *SOURCE, "Input traceability lot code", "Input product description",
        "Input quantity", "Input unit of measure", *REFERENCE,
    ],
}  # fmt: skip
HARVESTER = ("Harvester business name", "Harvester phone number")


def as_dicts(rows) -> list[dict]:
    return [dict(zip(exports.FSMA_COLUMNS, row, strict=True)) for row in rows]


def csv_dicts(response) -> list[dict]:
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


class DemoWorldTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        call_command("seed_demo", stdout=StringIO())
        User = get_user_model()
        cls.auditor = User.objects.get(username="auditor")
        cls.retailer = User.objects.get(username="retailer")
        cls.coordinator = User.objects.get(username="coordinator")
        village = Village.objects.get(code="XJ")
        farm = Farm.objects.get(name_zh="王家杨梅园")
        cls.lychee = Crop.objects.create(
            code="LYC", name_zh="荔枝", name_en="Lychee", variety_zh="妃子笑", variety_en="Feizixiao", category="fruit"
        )
        cls.long_lot = register_batch(
            farm=farm,
            crop=cls.lychee,
            field=farm.fields.order_by("id").first(),
            quantity=Decimal("240"),
            unit="box",
            harvested_on=date(2026, 6, 10),
            lot_code=LONG_LOT,
            created_by=cls.coordinator,
        )
        at = lambda hour: datetime(2026, 6, 10, hour, tzinfo=UTC)  # noqa: E731
        record_batch_event(
            batch=cls.long_lot, kind="harvest", occurred_at=at(0), quantity=Decimal("240"),
            data={"reference_document": "FT-LYC-1"}, actor=cls.coordinator,
        )  # fmt: skip
        cls.wrong_cooling, _ = record_batch_event(
            batch=cls.long_lot, kind="cooling", occurred_at=at(2), data={"temperature_c": 9.0,
            "reference_document": "CL-LYC-1"}, actor=cls.coordinator,
        )  # fmt: skip
        _, cls.cooling = record_correction(
            event=cls.wrong_cooling, reason="incorrect_data", actor=cls.coordinator,
            corrected_data={"temperature_c": 4.0}, corrected_quantity=Decimal("240"),
        )  # fmt: skip
        record_batch_event(
            batch=cls.long_lot, kind="packing", occurred_at=at(4), quantity=Decimal("240"),
            data={"reference_document": "PK-LYC-1"}, actor=cls.coordinator,
        )  # fmt: skip
        store = Store.objects.get(name_zh="上海静安店")
        cls.shipment = shipping.create_shipment(
            origin_village=village, store=store, carrier="顺丰冷运", reference="BOL-LYC-1"
        )
        shipping.add_item(shipment=cls.shipment, batch=cls.long_lot, quantity=Decimal("200"))
        shipping.dispatch_shipment(shipment=cls.shipment, when=at(6))
        shipping.receive_shipment(shipment=cls.shipment, when=at(12))
        cls.recalled = Batch.objects.get(notes__endswith="sg-tom-1")
        cls.recall = open_recall(batch=cls.recalled, reason="农残超标", actor=cls.retailer)

    def export(self, lot, *, harvester=True) -> list[dict]:
        return as_dicts(exports.fsma_rows(exports.events_for_lot(lot), harvester=harvester))

    def test_every_demo_lot_has_every_required_kde_of_each_cte(self):
        lots = Batch.objects.order_by("lot_code")
        self.assertEqual(lots.count(), 9)
        ctes = set()
        for lot in lots:
            for row in self.export(lot):
                ctes.add(row["Critical tracking event"])
                required = REQUIRED[row["Critical tracking event"]]
                if row["Traceability lot code"].startswith("WC"):  # rice is packed without cooling
                    required = [name for name in required if not name.startswith("Cooling")]
                missing = [name for name in required if row[name] in ("", None)]
                self.assertEqual(missing, [], f"{lot.lot_code}: {row['Critical tracking event']}")
        self.assertEqual(ctes, set(REQUIRED))

    def test_the_long_lot_of_a_crop_without_gtin_has_each_kde_cell_by_cell(self):
        rows = self.export(self.long_lot)
        self.assertEqual(
            [row["Critical tracking event"] for row in rows],
            ["Harvesting", "Cooling", "Initial packing", "Shipping", "Receiving"],
        )
        farm = (
            "王家杨梅园, 仙居县步路乡杨梅村 Wang Family Waxberry Orchard, Yangmei Village, Xianju; "
            "浙江省台州市仙居县步路乡杨梅村东坡 8 号 / 8 East Slope, Yangmei Village, Bulu Township, Xianju, Zhejiang; "
            "0576-8773 0001"
        )
        village = (
            "仙居县步路乡杨梅村 Yangmei Village, Xianju; 浙江省台州市仙居县步路乡杨梅村村委会 / Yangmei Village "
            "Committee, Bulu Township, Xianju County, Taizhou, Zhejiang; 0576-8773 0001"
        )
        store = (
            "上海静安店, 鲜到家超市 Shanghai Jing'an, FreshHome Market; 静安区南京西路 1266 号 / No. 1266 West "
            "Nanjing Road, Jing'an District, Shanghai; 021-6288 0101"
        )
        village_gln = Village.objects.get(code="XJ").gln
        store_gln = Store.objects.get(name_zh="上海静安店").gln
        common = {
            "Traceability lot code": LONG_LOT,
            "Product description": "Lychee, Feizixiao, in boxes",
            "Product description (Chinese)": "荔枝，妃子笑，箱装",
            "Commodity": "荔枝 Lychee",
            "Variety": "妃子笑 Feizixiao",
            "Unit of measure": "box",
            "Traceability lot code source location description": farm,
            "Traceability lot code source GLN": village_gln,
            "Input traceability lot code": "",
            "Input product description": "",
            "Input quantity": None,
            "Input unit of measure": "",
            "Recall status": "",
            "Recall opened": None,
            "Recall closed": None,
        }
        nothing = dict.fromkeys(
            ["Immediate previous source location description", "Immediate previous source GLN",
             "Immediate subsequent recipient location description", "Immediate subsequent recipient GLN",
             "Farm where harvested location description", "Field or other growing area name",
             "Harvester business name", "Harvester phone number", "Cooling location description"], ""
        ) | {"Harvest date": None, "Cooling date": None}  # fmt: skip
        harvested = {
            "Farm where harvested location description": farm,
            "Harvest date": date(2026, 6, 10),
            "Harvester business name": "王建国",  # the farm's grower, by default
            "Harvester phone number": "13805760001",
        }
        expected = [
            common | nothing | harvested | {
                "Critical tracking event": "Harvesting", "Quantity": Decimal("240"), "Event date": date(2026, 6, 10),
                "Event time": "2026-06-10T08:00:00+08:00", "Location description": farm, "Location GLN": village_gln,
                "Field or other growing area name": "东坡地 East Slope",
                "Immediate subsequent recipient location description": village,
                "Immediate subsequent recipient GLN": village_gln,
                "Reference document type": "Field tag", "Reference document number": "FT-LYC-1",
            },
            common | nothing | harvested | {
                "Critical tracking event": "Cooling", "Quantity": Decimal("240"), "Event date": date(2026, 6, 10),
                "Event time": "2026-06-10T10:00:00+08:00", "Location description": farm, "Location GLN": village_gln,
                "Harvester business name": "", "Harvester phone number": "",
                "Immediate subsequent recipient location description": village,
                "Immediate subsequent recipient GLN": village_gln,
                "Cooling date": date(2026, 6, 10), "Cooling location description": farm,
                "Reference document type": "Cooling log", "Reference document number": "CL-LYC-1",
            },
            common | nothing | harvested | {
                "Critical tracking event": "Initial packing", "Quantity": Decimal("240"),
                "Event date": date(2026, 6, 10),
                "Event time": "2026-06-10T12:00:00+08:00", "Location description": farm, "Location GLN": village_gln,
                "Field or other growing area name": "东坡地 East Slope",
                "Cooling date": date(2026, 6, 10), "Cooling location description": farm,
                "Reference document type": "Packing record", "Reference document number": "PK-LYC-1",
            },
            common | nothing | {
                "Critical tracking event": "Shipping", "Quantity": Decimal("200"), "Event date": date(2026, 6, 10),
                "Event time": "2026-06-10T14:00:00+08:00", "Location description": village, "Location GLN": village_gln,
                "Immediate subsequent recipient location description": store,
                "Immediate subsequent recipient GLN": store_gln,
                "Reference document type": "Bill of lading", "Reference document number": "BOL-LYC-1",
            },
            common | nothing | {
                "Critical tracking event": "Receiving", "Quantity": Decimal("200"), "Event date": date(2026, 6, 10),
                "Event time": "2026-06-10T20:00:00+08:00", "Location description": store, "Location GLN": store_gln,
                "Immediate previous source location description": village,
                "Immediate previous source GLN": village_gln,
                "Reference document type": "Bill of lading", "Reference document number": "BOL-LYC-1",
            },
        ]  # fmt: skip
        for row, want in zip(rows, expected, strict=True):
            self.assertEqual({k: v for k, v in row.items() if k != "Event ID"}, want, row["Critical tracking event"])
        # The corrected cooling is left out, its replacement is the row.
        self.assertEqual(rows[1]["Event ID"], f"urn:uuid:{self.cooling.client_id}")

    def test_a_transformation_gives_a_row_per_input_lot_with_its_quantity(self):
        gift = TraceEvent.objects.get(kind="transformation").lines.get(role="output").batch
        rows = [row for row in self.export(gift) if row["Critical tracking event"] == "Transformation"]
        wax = {key: Batch.objects.get(notes__endswith=key).lot_code for key in ("xj-wax-1", "xj-wax-2")}
        self.assertEqual(
            [(row["Traceability lot code"], row["Quantity"], row["Input traceability lot code"], row["Input quantity"],
              row["Reference document number"]) for row in rows],
            sorted([(gift.lot_code, Decimal("95"), wax["xj-wax-1"], Decimal("60"), "SORT-XJ-001"),
                    (gift.lot_code, Decimal("95"), wax["xj-wax-2"], Decimal("40"), "SORT-XJ-001")],
                   key=lambda row: row[2]),
        )  # fmt: skip

    def test_a_recall_shows_on_every_row_of_the_recalled_lot(self):
        rows = self.export(self.recalled)
        opened = self.recall.opened_at.astimezone(ZoneInfo(Village.objects.get(code="SG").time_zone)).date()
        self.assertEqual(
            {(row["Traceability lot code"], row["Recall status"], row["Recall opened"], row["Recall closed"])
             for row in rows},
            {(self.recalled.lot_code, "open", opened, None),
             (Batch.objects.get(notes__endswith="sg-cuc-1").lot_code, "", None, None)},  # shipped with it
        )  # fmt: skip
        # harvest, cooling, packing, shipping and receiving; the cucumbers' shipping and receiving
        self.assertEqual(len(rows), 7)

    def test_the_harvester_is_for_auditors_and_superusers_only(self):
        lot = Batch.objects.get(notes__endswith="xj-wax-1")
        for username, shown in (("auditor", True), ("admin", True), ("retailer", False), ("coordinator", False)):
            self.client.force_login(get_user_model().objects.get(username=username))
            response = self.client.get("/trace/export/fsma.csv", {"lot": lot.lot_code})
            self.assertEqual(response.status_code, 200, username)
            rows = [
                row
                for row in csv_dicts(response)
                if row["Critical tracking event"] in ("Harvesting", "Initial packing")
            ]
            self.assertEqual(len(rows), 2, username)
            cells = {(row["Harvester business name"], row["Harvester phone number"]) for row in rows}
            self.assertEqual(
                cells, {("仙居县步路乡杨梅村合作社采摘队", "0576-8773 0001") if shown else ("", "")}, username
            )

    def test_the_eu_record_has_each_article_3_item_for_every_consignment(self):
        today = timezone.localdate()
        events = exports.events_between(today - timedelta(days=365), today)
        rows = [dict(zip(exports.EU_COLUMNS, row, strict=True)) for row in exports.eu_rows(events)]
        self.assertEqual(len(rows), 7)  # six dispatched demo lot lines and the long lot's
        for row in rows:
            empty = [name for name in exports.EU_COLUMNS[:15] if not row[name]]
            self.assertEqual(empty, [], row["Lot reference"])
        (long_row,) = [row for row in rows if row["Lot reference"] == LONG_LOT]
        self.assertEqual(
            (long_row["Recipient name"], long_row["Recipient address"], long_row["Consignee address"]),
            (
                f"上海静安店, 上海 Shanghai Jing'an (GLN {Store.objects.get(name_zh='上海静安店').gln})",
                "静安区南京西路 1266 号 / No. 1266 West Nanjing Road, Jing'an District, Shanghai; 021-6288 0101",
                "上海市静安区江场路 1401 号 / No. 1401 Jiangchang Road, Jing'an District, Shanghai; 400-820-0100",
            ),
        )
        recalled = {row["Recall status"] for row in rows if row["Lot reference"] == self.recalled.lot_code}
        self.assertEqual(recalled, {"open"})


class TimeZoneTests(TestCase):
    """The same harvest exports the same date whatever the server's TIME_ZONE: the village's."""

    def setUp(self):
        self.villages = {
            "Asia/Shanghai": Village.objects.create(
                code="XJ", name_zh="杨梅村", province_zh="浙江省", county_zh="仙居县"
            ),
            "Asia/Urumqi": Village.objects.create(
                code="TL", name_zh="葡萄村", province_zh="新疆", county_zh="吐鲁番市", time_zone="Asia/Urumqi"
            ),
        }
        crop = Crop.objects.create(code="WAX", name_zh="杨梅", category="fruit")
        self.lots = {}
        for zone, village in self.villages.items():
            farm = Farm.objects.create(village=village, name_zh="果园", grower_name="王")
            lot = Batch.objects.create(farm=farm, crop=crop, lot_code=f"{village.code}-1", quantity=Decimal("10"))
            # 20:00 UTC: 04:00 the next day in Xianju, 02:00 in Turpan, 13:00 the same day in California.
            record_batch_event(batch=lot, kind="harvest", occurred_at=datetime(2026, 6, 10, 20, tzinfo=UTC))
            self.lots[zone] = lot

    def harvest(self, zone) -> tuple:
        (row,) = as_dicts(exports.fsma_rows(exports.events_for_lot(self.lots[zone])))
        return row["Event date"], row["Event time"]

    def test_the_harvest_date_is_the_villages_whatever_the_servers_zone(self):
        for server in ("America/Los_Angeles", "Asia/Shanghai"):
            with override_settings(TIME_ZONE=server):
                self.assertEqual(
                    self.harvest("Asia/Shanghai"), (date(2026, 6, 11), "2026-06-11T04:00:00+08:00"), server
                )
                self.assertEqual(self.harvest("Asia/Urumqi"), (date(2026, 6, 11), "2026-06-11T02:00:00+06:00"), server)
                csv_text = exports.fsma_csv(exports.events_for_lot(self.lots["Asia/Shanghai"])).decode("utf-8-sig")
                self.assertIn(",2026-06-11,2026-06-11T04:00:00+08:00,", csv_text)
        self.assertEqual(TraceEvent.objects.filter(kind="harvest").count(), 2)

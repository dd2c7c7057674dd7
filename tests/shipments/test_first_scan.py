"""When and where in the journey a code was first opened (shipments.page_state.first_opened): read
from the first scan's time and the shipment's own dispatch and arrival times, so nothing about the
scanner is stored and the page still makes one round trip to the shared cache. A code first opened
before its shipment left is the card's plain warning. The retailer's shipment page says the same."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.test import TestCase
from django.utils import timezone, translation
from django.utils.dateformat import format as django_date

from shipments import page_state, scans, services
from shipments.models import RetailerStaff, Scan, Shipment
from tests.support import make_batch, make_crop, make_farm, make_store, make_user, make_village

WECHAT_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.49"
EARLY_EN = (
    "This code was first opened before the produce was sent out. If you bought produce carrying it, "
    "the label may be a copy: please tell the store."
)
EARLY_ZH = "此码在产品发出之前就已被打开。如果您买到的产品带有此码，标签可能是仿冒的，请告知门店。"


class FirstScanTests(TestCase):
    def setUp(self):
        village = make_village()
        self.store = make_store(name_zh="深圳南山店", name_en="Shenzhen Nanshan")
        lot = make_batch(make_farm(village), make_crop(), "XJ-WAX-20260612-001")
        self.shipment = services.create_shipment(origin_village=village, store=self.store)
        services.add_item(shipment=self.shipment, batch=lot, quantity=Decimal("10"))
        # Two days ago at 14:02 local time: the first scan of most tests.
        day = timezone.localdate() - timedelta(days=2)
        self.first = timezone.make_aware(datetime(day.year, day.month, day.day, 14, 2, 31))
        self.when_zh = f"{day.year}年{day.month}月{day.day}日 14:02"
        with translation.override("en"):
            self.when_en = f"{django_date(day, 'N j, Y')} 14:02"

    def move(self, *, dispatched: timedelta | None = None, delivered: timedelta | None = None, status=None):
        """Set the shipment's recorded times relative to the first scan (no signal: no page is kept yet)."""
        Shipment.objects.filter(pk=self.shipment.pk).update(
            status=status or self.shipment.status,
            dispatched_at=None if dispatched is None else self.first + dispatched,
            delivered_at=None if delivered is None else self.first + delivered,
        )

    def scanned_first(self):
        Scan.objects.create(shipment=self.shipment, scanned_at=self.first, language="zh-hans", client="wechat")

    def page(self, language: str):
        path = self.shipment.public_path + f"?lang={language}"  # the switch: never a scan
        return self.client.get(path, HTTP_USER_AGENT=WECHAT_UA).content.decode()

    def staff_page(self, language: str) -> str:
        staff = make_user(f"rita-{language}")
        RetailerStaff.objects.create(user=staff, retailer=self.store.retailer)
        self.client.force_login(staff)
        page = self.client.get(f"/shipments/{self.shipment.public_code}/", HTTP_ACCEPT_LANGUAGE=language)
        self.client.logout()
        return page.content.decode()

    def test_after_arrival_in_both_languages_and_on_the_retailers_page(self):
        self.move(dispatched=-timedelta(hours=20), delivered=-timedelta(hours=6), status=Shipment.Status.DELIVERED)
        self.scanned_first()
        zh, en = self.page("zh-hans"), self.page("en")
        self.assertIn(f"已有 1 人打开 · {self.when_zh} 首次打开，当时已到达深圳南山店", zh)
        self.assertIn(f"Opened by 1 person · first opened on {self.when_en}, after it arrived at Shenzhen Nanshan", en)
        self.assertNotIn('class="warn"', zh + en)
        self.assertIn(
            f"<p>Opened by 1 person · first opened on {self.when_en}, after it arrived at Shenzhen Nanshan</p>",
            self.staff_page("en"),
        )
        self.assertIn(
            f"<p>已有 1 人打开 · {self.when_zh} 首次打开，当时已到达深圳南山店</p>", self.staff_page("zh-hans")
        )

    def test_on_the_way(self):
        self.move(dispatched=-timedelta(hours=3), status=Shipment.Status.DISPATCHED)
        self.scanned_first()
        self.assertIn(f"{self.when_zh} 首次打开，当时正在运往深圳南山店", self.page("zh-hans"))
        en = self.page("en")
        self.assertIn(f"first opened on {self.when_en}, on its way to Shenzhen Nanshan", en)
        self.assertNotIn('class="warn"', en)

    def test_before_dispatch_is_the_plain_warning_and_stays_after_arrival(self):
        self.move(dispatched=timedelta(hours=1), delivered=timedelta(hours=9), status=Shipment.Status.DELIVERED)
        self.scanned_first()
        zh, en = self.page("zh-hans"), self.page("en")
        self.assertIn(f"{self.when_zh} 首次打开，当时尚未发货", zh)
        self.assertIn(f'<small class="warn">{EARLY_ZH}</small>', zh)
        self.assertIn(f"first opened on {self.when_en}, before it was dispatched", en)
        self.assertIn(f'<small class="warn">{EARLY_EN}</small>', en)
        self.assertIn(f"first opened on {self.when_en}, before it was dispatched", self.staff_page("en"))

    def test_a_draft_shipments_code_opened_by_a_shopper_warns(self):
        response = self.client.get(self.shipment.public_path, HTTP_USER_AGENT=WECHAT_UA, HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(response, "first opened on ")
        self.assertContains(response, ", before it was dispatched")
        self.assertContains(response, EARLY_EN)

    def test_a_cancelled_code_keeps_its_own_warning(self):
        services.cancel_shipment(shipment=self.shipment)
        self.scanned_first()
        en = self.page("en")
        self.assertIn(f"first opened on {self.when_en}, before it was dispatched", en)
        self.assertIn("This code was cancelled. If it was on produce you bought, please tell the store.", en)
        self.assertNotIn(EARLY_EN, en)

    def test_a_page_nobody_opened_names_no_first_scan(self):
        en = self.page("en")
        self.assertIn("Opened by 0 people<br>", en)
        self.assertNotIn("first opened", en)

    def test_the_first_scan_stage_rule(self):
        at = self.first
        stage = page_state.first_scan_stage
        hour = timedelta(hours=1)
        self.assertEqual(stage(at, dispatched_at=None, delivered_at=None), "before_dispatch")
        self.assertEqual(stage(at, dispatched_at=at + hour, delivered_at=None), "before_dispatch")
        self.assertEqual(stage(at, dispatched_at=at, delivered_at=None), "in_transit")
        self.assertEqual(stage(at, dispatched_at=at - hour, delivered_at=at + hour), "in_transit")
        self.assertEqual(stage(at, dispatched_at=at - hour, delivered_at=at), "after_arrival")

    def test_where_it_fell_is_kept_with_the_first_scan_time_not_recomputed_from_later_scans(self):
        self.move(dispatched=-timedelta(hours=20), delivered=-timedelta(hours=6), status=Shipment.Status.DELIVERED)
        self.scanned_first()
        self.page("en")  # the counter and the first scan are now in the shared cache
        later = self.client.get(self.shipment.public_path, HTTP_USER_AGENT=WECHAT_UA + " b", HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(later, f"Opened by 2 people · first opened on {self.when_en}, after it arrived")
        scans.waiting.flush()
        self.assertEqual(Scan.objects.filter(shipment=self.shipment).count(), 2)

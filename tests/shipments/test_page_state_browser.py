"""Every state of the consumer page in a phone browser (360x640, JavaScript off), in Chinese and
English: the words a shopper sees and the badges, never "genuine" or "delivered" when untrue
(shipments/page_state.py). Also the page's weight, measured from what the browser received."""

import gzip
import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.test import LiveServerTestCase
from django.utils import timezone, translation
from django.utils.formats import date_format

from farms.models import Recipe
from shipments import services
from tests.shipments.test_public_browser import ARTIFACTS, CHROMIUM_ARGS, WECHAT_UA
from tests.support import make_batch, make_crop, make_farm, make_store, make_village, requires_chromium
from traceability import services as trace
from traceability.models import Batch

GENUINE = {"zh-CN": "正品溯源码", "en-US": "Genuine traceability code"}
DELIVERED = {"zh-CN": "送达", "en-US": "Delivered to"}
LOT1, LOT2 = "XJ-WAX-20260612-001", "XJ-WAX-20260613-001"


@requires_chromium
class ConsumerPageStatesInBrowserTests(LiveServerTestCase):
    def setUp(self):
        self.village = make_village(latitude=Decimal("28.846900"), longitude=Decimal("120.728600"))
        self.crop = make_crop()
        self.farm = make_farm(self.village, certifications="绿色食品 A级")
        self.store = make_store(phone="021-6288 0101", latitude=Decimal("31.228600"), longitude=Decimal("121.448000"))
        Recipe.objects.create(title="杨梅酒", language="zh-hans", ingredients="杨梅", steps="泡").crops.add(self.crop)
        Recipe.objects.create(title="Waxberry Sorbet", language="en", ingredients="x", steps="y").crops.add(self.crop)
        self.count = 0

    def shipment(self, *, lots=1, until="delivered"):
        self.count += 1
        at = datetime(2026, 6, 12, 5, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        batches = []
        for index in range(lots):
            batch = make_batch(self.farm, self.crop, f"XJ-WAX-2026061{self.count}-00{index + 1}")
            trace.record_batch_event(batch=batch, kind="harvest", occurred_at=at, data={})
            trace.record_batch_event(batch=batch, kind="temperature", occurred_at=at, data={"temperature_c": 4.6})
            batches.append(batch)
        shipment = services.create_shipment(origin_village=self.village, store=self.store)
        for batch in batches:
            services.add_item(shipment=shipment, batch=batch, quantity=Decimal("10"))
        if until == "cancelled":
            services.cancel_shipment(shipment=shipment)
        elif until == "packed":
            services.pack_shipment(shipment=shipment)
        if until in ("dispatched", "delivered"):
            services.dispatch_shipment(shipment=shipment, when=at.replace(hour=9))
        if until == "delivered":
            services.receive_shipment(shipment=shipment, when=at.replace(hour=23))
        shipment.refresh_from_db()
        return shipment, batches

    def test_every_state_reads_true_at_360_by_640_in_both_languages(self):
        from playwright.sync_api import sync_playwright

        packed, _ = self.shipment(until="packed")
        moving, _ = self.shipment(until="dispatched")
        arrived, _ = self.shipment(until="delivered")
        void, (void_lot,) = self.shipment(until="cancelled")
        recalled, (bad, good) = self.shipment(lots=2)
        Batch.objects.filter(pk=bad.pk).update(status="recalled")
        all_recalled, (only,) = self.shipment()
        Batch.objects.filter(pk=only.pk).update(status="recalled")
        held, (tested,) = self.shipment()
        trace.record_batch_event(batch=tested, kind="quality_test", occurred_at=timezone.now(), data={"result": "fail"})
        with translation.override("zh-hans"):
            arrived_zh = date_format(datetime(2026, 6, 12).date())
        with translation.override("en"):
            arrived_en = date_format(datetime(2026, 6, 12).date())
        # state: (shipment, {language: visible texts}, genuine badge shown, texts that must not show)
        cases = {
            "preparing": (
                packed,
                {
                    "zh-CN": [
                        "正在仙居县杨梅村备货，尚未发往上海静安店",
                        "杨梅",
                        "首次打开，当时尚未发货",
                        "此码在产品发出之前就已被打开。",
                    ],
                    "en-US": [
                        "Being prepared in Xianju Waxberry Village: not yet sent to Shanghai Jing'an",
                        ", before it was dispatched",
                        "This code was first opened before the produce was sent out.",
                    ],
                },
                True,
            ),
            "on the way": (
                moving,
                {
                    "zh-CN": [
                        "正从仙居县杨梅村运往上海静安店",
                        "冷链温度：4.6 °C（1 次记录）",
                        "首次打开，当时正在运往上海静安店",
                    ],
                    "en-US": [
                        "On the way from Xianju Waxberry Village to Shanghai Jing'an",
                        "Cold chain: 4.6 °C (1 reading)",
                        ", on its way to Shanghai Jing'an",
                    ],
                },
                True,
            ),
            "arrived": (
                arrived,
                {
                    "zh-CN": [
                        f"{arrived_zh}已到达上海静安店",
                        "采摘后 18 小时到达门店",
                        "产地距上海静安店 274 公里",
                        "产自浙江省仙居县杨梅村",
                        "绿色食品 A级",
                        "首次打开，当时已到达上海静安店",
                    ],
                    "en-US": [
                        f"Arrived at Shanghai Jing'an on {arrived_en}",
                        "Harvested 18 hours before it reached the store",
                        "274 km from the village to Shanghai Jing'an",
                        "From Xianju Waxberry Village, Xianju County, Zhejiang",
                        "Green Food, grade A",
                        ", after it arrived at Shanghai Jing'an",
                    ],
                },
                True,
            ),
            "void": (
                void,
                {
                    "zh-CN": ["此溯源码无效", "请致电门店：021-6288 0101。", "此码已作废。"],
                    "en-US": ["This traceability code is not valid", "Call the store on 021-6288 0101."],
                },
                False,
            ),
            "recalled": (
                recalled,
                {
                    "zh-CN": [
                        f"召回通知：请勿食用本批到货中的杨梅 (批次 {bad.lot_code})",
                        "已召回：请勿食用",
                        "不受影响",
                        "致电门店 021-6288 0101",
                    ],
                    "en-US": [
                        f"Recall: do not eat Waxberry (lot {bad.lot_code}) from this delivery",
                        "Recalled: do not eat",
                        "✓ Not affected",
                        f"Waxberry (lot {good.lot_code}) from this delivery is not affected.",
                    ],
                },
                False,
            ),
            "recalled, its only lot": (
                all_recalled,
                {
                    "zh-CN": ["召回通知：请勿食用本批到货中的杨梅", "已召回：请勿食用", "致电门店 021-6288 0101"],
                    "en-US": ["Recall: do not eat Waxberry from this delivery", "Recalled: do not eat"],
                },
                False,
            ),
            "on hold": (
                held,
                {
                    "zh-CN": ["安全暂扣：请暂勿食用杨梅", "杨梅的质量检测不合格，产地与门店正在决定如何处理。"],
                    "en-US": ["Safety hold: please do not eat Waxberry for now", "On hold: do not eat for now"],
                },
                False,
            ),
        }
        weights, received = {}, {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                for locale in ("zh-CN", "en-US"):
                    context = browser.new_context(
                        viewport={"width": 360, "height": 640},
                        java_script_enabled=False,
                        locale=locale,
                        user_agent=WECHAT_UA,
                    )
                    page = context.new_page()
                    page.on("response", lambda response: received.__setitem__(response.url, response.body()))
                    for state, (shipment, texts, genuine) in cases.items():
                        url = self.live_server_url + shipment.public_path
                        page.goto(url)
                        main = page.locator("main")
                        for text in texts[locale]:
                            self.assertTrue(
                                main.get_by_text(text, exact=False).first.is_visible(), (state, locale, text)
                            )
                        self.assertEqual(main.get_by_text(GENUINE[locale], exact=True).count(), int(genuine), state)
                        self.assertNotIn(DELIVERED[locale], main.inner_text(), state)
                        shown = main.inner_text()
                        recipe = "杨梅酒" if locale == "zh-CN" else "Waxberry Sorbet"
                        if state == "void":  # no product, farm, lot, journey, certificate or recipe
                            self.assertEqual(page.locator("h1").count(), 0)
                            for text in (
                                "杨梅酒",
                                "Waxberry Sorbet",
                                "王家果园",
                                "Wang Family",
                                void_lot.lot_code,
                            ):
                                self.assertNotIn(text, shown, (state, locale))
                            for text in ("采摘", "Harvested", "绿色食品", "Green Food", "km", "公里"):
                                self.assertNotIn(text, shown, (state, locale))
                        if state == "recalled":  # the recalled lot's recipes go; the sound lot keeps them
                            self.assertIn(recipe, shown)
                        if state == "recalled, its only lot":  # its recipes go with it
                            self.assertNotIn(recipe, shown)
                            self.assertNotIn("不受影响" if locale == "zh-CN" else "Not affected", shown)
                        # Places never repeat ("Xianju County, Xianju County"; 仙居县仙居县).
                        self.assertNotIn("Xianju County, Xianju County", shown)
                        self.assertNotIn("仙居县仙居县", shown)
                        self.assertLessEqual(main.bounding_box()["width"], 360)
                        weights[(state, locale)] = len(gzip.compress(received[url], 6))
                    context.close()
            finally:
                browser.close()
        # Besides the six pages the browser fetched one thing: the page's stylesheet (no inline style
        # under the Content-Security-Policy), cached after the first page. Page + CSS under 30 KB.
        stylesheets = [url for url in received if url.endswith(".css")]
        self.assertEqual((len(received), len(stylesheets)), (len(cases) + 1, 1), sorted(received))
        css = len(gzip.compress(received[stylesheets[0]], 6))
        self.assertLess(max(weights.values()) + css, 30 * 1024, (weights, css))
        ARTIFACTS.mkdir(exist_ok=True)  # the figures for docs/performance.md
        (ARTIFACTS / "page_weights.json").write_text(json.dumps({f"{s} {lang}": n for (s, lang), n in weights.items()}))

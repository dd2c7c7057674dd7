from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.test import LiveServerTestCase
from django.utils import translation
from django.utils.translation import gettext

from farms.models import Recipe
from tests.support import (
    make_batch,
    make_crop,
    make_delivered_shipment,
    make_farm,
    make_field,
    make_village,
    requires_chromium,
)
from traceability import services as trace

WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126 Mobile "
    "MicroMessenger/8.0.49 NetType/WIFI Language/zh_CN"
)
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@requires_chromium
class ConsumerPageInBrowserTests(LiveServerTestCase):
    def setUp(self):
        village = make_village(
            story_zh="仙居县地处浙东南，杨梅种植已有两千年历史。每年六月，满山杨梅由村民手工采摘。",
            story_en="Xianju, in south-east Zhejiang, has grown waxberries for two thousand years. "
            "Every June the villagers pick them by hand.",
        )
        crop = make_crop(variety_zh="东魁", variety_en="Dongkui", storage_advice_zh="0–5 °C 冷藏，两天内吃完为佳。")
        crop.storage_advice_en = "Keep at 0–5 °C and eat within two days."
        crop.save()
        farm = make_farm(village, certifications="绿色食品 A级\n有机产品认证")
        batch = make_batch(farm, crop, "XJ-WAX-20260612-001", field=make_field(farm, name_en="East Slope"))
        at = datetime(2026, 6, 12, 5, 40, tzinfo=ZoneInfo("Asia/Shanghai"))
        for hours, kind, data in (
            (0, "harvest", {"temperature_c": 23.5}),
            (2, "cooling", {"temperature_c": 4}),
            (4, "packing", {}),
            (
                5,
                "quality_test",
                {"test": "农药残留快检", "test_en": "Pesticide residue", "result": "pass", "lab": "仙居县农检站"},
            ),
        ):
            trace.record_batch_event(batch=batch, kind=kind, occurred_at=at + timedelta(hours=hours), data=data)
        for title, language in (("杨梅酒", "zh-hans"), ("冰糖杨梅", "zh-hans"), ("Waxberry Sorbet", "en")):
            Recipe.objects.create(
                title=title, language=language, ingredients="杨梅 500 g\n冰糖 100 g", steps="洗净\n加糖\n冷藏"
            ).crops.add(crop)
        self.shipment = make_delivered_shipment(batches=[batch])

    def test_the_page_reads_well_at_360_by_640_with_javascript_off(self):
        from playwright.sync_api import sync_playwright

        ARTIFACTS.mkdir(exist_ok=True)
        url = self.live_server_url + self.shipment.public_path
        with translation.override("zh-hans"):
            genuine_zh = gettext("Genuine traceability code")
        with translation.override("en"):
            genuine_en = gettext("Genuine traceability code")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(
                    viewport={"width": 360, "height": 640},
                    java_script_enabled=False,
                    device_scale_factor=2,
                    locale="zh-CN",
                    user_agent=WECHAT_UA,
                )
                page = context.new_page()
                page.goto(url)
                for text in ("仙居县杨梅村", "王家果园", "2026年6月12日", "杨梅酒", genuine_zh):
                    self.assertTrue(page.locator("main").get_by_text(text).first.is_visible(), text)
                self.assertEqual(page.locator("h1").inner_text(), "杨梅")
                self.assertLessEqual(page.locator("main").bounding_box()["width"], 360)
                page.screenshot(path=str(ARTIFACTS / "consumer_page_zh.png"), full_page=True)
                page.get_by_text("English").click()  # a plain link: works with JavaScript off
                for text in ("Xianju Waxberry Village", "Wang Family Orchard", "June 12, 2026", "Waxberry Sorbet"):
                    self.assertTrue(page.locator("main").get_by_text(text).first.is_visible(), text)
                self.assertTrue(page.locator("main").get_by_text(genuine_en).is_visible())
                page.screenshot(path=str(ARTIFACTS / "consumer_page_en.png"), full_page=True)
                page.goto(self.live_server_url + "/s/ABCDEFGHJKLMNPQR")
                page.screenshot(path=str(ARTIFACTS / "consumer_page_404_en.png"), full_page=True)
            finally:
                browser.close()
        self.assertTrue((ARTIFACTS / "consumer_page_zh.png").stat().st_size > 10_000)

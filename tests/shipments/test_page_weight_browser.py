"""The consumer page's weight and speed with every photo it can show, measured in Chromium at
360x640 on an emulated slow 3G connection (the issue's budget, docs/performance.md):

- the page's HTML and its CSS under 30 KB compressed;
- what the first screen needs (the HTML, the CSS and the photos on it: the product's) under
  100 KB, at 1x and 2x; at 1x that is also all the browser fetched by the load event;
- ready in under 2 s: the first screen painted in full (Largest Contentful Paint, the product
  photo) under 2 s at 1x and 2x, and at 1x the load event too (medians of cold visits).

The connection: Chrome DevTools' "Regular 3G"-like 400 kbit/s down and up, 400 ms round trip,
browser cache off, through CDP Network.emulateNetworkConditions. The live test server sends the
HTML uncompressed (nginx compresses in production), so the timing is the pessimistic one."""

import gzip
import json
import re
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import LiveServerTestCase

from farms.models import Recipe
from tests.farms.photos import phone_photo
from tests.shipments.test_public_browser import ARTIFACTS, CHROMIUM_ARGS, WECHAT_UA
from tests.support import (
    make_batch,
    make_crop,
    make_delivered_shipment,
    make_farm,
    make_field,
    make_village,
    requires_chromium,
    temporary_media,
)
from traceability import services as trace

KBIT = 1000 / 8  # bytes per second per kbit/s
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400 * KBIT,
    "uploadThroughput": 400 * KBIT,
    "connectionType": "cellular3g",
}
# When the largest element of the first screen was painted (the buffered LCP entries so far).
LCP = """new Promise(done => new PerformanceObserver(list => {
    const entries = list.getEntries(); done(entries[entries.length - 1].startTime);
}).observe({type: "largest-contentful-paint", buffered: true}))"""
BUDGET = {"page_and_css_gzip": 30 * 1024, "first_screen": 100 * 1024, "load_s": 2.0}


def upload(name: str, **options) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, phone_photo(**options), content_type="image/jpeg")


@requires_chromium
class PageWeightOnSlow3GTests(LiveServerTestCase):
    def setUp(self):
        temporary_media(self)
        # Phone photos of about 7 MB whose renditions weigh what real photos' do (tests/farms/photos.py).
        photo = {"width": 4000, "height": 3000, "grain": 40, "quality": 95, "texture": 0.3}
        village = make_village(
            story_zh="仙居县地处浙东南，杨梅种植已有两千年历史。每年六月，满山杨梅由村民手工采摘。",
            story_en="Xianju, in south-east Zhejiang, has grown waxberries for two thousand years.",
        )
        village.photo.save("village.jpg", upload("village.jpg", **photo))
        crop = make_crop(variety_zh="东魁", variety_en="Dongkui", storage_advice_zh="0–5 °C 冷藏，两天内吃完为佳。")
        crop.photo.save("waxberry.jpg", upload("waxberry.jpg", **photo))
        farm = make_farm(village, certifications="绿色食品 A级\n有机产品认证")
        farm.photo.save("orchard.jpg", upload("orchard.jpg", **photo))
        batch = make_batch(farm, crop, "XJ-WAX-20260612-001", field=make_field(farm, name_en="East Slope"))
        at = datetime(2026, 6, 12, 5, 40, tzinfo=ZoneInfo("Asia/Shanghai"))
        for hours, kind, data in (
            (0, "harvest", {"temperature_c": 23.5}),
            (2, "cooling", {"temperature_c": 4}),
            (4, "packing", {}),
        ):
            trace.record_batch_event(batch=batch, kind=kind, occurred_at=at + timedelta(hours=hours), data=data)
        test = {"test": "农药残留快检", "result": "pass", "lab": "仙居县农检站"}
        report = upload("report.jpg", **{**photo, "width": 3000, "height": 4000})
        trace.record_batch_event(
            batch=batch, kind="quality_test", occurred_at=at + timedelta(hours=5), data=test, photo=report
        )
        for title in ("杨梅酒", "冰糖杨梅", "杨梅汁"):
            recipe = Recipe.objects.create(
                title=title, language="zh-hans", ingredients="杨梅 500 g", steps="洗净\n冷藏"
            )
            recipe.photo.save(f"{title}.jpg", upload("recipe.jpg", **photo))
            recipe.crops.add(crop)
        self.shipment = make_delivered_shipment(batches=[batch])

    def measure(self, browser, scale: int) -> dict:
        """One cold visit (browser cache off): what was transferred (CDP encodedDataLength,
        headers included) by the load event, what the first screen shows, what a visit scrolled to
        the end transferred, and the time to the load event (Navigation Timing)."""
        context = browser.new_context(
            viewport={"width": 360, "height": 640}, device_scale_factor=scale, locale="zh-CN", user_agent=WECHAT_UA
        )
        try:
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            cdp.send("Network.emulateNetworkConditions", SLOW_3G)
            urls, done = {}, {}
            cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
            cdp.on("Network.loadingFinished", lambda e: done.__setitem__(e["requestId"], e["encodedDataLength"]))
            page.goto(self.live_server_url + self.shipment.public_path, wait_until="load")
            load_s = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000
            lcp_s = page.evaluate(LCP) / 1000
            page.wait_for_timeout(200)  # the last CDP events of what finished before the load event
            by_load = {urls[r]: n for r, n in done.items()}
            first_screen = page.evaluate(
                "[...document.images].filter(i => i.getBoundingClientRect().top < innerHeight).map(i => i.currentSrc)"
            )
            hero = page.locator(".hero img")
            hero_box, hero_src = hero.bounding_box(), hero.evaluate("img => img.currentSrc")
            pictures = page.locator("picture").count()
            card = page.locator("#authenticity b").bounding_box()  # "Genuine traceability code"
            page.locator("footer").scroll_into_view_if_needed()
            page.wait_for_load_state("networkidle")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"consumer_page_photos_{scale}x.png"), full_page=True)
            everything = {urls[r]: n for r, n in done.items()}
            above = {u: n for u, n in everything.items() if u in first_screen or not re.search(r"\.(webp|jpg)$", u)}
            return {
                "scale": scale,
                "load_s": round(load_s, 3),
                "lcp_s": round(lcp_s, 3),
                "by_load": by_load,
                "above": above,
                "everything": everything,
                "hero": (hero_box, hero_src),
                "pictures": pictures,
                "card": card,
            }
        finally:
            context.close()

    def test_the_page_with_every_photo_stays_within_the_budget_on_slow_3g(self):
        from playwright.sync_api import sync_playwright

        page_url = self.live_server_url + self.shipment.public_path
        html = urllib.request.urlopen(page_url).read()  # rendered and kept, as a shopper finds it
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                runs = [self.measure(browser, scale) for scale in (1, 1, 1, 2, 2, 2)]
            finally:
                browser.close()
        figures = {"runs": []}
        for run in runs:
            self.assertEqual(run["pictures"], 7)  # product, village, farm, report, three recipes
            # The product photo is on the first screen, the 480 (1x) or 720 (2x) px WebP rendition.
            box, src = run["hero"]
            self.assertLess(box["y"] + box["height"], 640, box)
            self.assertTrue(src.endswith({1: ".480w.webp", 2: ".720w.webp"}[run["scale"]]), src)
            self.assertIn(src, run["by_load"])
            # The photo does not push the authenticity card's verdict off the first screen.
            self.assertLessEqual(run["card"]["y"] + run["card"]["height"], 640, run["card"])
            # Nothing but the page, its stylesheet and renditions; never a stored copy.
            for url in run["everything"]:
                self.assertRegex(url, r"(/s/|\.css$|\.\d+w\.(webp|jpg)$)", url)
            figures["runs"].append(
                {
                    "scale": run["scale"],
                    "load_event_s": run["load_s"],
                    "largest_contentful_paint_s": run["lcp_s"],
                    "first_screen_bytes": sum(run["above"].values()),
                    "by_load_bytes": sum(run["by_load"].values()),
                    "by_load": {u.rsplit("/", 1)[-1]: n for u, n in run["by_load"].items()},
                    "whole_page_bytes": sum(run["everything"].values()),
                    "whole_page_requests": len(run["everything"]),
                }
            )
        for run in figures["runs"]:
            self.assertLess(run["first_screen_bytes"], BUDGET["first_screen"], figures)
        # 360x640 at 1x: the median of three cold visits. (At 2x Chromium also fetches the lazy photos
        # below the fold before the load event: recorded, see docs/performance.md.)
        one_x = sorted(run["load_event_s"] for run in figures["runs"] if run["scale"] == 1)
        self.assertLess(one_x[1], BUDGET["load_s"], figures)
        # Ready at 1x and 2x: the first screen, product photo included, painted within the budget.
        for scale in (1, 2):
            painted = sorted(run["largest_contentful_paint_s"] for run in figures["runs"] if run["scale"] == scale)
            self.assertLess(painted[1], BUDGET["load_s"], figures)
        self.assertLess(figures["runs"][0]["by_load_bytes"], BUDGET["first_screen"], figures)
        # The HTML and the CSS, compressed (gzip level 6).
        css = urllib.request.urlopen(next(u for u in runs[0]["by_load"] if u.endswith(".css"))).read()
        figures["page_bytes"], figures["css_bytes"] = len(html), len(css)
        figures["page_and_css_gzip_bytes"] = len(gzip.compress(html, 6)) + len(gzip.compress(css, 6))
        self.assertLess(figures["page_and_css_gzip_bytes"], BUDGET["page_and_css_gzip"], figures)
        ARTIFACTS.mkdir(exist_ok=True)  # the figures for docs/performance.md
        (ARTIFACTS / "page_weight_3g.json").write_text(json.dumps(figures, indent=1))

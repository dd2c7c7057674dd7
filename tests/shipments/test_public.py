import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.test import SimpleTestCase, TestCase
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from farms.models import Recipe
from shipments import public, scans
from shipments.models import Scan, Shipment
from shipments.useragents import client_family, is_bot
from tests.support import (
    make_batch,
    make_crop,
    make_delivered_shipment,
    make_farm,
    make_field,
    make_user,
    make_village,
)
from traceability import services as trace
from traceability.models import Batch, EventBatch
from traceability.signals import announce

SHANGHAI = ZoneInfo("Asia/Shanghai")
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN"
)
ANDROID_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126 Mobile"
PHONE = "13800000000"
GROWER = "王建国"
FARM_NOTE = "欠款两千元未结"
BATCH_NOTE = "internal: sorted twice"
SHIPMENT_NOTE = "driver paid in cash"


def t(language: str, message: str) -> str:
    with translation.override(language):
        return gettext(message)


def scans_text(language: str, count: int) -> str:
    with translation.override(language):
        return ngettext("Opened by %(counter)s person", "Opened by %(counter)s people", count) % {"counter": count}


class ConsumerPageTests(TestCase):
    """alice records the farm's events; the shopper scans the shipment's QR."""

    def setUp(self):
        self.village = make_village(
            story_zh="仙居种杨梅已有两千年。", story_en="Xianju has grown waxberries for two thousand years."
        )
        self.crop = make_crop(storage_advice_zh="冷藏，两天内吃完", storage_advice_en="Keep cold, eat within two days")
        self.farm = make_farm(
            self.village,
            grower_name=GROWER,
            contact_phone=PHONE,
            notes=FARM_NOTE,
            certifications="绿色食品 A级\n有机产品认证",
        )
        field = make_field(self.farm, name_en="East Slope")
        self.alice = make_user("alice", role="farmer", village=self.village, email="alice@example.cn")
        self.first = make_batch(self.farm, self.crop, "XJ-WAX-20260612-001", field=field, notes=BATCH_NOTE)
        self.second = make_batch(self.farm, self.crop, "XJ-WAX-20260613-001", harvested_on=datetime(2026, 6, 13).date())
        at = datetime(2026, 6, 12, 6, 30, tzinfo=SHANGHAI)
        record = trace.record_batch_event
        record(batch=self.first, kind="harvest", occurred_at=at, actor=self.alice, data={"temperature_c": 24})
        wrong, _ = record(
            batch=self.first, kind="cooling", occurred_at=at + timedelta(hours=2), data={"temperature_c": 19}
        )
        trace.record_event(
            kind="correction",
            village=self.village,
            occurred_at=at + timedelta(hours=3),
            lines=[(self.first, EventBatch.Role.SUBJECT, None, "")],
            corrects=wrong,
            correction_reason="incorrect_data",
        )
        record(batch=self.first, kind="cooling", occurred_at=at + timedelta(hours=2), data={"temperature_c": 4})
        record(batch=self.first, kind="packing", occurred_at=at + timedelta(hours=4), actor=self.alice)
        record(
            batch=self.first,
            kind="quality_test",
            occurred_at=at + timedelta(hours=5),
            data={
                "test": "农药残留快检",
                "test_en": "Pesticide residue screen",
                "result": "pass",
                "lab": "仙居县农检站",
            },
        )
        record(batch=self.second, kind="harvest", occurred_at=at + timedelta(days=1), data={"temperature_c": 22})
        zh = Recipe.objects.create(title="杨梅汁", language="zh-hans", ingredients="杨梅\n冰糖", steps="洗净\n煮十分钟")
        en = Recipe.objects.create(
            title="Waxberry Juice", language="en", ingredients="Waxberries\nRock sugar", steps="Rinse\nSimmer 10 min"
        )
        other = make_crop("TEA", name_zh="龙井", name_en="Longjing tea")
        Recipe.objects.create(title="龙井虾仁", language="zh-hans", ingredients="虾仁", steps="炒").crops.add(other)
        for recipe in (zh, en):
            recipe.crops.add(self.crop)
        self.shipment = make_delivered_shipment(batches=[self.first, self.second])
        Shipment.objects.filter(pk=self.shipment.pk).update(notes=SHIPMENT_NOTE)
        self.url = self.shipment.public_path

    def get(self, url=None, **headers):
        return self.client.get(url or self.url, headers={"User-Agent": WECHAT_UA, **headers})

    def test_the_default_page_is_chinese_with_village_crop_harvest_dates_journey_and_chinese_recipes(self):
        response = self.get()
        html = response.content.decode()
        self.assertEqual(response.status_code, 200)
        self.assertIn('<html lang="zh-hans">', html)
        for text in (
            "仙居县杨梅村",
            "仙居种杨梅已有两千年。",
            "<h1>杨梅</h1>",
            "王家果园",
            "东坡地",
            "2026年6月12日",
            "2026年6月13日",
            "XJ-WAX-20260612-001",
            "XJ-WAX-20260613-001",
            "绿色食品 A级",
            "有机产品认证",
            "农药残留快检",
            "仙居县农检站",
            "杨梅汁",
            "冷藏，两天内吃完",
            "上海静安店",
            t("zh-hans", "Genuine traceability code"),
        ):
            self.assertIn(text, html)
        self.assertNotIn("Waxberry Juice", html)
        self.assertNotIn("龙井虾仁", html)
        self.assertNotIn(t("zh-hans", "Recall: do not eat this product"), html)

    def test_the_journey_shows_the_corrected_record_with_temperatures_in_order(self):
        html = self.get().content.decode()
        first_lot = html[html.index("XJ-WAX-20260612-001") : html.index("XJ-WAX-20260613-001")]
        labels = [t("zh-hans", label) for label in ("Harvested", "Cooled", "Packed", "Quality tested")]
        labels += [t("zh-hans", "Dispatched"), t("zh-hans", "Arrived at the store")]
        positions = [first_lot.index(f"<b>{label}</b>") for label in labels]
        self.assertEqual(positions, sorted(positions))
        self.assertIn("24.0 °C", first_lot)
        self.assertIn("4.0 °C", first_lot)
        self.assertNotIn("19.0 °C", html)  # the cooling reading that a correction declared wrong
        self.assertIn("6月12日 08:30", first_lot)  # 06:30 + 2h, Shanghai time

    def test_english_comes_from_accept_language_with_english_names_dates_and_recipes(self):
        response = self.get(**{"Accept-Language": "en-GB,en;q=0.9"})
        html = response.content.decode()
        self.assertIn('<html lang="en">', html)
        for text in (
            "Xianju Waxberry Village",
            "Xianju has grown waxberries for two thousand years.",
            "<h1>Waxberry</h1>",
            "Wang Family Orchard",
            "East Slope",
            "June 12, 2026",
            "Pesticide residue screen",
            "Waxberry Juice",
            "Keep cold, eat within two days",
            "Shanghai Jing&#x27;an",
            gettext("Genuine traceability code"),
        ):
            self.assertIn(text, html)
        self.assertNotIn("杨梅汁", html)
        self.assertEqual(response["Content-Language"], "en")

    def test_an_english_visitor_gets_the_chinese_recipes_when_there_are_no_english_ones(self):
        Recipe.objects.filter(language="en").delete()
        html = self.get(**{"Accept-Language": "en"}).content.decode()
        self.assertIn("杨梅汁", html)
        self.assertIn(t("en", "Recipes in Chinese only for now."), html)

    def test_the_language_switch_works_without_javascript_and_is_remembered_but_not_counted(self):
        html = self.get().content.decode()
        self.assertIn('<a href="?lang=en" hreflang="en" lang="en">English</a>', html)
        response = self.get(self.url + "?lang=en")
        self.assertIn('<html lang="en">', response.content.decode())
        self.assertEqual(response.cookies["django_language"].value, "en")
        again = self.get()  # the test client sends the cookie back
        self.assertIn('<html lang="en">', again.content.decode())
        self.assertContains(again, scans_text("en", 1))  # the same person all along
        scans.waiting.flush()
        self.assertEqual(list(Scan.objects.values_list("language", flat=True).order_by("id")), ["zh-hans"])

    def test_uppercase_and_lowercase_urls_both_find_the_shipment(self):
        code = self.shipment.public_code
        self.assertContains(self.get(f"/S/{code}"), "仙居县杨梅村")
        self.assertContains(self.get(f"/s/{code.lower()}"), "仙居县杨梅村")

    def test_private_data_never_appears(self):
        html = self.get().content.decode() + self.get(**{"Accept-Language": "en"}).content.decode()
        for private in (PHONE, GROWER, FARM_NOTE, BATCH_NOTE, SHIPMENT_NOTE, "alice", "@example.cn"):
            self.assertNotIn(private, html)
        # No integer ids: the only id attributes are the named anchors GS1 Digital Link points to,
        # and no link but the language switch (one per page).
        self.assertEqual(
            set(re.findall(r' id="([^"]*)"', html)), {"state", "authenticity", "journey", "quality", "recipes"}
        )
        self.assertEqual(re.findall(r'<a href="([^"]*)"', html), ["?lang=en", "?lang=zh-hans"])

    def test_a_recall_shows_a_warning_at_once_and_it_goes_when_the_batch_is_restored(self):
        warning = t("zh-hans", "Recalled: do not eat")
        self.assertNotIn(warning, self.get().content.decode())  # now cached
        with self.captureOnCommitCallbacks(execute=True):
            Batch.objects.filter(pk=self.second.pk).update(status="recalled")
            announce([self.second.pk])
        html = self.get().content.decode()
        self.assertIn(warning, html)
        self.assertIn('role="alert"', html)
        self.assertIn(
            "召回通知：请勿食用本批到货中的杨梅 (批次 XJ-WAX-20260613-001)",
            html[html.index('role="alert"') : html.index("</section>")],
        )
        with self.captureOnCommitCallbacks(execute=True):
            Batch.objects.filter(pk=self.second.pk).update(status="packed")
            announce([self.second.pk])
        html = self.get().content.decode()
        self.assertNotIn(warning, html)
        self.assertNotIn('role="alert"', html)

    def test_a_batch_on_hold_shows_the_safety_hold_warning(self):
        with self.captureOnCommitCallbacks(execute=True):
            Batch.objects.filter(pk=self.first.pk).update(status="on_hold")
            announce([self.first.pk])
        html = self.get(**{"Accept-Language": "en"}).content.decode()
        self.assertIn("<h2>Safety hold: please do not eat Waxberry (lot XJ-WAX-20260612-001) for now</h2>", html)
        self.assertIn('<p class="badge bad">On hold: do not eat for now</p>', html)
        self.assertIn('<p class="badge ok">✓ Not affected</p>', html)
        self.assertNotIn("Genuine traceability code", html)

    def test_query_counts_are_pinned_uncached_and_cached(self):
        # shipment, items with batches, effective events, recipes; then, as no counter is cached
        # yet, the waiting scan's insert and the scan totals
        with self.assertNumQueries(6):
            self.get()
        with self.assertNumQueries(0):  # the scan's row waits for its batch (shipments.scans)
            response = self.get(**{"User-Agent": WECHAT_UA + " another shopper"})
        self.assertContains(response, scans_text("zh-hans", 2))
        with self.assertNumQueries(0):
            self.client.head(self.url)

    def test_head_requests_and_preview_bots_are_not_counted(self):
        self.get()
        self.client.head(self.url, headers={"User-Agent": WECHAT_UA})
        for bot in (
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "TelegramBot (like TwitterBot)",
            "WhatsApp/2.23.20.0",
            "Twitterbot/1.0",
            "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        ):
            response = self.client.get(self.url, headers={"User-Agent": bot})
            self.assertEqual(response.status_code, 200)
        scans.waiting.flush()
        self.assertEqual(Scan.objects.count(), 1)
        self.assertContains(response, scans_text("zh-hans", 1))

    def test_the_page_asks_browsers_to_revalidate_and_varies_on_language(self):
        response = self.get()
        self.assertEqual(response["Cache-Control"], "no-cache, private, max-age=0, must-revalidate")
        vary = {part.strip() for part in response["Vary"].split(",")}
        self.assertTrue({"Accept-Language", "Cookie"} <= vary)
        self.assertEqual(response["Content-Language"], "zh-hans")
        self.assertEqual(response["Content-Type"], "text/html; charset=utf-8")

    def test_the_page_is_small_and_self_contained(self):
        html = self.get().content.decode()
        self.assertLess(len(html.encode()), 30_000)
        self.assertNotIn("<script", html)
        self.assertNotIn("http://", html.replace("http://www.w3.org", ""))
        self.assertNotIn("https://", html)
        self.assertNotIn("@font-face", html)

    def test_a_scan_long_after_the_shelf_life_warns_that_the_label_may_be_copied(self):
        warning = t(
            "zh-hans",
            "This produce should have been eaten long ago. If you bought it recently, the label may be a copy: "
            "please tell the store.",
        )
        self.assertNotIn(warning, self.get().content.decode())
        # Waxberries are fruit: 21 days after arrival a scan looks wrong.
        Shipment.objects.filter(pk=self.shipment.pk).update(delivered_at=timezone.now() - timedelta(days=22))
        cache.clear()
        self.assertIn(warning, self.get().content.decode())

    def test_only_get_and_head_are_allowed(self):
        response = self.client.post(self.url)
        self.assertEqual(response.status_code, 405)
        scans.waiting.flush()
        self.assertEqual(Scan.objects.count(), 0)


class QualityResultTests(SimpleTestCase):
    def test_results_in_either_language_or_both_read_as_passed_or_failed(self):
        with translation.override("en"):
            texts = [public._result(value)["text"] for value in ("pass", "合格 pass", "不合格", "FAILED", "3.2 mg/kg")]
        self.assertEqual(texts, ["Passed", "Passed", "Failed", "Failed", "3.2 mg/kg"])
        self.assertIsNone(public._result(""))


class UserAgentTests(SimpleTestCase):
    def test_clients_are_reduced_to_a_coarse_family(self):
        cases = {
            WECHAT_UA: "wechat",
            "Mozilla/5.0 (Linux; Android 13) AlipayClient/10.5.36 Mobile": "alipay",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1": "ios",
            ANDROID_UA: "android",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126 Safari/537.36": "desktop",
            "": "other",
        }
        self.assertEqual({ua: client_family(ua) for ua in cases}, cases)

    def test_preview_fetchers_are_bots_and_browsers_are_not(self):
        self.assertEqual(
            [is_bot(ua) for ua in ("WhatsApp/2.23.20.0", "Mozilla/5.0 (compatible; WeChat link preview)", WECHAT_UA)],
            [True, True, False],
        )


class NotFoundTests(TestCase):
    def test_an_unknown_code_answers_a_friendly_404_in_chinese_with_one_query(self):
        with self.assertNumQueries(1):
            response = self.client.get("/s/ABCDEFGHJKLMNPQR")
        self.assertEqual(response.status_code, 404)
        html = response.content.decode()
        self.assertIn('<html lang="zh-hans">', html)
        self.assertIn(t("zh-hans", "We could not find this code"), html)
        self.assertEqual(response["Cache-Control"], "no-cache, private, max-age=0, must-revalidate")

    def test_an_unknown_code_answers_in_english_for_an_english_visitor(self):
        response = self.client.get("/s/ABCDEFGHJKLMNPQR", headers={"Accept-Language": "en-US"})
        self.assertEqual(response.status_code, 404)
        self.assertIn('<html lang="en">', response.content.decode())
        self.assertIn(gettext("We could not find this code"), response.content.decode())

    def test_a_malformed_code_answers_404_without_touching_the_database(self):
        for path in ("/s/hello", "/s/ABCDEFGHJKLMNPQ0", "/s/ABCDEFGHJKLMNPQRS", "/S/%E6%9D%A8%E6%A2%85"):
            with self.assertNumQueries(0):
                response = self.client.get(path)
            self.assertEqual(response.status_code, 404)
            self.assertIn(t("zh-hans", "We could not find this code"), response.content.decode())
        scans.waiting.flush()
        self.assertEqual(Scan.objects.count(), 0)

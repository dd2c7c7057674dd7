"""The farmer's offline app in headless Chromium at a phone's 360x640: records made with no signal
survive a reload, are sent once each with the time they happened when the signal returns (also
when it drops mid-way and when an answer is lost and the record is sent again), a record the
server refuses is shown with its reason and can be fixed or dropped, a batch registered offline
gets its lot code when it is sent, an ended sign-in asks for a new one and then sends, and one
farmer's records on a shared phone are not sent as another's."""

import io
import os
import time
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.sessions.models import Session
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.core.files.storage import default_storage
from PIL import Image
from playwright.sync_api import expect

from tests.support import (
    make_batch,
    make_crop,
    make_farm,
    make_field,
    make_user,
    make_village,
    requires_chromium,
    temporary_media,
)
from traceability import services
from traceability.models import Batch, TraceEvent

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOT = "XJ-WAX-20260612-001"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def camera_photo(width: int = 3000, height: int = 2000) -> bytes:
    """What a phone's camera gives: a big JPEG (a few hundred kilobytes of noise-free colour)."""
    image = Image.new("RGB", (width, height), (200, 120, 40))
    for x in range(0, width, 100):
        image.paste((40, 120, 200), (x, 0, x + 50, height))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@requires_chromium
class OfflineBrowserTestCase(StaticLiveServerTestCase):
    @classmethod
    def setUpClass(cls):
        # Playwright's sync API runs an event loop in this thread; the ORM calls stay synchronous.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        super().setUpClass()
        from playwright.sync_api import sync_playwright

        cls.playwright = sync_playwright().start()
        cls.browser = cls.playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.playwright.stop()
        super().tearDownClass()
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    def setUp(self):
        temporary_media(self)
        self.village = make_village("XJ")
        self.farm = make_farm(self.village)
        self.field = make_field(self.farm)
        self.crop = make_crop("WAX")
        self.batch = make_batch(self.farm, self.crop, LOT, quantity="120", status="growing", harvested_on=None)
        self.alice = make_user("alice", role="farmer", village=self.village)

    def phone(self):
        """A new phone (its own storage, service worker and outbox), in Chinese, in China."""
        context = self.browser.new_context(
            viewport={"width": 360, "height": 640}, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        self.addCleanup(context.close)
        page = context.new_page()
        page.set_default_timeout(20000)
        page.on("dialog", lambda dialog: dialog.accept())
        return context, page

    def url(self, path: str) -> str:
        return self.live_server_url + path

    def log_in(self, page, username: str, next_path: str = "/") -> None:
        page.goto(self.url(f"/accounts/login/?next={next_path}"))
        page.fill("#id_username", username)
        page.fill("#id_password", f"pw-{username}")
        page.click("button.btn.big")
        page.wait_for_url(self.url(next_path))

    def ready_for_the_field(self, page) -> None:
        """The farmer opened the app once with signal: the worker runs and the pages are kept."""
        page.goto(self.url("/batches/"))
        page.wait_for_selector('#offline[data-ready="1"]', state="attached")

    def record(self, page, kind: str, when: str, lot: str = LOT, **fields) -> None:
        page.goto(self.url(f"/batches/{lot}/record/{kind}/"))
        page.wait_for_selector("form[data-outbox]")
        page.fill("#id_occurred_at", when)
        for name, value in fields.items():
            if name == "photo":
                page.set_input_files(
                    "#id_photo", files=[{"name": "report.jpg", "mimeType": "image/jpeg", "buffer": value}]
                )
            elif name == "result":
                page.select_option("#id_result", value)
            else:
                page.fill(f"#id_{name}", value)
        page.click("button.btn.big")
        page.wait_for_url("**/batches/outbox/?saved=*")

    def states(self, page) -> dict[str, int]:
        return page.evaluate(
            """() => FarmOutbox.all().then(all => all.reduce((n, r) => (n[r.state] = (n[r.state] || 0) + 1, n), {}))"""
        )

    def wait_for_states(self, page, expected: dict[str, int], seconds: float = 20) -> None:
        """Until the phone's outbox holds `expected` ({state: count}); fails with what it holds."""
        deadline = time.monotonic() + seconds
        while (states := self.states(page)) != expected and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        self.assertEqual(states, expected)

    def harvested_on_the_server(self) -> None:
        """The lot's harvest, recorded before (cooling and the rest follow a harvest)."""
        services.record_batch_event(
            batch=self.batch, kind="harvest", occurred_at=at("2026-06-12T06:00"), quantity=Decimal("100")
        )

    def events(self) -> list[tuple]:
        """What the phone sent: the events recorded by someone (not the harvest made beforehand),
        registrations aside (every registered lot has one)."""
        recorded = TraceEvent.objects.filter(actor__isnull=False).exclude(kind="registration").order_by("occurred_at")
        return list(recorded.values_list("kind", "occurred_at", "actor__username"))


class OfflineDayTests(OfflineBrowserTestCase):
    def test_records_made_with_no_signal_survive_a_reload_and_are_sent_once_with_their_times(self):
        context, page = self.phone()
        self.log_in(page, "alice")
        self.ready_for_the_field(page)
        context.set_offline(True)
        self.record(page, "harvest", "2026-06-12T06:30", quantity="118.5")
        self.record(page, "cooling", "2026-06-12T08:10", temperature_c="3.5")
        self.record(page, "quality_test", "2026-06-12T09:45", result="pass", lab="仙居县农检站", photo=camera_photo())
        page.reload()
        page.wait_for_selector("#outbox-waiting li[data-record]")
        self.assertEqual(page.locator("#outbox-waiting li[data-record]").count(), 3)
        self.assertEqual(
            page.locator("#outbox-waiting li[data-record] strong").all_inner_texts(),
            [f"采收 · {LOT}", f"预冷 · {LOT}", f"质量检测 · {LOT}"],
        )
        self.assertEqual(self.states(page), {"waiting": 3})
        self.assertEqual(TraceEvent.objects.count(), 0)

        context.set_offline(False)
        self.wait_for_states(page, {"sent": 3})
        self.assertEqual(
            self.events(),
            [
                ("harvest", at("2026-06-12T06:30"), "alice"),
                ("cooling", at("2026-06-12T08:10"), "alice"),
                ("quality_test", at("2026-06-12T09:45"), "alice"),
            ],
        )
        harvest, cooling, test = TraceEvent.objects.order_by("occurred_at")
        self.assertEqual(harvest.lines.get().quantity, 118.5)
        self.assertEqual(cooling.data, {"temperature_c": 3.5})
        with default_storage.open(test.data["photo"]) as photo:
            self.assertEqual(Image.open(photo).size, (1600, 1067))  # shrunk on the phone
        self.batch.refresh_from_db()
        self.assertEqual(self.batch.status, "harvested")

    def test_records_are_sent_once_when_the_signal_drops_mid_way_and_when_an_answer_is_lost(self):
        context, page = self.phone()
        self.log_in(page, "alice")
        self.ready_for_the_field(page)
        context.set_offline(True)
        self.record(page, "harvest", "2026-06-12T06:30", quantity="100")
        self.record(page, "cooling", "2026-06-12T08:10", temperature_c="4")
        self.record(page, "temperature", "2026-06-12T12:00", temperature_c="5.5")
        posts = []

        def drop_the_second(route):
            posts.append(route.request.post_data_json["kind"])
            if len(posts) == 2:
                context.set_offline(True)  # the signal goes while the second record is on its way
                route.abort("internetdisconnected")
            else:
                route.continue_()

        context.route("**/api/v1/events/", drop_the_second)
        context.set_offline(False)
        deadline = time.monotonic() + 20
        while len(posts) < 2 and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        self.wait_for_states(page, {"sent": 1, "waiting": 2})
        self.assertEqual(posts, ["harvest", "cooling"])
        self.assertEqual([kind for kind, *_ in self.events()], ["harvest"])
        self.assertIn("无信号", page.locator("#offline-bar").inner_text())

        context.unroute("**/api/v1/events/")
        lost = []

        def lose_the_first_answer(route):
            if not lost:
                lost.append(route.fetch().status)  # the server records it, the answer never arrives
                route.abort("connectionreset")
            else:
                route.continue_()

        context.route("**/api/v1/events/", lose_the_first_answer)
        context.set_offline(False)
        self.wait_for_states(page, {"sent": 3})
        self.assertEqual(lost, [201])
        self.assertEqual(
            self.events(),
            [
                ("harvest", at("2026-06-12T06:30"), "alice"),
                ("cooling", at("2026-06-12T08:10"), "alice"),
                ("temperature", at("2026-06-12T12:00"), "alice"),
            ],
        )
        # Asked to send everything again (two tabs, a double tap): the server still has one of each.
        page.evaluate(
            "FarmOutbox.all().then(all => Promise.all(all.map(r => FarmOutbox.update(r.id, {state: 'waiting'}))))"
        )
        page.evaluate("Promise.all([FarmOutbox.send({now: true}), FarmOutbox.send({now: true})])")
        self.wait_for_states(page, {"sent": 3})
        self.assertEqual(TraceEvent.objects.count(), 3)

    def test_a_refused_record_shows_the_servers_reason_and_is_fixed_or_dropped_never_lost(self):
        self.harvested_on_the_server()
        recalled = make_batch(self.farm, self.crop, "XJ-WAX-20260612-002")
        coordinator = make_user("carol", role="coordinator", village=self.village)
        context, page = self.phone()
        self.log_in(page, "alice")
        self.ready_for_the_field(page)
        context.set_offline(True)
        self.record(page, "cooling", "2026-06-12T08:10", temperature_c="4")
        self.record(page, "temperature", "2099-06-12T08:30", temperature_c="5")  # the phone's clock is wrong
        self.record(page, "cooling", "2026-06-12T08:40", lot=recalled.lot_code, temperature_c="4")
        services.open_recall(batch=recalled, reason="农残超标", actor=coordinator)  # meanwhile, at the office

        context.set_offline(False)
        self.wait_for_states(page, {"sent": 1, "refused": 2})
        page.goto(self.url("/batches/outbox/"))
        page.wait_for_selector("#outbox-refused li[data-record]")
        reasons = page.locator("#outbox-refused .outbox-reason").all_inner_texts()
        self.assertEqual(
            reasons,
            [
                "服务器拒绝了这条记录：\n时间: 此时间在未来：请检查设备的时钟。",
                "服务器拒绝了这条记录： 批次 XJ-WAX-20260612-002 已被召回：只能记录质量检测和更正。",
            ],
        )
        self.assertIn("被服务器拒绝：2 条。", page.locator("#offline-bar").inner_text())

        page.locator("#outbox-refused li").first.get_by_role("link", name="修改").click()
        page.wait_for_url("**/record/temperature/?fix=*")
        self.assertIn("此时间在未来", page.locator(".field.has-error, .outbox-field-error").first.inner_text())
        self.assertEqual(page.input_value("#id_temperature_c"), "5")
        page.fill("#id_occurred_at", "2026-06-12T08:30")
        page.click("button.btn.big")
        page.wait_for_url(f"**/batches/{LOT}/")
        page.goto(self.url("/batches/outbox/"))
        page.wait_for_selector("#outbox-refused li[data-record]")
        page.locator("#outbox-refused li").first.get_by_role("button", name="删除").click()
        page.wait_for_selector("#outbox-refused-section", state="hidden")
        self.assertEqual(self.states(page), {"sent": 2})
        self.assertEqual(
            list(
                TraceEvent.objects.exclude(kind="harvest")
                .order_by("occurred_at")
                .values_list("kind", "occurred_at", "lines__batch__lot_code")
            ),
            [("cooling", at("2026-06-12T08:10"), LOT), ("temperature", at("2026-06-12T08:30"), LOT)],
        )

    def test_a_batch_registered_offline_gets_a_provisional_label_then_its_lot_code(self):
        context, page = self.phone()
        self.log_in(page, "alice")
        self.ready_for_the_field(page)
        context.set_offline(True)
        page.goto(self.url("/batches/new/"))
        page.select_option("#id_crop", str(self.crop.pk))
        page.select_option("#id_field", str(self.field.pk))
        page.fill("#id_harvested_on", "2026-06-12")
        page.fill("#id_quantity", "60")
        page.click("button.btn.big")
        page.wait_for_url("**/batches/outbox/?saved=*")
        registration = page.locator("#outbox-waiting li[data-record]").first
        provisional = registration.locator("strong").inner_text()
        self.assertRegex(provisional, r"^新批次 · 临时 [0-9A-F]{4}$")
        registration.get_by_role("link", name="采收").click()
        page.wait_for_url("**/batches/record/harvest/?batch=*")
        # The page fills in the lot from the phone's IndexedDB after it loads: wait for it.
        expect(page.locator("[data-offline-lot]")).to_have_text(
            provisional[len("新批次 · ") :] + " · 杨梅 (WAX) · 王家果园", timeout=20000
        )
        page.fill("#id_quantity", "58")
        page.fill("#id_occurred_at", "2026-06-12T07:00")
        page.click("button.btn.big")
        page.wait_for_url("**/batches/outbox/?saved=*")
        self.assertEqual(
            page.locator("#outbox-waiting li[data-record]").nth(1).locator(".muted").nth(1).inner_text(),
            f"等待批次 {provisional[len('新批次 · ') :]} 先发送。",
        )

        context.set_offline(False)
        self.wait_for_states(page, {"sent": 2})
        batch = Batch.objects.get(lot_code="XJ-WAX-20260612-002")
        record_id = page.evaluate("FarmOutbox.all().then(all => all[0].id)")
        self.assertEqual(str(batch.client_id), record_id)
        self.assertEqual((batch.field, batch.quantity, batch.created_by), (self.field, 60, self.alice))
        farm_events = batch.events.exclude(kind="registration")
        self.assertEqual(list(farm_events.values_list("kind", "occurred_at")), [("harvest", at("2026-06-12T07:00"))])
        page.reload()
        page.wait_for_selector("#outbox-sent li[data-record]")
        self.assertIn("XJ-WAX-20260612-002", page.locator("#outbox-sent").inner_text())

    def test_a_correction_made_offline_is_sent_after_the_event_it_corrects(self):
        self.harvested_on_the_server()
        context, page = self.phone()
        self.log_in(page, "alice")
        self.ready_for_the_field(page)
        context.set_offline(True)
        self.record(page, "cooling", "2026-06-12T08:10", temperature_c="40")
        # The correction form (data-outbox="correction") queues the same record as this.
        page.evaluate(
            """() => FarmOutbox.all().then(([cooling]) => FarmOutbox.add({
                id: FarmOutbox.newId(), user: cooling.user, type: "correction", lot: cooling.lot, batchRef: null,
                payload: {kind: "correction", corrects: cooling.id, correction_reason: "incorrect_data",
                          note: "少打了一个小数点", corrected_data: {temperature_c: 4}},
            }))"""
        )
        context.set_offline(False)
        self.wait_for_states(page, {"sent": 2})
        original, replacement, correction = TraceEvent.objects.exclude(kind="harvest").order_by("seq")
        self.assertEqual(
            [(e.kind, e.data.get("temperature_c")) for e in (original, replacement)], [("cooling", 40), ("cooling", 4)]
        )
        self.assertEqual((correction.kind, correction.corrects), ("correction", original))
        effective = TraceEvent.objects.effective().exclude(kind="harvest")
        self.assertEqual(list(effective.values_list("pk", flat=True)), [replacement.pk])

    def test_a_correction_saved_on_the_correction_page_with_no_signal_is_sent_later(self):
        self.harvested_on_the_server()
        cooling, _ = services.record_batch_event(
            batch=self.batch, kind="cooling", occurred_at=at("2026-06-12T08:10"), data={"temperature_c": 40}
        )
        context, page = self.phone()
        self.log_in(page, "alice")
        self.ready_for_the_field(page)
        correct = self.url(f"/batches/{LOT}/events/{cooling.client_id}/correct/")
        page.goto(correct)  # opened once with signal: the phone keeps it
        context.set_offline(True)
        page.goto(correct)
        page.fill("#id_temperature_c", "4")
        page.fill("#id_note", "温度计读错了")
        page.click("button.btn.big")
        page.wait_for_url("**/batches/outbox/?saved=*")
        # The outbox page lists the phone's records from IndexedDB after it loads: wait for the list.
        page.wait_for_selector("#outbox-waiting li[data-record] strong")
        self.assertEqual(page.locator("#outbox-waiting li[data-record] strong").all_inner_texts(), [f"更正 · {LOT}"])
        context.set_offline(False)
        self.wait_for_states(page, {"sent": 1})
        correction = TraceEvent.objects.get(kind="correction")
        self.assertEqual((correction.corrects, correction.correction_reason), (cooling, "incorrect_data"))
        self.assertEqual(correction.data["note"], "温度计读错了")
        replacement = TraceEvent.objects.get(client_id=correction.data["corrective_event"])
        self.assertEqual((replacement.occurred_at, replacement.data), (at("2026-06-12T08:10"), {"temperature_c": 4.0}))


class OfflineSignInTests(OfflineBrowserTestCase):
    def test_a_sign_in_that_ended_while_offline_asks_for_a_new_one_then_sends(self):
        self.harvested_on_the_server()
        context, page = self.phone()
        self.log_in(page, "alice")
        self.ready_for_the_field(page)
        context.set_offline(True)
        self.record(page, "cooling", "2026-06-12T08:10", temperature_c="4")
        Session.objects.all().delete()  # the session ended on the server meanwhile
        context.set_offline(False)
        page.wait_for_selector("#sign-in-again")
        self.assertEqual(self.states(page), {"waiting": 1})
        self.assertEqual(self.events(), [])
        page.click("#sign-in-again")
        page.wait_for_url("**/accounts/login/?next=/batches/outbox/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "pw-alice")
        page.click("button.btn.big")
        page.wait_for_url(self.url("/batches/outbox/"))
        self.wait_for_states(page, {"sent": 1})
        self.assertEqual(self.events(), [("cooling", at("2026-06-12T08:10"), "alice")])
        self.assertNotIn("pw-alice", page.evaluate("FarmOutbox.all().then(all => JSON.stringify(all))"))

    def test_on_a_shared_phone_one_farmers_records_are_not_sent_as_anothers(self):
        self.harvested_on_the_server()
        make_user("bob", role="farmer", village=self.village)
        context, page = self.phone()
        self.log_in(page, "alice")
        self.ready_for_the_field(page)
        context.set_offline(True)
        self.record(page, "cooling", "2026-06-12T08:10", temperature_c="4")
        Session.objects.all().delete()
        context.set_offline(False)
        self.log_in(page, "bob", next_path="/batches/outbox/")
        page.wait_for_selector("#outbox-others:not([hidden])")
        self.assertEqual(
            page.locator("#outbox-others").inner_text(),
            "另一位用户的记录在这台手机上等待发送：1 条。该用户登录后即会发送。",
        )
        self.assertEqual(page.locator("#outbox-waiting li[data-record]").count(), 0)
        page.click("#outbox-send")
        page.evaluate("FarmOutbox.send({now: true})")
        self.assertEqual((self.events(), self.states(page)), ([], {"waiting": 1}))

        page.click("header form[action='/accounts/logout/'] button")
        self.log_in(page, "alice", next_path="/batches/outbox/")
        self.wait_for_states(page, {"sent": 1})
        self.assertEqual(self.events(), [("cooling", at("2026-06-12T08:10"), "alice")])


class WithoutJavaScriptTests(OfflineBrowserTestCase):
    def test_the_forms_post_to_the_server_as_before_with_javascript_off(self):
        self.harvested_on_the_server()
        context = self.browser.new_context(
            viewport={"width": 360, "height": 640}, locale="zh-CN", java_script_enabled=False
        )
        self.addCleanup(context.close)
        page = context.new_page()
        self.log_in(page, "alice")
        page.goto(self.url("/batches/new/"))
        page.select_option("#id_crop", str(self.crop.pk))
        page.fill("#id_harvested_on", "2026-06-12")
        page.fill("#id_quantity", "30")
        page.click("button.btn.big")
        page.wait_for_url(self.url("/batches/XJ-WAX-20260612-002/"))
        page.goto(self.url(f"/batches/{LOT}/record/cooling/"))
        page.fill("#id_occurred_at", "2026-06-12T08:10")
        page.fill("#id_temperature_c", "4")
        page.click("button.btn.big")
        page.wait_for_url(self.url(f"/batches/{LOT}/"))
        self.assertEqual(self.events(), [("cooling", at("2026-06-12T08:10"), "alice")])
        self.assertEqual(Batch.objects.filter(lot_code="XJ-WAX-20260612-002").count(), 1)

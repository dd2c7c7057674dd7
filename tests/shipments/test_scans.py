"""Counting scans (shipments/scans.py): each scan counted at once by the shared counter, its Scan
row written in a batch, and the rows counted again when the counter is gone. The suite runs with
the production batch of SCAN_BATCH_SIZE=20 rows."""

import re
from contextlib import contextmanager
from datetime import date
from unittest import mock

from django.conf import settings
from django.core.cache import cache
from django.test import TestCase, override_settings
from django.utils import translation
from redis import Redis

from shipments import public_cache, scans
from shipments.models import Scan
from tests.support import (
    make_batch,
    make_crop,
    make_delivered_shipment,
    make_farm,
    make_user,
    make_village,
    requires_redis,
)

WECHAT_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.49"
ANDROID_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126 Mobile"


def scanned(response) -> int:
    """The scan count the page shows."""
    return int(re.search(r"Opened by (\d+) (?:person|people)\b", response.content.decode()).group(1))


@contextmanager
def redis_commands():
    """The names of the commands sent to Redis meanwhile, in order."""
    sent = []
    send = Redis.execute_command

    def spy(client, *args, **options):
        sent.append(args[0])
        return send(client, *args, **options)

    with mock.patch.object(Redis, "execute_command", spy):
        yield sent


@contextmanager
def server(memory: public_cache.PageMemory):
    """Serve the requests made meanwhile as another app server would: its own page memory."""
    with mock.patch.object(public_cache, "pages", memory):
        yield


class ScanTestCase(TestCase):
    """One delivered shipment of alice's orchard; English pages."""

    def setUp(self):
        batch = make_batch(make_farm(make_village()), make_crop(), "XJ-WAX-20260612-001")
        self.shipment = make_delivered_shipment(batches=[batch])
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def scan(self, user_agent: str = WECHAT_UA, language: str = "en"):
        """A page view by another shopper each time (scans count people, not page loads)."""
        self.shoppers = getattr(self, "shoppers", 0) + 1
        user_agent = f"{user_agent} shopper/{self.shoppers}"
        return self.client.get(self.shipment.public_path, HTTP_USER_AGENT=user_agent, HTTP_ACCEPT_LANGUAGE=language)

    def rows(self) -> list[tuple[str, str]]:
        return list(Scan.objects.filter(shipment=self.shipment).order_by("id").values_list("language", "client"))


# The time-based flush is covered on its own; elsewhere it would make the writes depend on the
# machine's speed.
@override_settings(SCAN_FLUSH_SECONDS=3600)
class PeopleNotPageLoadsTests(ScanTestCase):
    """A scan is a person's first view of the day (shipments.scans.visitor)."""

    def view(self, user_agent: str = WECHAT_UA, **extra):
        return self.client.get(
            self.shipment.public_path, HTTP_USER_AGENT=user_agent, **{"HTTP_ACCEPT_LANGUAGE": "en", **extra}
        )

    def test_reloads_and_the_language_switch_by_one_shopper_count_once(self):
        self.assertEqual(scanned(self.view()), 1)
        self.assertEqual(scanned(self.view()), 1)
        self.assertEqual(scanned(self.client.get(self.shipment.public_path + "?lang=en", HTTP_USER_AGENT=WECHAT_UA)), 1)
        self.assertEqual(scanned(self.view(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.8")), 1)  # the cookie: English
        self.assertEqual(scanned(self.view(ANDROID_UA)), 2)  # another phone
        self.assertEqual(scanned(self.view(REMOTE_ADDR="10.1.2.3")), 3)  # the same phone model elsewhere
        scans.waiting.flush()
        self.assertEqual(Scan.objects.filter(shipment=self.shipment).count(), 3)

    def test_staff_previews_never_count(self):
        self.view(ANDROID_UA)
        from shipments.models import RetailerStaff

        staff = RetailerStaff.objects.create(user=make_user("rita"), retailer=self.shipment.store.retailer).user
        coordinator = make_user("carol", role="coordinator", village=self.shipment.origin_village)
        for role, user in (
            ("coordinator", coordinator),
            ("retailer", staff),
            ("auditor", make_user("ann", role="auditor")),
        ):
            self.client.force_login(user)
            self.assertEqual(scanned(self.view()), 1, role)
            self.client.logout()
        scans.waiting.flush()
        self.assertEqual(Scan.objects.count(), 1)

    def test_the_retailer_sees_the_same_figures_on_the_shipment_page(self):
        from shipments.models import RetailerStaff

        self.view()
        self.view()  # a reload
        shown = self.view(ANDROID_UA)
        self.assertEqual(scanned(shown), 2)
        first = re.search(r"first opened on ([^<·]+)", shown.content.decode()).group(1).strip()
        scans.waiting.flush()  # the staff page counts rows, written within SCAN_FLUSH_SECONDS
        RetailerStaff.objects.create(user=make_user("rita"), retailer=self.shipment.store.retailer)
        self.client.force_login(self.shipment.store.retailer.staff.get().user)
        page = self.client.get(f"/shipments/{self.shipment.public_code}/", HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(page, f"<p>Opened by 2 people · first opened on {first}</p>", html=True)

    def test_a_visitor_is_a_hash_that_changes_every_day_and_keeps_no_address(self):
        today = scans.visitor("CODE", "203.0.113.7", WECHAT_UA, date(2026, 6, 12))
        self.assertEqual(today, scans.visitor("CODE", "203.0.113.7", WECHAT_UA, date(2026, 6, 12)))
        self.assertNotEqual(today, scans.visitor("CODE", "203.0.113.7", WECHAT_UA, date(2026, 6, 13)))
        self.assertNotEqual(today, scans.visitor("CODE", "203.0.113.8", WECHAT_UA, date(2026, 6, 12)))
        self.assertRegex(today, r"^[0-9a-f]{24}$")

    def test_the_scan_row_holds_no_address_or_user_agent(self):
        self.view(REMOTE_ADDR="203.0.113.7")
        scans.waiting.flush()
        row = Scan.objects.values().get()
        self.assertNotIn("203.0.113.7", str(row))
        self.assertNotIn("MicroMessenger", str(row))


class BatchedRowTests(ScanTestCase):
    def test_the_suite_runs_with_the_production_batch_size(self):
        self.assertEqual(settings.SCAN_BATCH_SIZE, 20)

    def test_rows_wait_until_twenty_have_gathered_and_are_written_in_one_insert(self):
        self.scan()  # nothing counted yet: writes its row and counts the rows
        with self.assertNumQueries(0):  # the page is kept and the counter counts: the row waits
            for _ in range(19):
                self.scan()
        self.assertEqual(len(self.rows()), 1)
        with self.assertNumQueries(1):
            response = self.scan()
        self.assertEqual((scanned(response), len(self.rows())), (21, 21))

    def test_the_page_counts_each_scan_at_once_while_its_row_waits(self):
        shown = [scanned(self.scan()) for _ in range(3)]
        self.assertEqual((shown, len(self.rows())), ([1, 2, 3], 1))
        scans.waiting.flush()
        self.assertEqual(len(self.rows()), 3)

    def test_each_scan_is_a_row_with_its_language_and_client_family(self):
        self.scan()
        self.scan(ANDROID_UA)
        self.scan(language="zh-CN")
        scans.waiting.flush()
        self.assertEqual(self.rows(), [("en", "wechat"), ("en", "android"), ("zh-hans", "wechat")])

    def test_a_gone_counter_is_counted_again_from_the_rows_including_those_still_waiting(self):
        Scan.objects.bulk_create(Scan(shipment=self.shipment, language="en", client="ios") for _ in range(5))
        self.assertEqual([scanned(self.scan()), scanned(self.scan())], [6, 7])
        self.assertEqual(len(self.rows()), 6)  # the second scan's row waits
        cache.clear()  # as COUNTER_TTL or an eviction does
        self.assertEqual(scanned(self.scan()), 8)
        self.assertEqual(len(self.rows()), 8)

    def test_flush_writes_what_is_waiting_and_nothing_twice(self):
        for _ in range(3):
            self.scan()
        scans.waiting.flush()
        scans.waiting.flush()
        self.assertEqual(len(self.rows()), 3)


class BatchSettingsTests(ScanTestCase):
    @override_settings(SCAN_BATCH_SIZE=1)
    def test_a_batch_of_one_writes_every_scan_as_it_happens(self):
        self.scan()
        with self.assertNumQueries(1):  # the page is kept: the scan's INSERT is the only query
            self.scan()
        self.assertEqual(len(self.rows()), 2)

    @override_settings(SCAN_FLUSH_SECONDS=0)
    def test_a_row_older_than_the_flush_interval_is_written_with_the_next_scan(self):
        self.scan()
        with self.assertNumQueries(1):
            self.scan()
        self.assertEqual(len(self.rows()), 2)


@requires_redis
@override_settings(SCAN_FLUSH_SECONDS=3600)
class SharedCounterTests(ScanTestCase):
    """Two app servers share Redis; each keeps its own rendered pages and waiting rows."""

    def counter(self) -> int | None:
        """The shared counter, read straight from Redis."""
        value = Redis.from_url(settings.CACHES["default"]["LOCATION"]).get(
            public_cache.redis_key(f"pub:scans:{self.shipment.public_code}")
        )
        return None if value is None else int(value)

    def test_a_kept_page_costs_one_redis_command_and_no_query(self):
        self.scan()
        with redis_commands() as sent, self.assertNumQueries(0):
            response = self.scan()
        self.assertEqual((sent, scanned(response)), (["EVALSHA"], 2))

    def test_scans_on_two_servers_are_counted_once_each_in_one_shared_counter(self):
        second = public_cache.PageMemory()
        shown = []
        for memory in (public_cache.pages, second, public_cache.pages, second):
            with server(memory):
                shown.append(scanned(self.scan()))
        scans.waiting.flush()
        self.assertEqual((shown, self.counter(), len(self.rows())), ([1, 2, 3, 4], 4, 4))

    def test_the_counter_expires_so_that_drift_is_corrected_from_the_rows(self):
        self.scan()
        ttl = Redis.from_url(settings.CACHES["default"]["LOCATION"]).ttl(
            public_cache.redis_key(f"pub:scans:{self.shipment.public_code}")
        )
        self.assertTrue(0 < ttl <= scans.COUNTER_TTL, ttl)

    def test_a_head_request_reads_the_counter_without_counting(self):
        self.scan()
        head = self.client.head(self.shipment.public_path, HTTP_USER_AGENT=WECHAT_UA)
        self.assertEqual((head.status_code, scanned(self.scan()), self.counter()), (200, 2, 2))

    def test_the_script_is_loaded_again_after_redis_forgot_it(self):
        self.scan()
        Redis.from_url(settings.CACHES["default"]["LOCATION"]).script_flush()
        with redis_commands() as sent:
            response = self.scan()
        self.assertEqual((sent, scanned(response)), (["EVALSHA", "SCRIPT LOAD", "EVALSHA"], 2))

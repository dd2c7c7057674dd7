"""The consumer page's cache with several servers: page bodies in each process's memory, version
tokens and scan counters in the shared Redis, and what happens when Redis does not answer."""

import re
import socket
from contextlib import contextmanager
from datetime import datetime
from unittest import mock
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.test import SimpleTestCase, TestCase, override_settings
from django.utils import translation
from redis import Redis
from redis.connection import Connection

from shipments import public_cache
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
from traceability import services as trace
from traceability.models import Batch

WECHAT_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.49"
RECALL = "Recall: do not eat this product"
SHANGHAI = ZoneInfo("Asia/Shanghai")


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


def scanned(response) -> int:
    """The scan count the page shows."""
    return int(re.search(r"Scanned (\d+) times?\b", response.content.decode()).group(1))


@contextmanager
def server(memory: public_cache.PageMemory):
    """Serve the requests made meanwhile as another app server would: its own page memory."""
    with mock.patch.object(public_cache, "pages", memory):
        yield


class ConsumerPage:
    """alice's orchard, one delivered shipment, carol coordinating the village, English pages."""

    def setUp(self):
        village = make_village()
        self.carol = make_user("carol", role="coordinator", village=village)
        self.batch = make_batch(make_farm(village), make_crop(), "XJ-WAX-20260612-001", status="packed")
        self.shipment = make_delivered_shipment(batches=[self.batch])
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def get(self, url=None):
        return self.client.get(url or self.shipment.public_path, HTTP_USER_AGENT=WECHAT_UA, HTTP_ACCEPT_LANGUAGE="en")


@requires_redis
class SharedRedisTests(ConsumerPage, TestCase):
    def setUp(self):
        super().setUp()
        self.second = public_cache.PageMemory()

    def test_a_kept_page_costs_one_redis_command_and_the_scan_insert(self):
        self.get()
        with redis_commands() as sent, self.assertNumQueries(1):
            response = self.get()
        self.assertEqual(sent, ["EVALSHA"])
        self.assertEqual(scanned(response), 2)

    def test_a_recall_shows_at_once_on_a_server_that_kept_the_page(self):
        self.assertNotContains(self.get(), RECALL)
        with server(self.second):
            self.assertNotContains(self.get(), RECALL)
            with self.assertNumQueries(1):  # kept by the second server
                self.assertNotContains(self.get(), RECALL)
        with self.captureOnCommitCallbacks(execute=True):
            trace.open_recall(batch=self.batch, reason="Pesticide above limit", actor=self.carol)
        self.assertContains(self.get(), RECALL)
        with server(self.second):
            self.assertContains(self.get(), RECALL)

    def test_a_new_event_shows_on_both_servers(self):
        self.get()
        with server(self.second):
            self.get()
        with self.captureOnCommitCallbacks(execute=True):
            trace.record_batch_event(
                batch=self.batch,
                kind="cooling",
                occurred_at=datetime(2026, 6, 12, 9, 0, tzinfo=SHANGHAI),
                data={"temperature_c": 3.5},
            )
        self.assertContains(self.get(), "3.5 °C")
        with server(self.second):
            self.assertContains(self.get(), "3.5 °C")

    def test_scans_on_two_servers_are_counted_once_each_in_one_shared_counter(self):
        shown = []
        for memory in (public_cache.pages, self.second, public_cache.pages, self.second):
            with server(memory):
                shown.append(scanned(self.get()))
        self.assertEqual(shown, [1, 2, 3, 4])
        self.assertEqual(cache.get(f"pub:scans:{self.shipment.public_code}"), 4)
        self.assertEqual(Scan.objects.filter(shipment=self.shipment).count(), 4)

    def test_an_expired_counter_is_reread_from_the_database_not_restarted(self):
        Scan.objects.bulk_create(Scan(shipment=self.shipment, language="zh-hans", client="ios") for _ in range(5))
        self.assertEqual(scanned(self.get()), 6)
        cache.delete(f"pub:scans:{self.shipment.public_code}")  # as COUNTER_TTL does
        self.assertEqual(scanned(self.get()), 7)
        self.assertEqual(cache.get(f"pub:scans:{self.shipment.public_code}"), 7)

    def test_a_head_request_reads_the_counter_without_counting(self):
        self.get()
        head = self.client.head(self.shipment.public_path, HTTP_USER_AGENT=WECHAT_UA)
        self.assertEqual((head.status_code, scanned(self.get())), (200, 2))
        self.assertEqual(cache.get(f"pub:scans:{self.shipment.public_code}"), 2)

    def test_the_script_is_loaded_again_after_redis_forgot_it(self):
        self.get()
        Redis.from_url(settings.CACHES["default"]["LOCATION"]).script_flush()
        with redis_commands() as sent:
            response = self.get()
        self.assertEqual(sent, ["EVALSHA", "SCRIPT LOAD", "EVALSHA"])
        self.assertEqual(scanned(response), 2)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisDownTests(ConsumerPage, TestCase):
    """Redis configured but nothing listening: the page and the QR images still answer."""

    def setUp(self):
        super().setUp()
        location = f"redis://127.0.0.1:{unused_port()}/0"
        backend = "django.core.cache.backends.redis.RedisCache"
        self.enterContext(override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": location}}))

    def test_the_page_is_rendered_and_counted_from_the_database(self):
        # shipment, items with batches, events, recipes, scan insert, scan totals
        with self.assertNumQueries(6):
            first = self.get()
        second = self.get()
        self.assertEqual((first.status_code, second.status_code), (200, 200))
        self.assertContains(first, "XJ-WAX-20260612-001")
        self.assertEqual((scanned(first), scanned(second)), (1, 2))
        self.assertEqual(Scan.objects.filter(shipment=self.shipment).count(), 2)

    def test_a_recall_made_while_redis_is_down_is_saved_and_shows_at_once(self):
        self.assertNotContains(self.get(), RECALL)
        with self.captureOnCommitCallbacks(execute=True):  # its invalidation cannot reach Redis
            trace.open_recall(batch=self.batch, reason="Pesticide above limit", actor=self.carol)
        self.assertEqual(Batch.objects.get(pk=self.batch.pk).status, "recalled")
        self.assertContains(self.get(), RECALL)

    def test_after_one_failure_the_process_leaves_redis_alone_for_a_while(self):
        attempts = []
        connect = Connection.connect

        def spy(connection):
            attempts.append(connection.port)
            return connect(connection)

        with mock.patch.object(Connection, "connect", spy):
            self.get()
            tried = len(attempts)
            self.get()
        self.assertEqual((tried, len(attempts)), (1, 1))

    def test_an_unknown_code_is_still_a_404(self):
        self.assertEqual(self.get("/s/ABCDEFGHJKLMNPQR").status_code, 404)

    def test_qr_images_are_still_served(self):
        response = self.client.get(f"{self.shipment.public_path}/qr.png")
        self.assertEqual((response.status_code, response["Content-Type"]), (200, "image/png"))
        self.assertEqual(response.content[:8], b"\x89PNG\r\n\x1a\n")


class PageMemoryTests(SimpleTestCase):
    def test_a_page_is_served_only_at_the_version_it_was_kept_at(self):
        memory = public_cache.PageMemory()
        memory.keep("CODE", "en", "a.b", {"id": 1})
        self.assertEqual(
            [memory.get("CODE", "en", "a.b"), memory.get("CODE", "en", "a.c"), memory.get("CODE", "zh-hans", "a.b")],
            [{"id": 1}, None, None],
        )

    def test_the_least_recently_used_page_goes_first(self):
        memory = public_cache.PageMemory(size=2)
        memory.keep("ONE", "en", "v", {"id": 1})
        memory.keep("TWO", "en", "v", {"id": 2})
        memory.get("ONE", "en", "v")
        memory.keep("THREE", "en", "v", {"id": 3})
        found = [memory.get(code, "en", "v") for code in ("ONE", "TWO", "THREE")]
        self.assertEqual(found, [{"id": 1}, None, {"id": 3}])

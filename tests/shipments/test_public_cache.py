"""The consumer page's cache (shipments/public_cache.py): page bodies in each process's memory,
the client of the shared Redis, and what happens when Redis does not answer. How the shared
tokens make kept pages stale is in test_page_invalidation.py; the shared scan counter in
test_scans.py."""

import re
import socket
import threading
from unittest import mock
from zoneinfo import ZoneInfo

from django.conf import settings
from django.test import SimpleTestCase, TestCase, override_settings
from django.utils import translation
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
RECALL = "Recall: do not eat"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def scanned(response) -> int:
    """The scan count the page shows."""
    return int(re.search(r"Opened by (\d+) (?:person|people)\b", response.content.decode()).group(1))


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


@requires_redis
class SharedRedisTests(SimpleTestCase):
    def test_each_thread_makes_its_client_once(self):
        mine = [public_cache.shared_redis(), public_cache.shared_redis()]
        theirs = []
        thread = threading.Thread(target=lambda: theirs.append(public_cache.shared_redis()))
        thread.start()
        thread.join()
        self.assertIs(mine[0], mine[1])
        self.assertIsNot(mine[0], theirs[0])

    def test_the_client_has_the_cache_timeouts_and_database(self):
        client = public_cache.shared_redis()
        kwargs = client.connection_pool.connection_kwargs
        options = settings.CACHES["default"]["OPTIONS"]
        expected_db = int(settings.CACHES["default"]["LOCATION"].rsplit("/", 1)[1])
        self.assertEqual(
            (kwargs["socket_connect_timeout"], kwargs["socket_timeout"], kwargs["db"]),
            (options["socket_connect_timeout"], options["socket_timeout"], expected_db),
        )

    def test_keys_go_under_the_cache_key_prefix(self):
        self.assertEqual(public_cache.redis_key("pub:gen"), f"{settings.CACHES['default']['KEY_PREFIX']}:pub:gen")

    def test_a_cache_that_is_not_redis_is_reached_through_django(self):
        with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
            self.assertFalse(public_cache.on_redis())
        self.assertTrue(public_cache.on_redis())


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

"""A recall made while Redis is down reaches every consumer page soon after Redis is back, with
no restart: the lost invalidation is kept in the database and replayed (shipments.lost_invalidations).

A real redis-server of the test's own, stopped and started again with its data (as a restart
with persistence does), so the version tokens it gives back are the ones from before the
recall. The second app server stands for one on another host that asked Redis nothing during
the outage (or whose link to it never broke): it never sees an error, so only the database can
tell it that its kept page is stale."""

import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from unittest import mock

import pytest
from django.test import TransactionTestCase, override_settings
from django.utils import translation
from redis import Redis

from shipments import public_cache
from shipments.models import LostInvalidation
from tests.support import make_batch, make_crop, make_delivered_shipment, make_farm, make_user, make_village
from traceability import services as trace

RECALL = "Recall: do not eat Waxberry from this delivery"  # shipments.page_state's recalled headline
WECHAT_UA = "Mozilla/5.0 (iPhone) MicroMessenger/8.0.49"

requires_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server: apt-get install redis-server"
)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of its own on a free port, keeping its data in a temporary directory."""

    def __init__(self):
        self.port = unused_port()
        self.dir = tempfile.mkdtemp(prefix="redis-test-")
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        client = Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Write the data to disk and exit, as a restart with persistence does."""
        Redis(port=self.port).shutdown(save=True)
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextmanager
def server(memory: public_cache.PageMemory):
    """Serve the requests made meanwhile as another app server would: its own page memory."""
    with mock.patch.object(public_cache, "pages", memory):
        yield


@requires_redis_server
class RecallDuringOutageTests(TransactionTestCase):
    def setUp(self):
        self.redis = RedisServer()
        self.addCleanup(self.redis.close)
        backend = "django.core.cache.backends.redis.RedisCache"
        options = {"socket_connect_timeout": 0.5, "socket_timeout": 1}
        caches = {"default": {"BACKEND": backend, "LOCATION": self.redis.url, "OPTIONS": options}}
        self.caches = caches
        self.enterContext(override_settings(CACHES=caches))
        public_cache.pages.clear()
        self.addCleanup(public_cache.pages.clear)
        village = make_village()
        self.carol = make_user("carol", role="coordinator", village=village)
        self.batch = make_batch(make_farm(village), make_crop(), "XJ-WAX-20260612-001", status="packed")
        self.shipment = make_delivered_shipment(batches=[self.batch])
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def get(self):
        return self.client.get(self.shipment.public_path, HTTP_USER_AGENT=WECHAT_UA, HTTP_ACCEPT_LANGUAGE="en")

    def test_a_recall_made_while_redis_was_down_reaches_a_server_that_kept_the_page(self):
        second = public_cache.PageMemory()
        with server(second):
            self.assertNotContains(self.get(), RECALL)
        self.redis.stop()

        with self.assertLogs("shipments.page_invalidation", "ERROR"):
            trace.open_recall(batch=self.batch, reason="Pesticide above limit", actor=self.carol)
        self.assertEqual(LostInvalidation.objects.count(), 1)

        self.redis.start()
        # The second server is another process whose connection never broke: a client of its own
        # (the same server and database, spelt without the /0), no error to notice.
        caches = {"default": {**self.caches["default"], "LOCATION": self.redis.url.removesuffix("/0")}}
        self.enterContext(override_settings(CACHES=caches))
        deadline = time.monotonic() + 15
        with server(second):
            while RECALL not in self.get().content.decode() and time.monotonic() < deadline:
                time.sleep(0.5)
            self.assertContains(self.get(), RECALL)
        # The replaying thread deletes the rows it replayed just after replacing the token.
        while LostInvalidation.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(LostInvalidation.objects.count(), 0)

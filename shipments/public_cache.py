"""Consumer pages kept in memory, and the shared cache that says which of them are still current.

Rendered bodies live in each process's memory (`pages`), keyed by shipment and language, each
with the version current when its render began. A version is two tokens kept in the shared cache
(Redis when REDIS_URL is set), so a change shows at once on every server:
- the shipment's token, replaced when something the page shows about that shipment changes;
- a global token, replaced when shared content changes (a village's story, a store's name...),
  which is rare and touches many pages at once.
Tokens are replaced in one place, shipments.page_invalidation, and read in the page view's one
round trip to the shared cache, shipments.scans.visit (which counts the scan in the same trip).
A body is served only while both tokens are still current. A render reads the tokens before it
queries, so a render that races an invalidation is kept with the old tokens, which no reader
accepts (the next reader renders again). Bodies also expire within the hour and at local midnight
(the page says how many days ago the harvest was). With the local-memory cache the tokens are per
process: a change shows at once only in the process that made it, in the others when their bodies
expire. Several processes need Redis.

On Redis the page's keys are read and written through a redis-py client of our own
(`shared_redis`), made from the cache's LOCATION and OPTIONS, with plain string and integer
values under the cache's KEY_PREFIX: the page view needs one script call, where Django's cache
API would spend three commands and make a new client for each (docs/performance.md). `cache.clear()`
empties the Redis database, these keys included. Without Redis the same keys go through Django's
cache API.

Redis unreachable: the page view renders and counts from the database, and the process leaves
Redis alone for OFFLINE_SECONDS (`offline`, `went_offline`), so an outage costs queries, not
errors or waits.
"""

import contextlib
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from shipments import lost_invalidations

log = logging.getLogger(__name__)

PAGE_TTL = 3600
QR_TTL = 86400
# A shipment's token may lapse (a fresh one only costs a render) and must, or a flood of made-up
# codes would fill the cache with tokens that never expire.
TOKEN_TTL = 86400
# Pages kept per process: a body is about 20 kB, so about 10 MB.
PAGES_IN_MEMORY = 512
OFFLINE_SECONDS = 5
GLOBAL_TOKEN = "pub:gen"
REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"
# OPTIONS that Django's RedisCache reads itself; the rest are redis-py connection arguments.
_DJANGO_OPTIONS = ("serializer", "pool_class", "parser_class")


def shipment_token(code: str) -> str:
    return f"pub:ver:{code}"


def new_token() -> str:
    return secrets.token_hex(4)


# Rendered pages, in this process -----------------------------------------------------------


class PageMemory:
    """Rendered pages in one process's memory, the most recently used PAGES_IN_MEMORY kept.
    An instance per process is one "server": what it keeps is served only at the version it was
    rendered at, which the shared cache decides."""

    def __init__(self, size: int = PAGES_IN_MEMORY):
        self._size = size
        self._pages: OrderedDict[tuple[str, str], tuple[str, float, dict]] = OrderedDict()
        self._lock = threading.Lock()  # gthread workers share a process

    def get(self, code: str, language: str, version: str) -> dict | None:
        """The page kept at `version` and not expired, else None."""
        with self._lock:
            found = self._pages.get((code, language))
            if found is None or found[0] != version or found[1] <= time.time():
                return None
            self._pages.move_to_end((code, language))
            return found[2]

    def keep(self, code: str, language: str, version: str, entry: dict) -> None:
        """Keep a rendered page with the version it was rendered at (read before its queries ran)."""
        now = timezone.localtime()
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
        expires = time.time() + min(PAGE_TTL, (midnight - now).total_seconds())
        with self._lock:
            self._pages[(code, language)] = (version, expires, entry)
            self._pages.move_to_end((code, language))
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


pages = PageMemory()


# The shared cache ----------------------------------------------------------------------------

_local = threading.local()
_offline_until: dict[str, float] = {}


def on_redis() -> bool:
    """Whether the default cache is Redis (REDIS_URL is set)."""
    return settings.CACHES["default"]["BACKEND"] == REDIS_BACKEND


def shared_redis() -> Redis:
    """This thread's client of the Redis server behind the default cache (call when on_redis()).
    Made once per thread and server, holding one connection: a client per call costs about 60 µs
    and taking a pooled connection 10 to 20 µs, more than the round trip. It connects when made,
    so call it where a RedisError is handled; it never retries: a Redis that does not answer must
    cost the page a fallback, not a wait."""
    config = settings.CACHES["default"]
    location = config["LOCATION"]
    clients = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    key = str(location)
    client = clients.get(key)
    if client is None:
        # Django writes to the first of several servers; so do we.
        url = re.split("[;,]", location)[0] if isinstance(location, str) else location[0]
        options = {name: value for name, value in config.get("OPTIONS", {}).items() if name not in _DJANGO_OPTIONS}
        client = Redis.from_url(url, single_connection_client=True, retry=Retry(NoBackoff(), 0), **options)
        clients[key] = client
    return client


def redis_key(name: str) -> str:
    """A key of ours in Redis, under the cache's KEY_PREFIX as Django's own keys are."""
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:{name}" if prefix else name


def offline() -> bool:
    """Whether this process found Redis down less than OFFLINE_SECONDS ago."""
    return time.monotonic() < _offline_until.get(str(settings.CACHES["default"]["LOCATION"]), 0)


def went_offline() -> None:
    """Redis did not answer a page view: leave it alone for a while, and forget the pages kept so
    far, since an invalidation sent meanwhile cannot reach Redis and pages kept from before must
    not be served again once it answers with the old tokens. Call from an `except RedisError`."""
    log.warning("Redis did not answer: consumer pages render from the database", exc_info=True)
    _offline_until[str(settings.CACHES["default"]["LOCATION"])] = time.monotonic() + OFFLINE_SECONDS
    pages.clear()
    lost_invalidations.start_replaying()  # any process's lost invalidation, once Redis is back


# QR images -----------------------------------------------------------------------------------


def qr_key(code: str, kind: str, scale: int) -> str:
    return f"pub:qr:{code}:{kind}:{scale}"


def cached_image(code: str, kind: str, scale: int) -> bytes | None:
    """A QR image made earlier, or None (also when Redis does not answer: images can be remade)."""
    try:
        return cache.get(qr_key(code, kind, scale))
    except RedisError:
        return None


def keep_image(code: str, kind: str, scale: int, body: bytes) -> None:
    with contextlib.suppress(RedisError):
        cache.set(qr_key(code, kind, scale), body, timeout=QR_TTL)

"""The consumer page's cache: rendered bodies, version tokens, scan counters, invalidation.

Rendered bodies live in each process's memory (`pages`), keyed by shipment and language, each
with the two version tokens current when its render began. The tokens live in the shared cache
(Redis when REDIS_URL is set), so a change shows at once on every server. (The local-memory
cache holds them per process: there a change shows at once only in the process that made it, in
the others when their bodies expire. Several processes need Redis.)
- the shipment's token, replaced whenever something the page shows about that shipment changes
  (a trace event, a correction, a batch status change or recall, the shipment or its items);
- a global token, replaced when shared content changes (a village's story, a farm, a field, a crop,
  a recipe), which is rare and touches many pages at once.
A body is served only while both tokens are still current. A render reads the tokens before it
queries, so a render that races an invalidation is kept with the old tokens, which no reader
accepts (the next reader renders again). Bodies also expire within the hour and at local midnight
(the page says how many days ago the harvest was).

Scan counters live in the shared cache too (`INCR` is atomic and shared on Redis) and are re-read
from the database when missing and every COUNTER_TTL seconds, which bounds any drift (with the
per-process local-memory cache each process counts its own scans between two re-reads).

A page view asks the shared cache once (`visit`): on Redis one Lua script reads both tokens and
the first-scan date and increments the counter, one round trip. Redis unreachable: the view
renders from the database and counts there (`Visit.offline`), and the process leaves Redis alone
for OFFLINE_SECONDS before it tries again, so an outage costs queries, not errors or waits. An
invalidation that cannot reach Redis is logged, not raised (the change is already committed).
"""

import contextlib
import logging
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import transaction
from django.db.models import Count, Min
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from redis import Redis
from redis.commands.core import Script
from redis.exceptions import RedisError

from farms.models import Crop, Farm, Field, Recipe, Village
from shipments import lost_invalidations, scan_writer
from shipments.models import Scan, Shipment, ShipmentItem
from traceability.models import Batch
from traceability.signals import batches_changed

log = logging.getLogger(__name__)

PAGE_TTL = 3600
COUNTER_TTL = 300
QR_TTL = 86400
# A shipment's token may lapse (a fresh one only costs a render) and must, or a flood of made-up
# codes would fill the cache with tokens that never expire.
TOKEN_TTL = 86400
# Pages kept per process: a body is about 20 kB, so about 10 MB.
PAGES_IN_MEMORY = 512
OFFLINE_SECONDS = 5
_GLOBAL = "pub:gen"


def _shipment_key(code: str) -> str:
    return f"pub:ver:{code}"


def _count_key(code: str) -> str:
    return f"pub:scans:{code}"


def _first_key(code: str) -> str:
    return f"pub:first:{code}"


def _new_token() -> str:
    return secrets.token_hex(4)


class Visit(NamedTuple):
    """What the shared cache says about a shipment at the start of a page view."""

    version: str  # both tokens joined; "" when offline
    count: int | None  # scans so far including this one when counted; None: re-read the database
    first: datetime | None  # the first scan, when known
    offline: bool = False  # the shared cache did not answer: trust nothing cached


def visit(code: str, *, counting: bool) -> Visit:
    """The shipment's version and scan figures, counting this scan when `counting`, in one round
    trip to the shared cache. A missing token (never set, evicted, cache cleared) becomes a fresh
    random one, so no page kept earlier matches it. The counter is only incremented when it
    exists: a missing one is re-read from the database (scan_counts)."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        return _visit_redis(backend, code, counting)
    return _visit_cache(code, counting)


def _visit_cache(code: str, counting: bool) -> Visit:
    """Through Django's cache API: the local-memory cache, where a round trip costs nothing."""
    key, first_key, count_key = _shipment_key(code), _first_key(code), _count_key(code)
    found = cache.get_many([key, _GLOBAL, first_key] if counting else [key, _GLOBAL, first_key, count_key])
    missing = {name: _new_token() for name in (key, _GLOBAL) if name not in found}
    if missing:
        for name, value in missing.items():
            cache.add(name, value, timeout=None if name == _GLOBAL else TOKEN_TTL)
        found.update(cache.get_many(list(missing)))
    count = found.get(count_key)
    if counting:
        try:
            count = cache.incr(count_key)
        except ValueError:
            count = None
    return Visit(f"{found.get(key, '')}.{found.get(_GLOBAL, '')}", count, found.get(first_key))


# KEYS: shipment token, global token, first scan, counter. ARGV: a fresh shipment token and a
# fresh global token (both serialized), the shipment token's TTL, "1" to count this scan.
# MGET gives Lua's false for a missing key, which Redis returns as nil.
_VISIT = Script(
    None,
    b"""
local found = redis.call("MGET", KEYS[1], KEYS[2], KEYS[3], KEYS[4])
if not found[1] then
    found[1] = ARGV[1]
    redis.call("SET", KEYS[1], ARGV[1], "EX", ARGV[3])
end
if not found[2] then
    found[2] = ARGV[2]
    redis.call("SET", KEYS[2], ARGV[2])
end
if found[4] and ARGV[4] == "1" then
    found[4] = redis.call("INCR", KEYS[4])
end
return found
""",
)
_offline_until: dict[str, float] = {}
_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _redis_client(client: RedisCacheClient) -> Redis:
    """A redis-py client on the cache's pool, made once and holding one connection: Django makes
    a client per call (`get_client`, about 60 µs, more than the round trip itself), and taking a
    connection from the pool and returning it costs another 10 to 20 µs. Django keeps a cache
    backend per thread, so each thread gets its own client and connection."""
    found = _clients.get(client)
    if found is None:
        pool = client.get_client(write=True).connection_pool
        found = _clients[client] = Redis(connection_pool=pool, single_connection_client=True)
    return found


def _visit_redis(backend: RedisCache, code: str, counting: bool) -> Visit:
    """One EVALSHA instead of the three commands Django's API needs (MGET, then EXISTS and INCR:
    its `incr` checks first): redis-py's cost per command is most of the page's cost on Redis.
    Uses the cache's own client and serializer (Django's RedisCache keeps them in `_cache`, not
    public API, pinned by the Redis tests), so the values stay readable by `cache.get`."""
    location = settings.CACHES["default"]["LOCATION"]
    if time.monotonic() < _offline_until.get(location, 0):
        return Visit("", None, None, offline=True)
    client = backend._cache
    keys = [backend.make_key(name) for name in (_shipment_key(code), _GLOBAL, _first_key(code))]
    keys.append(backend.make_key(_count_key(code)))
    dumps, loads = client._serializer.dumps, client._serializer.loads
    args = [dumps(_new_token()), dumps(_new_token()), TOKEN_TTL, 1 if counting else 0]
    try:
        shipment, global_, first, count = _VISIT(keys, args, _redis_client(client))
    except RedisError:
        log.warning("Redis did not answer: consumer pages render from the database", exc_info=True)
        _offline_until[location] = time.monotonic() + OFFLINE_SECONDS
        lost_invalidations.start_replaying()  # any other process's lost invalidation, once Redis is back
        # An invalidation sent meanwhile cannot reach Redis: pages kept from before must not be
        # served again once it answers with the old tokens.
        pages.clear()
        return Visit("", None, None, offline=True)
    return Visit(
        f"{loads(shipment)}.{loads(global_)}",
        None if count is None else int(count),
        None if first is None else loads(first),
    )


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


# Scan counters -------------------------------------------------------------------------------


def scan_counts(code: str, shipment_id: int, seen: Visit) -> tuple[int, datetime | None]:
    """(times scanned, first scan) for the authenticity block. Call after recording this scan
    (scan_writer.add); `seen` is what visit() found."""
    count, first = seen.count, seen.first
    if count is None or (count and first is None):
        # Counted after this request's scan was recorded, so the figure includes it; `set`, not
        # `add`: this count is at least as fresh as whatever a concurrent request may have stored.
        totals = Scan.objects.filter(shipment_id=shipment_id).aggregate(count=Count("id"), first=Min("scanned_at"))
        # Plus this process's scans not yet written (shipments.scan_writer batches them).
        waiting, earliest = scan_writer.waiting(shipment_id)
        count = totals["count"] + waiting
        first = min((t for t in (totals["first"], earliest) if t is not None), default=None)
        if not seen.offline:
            _remember_counts(code, count, first)
    return count, first


def _remember_counts(code: str, count: int, first: datetime | None) -> None:
    try:
        cache.set(_count_key(code), count, timeout=COUNTER_TTL)
        if first is not None:
            cache.set(_first_key(code), first, timeout=None)
    except RedisError:  # went away since visit(): the next view re-reads
        log.warning("Redis did not answer: scan count not cached", exc_info=True)


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


# Invalidation --------------------------------------------------------------------------------


def forget_shipments(codes) -> None:
    """Make every kept page of these shipments unreachable, on every server."""
    try:
        cache.set_many({_shipment_key(code): _new_token() for code in codes}, timeout=TOKEN_TTL)
    except RedisError:
        _invalidation_lost()


def forget_all_pages() -> None:
    try:
        cache.set(_GLOBAL, _new_token(), timeout=None)
    except RedisError:
        _invalidation_lost()


def _invalidation_lost() -> None:
    # Runs after the change committed (on_commit): raising would answer the recall or the edit
    # with an error although it was saved. This process forgets its pages; the others notice the
    # outage on their next page view (see visit); shipments.lost_invalidations replays it in Redis.
    log.error("Redis did not answer: consumer pages kept by other processes may be stale", exc_info=True)
    pages.clear()
    lost_invalidations.keep()  # replayed once Redis answers again


def forget_shipments_of_batches(batch_ids) -> None:
    codes = set(
        ShipmentItem.objects.filter(batch_id__in=list(batch_ids)).values_list("shipment__public_code", flat=True)
    )
    if codes:
        forget_shipments(codes)


@receiver(batches_changed, dispatch_uid="public_page_batches_changed")
def _batches_changed(sender, batch_ids, **kwargs) -> None:
    forget_shipments_of_batches(batch_ids)


@receiver(post_save, sender=Shipment, dispatch_uid="public_page_shipment_saved")
def _shipment_saved(sender, instance: Shipment, **kwargs) -> None:
    code = instance.public_code
    # After commit: a page rendered from the uncommitted state must not outlive the change.
    transaction.on_commit(lambda: forget_shipments([code]))


@receiver(post_save, sender=ShipmentItem, dispatch_uid="public_page_item_saved")
@receiver(post_delete, sender=ShipmentItem, dispatch_uid="public_page_item_deleted")
def _item_changed(sender, instance: ShipmentItem, **kwargs) -> None:
    shipment_id = instance.shipment_id

    def forget() -> None:
        codes = Shipment.objects.filter(pk=shipment_id).values_list("public_code", flat=True)
        forget_shipments(list(codes))

    transaction.on_commit(forget)


@receiver(post_save, sender=Batch, dispatch_uid="public_page_batch_saved")
def _batch_saved(sender, instance: Batch, created: bool, **kwargs) -> None:
    if not created:  # a new batch is in no shipment yet
        batch_id = instance.pk
        transaction.on_commit(lambda: forget_shipments_of_batches([batch_id]))


def _content_changed(sender, **kwargs) -> None:
    transaction.on_commit(forget_all_pages)


for _model in (Village, Farm, Field, Crop, Recipe):
    post_save.connect(_content_changed, sender=_model, dispatch_uid=f"public_page_{_model.__name__}_saved")
    post_delete.connect(_content_changed, sender=_model, dispatch_uid=f"public_page_{_model.__name__}_deleted")
m2m_changed.connect(_content_changed, sender=Recipe.crops.through, dispatch_uid="public_page_recipe_crops")

"""Counting the consumer page's scans: the one place a scan is counted.

A scan is a person opening a shipment's page on a day (shipments.public decides which views may
count: a GET, not a link-preview bot, a prefetch, the on-page language switch or a signed-in
member of staff previewing). Reloads and later visits the same day by the same person are not
scans: `visitor()` turns the client's address and user agent into a keyed hash whose key changes
every day, and the shared cache keeps that hash for VISITOR_TTL seconds only, to recognise the
second view. Neither the address nor the user agent is stored anywhere, and a hash from one day
cannot be linked to the next day's. So a count is "people per day, summed": the same shopper
scanning on Monday and again on Tuesday counts twice. Shoppers behind one address (a store's
Wi-Fi, a carrier's NAT) with identical phones and app versions count once. The page calls this
module twice per view:
- `visit()` opens the view with its one round trip to the shared cache: it adds the scan to the
  shipment's counter (atomic and shared by every server on Redis) and, in the same trip, reads
  the first-scan date and the page's version tokens (shipments.public_cache says what those mean).
- `record()`, once the page knows which shipment the code is, queues the scan's Scan row and
  returns what the page shows: (times scanned, first scan).

The Scan rows are the truth; the counter is a cache of their number that shows each scan at once.
When it is missing (never made, expired after COUNTER_TTL seconds, evicted) `record` writes this
process's waiting rows and counts the rows again. Rows that other processes have not written yet
(at most a batch or SCAN_FLUSH_SECONDS' worth each), and scans made while two processes recount
at once, can be missing from that total until the next recount: the drift is small and short.
With the local-memory cache each process counts its own scans between two recounts. Redis
unreachable (`Visit.offline`): every view writes the waiting rows and counts in the database.

Rows are written in batches (`waiting`): each process keeps the scans of the last moment in
memory and writes them with one multi-row INSERT when SCAN_BATCH_SIZE rows have gathered or the
oldest is SCAN_FLUSH_SECONDS old (checked as scans arrive), and when the process exits. A
promotion's burst of scans then costs one INSERT per batch instead of one per shopper. A process
killed without warning loses its unwritten scans (at most a batch, or a second's worth); a graceful
restart (gunicorn's max-requests, a deploy) writes them. SCAN_BATCH_SIZE=1 writes every scan at
once. On PostgreSQL the INSERT commits without waiting for the WAL flush (synchronous_commit off
for its own transaction only): a database crash may lose the last fraction of a second of scans,
never consistency. SET LOCAL and INSERT travel as one simple query, which PostgreSQL runs as one
implicit transaction: one round trip, no BEGIN/COMMIT.
"""

import atexit
import functools
import hashlib
import hmac
import logging
import threading
import time
from datetime import date, datetime
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.models import Count, Min
from django.utils import timezone
from redis import Redis
from redis.commands.core import Script
from redis.exceptions import RedisError

from shipments import public_cache
from shipments.models import Scan

log = logging.getLogger(__name__)

COUNTER_TTL = 300
VISITOR_TTL = 48 * 3600  # a day's visitors, whatever the time zone; then forgotten


def visitor(code: str, address: str, user_agent: str, day: date) -> str:
    """Who is scanning, as far as telling reloads from people needs: a hash of the client's
    address and user agent, keyed with a secret that changes every day (derived from SECRET_KEY
    and the date, never stored), so the same person has another hash tomorrow."""
    text = f"{code}\n{address}\n{user_agent}".encode()
    return hashlib.blake2b(text, key=_day_key(day, settings.SECRET_KEY), digest_size=12).hexdigest()


@functools.lru_cache(maxsize=4)
def _day_key(day: date, secret: str) -> bytes:
    return hmac.new(secret.encode(), f"scan-visitor:{day.isoformat()}".encode(), hashlib.sha256).digest()


def _seen(code: str, visitor_hash: str) -> str:
    return f"pub:seen:{code}:{visitor_hash}"


def _counter(code: str) -> str:
    return f"pub:scans:{code}"


def _first(code: str) -> str:
    return f"pub:first:{code}"


class Visit(NamedTuple):
    """What the shared cache said about a shipment at the start of a page view."""

    code: str
    version: str  # the page's two tokens joined; "" when offline
    count: int | None  # scans so far, this one included when counted; None: count the rows
    first: datetime | None  # the first scan, when known
    scan: bool  # this view is a scan (a person's first view of the day): record() queues its row
    offline: bool = False  # the shared cache did not answer: trust nothing cached


def visit(code: str, *, counting: bool, visitor_hash: str = "") -> Visit:
    """Start a page view: count it as a scan when `counting` and the visitor (`visitor()`) has
    not opened this page today, and read the shipment's page version and first scan, in one
    round trip. A missing token (never set, evicted, cache cleared) becomes a fresh random one,
    so no page kept earlier matches it. The counter is only incremented when it exists: a missing
    one is counted again from the rows by record(). With the shared cache unreachable nobody can
    be recognised: every counting view is a scan until it answers again."""
    if not public_cache.on_redis():
        return _visit_cache(code, counting, visitor_hash)
    if public_cache.offline():
        return Visit(code, "", None, None, counting, offline=True)
    names = (
        public_cache.shipment_token(code),
        public_cache.GLOBAL_TOKEN,
        _first(code),
        _counter(code),
        _seen(code, visitor_hash),
    )
    args = [
        public_cache.new_token(),
        public_cache.new_token(),
        public_cache.TOKEN_TTL,
        1 if counting else 0,
        VISITOR_TTL,
    ]
    try:
        script = _script(public_cache.shared_redis())
        shipment, global_, first, count, counted = script([public_cache.redis_key(name) for name in names], args)
    except RedisError:
        public_cache.went_offline()
        return Visit(code, "", None, None, counting, offline=True)
    return Visit(
        code,
        f"{shipment.decode()}.{global_.decode()}",
        None if count is None else int(count),
        None if first is None else datetime.fromisoformat(first.decode()),
        bool(counted),
    )


# KEYS: shipment token, global token, first scan, counter, this visitor's mark for the day. ARGV:
# a fresh shipment token and a fresh global token, the shipment token's TTL, "1" to count this
# scan, the visitor mark's TTL. Returns the first four values and 1 when the view was counted. One script instead of
# the three commands Django's cache API needs (MGET, then EXISTS and INCR): redis-py's cost per
# command is most of the page's cost on Redis. MGET gives Lua's false for a missing key, which
# Redis returns as nil.
_VISIT = """
local found = redis.call("MGET", KEYS[1], KEYS[2], KEYS[3], KEYS[4])
if not found[1] then
    found[1] = ARGV[1]
    redis.call("SET", KEYS[1], ARGV[1], "EX", ARGV[3])
end
if not found[2] then
    found[2] = ARGV[2]
    redis.call("SET", KEYS[2], ARGV[2])
end
local counted = 0
if ARGV[4] == "1" and redis.call("SET", KEYS[5], "1", "NX", "EX", ARGV[5]) then
    counted = 1
    if found[4] then
        found[4] = redis.call("INCR", KEYS[4])
    end
end
return {found[1], found[2], found[3], found[4], counted}
"""
_scripts = threading.local()


def _script(client: Redis) -> Script:
    """The visit script on this thread's client (loaded into Redis again if Redis forgot it)."""
    if getattr(_scripts, "client", None) is not client:
        _scripts.client, _scripts.script = client, client.register_script(_VISIT)
    return _scripts.script


def _visit_cache(code: str, counting: bool, visitor_hash: str) -> Visit:
    """Through Django's cache API: the local-memory cache, where a round trip costs nothing."""
    counting = counting and cache.add(_seen(code, visitor_hash), 1, timeout=VISITOR_TTL)
    token, first_key, count_key = public_cache.shipment_token(code), _first(code), _counter(code)
    found = cache.get_many([token, public_cache.GLOBAL_TOKEN, first_key] + ([] if counting else [count_key]))
    missing = {name: public_cache.new_token() for name in (token, public_cache.GLOBAL_TOKEN) if name not in found}
    if missing:
        for name, value in missing.items():
            cache.add(name, value, timeout=None if name == public_cache.GLOBAL_TOKEN else public_cache.TOKEN_TTL)
        found.update(cache.get_many(list(missing)))
    count = found.get(count_key)
    if counting:
        try:
            count = cache.incr(count_key)
        except ValueError:
            count = None
    version = f"{found.get(token, '')}.{found.get(public_cache.GLOBAL_TOKEN, '')}"
    return Visit(code, version, count, found.get(first_key), counting)


def record(seen: Visit, *, shipment_id: int, language: str, client: str) -> tuple[int, datetime | None]:
    """Queue the view's Scan row when it is a scan; return (times scanned, first scan) for the
    page, counting the rows when the shared counter could not say."""
    if seen.scan:
        waiting.add((shipment_id, timezone.now(), language, client))
    count, first = seen.count, seen.first
    if count is None or (count and first is None):
        waiting.flush()  # so the rows include every scan this process has counted, this one too
        totals = Scan.objects.filter(shipment_id=shipment_id).aggregate(count=Count("id"), first=Min("scanned_at"))
        count, first = totals["count"], totals["first"]
        if not seen.offline:
            _remember(seen.code, count, first)
    return count, first


def _remember(code: str, count: int, first: datetime | None) -> None:
    # `set`, not `add`: this count is at least as fresh as whatever a concurrent view may have stored.
    try:
        if not public_cache.on_redis():
            cache.set(_counter(code), count, timeout=COUNTER_TTL)
            if first is not None:
                cache.set(_first(code), first, timeout=None)
            return
        client = public_cache.shared_redis()
        client.set(public_cache.redis_key(_counter(code)), count, ex=COUNTER_TTL)
        if first is not None:
            client.set(public_cache.redis_key(_first(code)), first.isoformat())
    except RedisError:  # went away since visit(): the next view counts again
        log.warning("Redis did not answer: scan count not cached", exc_info=True)


# Scan rows, written in batches ---------------------------------------------------------------


class WaitingScans:
    """This process's Scan rows not yet written: (shipment id, time, language, client)."""

    def __init__(self):
        self._lock = threading.Lock()  # gthread workers share a process
        self._rows: list[tuple[int, datetime, str, str]] = []
        self._oldest = 0.0

    def add(self, row: tuple[int, datetime, str, str]) -> None:
        """Queue a row; write the batch when it is full or its oldest row old enough."""
        with self._lock:
            if not self._rows:
                self._oldest = time.monotonic()
            self._rows.append(row)
            full = len(self._rows) >= settings.SCAN_BATCH_SIZE
            rows = self._take() if full or time.monotonic() - self._oldest >= settings.SCAN_FLUSH_SECONDS else None
        if rows:
            _write(rows)

    def flush(self) -> None:
        """Write whatever is waiting."""
        with self._lock:
            rows = self._take()
        if rows:
            _write(rows)

    def clear(self) -> None:
        """Forget the waiting rows without writing them (tests: rows of a rolled-back transaction)."""
        with self._lock:
            self._rows = []

    def _take(self) -> list:
        rows, self._rows = self._rows, []
        return rows


waiting = WaitingScans()
atexit.register(waiting.flush)


def _write(rows: list) -> None:
    try:
        if connection.vendor == "postgresql":
            _insert(rows)
        else:
            Scan.objects.bulk_create(
                Scan(shipment_id=s, scanned_at=at, language=lang, client=client) for s, at, lang, client in rows
            )
    except DatabaseError:
        # Scans are analytics: a failed write must not fail the shopper's page.
        log.exception("could not write %d scan rows", len(rows))


def _insert(rows: list) -> None:
    meta, quote = Scan._meta, connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in ("shipment", "scanned_at", "language", "client"))
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    sql = f"SET LOCAL synchronous_commit TO OFF; INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])

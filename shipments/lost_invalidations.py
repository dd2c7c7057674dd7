"""Consumer-page invalidations that could not reach Redis, kept in the database and replayed.

A change (a recall, an edit) replaces a version token in Redis so that every server stops
serving the pages it kept (shipments.public_cache). With Redis down that cannot happen, and when
Redis comes back with its old tokens, a server that kept a page from before the change would
serve it again, recall warning missing, until the page expired (up to an hour). So a lost
invalidation is written to PostgreSQL (`LostInvalidation`), where it cannot be lost, and the
process that lost it, and every process that found Redis down, retries every RETRY_SECONDS
until Redis answers; then one of them replaces the global token (every page everywhere renders
afresh once, a small price after an outage) and deletes the rows it replayed. A recall made
during an outage therefore reaches every consumer page a few seconds after Redis is back,
without restarting anything.

A replaying thread keeps the cache it started with and stops after PAGE_TTL seconds: by then
every page kept before the change has expired anyway.
"""

import logging
import re
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Max
from redis import Redis
from redis.exceptions import RedisError

from shipments import public_cache
from shipments.models import LostInvalidation

log = logging.getLogger(__name__)

RETRY_SECONDS = 2

_lock = threading.Lock()
_threads: dict[str, threading.Thread] = {}


def keep() -> None:
    """Record that an invalidation did not reach Redis, and replay it once Redis answers."""
    try:
        LostInvalidation.objects.create()
    except DatabaseError:  # the change itself is committed; say loudly what was not kept
        log.exception("A consumer-page invalidation was lost and could not be written down")
    start_replaying()


def start_replaying() -> None:
    """Retry, in the background, until Redis answers and any lost invalidation is replayed."""
    if not public_cache.on_redis():
        return  # a per-process cache cannot be down
    location = settings.CACHES["default"]["LOCATION"]
    # The Redis and the key of this moment: the thread outlives the request (and, in tests,
    # the settings of the test that started it).
    url = re.split("[;,]", location)[0] if isinstance(location, str) else location[0]
    key = public_cache.redis_key(public_cache.GLOBAL_TOKEN)
    with _lock:
        running = _threads.get(str(location))
        if running is not None and running.is_alive():
            return
        thread = threading.Thread(target=_replay_until_done, args=(url, key), name="replay-invalidations", daemon=True)
        _threads[str(location)] = thread
        thread.start()


def _replay_until_done(url: str, key: str) -> None:
    shared = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1)
    deadline = time.monotonic() + public_cache.PAGE_TTL
    try:
        while time.monotonic() < deadline:
            time.sleep(RETRY_SECONDS)
            if replay(shared, key):
                return
    finally:
        shared.close()
        connection.close()  # this thread's own database connection


def replay(shared: Redis, key: str) -> bool:
    """Replace the global token (`key`) in `shared` if any invalidation was lost, then forget
    those. True when done, False while Redis or the database does not answer."""
    try:
        shared.ping()  # is Redis back? (before bothering the database)
        last = LostInvalidation.objects.aggregate(last=Max("id"))["last"]
        if last is None:
            return True
        shared.set(key, public_cache.new_token())
        LostInvalidation.objects.filter(id__lte=last).delete()
    except (RedisError, DatabaseError):
        return False
    log.warning("Invalidations lost while Redis was down are replayed: every consumer page renders afresh")
    return True

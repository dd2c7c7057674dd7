"""The API's rate limits: who the caller is, and where their requests are counted.

DRF's throttles count in Django's default cache: Redis when REDIS_URL is set, so every app
server shares one count. DRF lets a cache error through, so with Redis down every API call,
the token endpoint included, answered 500. These throttles count in the shared cache while it
answers and in this process's memory while it does not (a warning is logged once per outage):
the limits then hold per process, looser by the number of processes, instead of failing the
API or letting everything through. A process that found Redis down leaves it alone for
OFFLINE_SECONDS, so an outage costs no connection attempt per request.

The caller is `client_address(request)`, also used for login lockouts (AXES_CLIENT_IP_CALLABLE):
X-Forwarded-For is believed only as far as the TRUSTED_PROXY_COUNT proxies in front of the app.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework import throttling

log = logging.getLogger(__name__)

OFFLINE_SECONDS = 5


def client_address(request: HttpRequest) -> str:
    """The address of the client: REMOTE_ADDR when no proxy is trusted (TRUSTED_PROXY_COUNT=0);
    behind n trusted proxies, the n-th address from the right of X-Forwarded-For, the one the
    outermost trusted proxy received the request from. Each proxy appends the address it was
    called from, so entries further left are whatever the client chose to send."""
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if count == 0 or not forwarded:
        return remote
    return forwarded[-min(count, len(forwarded))]


class SharedOrLocal:
    """The two cache calls DRF's throttles make (get, set), on the default cache while it
    answers and on this process's memory while it does not."""

    def __init__(self):
        self.local = LocMemCache("throttles", {"TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": 10_000}})
        self._lock = threading.Lock()
        self._offline_until = 0.0

    def reset(self) -> None:
        """Forget the local counts and any outage (tests)."""
        self.local.clear()
        self._offline_until = 0.0

    def _shared_down(self) -> bool:
        return time.monotonic() < self._offline_until

    def _went_down(self) -> None:
        with self._lock:
            if not self._shared_down():
                log.warning(
                    "The shared cache did not answer: API rate limits are counted in this process for %d s",
                    OFFLINE_SECONDS,
                    exc_info=True,
                )
            self._offline_until = time.monotonic() + OFFLINE_SECONDS

    def get(self, key: str, default=None):
        if not self._shared_down():
            try:
                return cache.get(key, default)
            except RedisError:
                self._went_down()
        return self.local.get(key, default)

    def set(self, key: str, value, timeout=None) -> None:
        if not self._shared_down():
            try:
                cache.set(key, value, timeout)
                return
            except RedisError:
                self._went_down()
        self.local.set(key, value, timeout)


shared_or_local = SharedOrLocal()


class _Counted:
    cache = shared_or_local

    def get_ident(self, request) -> str:
        return client_address(request)


class AnonRateThrottle(_Counted, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_Counted, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(_Counted, throttling.ScopedRateThrottle):
    pass

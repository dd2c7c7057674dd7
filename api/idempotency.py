"""Idempotent POSTs: a client that sends an `Idempotency-Key` header may retry safely.

For the API (IdempotentMixin):

- The same key and body on the same route returns the stored response, without a second write,
  with the header `Idempotent-Replayed: true`.
- The same key with a different body answers 422.
- Keys are scoped to the caller and the route (method and path), and kept for KEEP.

One transaction (issue 12): the claim of the key, the action and its stored outcome commit or roll
back together. A fault anywhere before the commit (the database connection dropped, the process
killed) leaves nothing behind, not even the claim, so the retry runs the action once; after the
commit, the retry gets the stored outcome. A duplicate sent while the first is running waits on
the unique index of (user, route, key) until the first ends, then returns its outcome (or, if the
first failed, runs itself): no 409 to retry after.

Why the database and not the cache: a stored outcome must survive a restart and be shared by
every app server, and the unique index settles two concurrent requests with one key.
Only successful (2xx) outcomes are stored: after an error the whole transaction is rolled back
and the key is free again, so a client can fix its request and retry.
"""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from api.errors import Conflict, Unprocessable
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEEP = timedelta(hours=24)
MAX_KEY = 255


class _Replay(Exception):
    def __init__(self, response: Response):
        self.response = response


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, cls=JSONEncoder, default=str)
    return hashlib.sha256(f"{request.META.get('QUERY_STRING', '')}\n{body}".encode()).hexdigest()


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY and key.isprintable() and key.isascii()


def _route(request) -> str:
    return f"POST {request.path}"[:512]


def _forget_expired(user, now, skip_locked: bool = False) -> None:
    expired = IdempotencyRecord.objects.filter(user=user, created_at__lt=now - KEEP)
    if skip_locked:
        # Inside a request's transaction: rows another request of this caller is deleting are
        # left to it, rather than waiting for its whole request to end.
        expired = IdempotencyRecord.objects.filter(
            pk__in=list(expired.select_for_update(skip_locked=True).values_list("pk", flat=True))
        )
    expired.delete()


class IdempotentMixin:
    """For DRF views: makes every POST honour the Idempotency-Key header."""

    _idempotency_record = None

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST" or request.headers.get(HEADER) is None:
            return super().dispatch(request, *args, **kwargs)
        # The claim (in initial), the action and the stored outcome (in finalize_response) are
        # one transaction: see the module docstring. Errors roll it back (finalize_response).
        with transaction.atomic():
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttling first
        self._idempotency_record = None
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return
        if not _valid_key(key):
            raise exceptions.ValidationError({HEADER: [_("Give 1 to 255 printable ASCII characters.")]})
        self._idempotency_record = self._claim(request, key)

    def _claim(self, request, key: str):
        identity = {"user": request.user, "route": _route(request), "key": key}
        fingerprint = _fingerprint(request)
        _forget_expired(request.user, timezone.now(), skip_locked=True)
        try:
            # A duplicate running at the same moment holds the same index entry: this INSERT waits
            # until it commits (IntegrityError: read its outcome) or rolls back (the claim is ours).
            with transaction.atomic():
                return IdempotencyRecord.objects.create(**identity, fingerprint=fingerprint)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(**identity).first()
        if existing is None or existing.status_code is None:
            # Freed between the INSERT and the SELECT, or a row of the old two-transaction scheme.
            raise Conflict(_("A request with this Idempotency-Key is still being processed; retry shortly."))
        if existing.fingerprint != fingerprint:
            raise Unprocessable(_("This Idempotency-Key was already used with a different request body."))
        response = Response(existing.response, status=existing.status_code, headers={REPLAYED_HEADER: "true"})
        raise _Replay(response)

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        return super().handle_exception(exc)  # an unexpected error propagates: dispatch's atomic rolls back

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record, self._idempotency_record = self._idempotency_record, None
        if record is not None:
            if 200 <= response.status_code < 300:
                data = json.loads(json.dumps(getattr(response, "data", None), cls=JSONEncoder))
                type(record).objects.filter(pk=record.pk).update(status_code=response.status_code, response=data)
            else:
                # Nothing of a refused request is kept: not its claim, not a half-done write.
                transaction.set_rollback(True)
        return response

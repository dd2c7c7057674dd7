"""Idempotent POSTs: a client that sends an `Idempotency-Key` header may retry safely.

For the API (IdempotentMixin):

- The same key and body on the same route returns the stored response, without a second write,
  with the header `Idempotent-Replayed: true`.
- The same key with a different body answers 422; a retry while the first request is still
  running answers 409.
- Keys are scoped to the caller and the route (method and path), and kept for KEEP.

Why the database and not the cache: a stored outcome must survive a restart and be shared by
every app server, and the unique constraint on (user, route, key) settles two concurrent
requests with one key without a lock (the loser's INSERT fails and it answers 409).
Only successful (2xx) outcomes are stored: after an error the key is free again, so a client
can fix its request and retry. A row left running by a crashed process is taken over after STALE.

For web forms whose POST creates something (run_once): the page carries a one-time key in a
hidden field; the first POST with it runs the action and keeps its result, a double tap or a
retry gets that result back without a second write. Same table, same scoping by user and route.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
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
STALE = timedelta(minutes=5)
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


def _forget_expired(user, now) -> None:
    IdempotencyRecord.objects.filter(user=user, created_at__lt=now - KEEP).delete()


def run_once(request, key: uuid.UUID | None, action: Callable[[], str]) -> str:
    """`action()` once per web-form key: the first POST with `key` runs it and keeps what it
    returns (a string, e.g. the lot code of the batch it created); a later POST with the same key
    by the same user on the same path returns that string without running it. No key, no guard.

    Call it only after the form validated, so a form sent back with errors keeps its key free.
    The request body is not compared: the key belongs to one rendering of the page, and a
    double tap sends that page's body twice. The claim, the action and its result are one
    transaction: a concurrent duplicate waits on the unique index until the first commits and
    then reads its result; if the first fails, nothing is kept and the duplicate runs.
    """
    if key is None:
        return action()
    identity = {"user": request.user, "route": _route(request), "key": str(key)}
    with transaction.atomic():
        _forget_expired(request.user, timezone.now())
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(**identity, fingerprint="")
        except IntegrityError:
            return IdempotencyRecord.objects.get(**identity).response["result"]
        result = action()
        # 200 marks the row finished, as for the API; web-form rows keep the action's result.
        IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=200, response={"result": result})
    return result


class IdempotentMixin:
    """For DRF views: makes every POST honour the Idempotency-Key header."""

    _idempotency_record = None

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
        route = _route(request)
        fingerprint = _fingerprint(request)
        now = timezone.now()
        _forget_expired(request.user, now)
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user=request.user, key=key, route=route, fingerprint=fingerprint
                )
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(user=request.user, route=route, key=key).first()
        if existing is None:  # finished with an error and freed between our INSERT and SELECT
            raise Conflict(_("A request with this Idempotency-Key is still being processed; retry shortly."))
        if existing.fingerprint != fingerprint:
            raise Unprocessable(_("This Idempotency-Key was already used with a different request body."))
        if existing.status_code is None:
            # Take over a row left behind by a crashed process; otherwise the first request is running.
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, status_code__isnull=True, created_at__lt=now - STALE
            )
            if taken.update(created_at=now):
                existing.created_at = now
                return existing
            raise Conflict(_("A request with this Idempotency-Key is still being processed; retry shortly."))
        response = Response(existing.response, status=existing.status_code, headers={REPLAYED_HEADER: "true"})
        raise _Replay(response)

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        try:
            return super().handle_exception(exc)
        except Exception:
            # An unexpected error (a 500): free the key so the client's retry runs again.
            record, self._idempotency_record = self._idempotency_record, None
            if record is not None:
                type(record).objects.filter(pk=record.pk).delete()
            raise

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record, self._idempotency_record = self._idempotency_record, None
        if record is not None:
            if 200 <= response.status_code < 300:
                data = json.loads(json.dumps(getattr(response, "data", None), cls=JSONEncoder))
                type(record).objects.filter(pk=record.pk).update(status_code=response.status_code, response=data)
            else:
                type(record).objects.filter(pk=record.pk).delete()
        return response

"""Writing Scan rows from the consumer page, the hot path, in small batches.

Each process keeps the scans of the last moment in memory and writes them with one multi-row
INSERT when `SCAN_BATCH_SIZE` rows have gathered or the oldest is `SCAN_FLUSH_SECONDS` old
(checked as scans arrive), and when the process exits. A promotion's burst of scans then costs
one INSERT per batch instead of one per shopper. What the page shows is not delayed: the scan
counter lives in the cache (shipments.public_cache) and counts each scan at once. The price: a
process killed without warning loses its last unwritten scans (at most a batch, or a second's
worth); a graceful restart (gunicorn's max-requests, a deploy) writes them. `SCAN_BATCH_SIZE=1`
writes every scan at once.

On PostgreSQL the INSERT commits without waiting for the WAL flush (synchronous_commit off for
its own transaction only): a database crash may lose the last fraction of a second of scans,
never consistency. SET LOCAL and INSERT travel as one simple query, which PostgreSQL runs as one
implicit transaction: one round trip, no BEGIN/COMMIT.
"""

import atexit
import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone

from shipments.models import Scan

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pending: list[tuple[int, object, str, str]] = []
_oldest = 0.0


def add(*, shipment_id: int, language: str, client: str) -> None:
    """Record one scan; write the batch when it is full or old enough."""
    global _oldest
    with _lock:
        if not _pending:
            _oldest = time.monotonic()
        _pending.append((shipment_id, timezone.now(), language, client))
        due = len(_pending) >= settings.SCAN_BATCH_SIZE or time.monotonic() - _oldest >= settings.SCAN_FLUSH_SECONDS
        rows = _take() if due else None
    if rows:
        _write(rows)


def waiting(shipment_id: int) -> tuple[int, object]:
    """(how many scans of the shipment wait in this process, the time of the earliest)."""
    with _lock:
        times = [at for s, at, _lang, _client in _pending if s == shipment_id]
    return len(times), min(times, default=None)


def flush() -> None:
    """Write whatever is waiting (at exit, and in tests)."""
    with _lock:
        rows = _take()
    if rows:
        _write(rows)


def _take() -> list:
    rows = list(_pending)
    _pending.clear()
    return rows


def _write(rows: list) -> None:
    try:
        if connection.vendor != "postgresql":
            Scan.objects.bulk_create(
                Scan(shipment_id=s, scanned_at=at, language=lang, client=client) for s, at, lang, client in rows
            )
            return
        _insert(rows)
    except DatabaseError:
        # Scans are analytics: a failed write must not fail the shopper's page.
        log.exception("could not write %d scan rows", len(rows))


def _insert(rows: list) -> None:
    meta, quote = Scan._meta, connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in ("shipment", "scanned_at", "language", "client"))
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    sql = f"SET LOCAL synchronous_commit TO OFF; INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values}"
    params = [value for row in rows for value in row]
    # The insert is its own health check: CONN_HEALTH_CHECKS would spend a second round trip
    # (SELECT 1) on it. A connection found dead (the database restarted) is replaced and the
    # insert retried once.
    connection.health_check_done = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    except (InterfaceError, OperationalError):
        if connection.in_atomic_block:
            raise
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


atexit.register(flush)

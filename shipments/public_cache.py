"""The consumer page's cache: rendered bodies per shipment and language, scan counters, invalidation.

A page body is stored with the two version tokens current when its render began, and served only
while both are still current:
- the shipment's token, replaced whenever something the page shows about that shipment changes
  (a trace event, a correction, a batch status change or recall, the shipment or its items);
- a global token, replaced when shared content changes (a village's story, a farm, a field, a crop,
  a recipe), which is rare and touches many pages at once.
A render reads the tokens before it queries, so a render that races an invalidation stores its
result with the old token, which no reader accepts (the next reader renders again). Bodies also
expire within the hour and at local midnight (the page says how many days ago the harvest was).

Scan counters live in the cache too (`incr` is atomic and shared on Redis) and are re-read from the
database when missing and every COUNTER_TTL seconds, which bounds any drift (with the per-process
local-memory cache each process counts its own scans between two re-reads).
"""

import secrets
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Min
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from farms.models import Crop, Farm, Field, Recipe, Village
from shipments import scan_writer
from shipments.models import Scan, Shipment, ShipmentItem
from traceability.models import Batch
from traceability.signals import batches_changed

PAGE_TTL = 3600
COUNTER_TTL = 300
QR_TTL = 86400
# A shipment's token may lapse (a fresh one only costs a render) and must, or a flood of made-up
# codes would fill the cache with tokens that never expire.
TOKEN_TTL = 86400
_GLOBAL = "pub:gen"


def _shipment_key(code: str) -> str:
    return f"pub:ver:{code}"


def _new_token() -> str:
    return secrets.token_hex(4)


def lookup(code: str, language: str) -> tuple[str, dict | None, datetime | None]:
    """(current version, the cached page if rendered at that version, first scan), in one cache
    round trip.

    The version joins the shipment's token and the global one. A missing token (never set,
    evicted, cache cleared) becomes a fresh random one, so no page stored earlier matches it.
    """
    key, first_key, body_key = _shipment_key(code), _first_key(code), _page_key(code, language)
    found = cache.get_many([key, _GLOBAL, first_key, body_key])
    missing = {name: _new_token() for name in (key, _GLOBAL) if name not in found}
    if missing:
        for name, value in missing.items():
            cache.add(name, value, timeout=None if name == _GLOBAL else TOKEN_TTL)
        found.update(cache.get_many(list(missing)))
    version = f"{found.get(key, '')}.{found.get(_GLOBAL, '')}"
    entry = found.get(body_key)
    if entry is not None and entry["version"] != version:
        entry = None
    return version, entry, found.get(first_key)


def _page_key(code: str, language: str) -> str:
    return f"pub:page:{code}:{language}"


def store_page(code: str, language: str, version: str, entry: dict) -> None:
    """Keep a rendered page with the version it was rendered at (read before its queries ran)."""
    now = timezone.localtime()
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
    ttl = max(1, min(PAGE_TTL, int((midnight - now).total_seconds())))
    cache.set(_page_key(code, language), {**entry, "version": version}, timeout=ttl)


def forget_shipments(codes) -> None:
    """Make every cached page of these shipments unreachable."""
    cache.set_many({_shipment_key(code): _new_token() for code in codes}, timeout=TOKEN_TTL)


def forget_all_pages() -> None:
    cache.set(_GLOBAL, _new_token(), timeout=None)


def forget_shipments_of_batches(batch_ids) -> None:
    codes = set(
        ShipmentItem.objects.filter(batch_id__in=list(batch_ids)).values_list("shipment__public_code", flat=True)
    )
    if codes:
        forget_shipments(codes)


# Scan counters -------------------------------------------------------------------------------


def _count_key(code: str) -> str:
    return f"pub:scans:{code}"


def _first_key(code: str) -> str:
    return f"pub:first:{code}"


def scan_counts(code: str, shipment_id: int, *, recorded: bool, first: datetime | None) -> tuple[int, datetime | None]:
    """(times scanned, first scan) for the authenticity block. Call after inserting this scan's
    row; `first` is what lookup() found."""
    count_key = _count_key(code)
    if recorded:
        try:
            count = cache.incr(count_key)
        except ValueError:
            count = None
    else:
        count = cache.get(count_key)
    if count is None or (count and first is None):
        # Counted after this request's insert, so the figure includes it; `set`, not `add`: this
        # count is at least as fresh as whatever a concurrent request may have stored.
        totals = Scan.objects.filter(shipment_id=shipment_id).aggregate(count=Count("id"), first=Min("scanned_at"))
        # Plus this process's scans not yet written (shipments.scan_writer batches them).
        waiting, earliest = scan_writer.waiting(shipment_id)
        count = totals["count"] + waiting
        first = min((t for t in (totals["first"], earliest) if t is not None), default=None)
        cache.set(count_key, count, timeout=COUNTER_TTL)
        if first is not None:
            cache.set(_first_key(code), first, timeout=None)
    return count, first


# QR images -----------------------------------------------------------------------------------


def qr_key(code: str, kind: str, scale: int) -> str:
    return f"pub:qr:{code}:{kind}:{scale}"


# Invalidation --------------------------------------------------------------------------------


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

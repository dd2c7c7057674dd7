"""Making kept consumer pages stale: the one path from a committed change to the pages that show it.

A kept page is served only while its version tokens are current (shipments.public_cache); this
module replaces them and nothing else does. Each kind of data a page shows reaches it by exactly
one trigger, always once the change has committed (a page rendered from the uncommitted state
must not outlive the change):

- a lot (its fields, events, corrections, status, recalls): traceability's `batches_changed`,
  which traceability sends for every change of a lot, its services' and a Batch saved elsewhere
  (the admin, the API's batch update) alike. Pages of the shipments holding the lot.
- a shipment or its lines: `post_save` / `post_delete` of Shipment and ShipmentItem, whoever
  saves them (the services, the API, the admin). That shipment's page.
- shared content (village, farm, field, crop, recipe, store): `post_save` / `post_delete`, and a
  recipe's crops. Every page, through the global token: rare, and a village's story is on
  thousands of pages.

An invalidation that cannot reach Redis is logged, not raised (the change is already committed).
"""

import logging

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from redis.exceptions import RedisError

from farms.models import Crop, Farm, Field, Recipe, Village
from shipments import lost_invalidations, public_cache
from shipments.models import Shipment, ShipmentItem, Store
from traceability.signals import batches_changed

log = logging.getLogger(__name__)


def forget_shipments(codes) -> None:
    """Make every kept page of these shipments stale, on every server."""
    tokens = {public_cache.shipment_token(code): public_cache.new_token() for code in codes}
    if not tokens:
        return
    try:
        if not public_cache.on_redis():
            cache.set_many(tokens, timeout=public_cache.TOKEN_TTL)
            return
        with public_cache.shared_redis().pipeline(transaction=False) as pipe:
            for name, token in tokens.items():
                pipe.set(public_cache.redis_key(name), token, ex=public_cache.TOKEN_TTL)
            pipe.execute()
    except RedisError:
        _invalidation_lost()


def forget_all_pages() -> None:
    """Make every kept page stale, on every server."""
    try:
        if not public_cache.on_redis():
            cache.set(public_cache.GLOBAL_TOKEN, public_cache.new_token(), timeout=None)
        else:
            public_cache.shared_redis().set(public_cache.redis_key(public_cache.GLOBAL_TOKEN), public_cache.new_token())
    except RedisError:
        _invalidation_lost()


def _invalidation_lost() -> None:
    # Runs after the change committed (on_commit): raising would answer the recall or the edit
    # with an error although it was saved. This process forgets its pages; the others notice the
    # outage on their next page view (scans.visit), and shipments.lost_invalidations replays it.
    log.error("Redis did not answer: consumer pages kept by other processes may be stale", exc_info=True)
    public_cache.pages.clear()
    lost_invalidations.keep()  # replayed once Redis answers again


# The triggers --------------------------------------------------------------------------------


@receiver(batches_changed, dispatch_uid="page_invalidation_batches_changed")
def _lots_changed(sender, batch_ids, **kwargs) -> None:
    # Sent after commit.
    codes = ShipmentItem.objects.filter(batch_id__in=list(batch_ids)).values_list("shipment__public_code", flat=True)
    forget_shipments(set(codes))


@receiver(post_save, sender=Shipment, dispatch_uid="page_invalidation_shipment_saved")
@receiver(post_delete, sender=Shipment, dispatch_uid="page_invalidation_shipment_deleted")
def _shipment_changed(sender, instance: Shipment, **kwargs) -> None:
    code = instance.public_code
    transaction.on_commit(lambda: forget_shipments([code]))


@receiver(post_save, sender=ShipmentItem, dispatch_uid="page_invalidation_item_saved")
@receiver(post_delete, sender=ShipmentItem, dispatch_uid="page_invalidation_item_deleted")
def _line_changed(sender, instance: ShipmentItem, **kwargs) -> None:
    code = instance.shipment.public_code
    transaction.on_commit(lambda: forget_shipments([code]))


def _content_changed(sender, **kwargs) -> None:
    transaction.on_commit(forget_all_pages)


for _model in (Village, Farm, Field, Crop, Recipe, Store):
    post_save.connect(_content_changed, sender=_model, dispatch_uid=f"page_invalidation_{_model.__name__}_saved")
    post_delete.connect(_content_changed, sender=_model, dispatch_uid=f"page_invalidation_{_model.__name__}_deleted")
m2m_changed.connect(_content_changed, sender=Recipe.crops.through, dispatch_uid="page_invalidation_recipe_crops")

"""The product page of a GTIN: the default link of `/01/{GTIN}` in the GS1 Digital Link resolver.

Anonymous, server-rendered, no script, in the shape and weight of the consumer page (it shares its
style sheet, language choice and cache headers): what the crop is, the villages that grow it, its
photo, its recipes, the lots of it on sale now, and any open recall of them. Five queries, no per-visitor
part; it counts no scan (a scan is of a shipment's code). Like the consumer page it shows no
private data: no grower names, phones, notes, user names or recall reasons.
"""

from datetime import timedelta

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.views.decorators.http import require_safe

from farms import images
from farms.models import Crop, Village, localized
from shipments.models import Shipment, ShipmentItem
from shipments.public import LEAD_PHOTO_WIDTH, finish_page, not_found_page, page_language, recipes_for
from traceability.models import Batch, RecallHold

ON_SALE_DAYS = 14  # a lot delivered this recently is on the shelves (fresh produce sells in days)
MAX_LOTS = 12
MAX_VILLAGES = 8


@require_safe
def product_page(request: HttpRequest, gtin: str) -> HttpResponse:
    language, switched = page_language(request)
    with translation.override(language):
        crop = Crop.objects.filter(gtin=gtin).first() if gtin.isdigit() and len(gtin) == 14 else None
        if crop is None:
            return not_found_page(language, switched)
        body = render_to_string("shipments/public/product.html", _context(crop, language))
    return finish_page(HttpResponse(body), language, switched)


def _context(crop: Crop, language: str) -> dict:
    since = timezone.now() - timedelta(days=ON_SALE_DAYS)
    on_sale = (
        ShipmentItem.objects.filter(
            batch__crop=crop, shipment__status=Shipment.Status.DELIVERED, shipment__delivered_at__gte=since
        )
        .exclude(batch__status__in=[Batch.Status.ON_HOLD, Batch.Status.RECALLED])
        .select_related("batch__farm__village", "shipment__store")
        .order_by("-shipment__delivered_at", "batch__lot_code")[:MAX_LOTS]
    )
    recalled = sorted(
        set(
            RecallHold.objects.filter(batch__crop=crop, recall__closed_at__isnull=True).values_list(
                "batch__lot_code", flat=True
            )
        )
    )
    villages = (
        Village.objects.filter(Q(specialties=crop) | Q(farms__batches__crop=crop)).distinct().order_by("name_zh")
    )[:MAX_VILLAGES]
    other = "en" if language == "zh-hans" else "zh-hans"
    recipes = recipes_for({crop.pk}, language)
    return {
        "lang": language,
        "other_lang": other,
        "crop": crop,
        "name": crop.name(language),
        "variety": localized(crop, "variety", language),
        "storage": localized(crop, "storage_advice", language),
        "villages": [
            {
                "name": localized(v, "name", language),
                "county": localized(v, "county", language),
                "province": localized(v, "province", language),
            }
            for v in villages
        ],
        "lots": [
            {
                "lot_code": item.batch.lot_code,
                "village": localized(item.batch.farm.village, "name", language),
                "harvested_on": item.batch.harvested_on,
                "store": localized(item.shipment.store, "name", language),
                "city": localized(item.shipment.store, "city", language),
            }
            for item in on_sale
        ],
        "recalled": recalled,
        # The product's photo, as the consumer page leads with it; not while a lot of it is
        # recalled (an appetising picture beside "do not eat", as on the consumer page).
        "photo": None if recalled else images.picture(crop.photo, largest=LEAD_PHOTO_WIDTH),
        "recipes": recipes,
        "recipes_in_other_language": bool(recipes) and recipes[0].language != language,
    }

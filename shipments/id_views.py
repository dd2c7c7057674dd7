"""What the identifiers in our EPCIS documents lead to (`traceability/identifiers.py` makes them):
a lot, village, farm, store or retailer without a GS1 key has an HTTP URI under PUBLIC_BASE_URL,
and `/ns/trace` is the document of our extension terms (`tr:`), so every URI a trading partner
reads in a document answers.

Public pages disclose little: the identifier, the thing's name and, for a lot, its product. The
lot's facts (farm, village, dates, quantity, status) only to signed-in people who may trace it
(traceability.permissions.may_trace); anyone else gets the same short page, so the page is no
oracle of more than the lot's existence (which its label already tells). Server-rendered, no
script, no inline style (the site's stylesheet).
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from farms.models import Farm, Village, localized
from shipments.models import Retailer, Store
from traceability import identifiers
from traceability.lot_codes import is_lot_code
from traceability.models import Batch
from traceability.permissions import may_trace

# Our extension terms (EPCIS `tr:` fields and the bizStep, bizTransaction type and disposition
# values CBV 2.0 lacks): name -> what it means. Each is an anchor of /ns/trace.
TERMS = {
    "kind": _("The kind of record in this service (harvest, cooling, packing, quality test, ...)."),
    "transformation": _("How a transformation made a new lot: sorting, repacking or mixing."),
    "sorting": _("Business step: lots sorted or graded into a new lot (not repackaging)."),
    "mixing": _("Business step: lots of one product mixed into a new lot."),
    "packing_record": _("Business transaction type: the packing or production record of a lot."),
    "harvest_record": _("Business transaction type: a field tag or harvest record number."),
    "closing_recall": _("Business step: a recall closed; the lots it held return to their previous state."),
    "lab": _("The laboratory of a quality test."),
    "result": _("The result of a quality test."),
    "shipment": _("The public code of the shipment an event moved."),
    "referenceDocument": _("A reference document number whose issuer has no GLN."),
    "note": _("The note of a correction."),
    "recallReason": _("Why a lot was recalled."),
    "variety": _("The variety of the product, in Chinese and English."),
    "field": _("The field a lot was harvested from."),
    "gtin": _("The GTIN of a lot's product, when the lot's code is not a GS1 batch/lot number."),
}


def _page(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    response = render(request, f"shipments/id/{template}", context)
    # What a lot's page shows depends on who asks.
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    patch_cache_control(response, private=True, max_age=0)
    return response


@require_safe
def lot(request: HttpRequest, code: str) -> HttpResponse:
    if not is_lot_code(code):
        raise Http404
    batch = get_object_or_404(Batch.objects.select_related("crop", "farm__village", "field"), lot_code=code)
    facts = request.user.is_authenticated and may_trace(request.user, batch)
    return _page(
        request,
        "lot.html",
        {"uri": identifiers.lot_uri(batch.lot_code), "lot": batch, "crop": batch.crop, "facts": facts},
    )


@require_safe
def village(request: HttpRequest, code: str) -> HttpResponse:
    place = get_object_or_404(Village, code=code)
    uri = identifiers.village_location("", place.code)
    return _page(request, "place.html", {"uri": uri, "name": place.name(), "gln": place.gln or ""})


@require_safe
def farm(request: HttpRequest, pk: int) -> HttpResponse:
    place = get_object_or_404(Farm.objects.select_related("village"), pk=pk)
    name = f"{place.name()}, {place.village.name()}"
    return _page(request, "place.html", {"uri": identifiers.farm_uri(place.pk), "name": name, "gln": ""})


@require_safe
def store(request: HttpRequest, pk: int) -> HttpResponse:
    place = get_object_or_404(Store.objects.select_related("retailer"), pk=pk)
    name = f"{localized(place.retailer, 'name')}, {localized(place, 'name')}"
    uri = identifiers.store_location("", place.pk)
    return _page(request, "place.html", {"uri": uri, "name": name, "gln": place.gln or ""})


@require_safe
def retailer(request: HttpRequest, pk: int) -> HttpResponse:
    party = get_object_or_404(Retailer, pk=pk)
    uri = identifiers.retailer_party("", party.pk)
    return _page(request, "place.html", {"uri": uri, "name": localized(party, "name"), "gln": party.gln or ""})


@require_safe
def namespace(request: HttpRequest) -> HttpResponse:
    terms = [{"name": name, "uri": identifiers.term(name), "meaning": meaning} for name, meaning in TERMS.items()]
    return _page(request, "namespace.html", {"uri": identifiers.namespace(), "terms": terms})

"""A GS1 Digital Link resolver for our lots (GS1-Conformant resolver behaviour, DESIGN.md section 5).

`/01/{GTIN}/10/{lot}` resolves to the consumer page of the most recent shipment that carries the
lot. Link types are anchors of that page. GET and HEAD redirect (307) to the default link or to a
requested `linkType`; `?linkType=linkset` or `Accept: application/linkset+json` returns an
RFC 9264 linkset; other query parameters pass through to the target. Error messages (400, 404)
are for people and come in the reader's language; the linkset, its titles and the link type
names are for machines and stay as GS1 spells them.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from shipments.models import Shipment
from traceability import digital_link
from traceability.models import Batch

VOC = "https://gs1.org/voc/"
# Our link types and the anchor of the consumer page that answers each.
LINK_TYPES = {
    "defaultLink": "",
    "pip": "",
    "traceability": "#journey",
    "recipeInfo": "#recipes",
    "certificationInfo": "#quality",
    "recallStatus": "#authenticity",
}
TITLES = {
    "defaultLink": "Origin and recipes",
    "pip": "Product information",
    "traceability": "Journey from the farm",
    "recipeInfo": "Recipes",
    "certificationInfo": "Quality tests and certificates",
    "recallStatus": "Recall status",
}


def _problem(status: int, message: str) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": "digital_link", "message": message}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def _link_type(raw: str) -> str:
    """`gs1:pip`, `pip` and `https://gs1.org/voc/pip` all name the same link type."""
    for prefix in ("gs1:", VOC):
        if raw.startswith(prefix):
            return raw[len(prefix) :]
    return raw


def _links(link: digital_link.DigitalLink) -> dict[str, str]:
    if link.lot is None:
        return {}
    batch = Batch.objects.filter(lot_code=link.lot, crop__gtin=link.gtin).only("id").first()
    if batch is None:
        return {}
    shipment = (
        Shipment.objects.filter(items__batch=batch)
        .exclude(status=Shipment.Status.CANCELLED)
        .order_by("-created_at")
        .only("public_code")
        .first()
    )
    if shipment is None:
        return {}
    return {name: shipment.public_url + anchor for name, anchor in LINK_TYPES.items()}


def _linkset(anchor: str, links: dict[str, str]) -> JsonResponse:
    body = {"anchor": anchor}
    for name, href in links.items():
        body[VOC + name] = [{"href": href, "title": TITLES[name], "type": "text/html", "hreflang": ["zh-Hans", "en"]}]
    response = JsonResponse({"linkset": [body]}, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/linkset+json"
    return response


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def resolve(request: HttpRequest, path: str) -> HttpResponse:
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Allow"] = "GET, HEAD, OPTIONS"
        return response
    try:
        link = digital_link.parse("/01/" + path)
    except digital_link.MalformedLink as exc:
        return _problem(400, str(exc))
    links = _links(link)
    anchor = settings.PUBLIC_BASE_URL + link.path()
    query = request.GET.copy()
    wanted = _link_type(query.pop("linkType", [""])[-1])
    if wanted in ("linkset", "all") or "application/linkset+json" in request.headers.get("Accept", ""):
        return _linkset(anchor, links)
    target = links.get(wanted or "defaultLink")
    if target is None:
        if wanted:
            return _problem(404, _("No %(link_type)s link for %(path)s.") % {"link_type": wanted, "path": link.path()})
        return _problem(404, _("No default link for %(path)s.") % {"path": link.path()})
    if query:
        base, _hash, fragment = target.partition("#")
        target = f"{base}?{urlencode(query, doseq=True)}" + (f"#{fragment}" if fragment else "")
    response = HttpResponse(status=307)
    response["Location"] = target
    response["Link"] = f'<{anchor}?linkType=linkset>; rel="linkset"; type="application/linkset+json"'
    return response


def resolver_description(request: HttpRequest) -> JsonResponse:
    """`/.well-known/gs1resolver`: what this resolver supports."""
    return JsonResponse(
        {
            "name": "Farm-to-consumer traceability resolver",
            "resolverRoot": settings.PUBLIC_BASE_URL,
            "supportedPrimaryKeys": ["01"],
            "supportedLinkType": [VOC + name for name in LINK_TYPES],
            "linkTypeDefaultCanBeLinkset": False,
            "supportedContextValuesEnumerated": [],
        }
    )

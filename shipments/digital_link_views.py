"""A GS1-Conformant resolver for our GS1 Digital Link URIs (GS1-Conformant Resolver standard 1.x,
DESIGN.md section 5).

What resolves, from the most granular level up (a resolver walks up the tree when a level is
unknown, so an unknown lot, a serial number or a consumer product variant still reaches the
product):

- `/01/{GTIN}/10/{lot}`: the consumer page of the most recent shipment that carries the lot;
- `/01/{GTIN}` (and any URI of that GTIN whose level we do not know): the product page;
- `/00/{SSCC}`: the consumer page of that shipment.

GET and HEAD redirect (307) to the default link, or to a requested `linkType` (404 if no level
has one), passing the query string on; `?linkType=linkset` (or `all`) and `Accept:
application/linkset+json` return the RFC 9264 linkset of every level, with a JSON-LD context
`Link`. Link types may be named `gs1:x`, `x`, or in the `https://ref.gs1.org/voc/`,
`https://www.gs1.org/voc/` or `https://gs1.org/voc/` namespaces. Compressed URIs (a path of one
base64url segment, or `/01/{GTIN}/{base64url}`) are decompressed and answered as the URI they
stand for, named in a `Link: <...>; rel="owl:sameAs"` header. A malformed URI answers 400 with
the reason. Every answer carries CORS headers (any origin may read it) and `Vary: Accept,
Accept-Language`; OPTIONS answers the CORS preflight.

Paths are read as the client sent them (percent-encoded) from the server's raw request line
(gunicorn's RAW_URI, or REQUEST_URI), so each value is percent-decoded exactly once and a lot
containing "/" (sent as %2F) resolves. A server that gives only the decoded PATH_INFO loses
the difference between "/" and "%2F"; the value is still decoded once.

Error messages (400, 404) are for people and come in the reader's language; the linkset, its
titles and the link type names are for machines and stay in English as GS1 spells them.
"""

import contextlib
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse, QueryDict
from django.urls import is_valid_path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from farms.models import Crop
from shipments.models import Shipment
from traceability import digital_link
from traceability.digital_link_compression import expand
from traceability.models import Batch

VOC = "https://ref.gs1.org/voc/"
# Names GS1 link types go by: the CURIE prefix and the vocabulary's namespaces, old and new.
NAMESPACES = ("gs1:", VOC, "https://www.gs1.org/voc/", "https://gs1.org/voc/", "http://gs1.org/voc/")
JSON_LD_CONTEXT = "https://ref.gs1.org/standards/resolver/linkset-context"
LINKSET_TYPE = "application/linkset+json"
HREFLANG = ["zh", "en"]  # the pages come in both; GS1's linkset schema accepts 2-letter tags
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language, Content-Type",
    "Access-Control-Expose-Headers": "Link, Location, Content-Language, Vary",
    "Access-Control-Max-Age": "86400",
}
TITLES = {
    "defaultLink": "Origin and recipes",
    "pip": "Product information",
    "traceability": "Journey from the farm",
    "recipeInfo": "Recipes",
    "certificationInfo": "Quality tests and certificates",
    "recallStatus": "Recall status",
}
# Link types of a shipment's consumer page (a lot, an SSCC) and their anchors on it.
LINK_TYPES = {
    "defaultLink": "",
    "pip": "",
    "traceability": "#journey",
    "recipeInfo": "#recipes",
    "certificationInfo": "#quality",
    "recallStatus": "#authenticity",
}
# Link types of a product page (a GTIN) and their anchors on it.
PRODUCT_LINK_TYPES = {"defaultLink": "", "pip": "", "recipeInfo": "#recipes", "recallStatus": "#recall"}
PRODUCT_TITLES = {"defaultLink": "Product page: origin, recipes, lots on sale", "recallStatus": "Recalls"}


@dataclass
class Level:
    """One identified thing of the tree and its links: link type -> target URL."""

    link: digital_link.DigitalLink
    description: str
    links: dict[str, str] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        return settings.PUBLIC_BASE_URL + self.link.path()

    def linkset(self) -> dict:
        body = {"anchor": self.anchor, "itemDescription": self.description}
        for name, href in self.links.items():
            title = self.titles.get(name, TITLES[name])
            if name == "defaultLink":  # the standard allows a title and nothing else on it
                body[VOC + name] = [{"href": href, "title": title}]
            else:
                body[VOC + name] = [{"href": href, "title": title, "type": "text/html", "hreflang": HREFLANG}]
        return body


def _cors(response: HttpResponse) -> HttpResponse:
    for header, value in CORS.items():
        response[header] = value
    patch_vary_headers(response, ("Accept", "Accept-Language"))
    return response


def _problem(status: int, message: str) -> HttpResponse:
    response = JsonResponse(
        {"error": {"code": "digital_link", "message": message}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )
    return _cors(response)


def link_type(raw: str) -> str:
    """`gs1:pip`, `pip` and `pip` in any of GS1's vocabulary namespaces all name one link type."""
    for prefix in NAMESPACES:
        if raw.startswith(prefix):
            return raw[len(prefix) :]
    return raw


def raw_target(request: HttpRequest) -> tuple[str, str]:
    """The request's path and query as the client sent them, percent-encoding intact."""
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if raw:
        parts = urlsplit(raw)
        path = parts.path
        script = request.META.get("SCRIPT_NAME", "")
        if script and path.startswith(script):
            path = path[len(script) :]
        return path, parts.query
    # PATH_INFO is decoded already: encode it again so the parser's one decoding gives it back.
    return quote(request.path_info, safe="/-._~:@!$&'()*+,;="), request.META.get("QUERY_STRING", "")


def _read(request: HttpRequest) -> tuple[digital_link.DigitalLink, QueryDict, str | None]:
    """(the link, the query's parameters, the uncompressed URI if the request was compressed)."""
    path, query = raw_target(request)
    if len(path) > 1 and path.endswith("/"):  # the standard asks resolvers to tolerate one
        path = path[:-1]
    same_as = None
    try:
        link = digital_link.parse(path, query, zero_suppressed_gtin=True)
    except digital_link.MalformedLink as error:
        try:
            expanded = expand(path)
        except digital_link.MalformedLink:
            expanded = None
        if expanded is None:
            raise error
        uncompressed, others = expanded
        query = "&".join(part for part in (uncompressed.query(), urlencode(others), query) if part)
        link = digital_link.parse(uncompressed.path(), query)
        same_as = link.uri(settings.PUBLIC_BASE_URL)
    return link, QueryDict(query), same_as


def levels(link: digital_link.DigitalLink) -> list[Level]:
    """The levels of the tree we know for `link`, most granular first (empty: unknown key)."""
    if link.sscc is not None:
        shipment = Shipment.objects.filter(sscc=link.sscc).exclude(status=Shipment.Status.CANCELLED).first()
        if shipment is None:
            return []
        description = f"Shipment {shipment.public_code}, SSCC {shipment.sscc}"
        return [Level(link.key(), description, _shipment_links(shipment))]
    crop = Crop.objects.filter(gtin=link.gtin).first()
    if crop is None:
        return []
    name = " ".join(dict.fromkeys(n for n in (crop.name_zh, crop.name_en) if n))
    product = settings.PUBLIC_BASE_URL + reverse("product-page", args=[crop.gtin])
    found = [
        Level(
            digital_link.DigitalLink(("01", crop.gtin)),
            name,
            {name: product + anchor for name, anchor in PRODUCT_LINK_TYPES.items()},
            PRODUCT_TITLES,
        )
    ]
    if link.lot is not None:
        lot = _lot_level(crop, link.lot, name)
        if lot is not None:
            found.insert(0, lot)
    return found


def _shipment_links(shipment: Shipment) -> dict[str, str]:
    return {name: shipment.public_url + anchor for name, anchor in LINK_TYPES.items()}


def _lot_level(crop: Crop, lot_code: str, name: str) -> Level | None:
    batch = Batch.objects.filter(lot_code=lot_code, crop=crop).only("id").first()
    if batch is None:
        return None
    shipment = (
        Shipment.objects.filter(items__batch=batch)
        .exclude(status=Shipment.Status.CANCELLED)
        .order_by("-created_at")
        .only("public_code")
        .first()
    )
    if shipment is None:
        return None
    link = digital_link.DigitalLink(("01", crop.gtin), (("10", lot_code),))
    return Level(link, f"{name}, lot {lot_code}", _shipment_links(shipment))


def _target(found: list[Level], wanted: str) -> str | None:
    """The most granular level's link of type `wanted` (a level that lacks it defers upward)."""
    for level in found:
        if wanted in level.links:
            return level.links[wanted]
    return None


def _linkset_link(link: digital_link.DigitalLink) -> str:
    """The Link header value naming the linkset of `link` (on redirects and preflights)."""
    return f'<{settings.PUBLIC_BASE_URL}{link.path()}?linkType=linkset>; rel="linkset"; type="{LINKSET_TYPE}"'


def _linkset(found: list[Level]) -> HttpResponse:
    response = JsonResponse(
        {"linkset": [level.linkset() for level in found]}, json_dumps_params={"ensure_ascii": False}
    )
    response["Content-Type"] = LINKSET_TYPE
    response["Link"] = f'<{JSON_LD_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    return response


def _not_a_link(request: HttpRequest) -> HttpResponse:
    """A one-segment path that does not decompress: the site's 404, or the page with a slash
    (what APPEND_SLASH would have done had this route not matched)."""
    if settings.APPEND_SLASH and is_valid_path(request.path_info + "/"):
        return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    raise Http404("Not a GS1 Digital Link.")


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def resolve(request: HttpRequest, **_kwargs) -> HttpResponse:
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Allow"] = "GET, HEAD, OPTIONS"
        with contextlib.suppress(digital_link.MalformedLink):  # a preflight needs no valid URI
            response["Link"] = _linkset_link(_read(request)[0])
        return _cors(response)
    try:
        link, query, same_as = _read(request)
    except digital_link.MalformedLink as exc:
        if request.resolver_match.url_name == "digital-link-compressed":
            return _not_a_link(request)
        return _problem(400, str(exc))
    found = levels(link)
    query = query.copy()
    wanted = link_type(query.pop("linkType", [""])[-1])
    if not found:
        return _problem(404, _("No default link for %(path)s.") % {"path": link.path()})
    if wanted in ("linkset", "all") or LINKSET_TYPE in request.headers.get("Accept", ""):
        response = _linkset(found)
    else:
        target = _target(found, wanted or "defaultLink")
        if target is None:
            return _problem(404, _("No %(link_type)s link for %(path)s.") % {"link_type": wanted, "path": link.path()})
        if query:
            base, _hash, fragment = target.partition("#")
            target = f"{base}?{query.urlencode()}" + (f"#{fragment}" if fragment else "")
        response = HttpResponse(status=307)
        response["Location"] = target
        response["Link"] = _linkset_link(link)
    if same_as is not None:
        response["Link"] += f', <{same_as}>; rel="owl:sameAs"'
    return _cors(response)


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def resolver_description(request: HttpRequest) -> HttpResponse:
    """`/.well-known/gs1resolver`: what this resolver supports (the description-file schema of
    the GS1-Conformant Resolver standard)."""
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    return _cors(
        JsonResponse(
            {
                "name": "Farm-to-consumer traceability resolver",
                "resolverRoot": settings.PUBLIC_BASE_URL,
                "supportedPrimaryKeys": ["01", "00"],
                "supportedLinkType": [{"namespace": VOC, "prefix": "gs1:"}],
                "linkTypeDefaultCanBeLinkset": False,
                "supportedContextValuesEnumerated": [],
                "jsonLdContextLocation": JSON_LD_CONTEXT,
            }
        )
    )

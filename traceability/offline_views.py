"""The farmer's pages as an installable web app that keeps working with no signal.

The service worker (/sw.js, scope /) keeps the farmer's pages and static files on the phone; a
page made with JavaScript saves each record in the phone's outbox (IndexedDB, see
traceability/static/offline/outbox.js) with its client_id and the time it happened, and the
outbox sends it through the API (POST /api/v1/batches/ and /api/v1/events/) when there is
signal. So nothing here writes: these views serve the worker, the manifest, the outbox page, the
form pages of a lot the phone has no copy of, and the lots, farms, fields and crops the phone
keeps for offline use. With JavaScript off the forms post to the server as before.
"""

import hashlib
import json
import uuid
from functools import cache

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import get_template, render_to_string
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from farms.models import Crop, Farm, Field
from traceability.batch_forms import EVENT_FIELDS, BatchEventForm
from traceability.models import Batch, EventKind

# What the service worker stores when it installs; a change to any of them (or to the worker)
# makes a new worker version, which replaces the old copies.
ASSETS = [
    "css/app.css",
    "offline/outbox.js",
    "offline/app.js",
    "offline/icon-192.png",
    "offline/icon-512.png",
]
WORKER_TEMPLATE = "farms/sw.js"
# The lots a phone keeps for offline use: the most recent ones of the farmer's villages.
OFFLINE_LOTS = 200


def _worker_version() -> str:
    digest = hashlib.sha256(get_template(WORKER_TEMPLATE).template.source.encode())
    for name in ASSETS:
        path = finders.find(name)
        if path is None:
            raise FileNotFoundError(f"static file {name} is missing: the service worker lists it in ASSETS")
        with open(path, "rb") as file:
            digest.update(file.read())
    return digest.hexdigest()[:16]


_cached_worker_version = cache(_worker_version)


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """/sw.js, at the root so that its scope covers every farmer's page. Browsers check it for a
    new version on each visit (no-cache), which is how changed pages and scripts reach phones."""
    version = _worker_version() if settings.DEBUG else _cached_worker_version()
    body = render_to_string(
        WORKER_TEMPLATE,
        {
            "version": json.dumps(version),
            "assets": json.dumps([static(name) for name in ASSETS]),
            "outbox_js": json.dumps(static("offline/outbox.js")),
            "static_prefix": json.dumps(settings.STATIC_URL),  # static("") has no manifest entry
            "kinds": json.dumps([str(kind) for kind in EVENT_FIELDS]),
        },
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest: what a phone shows when the farmer adds the app to the home screen."""
    icons = [
        {"src": static("offline/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
        {"src": static("offline/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
        {"src": static("offline/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
    ]
    body = {
        "name": _("Farm to table: farm records"),
        "short_name": _("Farm records"),
        "description": _("Record harvests, cooling, packing and quality tests, with or without signal."),
        "lang": request.LANGUAGE_CODE,
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f6f8f4",
        "theme_color": "#2f6b2f",
        "icons": icons,
    }
    return JsonResponse(body, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})


def _writable_farms(request: HttpRequest):
    farms = Farm.objects.writable_by(request.user).order_by("name_zh")
    if not farms.exists():
        raise Http404
    return farms


@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    """What waits on this phone, what was sent and what was refused; filled in by offline/app.js
    from the phone's outbox. The service worker also shows it when a page is not on the phone."""
    _writable_farms(request)
    kinds = [(kind, EventKind(kind).label) for kind in EVENT_FIELDS]
    return render(request, "farms/outbox.html", {"kinds": kinds})


@login_required
@never_cache
@require_GET
def event_form_page(request: HttpRequest, kind: str) -> HttpResponse:
    """A record form not tied to one lot: the service worker shows it for a lot whose own form page
    is not on the phone, and for a batch registered offline that has no lot code yet. offline/app.js
    fills in the lot (from the address) and saves to the outbox; the server never receives a POST
    here (405), since the lot's own page is where a form posts with JavaScript off."""
    _writable_farms(request)
    if kind not in EVENT_FIELDS:
        raise Http404
    initial = {"occurred_at": timezone.localtime().replace(second=0, microsecond=0)}
    form = BatchEventForm(kind=kind, initial=initial)
    return render(
        request,
        "farms/batch_event_form.html",
        {"batch": None, "kind": kind, "form": form, "kind_label": EventKind(kind).label, "client_id": uuid.uuid4()},
    )


@login_required
@require_GET
def offline_data(request: HttpRequest) -> JsonResponse:
    """The farmer's lots, farms, fields and crops, for the phone to keep: the offline pages name a
    lot's crop and status, and the outbox names the farm and crop of a batch registered offline.
    Scoped like every batch page (Batch.objects.writable_by, Farm.objects.writable_by)."""
    farms = list(_writable_farms(request))
    lots = (
        Batch.objects.writable_by(request.user)
        .select_related("crop", "farm", "field")
        .order_by("-created_at", "lot_code")[:OFFLINE_LOTS]
    )
    fields = Field.objects.filter(farm__in=farms).order_by("farm_id", "name_zh")
    body = {
        "user": request.user.pk,
        "made_at": timezone.now().isoformat(),
        "lots": [
            {
                "lot_code": lot.lot_code,
                "crop": lot.crop_id,
                "farm": lot.farm_id,
                "field": lot.field_id,
                "status": lot.status,
                "status_label": lot.get_status_display(),
                "held": lot.is_held(),
                "quantity": format(lot.quantity.normalize(), "f"),
                "unit": lot.unit,
                "unit_label": lot.get_unit_display(),
                "harvested_on": lot.harvested_on.isoformat() if lot.harvested_on else None,
            }
            for lot in lots
        ],
        "farms": [{"id": farm.pk, "name": farm.name()} for farm in farms],
        "fields": [{"id": field.pk, "farm": field.farm_id, "name": field.name()} for field in fields],
        "crops": [{"id": crop.pk, "code": crop.code, "name": crop.name()} for crop in Crop.objects.order_by("code")],
    }
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


@never_cache
@require_GET
def outbox_session(request: HttpRequest) -> JsonResponse:
    """Who is signed in on this phone now, and the CSRF token for the outbox's API calls. Asked
    before each sending: the outbox sends only the records that this user made, and a session
    that ended while the phone was offline shows as user null (sign in again, then it sends)."""
    if not request.user.is_authenticated:
        return JsonResponse({"user": None, "csrf": None})
    return JsonResponse({"user": request.user.pk, "csrf": get_token(request)})

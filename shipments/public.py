"""The consumer's origin-and-recipe page and the shipment's QR images: the URL printed on every crate.

Anonymous and hot. The page body is kept per shipment and language (shipments.public_cache,
made stale by shipments.page_invalidation); only the authenticity figures are filled in per
request, from shipments.scans, where a scan is counted. What the page may show is decided here,
in one place: no phone numbers, grower names, user names, internal notes or integer ids.

The grower's personal name is left out on purpose: under China's PIPL a person's name is personal
information, and publishing it to anyone who scans a crate needs a consent the model does not
record. The farm's name is the public face of the grower.
"""

import functools
import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.html import escape
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from farms import images, vocabulary
from farms.models import Recipe, localized
from shipments import geography, page_state, public_cache, qr, scans
from shipments.models import CODE_ALPHABET, CODE_LENGTH, Shipment
from shipments.useragents import client_family, is_bot
from traceability import lifecycle
from traceability.kdes import MovementKDEs
from traceability.models import Batch, EventBatch, HoldLot, TraceEvent
from traceability.verification import record_verified_on

LANGUAGES = ("zh-hans", "en")
SCAN_SLOT = "<!--scan-->"
MAX_RECIPES = 4
# How wide a rendition the page offers (farms.images.WIDTHS), for the byte budget on 3G
# (docs/performance.md): the product photo, on the first screen, up to 720 px (sharp on a 2x
# phone; the page, its CSS and this photo stay under 100 KB); the photos further down, lazy, up to
# 480 px (Chromium may fetch them before the load event all the same); a report's thumbnail 240.
LEAD_PHOTO_WIDTH = 720
PHOTO_WIDTH = 480
THUMBNAIL_WIDTH = 240
CLONE_AFTER_DAYS = 30
_CODE = re.compile(rf"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
_PAGE_CACHE_CONTROL = "no-cache, private, max-age=0, must-revalidate"
_IMAGE_CACHE_CONTROL = "public, max-age=31536000, immutable"

# What the journey shows, in the consumer's words. Inputs applied, transformations and
# corrections stay in the trace record; temperature readings are summarised per batch.
JOURNEY_KINDS = (
    TraceEvent.Kind.PLANTING,
    TraceEvent.Kind.HARVEST,
    TraceEvent.Kind.COOLING,
    TraceEvent.Kind.PACKING,
    TraceEvent.Kind.QUALITY_TEST,
    TraceEvent.Kind.SHIPPING,
    TraceEvent.Kind.RECEIVING,
)
JOURNEY_LABELS = {
    TraceEvent.Kind.PLANTING: _("Planted"),
    TraceEvent.Kind.HARVEST: _("Harvested"),
    TraceEvent.Kind.COOLING: _("Cooled"),
    TraceEvent.Kind.PACKING: _("Packed"),
    TraceEvent.Kind.QUALITY_TEST: _("Quality tested"),
    TraceEvent.Kind.SHIPPING: _("Dispatched"),
    TraceEvent.Kind.RECEIVING: _("Arrived at the store"),
}
_MOVEMENTS = (TraceEvent.Kind.SHIPPING, TraceEvent.Kind.RECEIVING)


def normalized_code(code: str) -> str | None:
    """The code in its stored (uppercase) form, or None when it cannot be a public code."""
    code = code.strip().upper()
    return code if _CODE.fullmatch(code) else None


def page_language(request: HttpRequest) -> tuple[str, bool]:
    """(language, chosen with the on-page switch). Otherwise LocaleMiddleware's pick: the
    language cookie, then Accept-Language, then Chinese."""
    asked = request.GET.get("lang", "")
    if asked in LANGUAGES:
        return asked, True
    current = translation.get_language() or ""
    return ("en" if current.startswith("en") else "zh-hans"), False


def _counts_as_scan(request: HttpRequest, switched: bool) -> bool:
    """A person opening the page: a GET, not a link-preview bot, not a browser prefetch, not
    the language switch on the page itself (the same person, already counted), and nobody signed
    in: every account here belongs to a village's, a retailer's or the auditors' staff, so a
    signed-in view is a preview. (Shoppers have no session cookie: asking costs them no query.)"""
    if request.method != "GET" or switched or request.user.is_authenticated:
        return False
    purpose = request.headers.get("Sec-Purpose", "") or request.headers.get("Purpose", "")
    if "prefetch" in purpose.lower() or "prerender" in purpose.lower():
        return False
    return not is_bot(request.headers.get("User-Agent", ""))


def finish_page(response: HttpResponse, language: str, switched: bool) -> HttpResponse:
    # WeChat's in-app browser caches hard: make it ask every time, so recall status and scan
    # counts are never stale.
    response["Cache-Control"] = _PAGE_CACHE_CONTROL
    response["Content-Language"] = language
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    if switched:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


def not_found_page(language: str, switched: bool) -> HttpResponse:
    body = render_to_string("shipments/public/not_found.html", {"lang": language})
    return finish_page(HttpResponse(body, status=404), language, switched)


@require_safe
def page(request: HttpRequest, code: str) -> HttpResponse:
    """The consumer page. Cached: one round trip to the shared cache and no query but, once per
    batch of scans, their INSERT (see shipments.scans). Unknown code: one indexed query; a code
    that cannot exist: none. The shared cache unreachable: rendered and counted from the database."""
    language, switched = page_language(request)
    with translation.override(language):
        code = normalized_code(code)
        if code is None:
            return not_found_page(language, switched)
        counting = _counts_as_scan(request, switched)
        who = ""
        if counting:
            user_agent = request.headers.get("User-Agent", "")
            who = scans.visitor(code, request.META.get("REMOTE_ADDR", ""), user_agent, timezone.localdate())
        seen = scans.visit(code, counting=counting, visitor_hash=who)
        entry = None if seen.offline else public_cache.pages.get(code, language, seen.version)
        if entry is None:
            entry = _render_page(code, language)
            if entry is None:
                return not_found_page(language, switched)
            if not seen.offline:
                public_cache.pages.keep(code, language, seen.version, entry)
        client = client_family(request.headers.get("User-Agent", "")) if seen.scan else ""
        count, first = scans.record(seen, shipment_id=entry["id"], language=language, client=client)
        response = HttpResponse(entry["head"] + _scan_block(count, first, entry).encode() + entry["tail"])
    return finish_page(response, language, switched)


def _scan_block(count: int, first, entry: dict) -> str:
    """The authenticity card, the only per-request part of the page. A code is shared by every
    box of a shipment, so many people are normal; the card says when and where in the journey
    the code was first opened (page_state.first_opened) and warns only when a scan looks wrong:
    on a cancelled shipment's code, long after the produce's shelf life, or first opened before
    the shipment was dispatched (page_state)."""
    stage = None
    if first is not None:
        stage = page_state.first_scan_stage(
            first, dispatched_at=entry["dispatched_at"], delivered_at=entry["delivered_at"]
        )
    warning = ""
    if entry["state"] == page_state.VOID:
        warning = "void"
    elif entry["best_before"] is not None and timezone.localdate() > entry["best_before"]:
        warning = "late"
    elif stage == page_state.BEFORE_DISPATCH:
        warning = "early"
    minute = first.replace(second=0, microsecond=0) if first is not None else None
    before, one, many, after = _scan_texts(
        translation.get_language(), entry["genuine"], minute, stage, entry["store"], warning
    )
    return before + escape((one if count == 1 else many) % {"counter": count}) + after


@functools.lru_cache(maxsize=512)
def _scan_texts(
    language: str, genuine: bool, first, stage: str | None, store: str, warning: str
) -> tuple[str, str, str, str]:
    """The card around the count, translated once per language, badge, first scan (to the
    minute, with where it fell in the journey) and warning. Both languages choose the plural form
    by `count == 1` alone, so two forms are enough."""
    one = ngettext("Opened by %(counter)s person", "Opened by %(counter)s people", 1)
    many = ngettext("Opened by %(counter)s person", "Opened by %(counter)s people", 2)
    opened = ""
    if first is not None:
        opened = " · " + escape(page_state.first_opened(stage, first, store))
    shared = escape(gettext("Every box in this delivery carries the same code, so many people open this page."))
    text = ""
    if warning == "void":
        text = gettext("This code was cancelled. If it was on produce you bought, please tell the store.")
    elif warning == "late":
        text = gettext(
            "This produce should have been eaten long ago. If you bought it recently, the label may be a copy: "
            "please tell the store."
        )
    elif warning == "early":
        text = gettext(
            "This code was first opened before the produce was sent out. If you bought produce carrying it, "
            "the label may be a copy: please tell the store."
        )
    warn = f'<br><small class="warn">{escape(text)}</small>' if text else ""
    if genuine:
        before = (
            '<div class="auth"><div class="tick" aria-hidden="true">✓</div>'
            f"<div><b>{escape(gettext('Genuine traceability code'))}</b><br><small>"
        )
    else:
        before = f'<div class="auth"><div><b>{escape(gettext("Traceability code"))}</b><br><small>'
    return before, one, many, f"{opened}<br>{shared}</small>{warn}</div></div>"


def _render_page(code: str, language: str) -> dict | None:
    """The page's HTML around the scan block, and the shipment's id (kept server-side only)."""
    shipment = (
        Shipment.objects.select_related("origin_village__chain_check", "store", "store__retailer")
        .filter(public_code=code)
        .first()
    )
    if shipment is None:
        return None
    items = list(
        shipment.items.select_related("batch__farm__village", "batch__field", "batch__crop").order_by(
            "batch__harvested_on", "batch__lot_code"
        )
    )
    batches = [item.batch for item in items]
    lines = (
        EventBatch.objects.filter(
            batch_id__in=[b.pk for b in batches],
            event__in=TraceEvent.objects.effective().filter(
                kind__in=[*JOURNEY_KINDS, TraceEvent.Kind.TEMPERATURE, TraceEvent.Kind.REGISTRATION]
            ),
        )
        .select_related("event")
        .order_by("event__occurred_at", "event_id")
    )
    events_by_batch: dict[int, list[TraceEvent]] = {b.pk: [] for b in batches}
    record = []  # every event behind the page, for "record verified on"
    for line in lines:
        event = line.event
        record.append(event)
        if event.kind == TraceEvent.Kind.REGISTRATION:
            continue
        # A lot split over several shipments: only this shipment's own dispatch and arrival.
        if event.kind in _MOVEMENTS and MovementKDEs.from_data(event.data).shipment != code:
            continue
        if event not in events_by_batch[line.batch_id]:
            events_by_batch[line.batch_id].append(event)
    village = shipment.origin_village
    store = localized(shipment.store, "name", language)
    held = [b.pk for b in batches if b.status == Batch.Status.ON_HOLD]
    failed_tests = set()
    if held:  # held by a failed quality test (an open safety hold), or a check still pending
        open_holds = HoldLot.objects.filter(batch_id__in=held, hold__decided_at__isnull=True)
        failed_tests = set(open_holds.values_list("batch__lot_code", flat=True))
    state = page_state.decide(
        shipment,
        batches,
        store=store,
        village=localized(village, "name", language),
        crop_names=_product_names(batches, language),
        failed_tests=failed_tests,
    )
    # A recalled lot's recipes go; a crop that another, sound lot still brings keeps its own.
    sound = [b for b in batches if state.lot_states[b.lot_code] != Batch.Status.RECALLED]
    recipes = recipes_for({b.crop_id for b in sound}, language) if state.shows_products else []
    today = timezone.localdate()
    place = geography.place(
        [
            localized(village, "name", language),
            localized(village, "county", language),
            localized(village, "province", language),
        ],
        language,
    )
    distance = geography.distance_km(
        (village.latitude, village.longitude), (shipment.store.latitude, shipment.store.longitude)
    )
    lots = [_lot(b, events_by_batch[b.pk], shipment, language, today) for b in batches] if state.shows_products else []
    # Product photos follow the page state: none on a void page (no lots), none of a recalled or
    # held lot (its appetising picture would contradict "do not eat"). The first sound lot's
    # product leads the page; a lot of another product shows its own in its card.
    product_photo = None
    for batch, lot in zip(batches, lots, strict=False):
        lot["state"] = state.lot_states[lot["lot_code"]]
        sound = lot["state"] in (page_state.LOT_OK, page_state.LOT_UNAFFECTED)
        crop_photo = images.picture(batch.crop.photo, largest=PHOTO_WIDTH) if sound else None
        if product_photo is None and crop_photo is not None:
            lead = images.picture(batch.crop.photo, largest=LEAD_PHOTO_WIDTH)
            product_photo = {**lead, "crop_id": batch.crop_id, "name": lot["crop"]}
        elif crop_photo is not None and batch.crop_id != product_photo["crop_id"]:
            lot["product_photo"] = crop_photo
    context = {
        "lang": language,
        "other_lang": "en" if language == "zh-hans" else "zh-hans",
        "shipment": shipment,
        "state": state,
        "village": village,
        "village_name": localized(village, "name", language),
        "village_photo": images.picture(village.photo, largest=PHOTO_WIDTH),
        "product_photo": product_photo,
        "place": place,
        "distance_km": round(distance) if distance is not None else None,
        "story": localized(village, "story", language),
        "store": store,
        "store_phone": shipment.store.phone,
        "title": " · ".join(dict.fromkeys(b.crop.name(language) for b in batches))
        or localized(shipment.origin_village, "name", language),
        "lots": lots,
        "recipes": recipes,
        "recipes_in_other_language": bool(recipes) and recipes[0].language != language,
        "scan_slot": SCAN_SLOT,
        "verified_on": record_verified_on(shipment.origin_village, record),
    }
    html = render_to_string("shipments/public/page.html", context)
    head, _slot, tail = html.partition(SCAN_SLOT)
    return {
        "id": shipment.pk,
        "head": head.encode(),
        "tail": tail.encode(),
        "state": state.kind,
        "genuine": state.genuine,
        "best_before": page_state.best_before(shipment, batches),
        # Where in the journey the first scan fell (page_state.first_scan_stage), per request.
        "dispatched_at": shipment.dispatched_at,
        "delivered_at": shipment.delivered_at,
        "store": store,
    }


def _product_names(batches: list[Batch], language: str) -> dict:
    """Each lot's product as a shopper tells it apart: the crop's name, with the lot code when
    another lot of the shipment is the same crop."""
    names = {b.lot_code: b.crop.name(language) for b in batches}
    shared = {name for name in names.values() if list(names.values()).count(name) > 1}
    lot = gettext("lot %(code)s")
    return {code: f"{name} ({lot % {'code': code}})" if name in shared else name for code, name in names.items()}


def recipes_for(crop_ids: set[int], language: str) -> list[Recipe]:
    """Recipes for these crops in the visitor's language, else in the other one."""
    recipes = list(Recipe.objects.filter(crops__in=crop_ids).distinct().order_by("title"))
    mine = [r for r in recipes if r.language == language]
    recipes = (mine or recipes)[:MAX_RECIPES]
    for recipe in recipes:
        recipe.picture = images.picture(recipe.photo, largest=PHOTO_WIDTH)
    return recipes


def _lot(batch: Batch, events: list[TraceEvent], shipment: Shipment, language: str, today) -> dict:
    farm = batch.farm
    steps, tests, temperatures = [], [], []
    for event in events:
        temperature = _temperature(event.data)
        if event.kind == TraceEvent.Kind.TEMPERATURE:
            if temperature is not None:
                temperatures.append(temperature)
            continue
        step = {"kind": event.kind, "label": JOURNEY_LABELS[event.kind], "when": event.occurred_at, "temp": temperature}
        if event.kind == TraceEvent.Kind.SHIPPING:
            step["place"] = localized(shipment.origin_village, "name", language)
        elif event.kind == TraceEvent.Kind.RECEIVING:
            step["place"] = geography.place(
                [localized(shipment.store, "name", language), localized(shipment.store, "city", language)], "en"
            ).replace(", ", " · ")
        elif event.kind == TraceEvent.Kind.QUALITY_TEST:
            test = {
                "name": vocabulary.term(
                    "test", _text(event.data, "test", language) or _text(event.data, "name", language), language
                ),
                "result": _result(event.data.get("result")),
                "lab": _text(event.data, "lab", language),
                "when": event.occurred_at,
                "photo": images.picture(photo, largest=THUMBNAIL_WIDTH)
                if isinstance(photo := event.data.get("photo"), str)
                else None,
            }
            step["detail"] = test["result"]["text"] if test["result"] else ""
            tests.append(test)
        steps.append(step)
    days = (today - batch.harvested_on).days if batch.harvested_on else None
    harvested = next((e.occurred_at for e in events if e.kind == TraceEvent.Kind.HARVEST), None)
    arrived = next((e.occurred_at for e in events if e.kind == TraceEvent.Kind.RECEIVING), None)
    fresh_hours = None
    if harvested is not None and arrived is not None and arrived >= harvested:
        fresh_hours = int((arrived - harvested).total_seconds() // 3600)
    return {
        "lot_code": batch.lot_code,
        "crop": batch.crop.name(language),
        "variety": localized(batch.crop, "variety", language),
        "storage": localized(batch.crop, "storage_advice", language),
        "farm": farm.name(language),
        # Where it grew: the field's photo when it has one, else the farm's.
        "place_photo": images.picture(
            batch.field.photo if batch.field and batch.field.photo else farm.photo, largest=PHOTO_WIDTH
        ),
        "place_is_field": bool(batch.field and batch.field.photo),
        "field": batch.field.name(language) if batch.field else "",
        "harvested_on": batch.harvested_on,
        "days": days if days is not None and days >= 0 else None,
        "status": batch.status,
        "held": batch.is_held(),
        "steps": steps,
        "tests": tests,
        "fresh_hours": fresh_hours,
        "temp_range": (min(temperatures), max(temperatures), len(temperatures)) if temperatures else None,
        "certifications": [vocabulary.term("certification", c, language) for c in farm.certification_list()],
    }


def _temperature(data: dict) -> float | None:
    value = data.get("temperature_c")
    try:
        return round(float(value), 1) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _text(data: dict, key: str, language: str) -> str:
    """A free-text key data element, preferring `<key>_en` / `<key>_zh` when recorded."""
    suffix = "en" if language == "en" else "zh"
    value = data.get(f"{key}_{suffix}") or data.get(key) or ""
    return str(value)[:120]


def _result(value) -> dict | None:
    """A quality-test result for people: pass, fail, or the recorded text as is. What counts as a
    failure is traceability.lifecycle.quality_result's rule, the one that holds the lot."""
    if value is None or value == "":
        return None
    passed = lifecycle.quality_result(value)
    if passed is False:
        return {"ok": False, "text": gettext("Failed")}
    if passed is True:
        return {"ok": True, "text": gettext("Passed")}
    return {"ok": None, "text": str(value)[:120]}


# QR images -----------------------------------------------------------------------------------


def _image(request: HttpRequest, code: str, kind: str) -> HttpResponse:
    code = normalized_code(code)
    if code is None:
        raise Http404("No such code.")
    scale = 0
    if kind == "png":
        try:
            scale = max(qr.MIN_SCALE, min(qr.MAX_SCALE, int(request.GET.get("scale", "8"))))
        except ValueError:
            return HttpResponseBadRequest("scale must be a whole number from 1 to 40.", content_type="text/plain")
    body = public_cache.cached_image(code, kind, scale)
    if body is None:
        if not Shipment.objects.filter(public_code=code).exists():
            raise Http404("No such code.")
        url = Shipment(public_code=code).public_url
        body = qr.png(url, scale) if kind == "png" else qr.svg(url)
        public_cache.keep_image(code, kind, scale, body)
    response = HttpResponse(body, content_type="image/png" if kind == "png" else "image/svg+xml")
    # A code's image never changes: the code is never repointed and the URL it encodes is fixed.
    response["Cache-Control"] = _IMAGE_CACHE_CONTROL
    return response


@require_safe
def qr_png(request: HttpRequest, code: str) -> HttpResponse:
    """The QR as a PNG, `?scale=N` pixels per module (1 to 40, default 8)."""
    return _image(request, code, "png")


@require_safe
def qr_svg(request: HttpRequest, code: str) -> HttpResponse:
    return _image(request, code, "svg")

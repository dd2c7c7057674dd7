from django.http import HttpRequest, HttpResponse


def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: the process is up. Touches no database, so it is also the benchmarks' baseline."""
    return HttpResponse("ok", content_type="text/plain")


def home(request: HttpRequest) -> HttpResponse:
    """What each person needs next: a landing page for visitors; for staff, one section per role."""
    from django.shortcuts import render

    from shipments.models import Shipment
    from shipments.templatetags.staff_nav import roles_for
    from traceability.alerts import alerts_for
    from traceability.models import Batch

    if not request.user.is_authenticated:
        return render(request, "farms/landing.html")
    roles = roles_for(request.user)
    context = {"roles": roles, "alerts": alerts_for(request.user)}
    if roles.village_member:
        context["batches"] = Batch.objects.writable_by(request.user).select_related("crop", "farm", "field")[:10]
        context["village_shipments"] = (
            Shipment.objects.visible_to(request.user)
            .exclude(status=Shipment.Status.CANCELLED)
            .select_related("store")
            .order_by("-created_at")[:5]
            if not roles.retailer
            else []
        )
    if roles.retailer:
        context["to_act_on"] = (
            Shipment.objects.managed_by(request.user)
            .filter(status__in=[Shipment.Status.DRAFT, Shipment.Status.PACKED, Shipment.Status.DISPATCHED])
            .select_related("store", "origin_village")
            .order_by("status", "-created_at")[:20]
        )
    return render(request, "farms/home.html", context)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def api_error(code: str, message: str, status: int) -> HttpResponse:
    """The API's error format (config.api.exception_handler), for errors that never reach DRF."""
    from django.http import JsonResponse

    body = {"error": {"code": code, "message": message, "fields": {}}}
    # Chinese as UTF-8 text, as DRF's renderer writes it, not \u escapes.
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: JSON under /api/ (unmatched URLs never reach DRF), the site's 404 page elsewhere."""
    from django.utils.translation import gettext
    from django.views import defaults

    if _is_api(request):
        return api_error("not_found", gettext("Not found."), 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: JSON under /api/, Django's plain 500 page (templates/500.html) elsewhere."""
    from django.utils.translation import gettext
    from django.views import defaults

    if _is_api(request):
        return api_error("error", gettext("A server error occurred."), 500)
    return defaults.server_error(request)

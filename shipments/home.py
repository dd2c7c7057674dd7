"""The home page: a landing page for visitors, and for staff what waits for their decision
(traceability.alerts) and one section per role they hold (their batches, their village's
shipments, the shipments their retailer must act on)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from shipments.models import Shipment
from shipments.templatetags.staff_nav import roles_for
from traceability.alerts import alerts_for
from traceability.models import Batch


def home(request: HttpRequest) -> HttpResponse:
    """What each person needs next: a landing page for visitors; for staff, one section per role."""
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

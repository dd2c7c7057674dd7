"""Retailer staff's shipment pages: list with filters, create, add batches, pack, dispatch,
receive, cancel, and a shipment page with its QR, consumer link, labels link and scan chart.

Shipments are addressed by their public code. Reading goes through Shipment.objects.visible_to,
changing through managed_by: another retailer's shipment answers 404.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, F, Min
from django.db.models.functions import TruncDate
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from api.errors import refused
from farms.models import Village, localized
from shipments import page_state, recall_report, services
from shipments.forms import ShipmentFilterForm, ShipmentForm
from shipments.models import Scan, Shipment, ShipmentItem, Store
from traceability import lifecycle, permissions
from traceability.models import Batch, Recall

CHART_DAYS = 30


def supplier_villages(user):
    if user.is_superuser:
        return Village.objects.all()
    return Village.objects.filter(supplied_retailers__staff__user=user).distinct()


def shippable_batches(user, shipment: Shipment):
    """Batches the user may put into this shipment: visible, from its origin village, in a state
    that may be shipped (harvested or packed, not held), not used up."""
    return (
        Batch.objects.visible_to(user)
        .filter(farm__village_id=shipment.origin_village_id, quantity__gt=F("allocated_quantity"))
        .filter(status__in=lifecycle.ALLOCATABLE)
        .select_related("crop", "farm", "field")
        .order_by("-harvested_on", "lot_code")
    )


def scans_per_day(shipment: Shipment, days: int = CHART_DAYS) -> dict:
    """Bars for the last `days` days (local time) of scans, laid out for a 300x120 SVG."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, time.min))
    counts = dict(
        Scan.objects.filter(shipment=shipment, scanned_at__gte=start)
        .annotate(day=TruncDate("scanned_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    peak = max(counts.values(), default=0)
    width, height, top = 300, 100, 10
    step = width / days
    bars = []
    for index in range(days):
        day = first + timedelta(days=index)
        count = counts.get(day, 0)
        bar_height = round(height * count / peak, 1) if peak else 0
        bars.append(
            {
                "day": day,
                "count": count,
                "x": round(index * step + 1, 1),
                "y": round(top + height - bar_height, 1),
                "width": round(step - 2, 1),
                "height": bar_height,
            }
        )
    return {
        "bars": bars,
        "peak": peak,
        "total": sum(counts.values()),
        # The same figures as the consumer page's authenticity card (shipments.scans): people.
        **_scan_totals(shipment),
        "first": first,
        "last": today,
        "baseline": top + height,
    }


def _scan_totals(shipment: Shipment) -> dict:
    totals = shipment.scans.aggregate(all_time=Count("id"), first_scan=Min("scanned_at"))
    first = totals["first_scan"]
    opened = ""
    if first is not None:  # worded as the consumer page's card words it
        stage = page_state.first_scan_stage(
            first, dispatched_at=shipment.dispatched_at, delivered_at=shipment.delivered_at
        )
        opened = page_state.first_opened(stage, first, localized(shipment.store, "name"))
    return {"all_time": totals["all_time"], "first_scan": first, "first_opened": opened}


@login_required
def shipment_list(request: HttpRequest) -> HttpResponse:
    stores = Store.objects.managed_by(request.user).select_related("retailer")
    form = ShipmentFilterForm(request.GET or None, stores=stores)
    shipments = (
        Shipment.objects.visible_to(request.user)
        .select_related("store", "origin_village")
        .annotate(item_count=Count("items"))
        .order_by("-created_at")
    )
    if form.is_valid():
        if form.cleaned_data["status"]:
            shipments = shipments.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["store"]:
            shipments = shipments.filter(store=form.cleaned_data["store"])
    return render(
        request,
        "shipments/staff/shipment_list.html",
        {"shipments": shipments[:200], "form": form, "can_create": stores.exists()},
    )


@login_required
def shipment_create(request: HttpRequest) -> HttpResponse:
    stores = Store.objects.managed_by(request.user).select_related("retailer")
    if not stores.exists():
        raise Http404
    villages = supplier_villages(request.user)
    form = ShipmentForm(request.POST or None, stores=stores, villages=villages)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        shipment = services.create_shipment(
            origin_village=data["origin_village"],
            store=data["store"],
            carrier=data["carrier"],
            reference=data["reference"],
            created_by=request.user,
        )
        messages.success(request, _("Shipment %(code)s is created: now add batches.") % {"code": shipment.public_code})
        return redirect("shipment_detail", code=shipment.public_code)
    return render(request, "shipments/staff/shipment_form.html", {"form": form, "has_villages": villages.exists()})


def _detail(request: HttpRequest, shipment: Shipment, typed: dict | None = None, status: int = 200) -> HttpResponse:
    manageable = Shipment.objects.managed_by(request.user).filter(pk=shipment.pk).exists()
    editable = manageable and shipment.status in services.EDITABLE
    items = list(shipment.items.select_related("batch__crop", "batch__farm").order_by("batch__lot_code"))
    recallable = permissions.recallable_lots(request.user).filter(pk__in=[item.batch_id for item in items])
    available = []
    if editable:
        typed = typed or {}
        available = [(batch, typed.get(batch.lot_code, "")) for batch in shippable_batches(request.user, shipment)]
    return render(
        request,
        "shipments/staff/shipment_detail.html",
        {
            "shipment": shipment,
            "items": items,
            "manageable": manageable,
            "may_print": permissions.may_print(request.user, shipment),
            "recallable": set(recallable.values_list("pk", flat=True)) if items else set(),
            "editable": editable,
            "available": available,
            "chart": scans_per_day(shipment),
        },
        status=status,
    )


@login_required
def shipment_detail(request: HttpRequest, code: str) -> HttpResponse:
    shipment = get_object_or_404(
        Shipment.objects.visible_to(request.user).select_related("store__retailer", "origin_village"),
        public_code=code.upper(),
    )
    return _detail(request, shipment)


@login_required
@require_POST
def shipment_add_items(request: HttpRequest, code: str) -> HttpResponse:
    shipment = get_object_or_404(
        Shipment.objects.managed_by(request.user).select_related("store__retailer", "origin_village"),
        public_code=code.upper(),
    )
    allowed = {batch.lot_code: batch for batch in shippable_batches(request.user, shipment)}
    typed = {
        key[len("qty:") :]: value.strip()
        for key, value in request.POST.items()
        if key.startswith("qty:") and value.strip()
    }
    if not typed:
        messages.error(request, _("Type a quantity next to at least one batch."))
        return _detail(request, shipment, typed, status=400)
    lines = []
    for lot_code, text in typed.items():
        if lot_code not in allowed:
            raise Http404
        try:
            quantity = Decimal(text)
            if not quantity.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            messages.error(
                request, _("“%(value)s” for lot %(lot)s is not a number.") % {"value": text, "lot": lot_code}
            )
            return _detail(request, shipment, typed, status=400)
        lines.append((allowed[lot_code], quantity))
    # Every line or none: one wrong quantity must not leave half the picks in the shipment.
    with refused(request) as refusal, transaction.atomic():
        for batch, quantity in lines:
            services.add_item(shipment=shipment, batch=batch, quantity=quantity)
    if refusal:
        return _detail(request, shipment, typed, status=400)
    messages.success(
        request, ngettext("%(count)s batch added.", "%(count)s batches added.", len(lines)) % {"count": len(lines)}
    )
    return redirect("shipment_detail", code=shipment.public_code)


@login_required
@require_POST
def shipment_remove_item(request: HttpRequest, code: str) -> HttpResponse:
    shipment = get_object_or_404(Shipment.objects.managed_by(request.user), public_code=code.upper())
    lot_code = request.POST.get("lot", "")
    # A double tap sends this twice: the second finds the line gone (here or, when both arrive at
    # once, in remove_item under the shipment's lock) and says so instead of failing.
    item = ShipmentItem.objects.filter(shipment=shipment, batch__lot_code=lot_code).select_related("batch").first()
    with refused(request) as refusal:
        if item is None:
            raise services.ItemGone(
                _("Lot %(lot)s is no longer in this shipment: it was already taken out.") % {"lot": lot_code}
            )
        services.remove_item(item=item)
    if not refusal:
        messages.success(request, _("Lot %(lot)s was taken out.") % {"lot": item.batch.lot_code})
    return redirect("shipment_detail", code=shipment.public_code)


ACTIONS = {
    "pack": (lambda shipment, user: services.pack_shipment(shipment=shipment), gettext_lazy("Shipment packed.")),
    "dispatch": (
        lambda shipment, user: services.dispatch_shipment(shipment=shipment, actor=user),
        gettext_lazy("Shipment dispatched."),
    ),
    "receive": (
        lambda shipment, user: services.receive_shipment(shipment=shipment, actor=user),
        gettext_lazy("Shipment received at the store."),
    ),
    "cancel": (
        lambda shipment, user: services.cancel_shipment(shipment=shipment, actor=user),
        gettext_lazy("Shipment cancelled."),
    ),
}


@login_required
@require_POST
def shipment_action(request: HttpRequest, code: str, action: str) -> HttpResponse:
    shipment = get_object_or_404(Shipment.objects.managed_by(request.user), public_code=code.upper())
    if action not in ACTIONS:
        raise Http404
    run, done = ACTIONS[action]
    with refused(request) as refusal:
        run(shipment, request.user)
    if not refusal:
        messages.success(request, done)
    return redirect("shipment_detail", code=shipment.public_code)


def _affected_shipments(user, recall: Recall) -> list[tuple[recall_report.AffectedShipment, Shipment]]:
    """The recall's affected shipments that the user may see, each with its Shipment row."""
    affected = recall_report.affected_shipments(recall)
    rows = Shipment.objects.visible_to(user).select_related("store__retailer", "origin_village")
    rows = {row.public_code: row for row in rows.filter(public_code__in=[a.public_code for a in affected])}
    return [(a, rows[a.public_code]) for a in affected if a.public_code in rows]


@login_required
def recall_shipments(request: HttpRequest, pk: int) -> HttpResponse:
    """Who to call: the shipments holding the recalled lots, their stores, and consumers' scans."""
    recall = get_object_or_404(Recall.objects.visible_to(request.user).select_related("batch"), pk=pk)
    pairs = _affected_shipments(request.user, recall)
    # affected_stores keys stores by their Chinese names; pair each with its row for the local name.
    rows = {(row.store.name_zh, row.store.city_zh, row.store.retailer.name_zh): row.store for _a, row in pairs}
    stores = recall_report.affected_stores(recall, [a for a, _row in pairs])
    context = {
        "recall": recall,
        "pairs": pairs,
        "stores": [(store, rows[(store.store, store.store_city, store.retailer)]) for store in stores],
    }
    return render(request, "shipments/staff/recall_shipments.html", context)


@login_required
def recall_shipments_csv(request: HttpRequest, pk: int) -> HttpResponse:
    recall = get_object_or_404(Recall.objects.visible_to(request.user).select_related("batch"), pk=pk)
    pairs = _affected_shipments(request.user, recall)
    body = recall_report.recall_report_csv(recall, [a for a, _row in pairs])
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="recall-{recall.pk}-shipments.csv"'
    return response

"""Staff pages for traces, recalls and exports.

Who may do what is asked of traceability.permissions: a lot is traced and exported only by
those who may trace it (anything else is a 404), and they see only their part of it
(permissions.visible_trace). Recalls are opened and closed through traceability.services, which
ask the same module.
"""

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from api.errors import refused
from traceability import exports, permissions, services
from traceability.models import Batch, Recall
from traceability.trace import DIRECTIONS, trace_lot

EXPORTS = {
    "fsma.csv": (exports.fsma_csv, "text/csv; charset=utf-8"),
    "fsma.xlsx": (exports.fsma_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "epcis.json": (exports.epcis_json, "application/ld+json"),
    "eu.csv": (exports.eu_csv, "text/csv; charset=utf-8"),
}


# Long lists on the trace and recall pages stop here: a lot with 10,000 descendants would make a
# page of megabytes. The counts are shown, and the downloads carry every row.
ROWS_SHOWN = 100


def _visible_lot(user, lot_code: str) -> Batch:
    return get_object_or_404(Batch.objects.visible_to(user).select_related("farm__village", "crop"), lot_code=lot_code)


def _traceable_lot(user, lot_code: str) -> Batch:
    lots = permissions.traceable_lots(user).select_related("farm__village", "crop")
    return get_object_or_404(lots, lot_code=lot_code)


def _may_trace(user) -> bool:
    return permissions.traceable_lots(user).exists()


@login_required
def trace(request: HttpRequest) -> HttpResponse:
    if not permissions.roles(request.user).any:
        raise Http404
    lot_code = request.GET.get("lot", "").strip()
    direction = request.GET.get("direction", "both")
    if direction not in DIRECTIONS:
        direction = "both"
    context = {"lot_code": lot_code, "direction": direction, "directions": DIRECTIONS, "formats": list(EXPORTS)}
    if lot_code:
        batch = _traceable_lot(request.user, lot_code)
        result = permissions.visible_trace(request.user, trace_lot(batch, direction=direction))
        context.update(
            batch=batch,
            trace=result,
            shown=_first_rows(result),
            rows_shown=ROWS_SHOWN,
            may_recall=permissions.may_open_recall(request.user, batch),
            open_recalls=list(batch.recalls.open()),
        )
    return render(request, "traceability/trace.html", context)


def _first_rows(result) -> dict[str, list]:
    """The first ROWS_SHOWN rows of each list of a trace the page shows; links as (link, unit)."""
    lists = {"shipments": result.shipments, "links": result.links}
    if result.direction != "forward":
        lists["ancestors"] = result.ancestors
    if result.direction != "backward":
        lists["descendants"] = result.descendants
    shown = {name: rows[:ROWS_SHOWN] for name, rows in lists.items()}
    shown["links"] = _with_units(result, shown["links"])
    return shown


def _with_units(result, links: list) -> list[tuple]:
    """Each link with the unit of its quantity, which is its input lot's. The input lot is always
    one of the trace's lots (the traced lot, an ancestor for a backward link, a descendant for a
    forward one), and the page has built those lists already."""
    if not links:
        return []
    inputs = {link.input_lot for link in links}
    lots = (result.lot, *result.ancestors, *result.descendants)
    units = {lot.lot_code: lot.unit for lot in lots if lot.lot_code in inputs}
    return [(link, units.get(link.input_lot, "")) for link in links]


@login_required
def export(request: HttpRequest, name: str) -> HttpResponse:
    """?lot=CODE for a lot's full trace closure, or ?from=YYYY-MM-DD&to=YYYY-MM-DD."""
    if name not in EXPORTS or not _may_trace(request.user):
        raise Http404
    render_export, content_type = EXPORTS[name]
    lot_code = request.GET.get("lot", "").strip()
    lot_ids = None
    if lot_code:
        batch = _traceable_lot(request.user, lot_code)
        closure = exports.lot_closure(batch)
        events = exports.events_for_lot(batch, closure)
        lot_ids = permissions.visible_lot_ids(request.user, closure)
        stem = lot_code
    else:
        try:
            start, end = exports.parse_range(request.GET.get("from"), request.GET.get("to"))
            events = exports.events_between(start, end)
        except exports.InvalidRange as error:
            context = {"error": str(error), "directions": DIRECTIONS, "formats": list(EXPORTS)}
            return render(request, "traceability/trace.html", context, status=400)
        stem = f"{start:%Y%m%d}-{end:%Y%m%d}"
    events = permissions.exportable_events(request.user, events)
    options = {"harvester": permissions.may_see_harvester(request.user)} if name.startswith("fsma") else {}
    response = HttpResponse(render_export(events, lot_ids=lot_ids, **options), content_type=content_type)
    kind, extension = name.split(".")
    response["Content-Disposition"] = f'attachment; filename="{kind}-{stem}.{extension}"'
    return response


def _recalls(user):
    return Recall.objects.visible_to(user).select_related(
        "batch__crop", "batch__farm__village", "opened_by", "closed_by"
    )


@login_required
def recall_list(request: HttpRequest) -> HttpResponse:
    if not permissions.roles(request.user).any:
        raise Http404
    return render(request, "traceability/recall_list.html", {"recalls": _recalls(request.user)})


@login_required
def recall_detail(request: HttpRequest, pk: int) -> HttpResponse:
    recall = get_object_or_404(_recalls(request.user), pk=pk)
    holds = recall.holds.select_related("batch__crop").order_by("batch__lot_code")
    result = permissions.visible_trace(request.user, trace_lot(recall.batch, direction="forward"))
    context = {
        "recall": recall,
        "holds": holds[:ROWS_SHOWN],
        "hold_count": holds.count(),
        "trace": result,
        "shipments": result.shipments[:ROWS_SHOWN],
        "rows_shown": ROWS_SHOWN,
        "may_close": recall.is_open and permissions.may_close_recall(request.user, recall),
    }
    return render(request, "traceability/recall_detail.html", context)


@login_required
@require_POST
def recall_open(request: HttpRequest) -> HttpResponse:
    batch = _visible_lot(request.user, request.POST.get("lot", "").strip())
    with refused(request) as refusal:
        recall = services.open_recall(batch=batch, reason=request.POST.get("reason", ""), actor=request.user)
    if refusal:
        return redirect(f"{reverse('trace')}?lot={quote(batch.lot_code)}")
    messages.success(request, _("Recall opened: %(count)s lot(s) are on hold.") % {"count": recall.holds.count()})
    return redirect("recall_detail", pk=recall.pk)


@login_required
@require_POST
def recall_close(request: HttpRequest, pk: int) -> HttpResponse:
    recall = get_object_or_404(_recalls(request.user), pk=pk)
    with refused(request) as refusal:
        services.close_recall(recall=recall, actor=request.user, note=request.POST.get("note", ""))
    if not refusal:
        messages.success(request, _("Recall closed: the holds are lifted."))
    return redirect("recall_detail", pk=recall.pk)


@login_required
def recall_export(request: HttpRequest, pk: int) -> HttpResponse:
    recall = get_object_or_404(_recalls(request.user), pk=pk)
    shown = permissions.visible_trace(request.user, trace_lot(recall.batch, direction="forward"))
    response = HttpResponse(exports.recall_csv(recall, trace=shown), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="recall-{recall.pk}-{recall.batch.lot_code}.csv"'
    return response

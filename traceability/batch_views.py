"""The farmer's and coordinator's batch pages: list, register, record and correct events, import a sheet.

Batches are found by lot code through Batch.objects.visible_to for reading and through
traceability.permissions for recording and correcting, so another village's lot answers 404.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from api import errors
from api.errors import refused
from api.idempotency import run_once
from farms.models import Farm
from traceability import imports, lifecycle, permissions, services
from traceability.batch_forms import (
    EVENT_FIELDS,
    RECORDABLE_KINDS,
    BatchEventForm,
    BatchForm,
    CorrectionForm,
    ImportForm,
)
from traceability.models import Batch, EventBatch, EventKind, Hold, TraceEvent


def client_id_from(request: HttpRequest) -> uuid.UUID | None:
    """The one-time id of a form page (farms/_client_id.html): a double tap or a retry on a flaky
    connection registers the batch or records the event once. None when absent or malformed.

    The form pages are sent with never_cache, so that going back to one fetches a fresh id rather
    than resending the id already used (which would land on the first result, not save anew).
    """
    try:
        return uuid.UUID(request.POST.get("client_id", ""))
    except ValueError:
        return None


@login_required
def batch_list(request: HttpRequest) -> HttpResponse:
    batches = Batch.objects.writable_by(request.user).select_related("crop", "farm", "field")
    status = request.GET.get("status", "")
    if status in Batch.Status.values:
        batches = batches.filter(status=status)
    can_register = Farm.objects.writable_by(request.user).exists()
    if not can_register:
        raise Http404
    return render(
        request,
        "farms/batch_list.html",
        {"batches": batches[:200], "statuses": Batch.Status.choices, "status": status},
    )


@login_required
@never_cache
def batch_create(request: HttpRequest) -> HttpResponse:
    farms = Farm.objects.writable_by(request.user).order_by("name_zh")
    if not farms.exists():
        raise Http404
    form = BatchForm(request.POST or None, farms=farms, initial={"farm": farms.first()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def register() -> str:
            batch = services.register_batch(
                farm=data["farm"],
                crop=data["crop"],
                field=data["field"],
                quantity=data["quantity"],
                unit=data["unit"],
                planted_on=data["planted_on"],
                harvested_on=data["harvested_on"],
                created_by=request.user,
                client_id=client_id_from(request),
            )
            return batch.lot_code

        # A replay of this page's POST gets the first POST's lot code: same message, same page.
        lot_code = run_once(request, client_id_from(request), register)
        messages.success(request, _("Batch %(lot)s is registered.") % {"lot": lot_code})
        return redirect("batch_detail", lot_code=lot_code)
    return render(request, "farms/batch_form.html", {"form": form, "client_id": uuid.uuid4()})


@login_required
def batch_detail(request: HttpRequest, lot_code: str) -> HttpResponse:
    batch = get_object_or_404(
        Batch.objects.visible_to(request.user).select_related("crop", "farm__village", "field"), lot_code=lot_code
    )
    writable = permissions.may_record_event(request.user, batch)
    # Only this batch's line of each event: a shipment's event also lists the other batches it carried.
    own_lines = Prefetch("lines", queryset=EventBatch.objects.filter(batch=batch), to_attr="own_lines")
    events = list(batch.events.order_by("-occurred_at", "-id").prefetch_related(own_lines))
    _mark_corrections(request.user, events)
    # The kinds the lot's state accepts now (lifecycle.ACCEPTS): a held lot offers quality tests only.
    accepted = lifecycle.ACCEPTS[batch.status]
    holds = list(
        Hold.objects.open().filter(lots__batch=batch).select_related("batch", "test_event").order_by("opened_at")
    )
    return render(
        request,
        "farms/batch_detail.html",
        {
            "batch": batch,
            "events": events,
            "writable": writable,
            "can_recall": not batch.is_held() and permissions.may_open_recall(request.user, batch),
            "kinds": [(kind, EventKind(kind).label) for kind in RECORDABLE_KINDS if kind in accepted],
            "holds": [(hold, permissions.may_decide_hold(request.user, hold)) for hold in holds],
        },
    )


def _mark_corrections(user, events: list[TraceEvent]) -> None:
    """Sets on each event what the history shows of corrections: `declared_wrong` (the reason of
    the correction that declared it wrong, or ""), `is_replacement` (recorded by a correction as
    the right facts) and `may_correct` (this user may correct it now: it is neither a correction
    nor corrected already)."""
    corrections = [event for event in events if event.kind == TraceEvent.Kind.CORRECTION]
    declared = {event.corrects_id: event.correction_reason for event in corrections}
    replacements = {event.data.get("corrective_event") for event in corrections}
    candidates = [e.pk for e in events if e.kind != TraceEvent.Kind.CORRECTION and e.pk not in declared]
    correctable = set()
    if candidates:
        correctable = set(permissions.correctable_events(user).filter(pk__in=candidates).values_list("pk", flat=True))
    for event in events:
        event.declared_wrong = declared.get(event.pk, "")
        event.is_replacement = str(event.client_id) in replacements
        event.may_correct = event.pk in correctable


@login_required
@never_cache
def batch_event(request: HttpRequest, lot_code: str, kind: str) -> HttpResponse:
    batch = get_object_or_404(
        permissions.recordable_lots(request.user).select_related("farm__village"), lot_code=lot_code
    )
    if kind not in EVENT_FIELDS:
        raise Http404
    initial = {"occurred_at": timezone.localtime().replace(second=0, microsecond=0)}
    if kind == EventKind.HARVEST:
        initial["quantity"] = batch.quantity
    form = BatchEventForm(request.POST or None, request.FILES or None, kind=kind, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = {}
        for name in (
            "temperature_c",
            "result",
            "lab",
            "test",
            "product",
            "note",
            "harvester_name",
            "harvester_phone",
            "reference_document",
        ):
            value = form.cleaned_data.get(name)
            if value not in (None, ""):
                data[name] = float(value) if name == "temperature_c" else value
        try:
            # The service decides (holds, order, quantities, temperatures): the same rules as the API.
            # It keeps the photo only once the event passed them.
            services.record_batch_event(
                batch=batch,
                kind=kind,
                occurred_at=form.cleaned_data["occurred_at"],
                actor=request.user,
                data=data,
                quantity=form.cleaned_data.get("quantity"),
                client_id=client_id_from(request),
                photo=form.cleaned_data.get("photo") or None,
            )
        except (errors.ServiceError, ValidationError) as exc:
            if isinstance(exc, ValidationError):
                _add_service_errors(form, exc)
                status = 400
            else:  # the form comes back with the refusal above it, and the refusal's status
                form.add_error(None, exc.message)
                status = exc.status_code
        else:
            messages.success(
                request,
                _("%(event)s is recorded for %(lot)s.") % {"event": EventKind(kind).label, "lot": batch.lot_code},
            )
            return redirect("batch_detail", lot_code=batch.lot_code)
    return render(
        request,
        "farms/batch_event_form.html",
        {"batch": batch, "kind": kind, "form": form, "kind_label": EventKind(kind).label, "client_id": uuid.uuid4()},
        status=status,
    )


def _add_service_errors(form, error: ValidationError) -> None:
    """A service's field errors next to the form's fields, the rest above the form."""
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


@login_required
@require_POST
def hold_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    """Release a safety hold or turn it into a recall, from the lot's page (services.decide_hold
    decides who may)."""
    hold = get_object_or_404(Hold.objects.visible_to(request.user).select_related("batch"), pk=pk)
    if decision not in Hold.Decision.values:
        raise Http404
    note = request.POST.get("note", "").strip()
    if not note:
        messages.error(request, _("Say why: the note is recorded with the decision."))
        return redirect("batch_detail", lot_code=hold.batch.lot_code)
    with refused(request) as refusal:
        services.decide_hold(hold=hold, decision=decision, actor=request.user, note=note)
    if not refusal:
        done = _("The hold is released.") if decision == Hold.Decision.RELEASED else _("The lot is recalled.")
        messages.success(request, done)
    return redirect("batch_detail", lot_code=hold.batch.lot_code)


@login_required
@never_cache
def batch_event_correct(request: HttpRequest, lot_code: str, client_id: str) -> HttpResponse:
    """Correct or void one recorded event of a lot (services.record_correction: an EPCIS error
    declaration that keeps the original). The page's one-time id makes a double tap record one
    correction; a form sent back with errors (400) or refused by the service (409) keeps what
    was typed and its id."""
    batch = get_object_or_404(
        permissions.recordable_lots(request.user).select_related("crop", "farm__village"), lot_code=lot_code
    )
    events = permissions.correctable_events(request.user).filter(lines__batch=batch)
    event = get_object_or_404(events.exclude(kind=TraceEvent.Kind.CORRECTION), client_id=client_id)
    form = CorrectionForm(request.POST or None, event=event)
    status = 200
    if request.method == "POST" and not form.is_valid():
        status = 400
    elif request.method == "POST":
        data, occurred_at = form.corrected_facts()
        try:
            services.record_correction(
                event=event,
                reason=form.cleaned_data["reason"],
                actor=request.user,
                note=form.cleaned_data["note"],
                corrected_data=data or None,
                corrected_occurred_at=occurred_at,
                client_id=client_id_from(request),
            )
        except errors.ServiceError as refusal:  # refused by the service, or by the lot's lifecycle
            form.add_error(None, refusal.message)
            status = refusal.status_code
        except ValidationError as exc:  # a corrected time in the future, an impossible temperature
            _add_service_errors(form, exc)
            status = 400
        else:
            messages.success(
                request,
                _("The %(event)s record of %(lot)s is corrected.")
                % {"event": event.get_kind_display(), "lot": batch.lot_code},
            )
            return redirect("batch_detail", lot_code=batch.lot_code)
    own_lines = EventBatch.objects.filter(event=event, batch=batch)
    context = {
        "batch": batch,
        "event": event,
        "own_lines": own_lines,
        "form": form,
        "already_corrected": event.corrections.exists(),
        "client_id": uuid.uuid4(),
    }
    return render(request, "farms/batch_correct_form.html", context, status=status)


@login_required
def batch_import(request: HttpRequest) -> HttpResponse:
    villages = permissions.importable_villages(request.user)
    if not villages.exists():
        raise Http404
    form = ImportForm(
        request.POST or None, request.FILES or None, villages=villages, initial={"village": villages.first()}
    )
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = imports.import_batches(
                village=form.cleaned_data["village"],
                file=form.cleaned_data["file"],
                actor=request.user,
                new_data=form.cleaned_data["new_data"],
            )
        except imports.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            if result.ok:
                messages.success(request, _("%(count)s batches are imported.") % {"count": len(result.batches)})
            else:
                messages.error(request, _("Nothing was imported: fix the rows listed below and upload the file again."))
    return render(request, "farms/batch_import.html", {"form": form, "result": result})


@login_required
def batch_import_sample(request: HttpRequest) -> HttpResponse:
    """A CSV to start from: the Chinese column names and one example row. UTF-8 with a BOM, so
    Excel and WPS open it with the Chinese intact."""
    villages = permissions.importable_villages(request.user)
    if not villages.exists():
        raise Http404
    farm = Farm.objects.filter(village__in=villages).prefetch_related("fields").first()
    field = farm.fields.first() if farm else None
    today = timezone.localdate()
    rows = [
        "农场,地块,作物,数量,单位,种植日期,采收日期,批次号",
        f"{farm.name_zh if farm else '王家杨梅园'},{field.name_zh if field else ''},WAX,120,kg,,{today:%Y-%m-%d},",
    ]
    response = HttpResponse("\ufeff" + "\r\n".join(rows) + "\r\n", content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="batches-sample.csv"'
    return response

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from traceability import lifecycle, services
from traceability.models import Batch, BatchInput, EventBatch, Hold, HoldLot, Recall, RecallHold, TraceEvent


class BatchInputInline(admin.TabularInline):
    model = BatchInput
    fk_name = "output"
    extra = 0
    can_delete = False
    readonly_fields = ["input", "quantity"]

    def has_add_permission(self, request, obj=None):
        return False


class BatchAdminForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "lot_code" in self.fields:  # adding: register_batch assigns the next code
            self.fields["lot_code"].required = False
            self.fields["lot_code"].help_text = _("Leave empty for the next lot code.")

    def clean(self):
        cleaned = super().clean()
        try:
            lifecycle.check_lot_dates(
                cleaned.get("planted_on", getattr(self.instance, "planted_on", None)),
                cleaned.get("harvested_on", getattr(self.instance, "harvested_on", None)),
            )
        except ValidationError as exc:  # the one date rule of every door
            self.add_error(None, exc)
        return cleaned


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    """Lots are registered through services.register_batch (lot code, status) and their status and
    quantities move only through events, shipments and holds (traceability.lifecycle): the admin
    never writes them by hand."""

    form = BatchAdminForm
    list_display = ["lot_code", "crop", "farm", "harvested_on", "quantity", "allocated_quantity", "unit", "status"]
    list_filter = ["status", "crop", "farm__village", "harvested_on"]
    list_select_related = ["crop", "farm"]
    search_fields = ["lot_code", "farm__name_zh", "crop__name_zh", "crop__name_en"]
    date_hierarchy = "harvested_on"
    readonly_fields = ["allocated_quantity", "created_by", "created_at"]
    inlines = [BatchInputInline]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return [*self.readonly_fields, "status"]
        return [*self.readonly_fields, "status", "lot_code", "farm", "crop", "quantity", "unit"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        batch = services.register_batch(
            farm=data["farm"],
            crop=data["crop"],
            field=data.get("field"),
            quantity=data["quantity"],
            unit=data["unit"],
            planted_on=data.get("planted_on"),
            harvested_on=data.get("harvested_on"),
            lot_code=data.get("lot_code") or "",
            created_by=request.user,
            notes=data.get("notes") or "",
        )
        obj.pk, obj.lot_code, obj.status, obj.created_by = batch.pk, batch.lot_code, batch.status, batch.created_by
        obj._state.adding = False


class EventBatchInline(admin.TabularInline):
    model = EventBatch
    extra = 0
    can_delete = False
    readonly_fields = ["batch", "role", "quantity", "unit"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(TraceEvent)
class TraceEventAdmin(admin.ModelAdmin):
    """Read-only: history is append-only, so the admin can look but never change or delete."""

    list_display = ["occurred_at", "kind", "village", "farm", "location_name", "recorded_at", "seq"]
    list_filter = ["kind", "village"]
    list_select_related = ["village", "farm"]
    search_fields = ["client_id", "location_name", "lines__batch__lot_code", "hash"]
    date_hierarchy = "occurred_at"
    inlines = [EventBatchInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RecallHoldInline(admin.TabularInline):
    model = RecallHold
    extra = 0
    can_delete = False
    readonly_fields = ["batch", "previous_status"]
    verbose_name = _("held batch")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Recall)
class RecallAdmin(admin.ModelAdmin):
    list_display = ["batch", "opened_at", "opened_by", "closed_at"]
    list_filter = ["closed_at"]
    search_fields = ["batch__lot_code", "reason"]
    readonly_fields = ["batch", "opened_by", "opened_at", "closed_by", "closed_at"]
    inlines = [RecallHoldInline]
    actions = ["close_recalls"]

    @admin.action(description=_("Close the selected recalls and lift their holds"))
    def close_recalls(self, request, queryset):
        """Through services.close_recall, which asks permissions.may_close_recall: the admin is one
        more door, not a way around the rule."""
        for recall in queryset.select_related("batch").order_by("pk"):
            try:
                services.close_recall(recall=recall, actor=request.user, note=_("Closed in the admin."))
            except (services.NotAllowed, services.RecallStateError) as refusal:
                self.message_user(request, f"{recall}: {refusal}", messages.ERROR)
            else:
                self.message_user(request, _("Recall of %(lot)s closed.") % {"lot": recall.batch.lot_code})

    # Recalls open and close through traceability.services so holds are applied; the admin shows them.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HoldLotInline(admin.TabularInline):
    model = HoldLot
    extra = 0
    can_delete = False
    readonly_fields = ["batch"]
    verbose_name = _("held batch")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Hold)
class HoldAdmin(admin.ModelAdmin):
    """Read-only: safety holds open on a failed test and are decided through services.decide_hold
    (the lot's page or the API), so the lots' statuses follow."""

    list_display = ["batch", "opened_at", "decision", "decided_at"]
    list_filter = ["decision"]
    list_select_related = ["batch"]
    search_fields = ["batch__lot_code", "reason"]
    inlines = [HoldLotInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from traceability import services
from traceability.models import Batch, BatchInput, EventBatch, Recall, RecallHold, TraceEvent


class BatchInputInline(admin.TabularInline):
    model = BatchInput
    fk_name = "output"
    extra = 0
    can_delete = False
    readonly_fields = ["input", "quantity"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["lot_code", "crop", "farm", "harvested_on", "quantity", "allocated_quantity", "unit", "status"]
    list_filter = ["status", "crop", "farm__village", "harvested_on"]
    list_select_related = ["crop", "farm"]
    search_fields = ["lot_code", "farm__name_zh", "crop__name_zh", "crop__name_en"]
    date_hierarchy = "harvested_on"
    readonly_fields = ["allocated_quantity", "created_by", "created_at"]
    inlines = [BatchInputInline]

    # Status moves through events and recalls, never by hand.
    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "status"] if obj else self.readonly_fields


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

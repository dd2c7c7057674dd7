from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from shipments import services
from shipments.models import Retailer, RetailerStaff, Scan, Shipment, ShipmentItem, Store


class StoreInline(admin.TabularInline):
    model = Store
    extra = 0
    fields = ["name_zh", "name_en", "city_zh", "city_en", "address", "address_en", "phone", "time_zone", "gln"]


@admin.register(Retailer)
class RetailerAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "gln", "phone", "gs1_company_prefix"]
    search_fields = ["name_zh", "name_en", "gln", "gs1_company_prefix", "address_zh", "address_en"]
    filter_horizontal = ["supplier_villages"]
    inlines = [StoreInline]

    def save_model(self, request, obj, form, change):
        # The prefix goes through the service, which numbers the shipments that have no SSCC yet.
        prefix = obj.gs1_company_prefix
        if "gs1_company_prefix" in form.changed_data:
            obj.gs1_company_prefix = form.initial.get("gs1_company_prefix")
        super().save_model(request, obj, form, change)
        if "gs1_company_prefix" in form.changed_data:
            services.set_company_prefix(retailer=obj, prefix=prefix)


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "retailer", "city_zh", "phone", "time_zone", "gln"]
    list_filter = ["retailer", "city_zh", "time_zone"]
    list_select_related = ["retailer"]
    search_fields = ["name_zh", "name_en", "city_zh", "address", "address_en", "gln"]


@admin.register(RetailerStaff)
class RetailerStaffAdmin(admin.ModelAdmin):
    list_display = ["user", "retailer"]
    list_filter = ["retailer"]
    list_select_related = ["user", "retailer"]
    search_fields = ["user__username", "retailer__name_zh"]
    autocomplete_fields = ["user"]


class ShipmentItemInline(admin.TabularInline):
    model = ShipmentItem
    extra = 0
    readonly_fields = ["batch", "quantity"]
    can_delete = False

    # Items are added through shipments.services.add_item, which locks and allocates the batch.
    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = [
        "public_code",
        "sscc",
        "origin_village",
        "store",
        "status",
        "created_at",
        "dispatched_at",
        "delivered_at",
    ]
    list_filter = ["status", "store__retailer", "store", "origin_village"]
    list_select_related = ["origin_village", "store"]
    search_fields = ["public_code", "sscc", "reference", "carrier", "items__batch__lot_code"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "public_code",
        "sscc",
        "qr_code",
        "status",
        "created_by",
        "created_at",
        "dispatched_at",
        "delivered_at",
        "cancelled_at",
    ]
    inlines = [ShipmentItemInline]

    @admin.display(description=_("QR code"))
    def qr_code(self, obj):
        if not obj.pk:
            return "-"
        return format_html(
            '<a href="{url}" target="_blank"><img src="{path}/qr.svg" width="160" height="160" alt="QR"></a><br>'
            '<a href="{url}" target="_blank">{url}</a> · <a href="{path}/qr.png?scale=12">PNG</a> · '
            '<a href="/shipments/{code}/labels/">{labels}</a>',
            url=obj.public_url,
            path=obj.public_path,
            code=obj.public_code,
            labels=_("Print labels"),
        )


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    list_display = ["shipment", "scanned_at", "language", "client"]
    list_filter = ["client", "language"]
    list_select_related = ["shipment"]
    date_hierarchy = "scanned_at"
    search_fields = ["shipment__public_code"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

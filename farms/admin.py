from django.contrib import admin

from farms.models import Crop, Farm, Field, Membership, Recipe, Village


class FieldInline(admin.TabularInline):
    model = Field
    extra = 0
    fields = ["name_zh", "name_en", "latitude", "longitude", "area_mu"]


@admin.register(Village)
class VillageAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "province_zh", "county_zh", "gln", "phone", "time_zone"]
    list_filter = ["province_zh", "time_zone", "specialties"]
    search_fields = ["code", "name_zh", "name_en", "county_zh", "county_en", "gln", "address_zh", "address_en"]
    filter_horizontal = ["specialties"]


@admin.register(Farm)
class FarmAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "village", "grower_name"]
    list_filter = ["village"]
    list_select_related = ["village"]
    search_fields = ["name_zh", "name_en", "grower_name", "village__name_zh", "address_zh", "address_en"]
    inlines = [FieldInline]


@admin.register(Field)
class FieldAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "farm", "latitude", "longitude", "area_mu"]
    list_filter = ["farm__village"]
    list_select_related = ["farm"]
    search_fields = ["name_zh", "name_en", "farm__name_zh"]


@admin.register(Crop)
class CropAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "variety_zh", "category", "gtin"]
    list_filter = ["category"]
    search_fields = ["code", "name_zh", "name_en", "variety_zh", "variety_en", "gtin"]


@admin.register(Recipe)
class RecipeAdmin(admin.ModelAdmin):
    list_display = ["title", "language"]
    list_filter = ["language", "crops"]
    search_fields = ["title", "ingredients"]
    filter_horizontal = ["crops"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "village"]
    list_filter = ["role", "village"]
    list_select_related = ["user", "village"]
    search_fields = ["user__username", "village__name_zh"]
    autocomplete_fields = ["user"]

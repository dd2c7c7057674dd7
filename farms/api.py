"""REST resources of the farms app: villages, farms, fields, crops and recipes.

Coordinators change their village's page content, farms and fields; everyone else reads what
Village/Farm.objects.visible_to allows. Crops and recipes are shared reference data, read-only here.
"""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api.base import (
    CallerScope,
    FilterSet,
    ScopedRelatedField,
    StrictModelSerializer,
    TenantScopedMixin,
    blank_private,
)
from api.idempotency import IdempotentMixin
from farms import vocabulary
from farms.images import PhotoRenditionsField
from farms.models import Crop, Farm, Field, Membership, Recipe, Village


def _unique_in_parent(serializer, attrs, model, parent: str) -> None:
    """The per-parent unique name constraints, as a field message instead of a database error."""
    instance = serializer.instance
    parent_value = attrs.get(parent, getattr(instance, parent, None))
    name = attrs.get("name_zh", getattr(instance, "name_zh", None))
    clash = model.objects.filter(**{parent: parent_value, "name_zh": name})
    if instance is not None:
        clash = clash.exclude(pk=instance.pk)
    if clash.exists():
        raise ValidationError({"name_zh": [_("This name is already taken here.")]})


# ---------------------------------------------------------------------------------------------
# Serializers


class VillageScope(CallerScope):
    """The villages whose private data the caller may read (auditors: all)."""

    def __init__(self, user):
        self.sees_everything = Membership.objects.sees_everything(user)
        self.village_ids = set(Membership.objects.village_ids(user))


class VillageSerializer(StrictModelSerializer):
    specialties = ScopedRelatedField(
        scope=lambda user: Crop.objects.all(), queryset=Crop.objects.all(), many=True, required=False
    )
    photo = PhotoRenditionsField()

    class Meta:
        model = Village
        fields = [
            "id",
            "code",
            "name_zh",
            "name_en",
            "province_zh",
            "province_en",
            "county_zh",
            "county_en",
            "latitude",
            "longitude",
            "story_zh",
            "story_en",
            "gln",
            "address_zh",
            "address_en",
            "phone",
            "time_zone",
            "specialties",
            "photo",
        ]
        read_only_fields = ["id", "code", "photo"]


class FarmSerializer(StrictModelSerializer):
    village = ScopedRelatedField(scope=lambda user: Village.objects.managed_by(user), queryset=Village.objects.all())
    photo = PhotoRenditionsField()

    class Meta:
        model = Farm
        fields = [
            "id",
            "village",
            "name_zh",
            "name_en",
            "grower_name",
            "contact_phone",
            "address_zh",
            "address_en",
            "certifications",
            "notes",
            "photo",
        ]
        read_only_fields = ["id", "photo"]

    def to_representation(self, farm):
        """The grower's phone and the internal notes are for the village and auditors only."""
        scope = VillageScope.of(self)
        allowed = scope.sees_everything or farm.village_id in scope.village_ids
        return blank_private(super().to_representation(farm), ["contact_phone", "notes"], allowed)

    def validate(self, attrs):
        _unique_in_parent(self, attrs, Farm, "village")
        return attrs


class FarmUpdateSerializer(FarmSerializer):
    """A farm stays in its village: moving it would move its whole history."""

    village = ScopedRelatedField(scope=lambda user: Village.objects.all(), read_only=True)


class FieldSerializer(StrictModelSerializer):
    farm = ScopedRelatedField(scope=lambda user: Farm.objects.managed_by(user), queryset=Farm.objects.all())
    photo = PhotoRenditionsField()

    class Meta:
        model = Field
        fields = ["id", "farm", "name_zh", "name_en", "latitude", "longitude", "area_mu", "photo"]
        read_only_fields = ["id", "photo"]
        extra_kwargs = {"area_mu": {"min_value": Decimal("0.01")}}

    def validate(self, attrs):
        _unique_in_parent(self, attrs, Field, "farm")
        return attrs


class FieldUpdateSerializer(FieldSerializer):
    farm = ScopedRelatedField(scope=lambda user: Farm.objects.all(), read_only=True)


class CropSerializer(StrictModelSerializer):
    photo = PhotoRenditionsField()

    class Meta:
        model = Crop
        fields = [
            "id",
            "code",
            "name_zh",
            "name_en",
            "variety_zh",
            "variety_en",
            "category",
            "storage_advice_zh",
            "storage_advice_en",
            "storage_min_c",
            "storage_max_c",
            "gtin",
            "photo",
        ]
        read_only_fields = fields


class RecipeSerializer(StrictModelSerializer):
    photo = PhotoRenditionsField()

    class Meta:
        model = Recipe
        fields = ["id", "title", "language", "ingredients", "steps", "crops", "photo"]
        read_only_fields = fields


# ---------------------------------------------------------------------------------------------
# Filters


class VillageFilter(FilterSet):
    class Meta:
        model = Village
        fields = ["code", "province_zh", "county_zh"]


class FarmFilter(FilterSet):
    class Meta:
        model = Farm
        fields = ["village", "name_zh"]


class FieldFilter(FilterSet):
    class Meta:
        model = Field
        fields = ["farm", "farm__village"]


class CropFilter(FilterSet):
    class Meta:
        model = Crop
        fields = ["code", "category", "gtin"]


class RecipeFilter(FilterSet):
    class Meta:
        model = Recipe
        fields = ["language", "crops"]


# ---------------------------------------------------------------------------------------------
# Viewsets


class VillageViewSet(
    IdempotentMixin,
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Villages. Coordinators edit their village's page content; villages are created in the admin."""

    serializer_class = VillageSerializer
    filterset_class = VillageFilter
    ordering_fields = ["code", "name_zh"]
    ordering = ["code"]

    def visible(self, user):
        return Village.objects.visible_to(user).prefetch_related("specialties")

    def writable(self, user):
        return Village.objects.managed_by(user)


class FarmViewSet(IdempotentMixin, TenantScopedMixin, viewsets.ModelViewSet):
    """Farms. Coordinators create and edit the farms of their village."""

    filterset_class = FarmFilter
    ordering_fields = ["name_zh", "id"]
    ordering = ["village_id", "name_zh"]

    def get_serializer_class(self):
        return FarmUpdateSerializer if self.action in ("update", "partial_update") else FarmSerializer

    def visible(self, user):
        return Farm.objects.visible_to(user)

    def writable(self, user):
        return Farm.objects.managed_by(user)


class FieldViewSet(IdempotentMixin, TenantScopedMixin, viewsets.ModelViewSet):
    """Fields of farms (FSMA asks growers for a farm map). Coordinators manage them."""

    filterset_class = FieldFilter
    ordering_fields = ["name_zh", "id"]
    ordering = ["farm_id", "name_zh"]

    def get_serializer_class(self):
        return FieldUpdateSerializer if self.action in ("update", "partial_update") else FieldSerializer

    def visible(self, user):
        return Field.objects.filter(farm__in=Farm.objects.visible_to(user))

    def writable(self, user):
        return Field.objects.filter(farm__in=Farm.objects.managed_by(user))


class CropViewSet(TenantScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Crops: shared reference data, maintained in the admin."""

    serializer_class = CropSerializer
    filterset_class = CropFilter
    ordering_fields = ["code", "name_zh"]
    ordering = ["code"]

    def visible(self, user):
        return Crop.objects.all()


class RecipeViewSet(TenantScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Recipes shown on consumer pages: shared reference data, maintained in the admin."""

    serializer_class = RecipeSerializer
    filterset_class = RecipeFilter
    ordering_fields = ["title", "id"]
    ordering = ["title"]

    def visible(self, user):
        return Recipe.objects.prefetch_related("crops")


_TERMS = serializers.ListField(
    child=inline_serializer(
        "Term", {"code": serializers.CharField(), "zh": serializers.CharField(), "en": serializers.CharField()}
    )
)


class VocabularyView(APIView):
    """The quality-test types and certifications to offer (farms.vocabulary), each by its code, its
    Chinese and its English. An event's `data.test` and a farm's `certifications` (one per line)
    take any of the three, recorded as the Chinese term, or any other text, recorded as given."""

    @extend_schema(responses=inline_serializer("Vocabulary", {"quality_tests": _TERMS, "certifications": _TERMS}))
    def get(self, request):
        return Response(
            {"quality_tests": vocabulary.entries("test"), "certifications": vocabulary.entries("certification")}
        )

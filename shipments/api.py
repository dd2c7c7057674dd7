"""REST resources of the shipments app: retailers, stores, shipments with their items, scans.

Shipment state changes are explicit actions that call shipments.services (which record the trace
events): pack, dispatch (the viewset method is `mark_dispatched`: a method named `dispatch`
would override APIView.dispatch and break every route), receive, cancel, and item add/remove.
"""

import django_filters
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from rest_framework.views import APIView

from api.base import (
    CallerScope,
    FilterSet,
    IdFilter,
    ScopedRelatedField,
    ScopedSlugField,
    StrictModelSerializer,
    StrictSerializer,
    TenantScopedMixin,
    blank_private,
)
from api.errors import Conflict
from api.idempotency import IdempotentMixin
from farms.api import COORDINATES
from farms.models import Farm, Membership, Village
from shipments import services
from shipments.models import Retailer, Scan, Shipment, ShipmentItem, Store
from traceability import permissions
from traceability.api import QUANTITY
from traceability.models import Batch

# ---------------------------------------------------------------------------------------------
# Serializers


class RetailerScope(CallerScope):
    """The retailers whose private data the caller may read (auditors: all)."""

    def __init__(self, user):
        self.sees_everything = Membership.objects.sees_everything(user)
        self.retailer_ids = set(user.retailer_roles.values_list("retailer_id", flat=True))


class RetailerSerializer(StrictModelSerializer):
    class Meta:
        model = Retailer
        fields = [
            "id",
            "name_zh",
            "name_en",
            "gln",
            "address_zh",
            "address_en",
            "phone",
            "gs1_company_prefix",
            "label_qr",
            "label_date",
            "shelf_life_days",
            "supplier_villages",
        ]
        # Which villages supply a retailer decides what its staff may read: set in the admin only.
        read_only_fields = ["id", "supplier_villages"]


class StoreSerializer(StrictModelSerializer):
    retailer = ScopedRelatedField(scope=Retailer.objects.managed_by, queryset=Retailer.objects.all())

    class Meta:
        model = Store
        fields = [
            "id",
            "retailer",
            "name_zh",
            "name_en",
            "city_zh",
            "city_en",
            "address",
            "address_en",
            "phone",
            "latitude",
            "longitude",
            "time_zone",
            "gln",
        ]
        read_only_fields = ["id"]
        extra_kwargs = COORDINATES

    def validate(self, attrs):
        retailer = attrs.get("retailer", getattr(self.instance, "retailer", None))
        name = attrs.get("name_zh", getattr(self.instance, "name_zh", None))
        clash = Store.objects.filter(retailer=retailer, name_zh=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError({"name_zh": [_("This name is already taken here.")]})
        return attrs


class StoreUpdateSerializer(StoreSerializer):
    retailer = ScopedRelatedField(scope=Retailer.objects.managed_by, read_only=True)


class ShipmentItemSerializer(StrictModelSerializer):
    lot_code = serializers.CharField(source="batch.lot_code", read_only=True)
    unit = serializers.CharField(source="batch.unit", read_only=True)

    class Meta:
        model = ShipmentItem
        fields = ["id", "lot_code", "quantity", "unit"]
        read_only_fields = fields


class ShipmentItemCreateSerializer(StrictSerializer):
    batch = ScopedSlugField(
        slug_field="lot_code", scope=lambda user: Batch.objects.visible_to(user), queryset=Batch.objects.all()
    )
    quantity = serializers.DecimalField(**QUANTITY)


class ShipmentSerializer(StrictModelSerializer):
    """A shipment as read. `public_url` is what its QR code encodes; `sscc` is its GS1 SSCC (AI 00,
    null while its retailer has no GS1 company prefix); `qr_png`, `qr_svg` and `labels` link to its
    QR images and printable labels."""

    public_url = serializers.CharField(read_only=True)
    qr_png = serializers.SerializerMethodField()
    qr_svg = serializers.SerializerMethodField()
    labels = serializers.SerializerMethodField()
    retailer = serializers.IntegerField(source="store.retailer_id", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None, allow_null=True)
    items = ShipmentItemSerializer(many=True, read_only=True)

    class Meta:
        model = Shipment
        fields = [
            "id",
            "public_code",
            "public_url",
            "sscc",
            "qr_png",
            "qr_svg",
            "labels",
            "origin_village",
            "origin_farm",
            "store",
            "retailer",
            "status",
            "carrier",
            "reference",
            "notes",
            "items",
            "created_by",
            "created_at",
            "dispatched_at",
            "delivered_at",
            "cancelled_at",
        ]
        read_only_fields = fields

    def to_representation(self, shipment):
        """Internal notes are for the retailer's staff and auditors only."""
        scope = RetailerScope.of(self)
        allowed = scope.sees_everything or shipment.store.retailer_id in scope.retailer_ids
        return blank_private(super().to_representation(shipment), ["notes"], allowed)

    def get_qr_png(self, shipment) -> str:
        return f"{shipment.public_url}/qr.png"

    def get_qr_svg(self, shipment) -> str:
        return f"{shipment.public_url}/qr.svg"

    def get_labels(self, shipment) -> str | None:
        """The label page, for those who may print the shipment's labels (else null)."""
        # One Printers per request: a list asks about every row without a query each.
        if "printers" not in self.context:
            self.context["printers"] = permissions.printers(self.context["request"].user)
        if not self.context["printers"].allow(shipment):
            return None
        return f"{settings.PUBLIC_BASE_URL}{reverse('labels:print', args=[shipment.public_code])}"


class ShipmentCreateSerializer(StrictModelSerializer):
    origin_village = ScopedRelatedField(
        scope=lambda user: Village.objects.visible_to(user), queryset=Village.objects.all()
    )
    origin_farm = ScopedRelatedField(
        scope=lambda user: Farm.objects.visible_to(user), queryset=Farm.objects.all(), required=False, allow_null=True
    )
    store = ScopedRelatedField(scope=Store.objects.managed_by, queryset=Store.objects.all())

    class Meta:
        model = Shipment
        fields = ["origin_village", "origin_farm", "store", "carrier", "reference", "notes"]


class ShipmentUpdateSerializer(StrictModelSerializer):
    class Meta:
        model = Shipment
        fields = ["carrier", "reference", "notes"]


class ScanDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    scans = serializers.IntegerField()


# ---------------------------------------------------------------------------------------------
# Filters


class StoreFilter(FilterSet):
    class Meta:
        model = Store
        fields = ["retailer", "city_zh", "gln"]


class ShipmentFilter(FilterSet):
    public_code = django_filters.CharFilter(method="filter_public_code")
    lot_code = django_filters.CharFilter(field_name="items__batch__lot_code", distinct=True)
    retailer = IdFilter(field_name="store__retailer_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = Shipment
        fields = ["status", "store", "origin_village", "origin_farm"]

    def filter_public_code(self, queryset, name, value):
        return queryset.by_public_code(value)


class ScanFilter(FilterSet):
    shipment = IdFilter(field_name="shipment_id")
    public_code = django_filters.CharFilter(field_name="shipment__public_code")
    since = django_filters.DateFilter(field_name="scanned_at", lookup_expr="date__gte")
    until = django_filters.DateFilter(field_name="scanned_at", lookup_expr="date__lte")

    class Meta:
        model = Scan
        fields = ["language", "client"]


# ---------------------------------------------------------------------------------------------
# Viewsets


class RetailerViewSet(
    IdempotentMixin,
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Retailers. Their staff edit names and GLN; retailers are created in the admin."""

    serializer_class = RetailerSerializer
    ordering_fields = ["name_zh", "id"]
    ordering = ["name_zh"]
    filterset_fields = ["gln"]

    def visible(self, user):
        return Retailer.objects.visible_to(user).prefetch_related("supplier_villages")

    def writable(self, user):
        return Retailer.objects.managed_by(user)

    @transaction.atomic
    def perform_update(self, serializer):
        # A new GS1 company prefix goes through the service, which numbers the shipments that
        # have no SSCC yet.
        changes = serializer.validated_data
        prefix = changes.pop("gs1_company_prefix", serializer.instance.gs1_company_prefix)
        retailer = serializer.save()
        if prefix != retailer.gs1_company_prefix:
            services.set_company_prefix(retailer=retailer, prefix=prefix)


class StoreViewSet(IdempotentMixin, TenantScopedMixin, viewsets.ModelViewSet):
    """Stores of retailers. Retailer staff manage their retailer's stores."""

    filterset_class = StoreFilter
    ordering_fields = ["name_zh", "city_zh", "id"]
    ordering = ["retailer_id", "name_zh"]

    def get_serializer_class(self):
        return StoreUpdateSerializer if self.action in ("update", "partial_update") else StoreSerializer

    def visible(self, user):
        return Store.objects.visible_to(user)

    def writable(self, user):
        return Store.objects.managed_by(user)


class ShipmentViewSet(
    IdempotentMixin,
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Shipments. Retailer staff create them, fill them, dispatch, receive or cancel them;
    the origin village's members read them. Cancel instead of delete."""

    filterset_class = ShipmentFilter
    ordering_fields = ["created_at", "dispatched_at", "delivered_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_serializer_class(self):
        if self.action == "create":
            return ShipmentCreateSerializer
        if self.action in ("update", "partial_update"):
            return ShipmentUpdateSerializer
        if self.action == "items" and self.request.method == "POST":
            return ShipmentItemCreateSerializer
        if self.action == "items":
            return ShipmentItemSerializer
        return ShipmentSerializer

    def visible(self, user):
        return Shipment.objects.visible_to(user).select_related("store", "created_by").prefetch_related("items__batch")

    def writable(self, user):
        return Shipment.objects.managed_by(user)

    def _read(self, shipment: Shipment, status_code: int = status.HTTP_200_OK) -> Response:
        shipment = self.visible(self.request.user).get(pk=shipment.pk)
        return Response(ShipmentSerializer(shipment, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shipment = services.create_shipment(created_by=request.user, **serializer.validated_data)
        return self._read(shipment, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        shipment = self.get_object()
        if shipment.status not in services.EDITABLE:
            raise Conflict(_("A shipment that has left can no longer be edited."))
        super().update(request, *args, **kwargs)
        return self._read(shipment)

    @extend_schema(request=None, responses=ShipmentSerializer)
    @action(detail=True, methods=["post"])
    def pack(self, request, pk=None):
        shipment = services.pack_shipment(shipment=self.get_object())
        return self._read(shipment)

    @extend_schema(request=None, responses=ShipmentSerializer)
    @action(detail=True, methods=["post"], url_path="dispatch")
    def mark_dispatched(self, request, pk=None):
        shipment = services.dispatch_shipment(shipment=self.get_object(), actor=request.user)
        return self._read(shipment)

    @extend_schema(request=None, responses=ShipmentSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        shipment = services.receive_shipment(shipment=self.get_object(), actor=request.user)
        return self._read(shipment)

    @extend_schema(request=None, responses=ShipmentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        shipment = services.cancel_shipment(shipment=self.get_object(), actor=request.user)
        return self._read(shipment)

    @extend_schema(methods=["GET"], responses=ShipmentItemSerializer(many=True))
    @extend_schema(methods=["POST"], request=ShipmentItemCreateSerializer, responses={201: ShipmentItemSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def items(self, request, pk=None):
        """GET the shipment's items; POST {batch: lot code, quantity} to add a lot (409 when the
        lot has less left or is on hold, 400 when it comes from another village)."""
        shipment = self.get_object()
        if request.method == "GET":
            items = shipment.items.select_related("batch").order_by("id")
            return Response(ShipmentItemSerializer(items, many=True).data)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.add_item(shipment=shipment, **serializer.validated_data)
        item = ShipmentItem.objects.select_related("batch").get(pk=item.pk)
        return Response(ShipmentItemSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"items/(?P<item_id>[0-9]{1,18})", filterset_class=None)
    def remove_item(self, request, pk=None, item_id=None):
        """Take a lot out of a draft or packed shipment; its quantity goes back to the lot."""
        shipment = self.get_object()
        item = shipment.items.filter(pk=item_id).first()
        if item is None:
            raise NotFound(_("No such item in this shipment."))
        services.remove_item(item=item)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScanViewSet(TenantScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Scans of the caller's shipments' QR codes, counted per day (Asia/Shanghai dates)."""

    serializer_class = ScanDaySerializer
    filterset_class = ScanFilter
    ordering_fields = ["day", "scans"]
    ordering = ["-day"]

    def visible(self, user):
        return Scan.objects.filter(shipment__in=Shipment.objects.visible_to(user))

    def filter_queryset(self, queryset):
        # Filter the rows first, then count them per day.
        rows = DjangoFilterBackend().filter_queryset(self.request, queryset, self)
        per_day = rows.annotate(day=TruncDate("scanned_at")).values("day").annotate(scans=Count("id"))
        return OrderingFilter().filter_queryset(self.request, per_day.order_by(), self)


# ---------------------------------------------------------------------------------------------
# Who am I: here because it reports both village memberships (farms) and retailer roles (shipments).


class MeView(APIView):
    """Who the caller is and which roles they hold."""

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "username": serializers.CharField(),
                "sees_everything": serializers.BooleanField(),
                "memberships": serializers.ListField(child=serializers.DictField()),
                "retailers": serializers.ListField(child=serializers.IntegerField()),
            },
        )
    )
    def get(self, request):
        user = request.user
        return Response(
            {
                "username": user.get_username(),
                "sees_everything": Membership.objects.sees_everything(user),
                "memberships": list(Membership.objects.filter(user=user).values("role", "village")),
                "retailers": list(user.retailer_roles.values_list("retailer_id", flat=True)),
            }
        )

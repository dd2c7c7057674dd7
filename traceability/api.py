"""REST resources of the traceability app: batches (lots), trace events and recalls.

Batches are registered through services.register_batch and their events recorded through
services.record_batch_event; events are append-only (create and list, never update or delete).
"""

from collections.abc import Mapping
from decimal import Decimal

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from api.base import (
    FilterSet,
    IdFilter,
    KeyDataField,
    ScopedRelatedField,
    ScopedSlugField,
    StrictModelSerializer,
    StrictSerializer,
    TenantScopedMixin,
    blank_private,
)
from api.idempotency import IdempotentMixin
from farms import images
from farms.api import VillageScope
from farms.models import Crop, Farm, Field, Membership, Village
from traceability import lifecycle, lot_codes, permissions, services, trace
from traceability.alerts import AlertKind, alerts_for
from traceability.lot_codes import validate_lot_code
from traceability.models import Batch, Hold, Recall, TraceEvent, Unit

QUANTITY = {"max_digits": 12, "decimal_places": 3, "min_value": Decimal("0.001")}


# ---------------------------------------------------------------------------------------------
# Serializers


# The kinds a farm-side event may have (named FarmEventKindEnum in the schema: config.settings).
FARM_EVENT_KIND_CHOICES = [(kind.value, kind.label) for kind in lifecycle.FARM_EVENT_KINDS]


class BatchSerializer(StrictModelSerializer):
    """A lot as read; also what POST /batches/ answers."""

    village = serializers.IntegerField(source="farm.village_id", read_only=True)
    crop_code = serializers.CharField(source="crop.code", read_only=True)
    remaining_quantity = serializers.DecimalField(max_digits=12, decimal_places=3, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None, allow_null=True)
    inputs = serializers.SlugRelatedField(slug_field="lot_code", many=True, read_only=True)

    class Meta:
        model = Batch
        fields = [
            "id",
            "lot_code",
            "farm",
            "village",
            "field",
            "crop",
            "crop_code",
            "planted_on",
            "harvested_on",
            "quantity",
            "unit",
            "allocated_quantity",
            "remaining_quantity",
            "status",
            "inputs",
            "notes",
            "created_by",
            "created_at",
            "client_id",
        ]
        read_only_fields = fields

    def to_representation(self, batch):
        """Internal notes are for the lot's village and auditors only."""
        scope = VillageScope.of(self)
        allowed = scope.sees_everything or batch.farm.village_id in scope.village_ids
        return blank_private(super().to_representation(batch), ["notes"], allowed)


class NewLotFields(serializers.Serializer):
    """What a new lot is, on the caller's own farms: shared by batch registration and transformations."""

    farm = ScopedRelatedField(scope=Farm.objects.writable_by, queryset=Farm.objects.all())
    field = ScopedRelatedField(
        scope=lambda user: Field.objects.filter(farm__in=Farm.objects.writable_by(user)),
        queryset=Field.objects.all(),
        required=False,
        allow_null=True,
    )
    crop = ScopedRelatedField(scope=lambda user: Crop.objects.all(), queryset=Crop.objects.all())
    quantity = serializers.DecimalField(**QUANTITY)
    unit = serializers.ChoiceField(choices=Unit.choices, default=Unit.KG)


class BatchCreateSerializer(NewLotFields, StrictModelSerializer):
    """`client_id` is made by the phone: a retry with the same id returns the lot already
    registered (200) instead of registering it twice."""

    lot_code = serializers.CharField(max_length=lot_codes.MAX_LENGTH, required=False, validators=[validate_lot_code])
    client_id = serializers.UUIDField(required=False)

    class Meta:
        model = Batch
        fields = [
            "lot_code",
            "farm",
            "field",
            "crop",
            "planted_on",
            "harvested_on",
            "quantity",
            "unit",
            "notes",
            "client_id",
        ]

    def validate_lot_code(self, value):
        if Batch.objects.filter(lot_code=value).exists():
            raise ValidationError(_("This lot code is already taken."))
        return value

    def validate_client_id(self, value):
        existing = Batch.objects.filter(client_id=value).first()
        user = self.context["request"].user
        if existing is not None and not Batch.objects.writable_by(user).filter(pk=existing.pk).exists():
            # Another tenant's lot: answer as if the id were taken, without saying by what.
            raise ValidationError(_("This client id is already used."))
        return value

    def validate(self, attrs):
        field = attrs.get("field")
        if field is not None and field.farm_id != attrs["farm"].pk:
            raise ValidationError({"field": [_("The field belongs to another farm.")]})
        _check_dates(attrs.get("planted_on"), attrs.get("harvested_on"))
        return attrs


class BatchUpdateSerializer(StrictModelSerializer):
    """What may change on a lot after registration; quantities and status move through events."""

    class Meta:
        model = Batch
        fields = ["planted_on", "harvested_on", "notes"]

    def validate(self, attrs):
        _check_dates(
            attrs.get("planted_on", self.instance.planted_on), attrs.get("harvested_on", self.instance.harvested_on)
        )
        return attrs


def _check_dates(planted_on, harvested_on) -> None:
    lifecycle.check_lot_dates(planted_on, harvested_on)  # the one rule of every door


class EventLineSerializer(serializers.Serializer):
    lot_code = serializers.CharField(source="batch.lot_code")
    role = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, allow_null=True)
    unit = serializers.CharField()


class TraceEventSerializer(StrictModelSerializer):
    lines = EventLineSerializer(many=True, read_only=True)
    actor = serializers.CharField(source="actor.username", read_only=True, default=None, allow_null=True)
    corrects = serializers.UUIDField(source="corrects.client_id", read_only=True, default=None, allow_null=True)
    correction_reason = serializers.CharField(read_only=True)

    class Meta:
        model = TraceEvent
        fields = [
            "id",
            "client_id",
            "kind",
            "occurred_at",
            "recorded_at",
            "village",
            "farm",
            "location_gln",
            "location_name",
            "lines",
            "actor",
            "data",
            "corrects",
            "correction_reason",
            "seq",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields

    def to_representation(self, event):
        """The harvester's name and phone only for those who may see them (emptied, not removed)."""
        data = super().to_representation(event)
        keys = lifecycle.HARVESTER_KEYS.keys() & (data.get("data") or {}).keys()
        if keys and not permissions.may_see_harvester(self.context["request"].user, event.village_id):
            data["data"] = {**data["data"], **dict.fromkeys(keys, "")}
        return data


class TraceEventCreateSerializer(StrictSerializer):
    """One farm-side event on one lot. `client_id` is made by the phone: a retry with the same
    id returns the event already recorded (200) instead of recording it twice."""

    batch = ScopedSlugField(slug_field="lot_code", scope=permissions.recordable_lots, queryset=Batch.objects.all())
    kind = serializers.ChoiceField(choices=FARM_EVENT_KIND_CHOICES)
    occurred_at = serializers.DateTimeField()
    client_id = serializers.UUIDField(required=False)
    quantity = serializers.DecimalField(required=False, allow_null=True, **QUANTITY)
    data = KeyDataField(required=False)

    def validate_occurred_at(self, value):
        return _not_in_future(value)

    def validate_client_id(self, value):
        existing = TraceEvent.objects.filter(client_id=value).first()
        mine = permissions.recordable_lots(self.user)
        if existing is not None and not existing.lines.filter(batch__in=mine).exists():
            # Another tenant's event: answer as if the id were taken, without saying by what.
            raise ValidationError(_("This client id is already used."))
        return value

    @property
    def user(self):
        return self.context["request"].user


class TraceEventWithPhotoSerializer(TraceEventCreateSerializer):
    """The same event as multipart/form-data, with `data` as JSON text: a quality test may carry
    the photo of its report (a phone's outbox sends one with the record it belongs to)."""

    photo = images.PhotoUploadField(required=False, help_text=_("A quality test's report."))

    def validate(self, attrs):
        if "photo" in attrs and attrs["kind"] != TraceEvent.Kind.QUALITY_TEST:
            raise ValidationError({"photo": [_("Only a quality test takes a photo.")]})
        return attrs


class RecallSerializer(StrictModelSerializer):
    batch = serializers.SlugRelatedField(slug_field="lot_code", read_only=True)
    held_batches = serializers.SlugRelatedField(slug_field="lot_code", many=True, read_only=True)
    opened_by = serializers.CharField(source="opened_by.username", read_only=True)
    closed_by = serializers.CharField(source="closed_by.username", read_only=True, default=None, allow_null=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Recall
        fields = [
            "id",
            "batch",
            "reason",
            "is_open",
            "opened_by",
            "opened_at",
            "closed_by",
            "closed_at",
            "close_note",
            "held_batches",
        ]
        read_only_fields = fields


class CorrectionCreateSerializer(StrictSerializer):
    """A correction (EPCIS error declaration): POST /events/ with kind=correction. `corrects` is
    the client_id of the event found wrong; for incorrect_data give the right facts in
    `corrected_data` (merged over the original's) and/or `corrected_occurred_at`."""

    kind = serializers.ChoiceField(choices=[(TraceEvent.Kind.CORRECTION.value, TraceEvent.Kind.CORRECTION.label)])
    corrects = ScopedSlugField(
        slug_field="client_id", scope=permissions.correctable_events, queryset=TraceEvent.objects.all()
    )
    correction_reason = serializers.ChoiceField(choices=TraceEvent.CorrectionReason.choices)
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    corrected_data = KeyDataField(required=False)
    corrected_occurred_at = serializers.DateTimeField(required=False)
    corrected_quantity = serializers.DecimalField(required=False, **QUANTITY)
    client_id = serializers.UUIDField(required=False)

    def validate_corrected_occurred_at(self, value):
        return _not_in_future(value)

    def validate(self, attrs):
        facts = attrs.get("corrected_data") or attrs.get("corrected_occurred_at") or attrs.get("corrected_quantity")
        if attrs["correction_reason"] == TraceEvent.CorrectionReason.INCORRECT_DATA and not facts:
            raise ValidationError(
                {"corrected_data": [_("An incorrect-data correction needs the corrected data or time.")]}
            )
        return attrs


class TransformationInputSerializer(StrictSerializer):
    batch = ScopedSlugField(slug_field="lot_code", scope=permissions.recordable_lots, queryset=Batch.objects.all())
    quantity = serializers.DecimalField(**QUANTITY)


class TransformationCreateSerializer(NewLotFields, StrictSerializer):
    """A new lot made from quantities of input lots (sorting, repacking, mixing)."""

    kind = serializers.ChoiceField(choices=[(kind, kind) for kind in services.TRANSFORMATION_KINDS], default="sorting")
    inputs = TransformationInputSerializer(many=True, allow_empty=False, max_length=100)
    occurred_at = serializers.DateTimeField(required=False)
    client_id = serializers.UUIDField(required=False)
    reference_document = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)

    def validate_occurred_at(self, value):
        return _not_in_future(value)

    def validate(self, attrs):
        lots = [line["batch"].pk for line in attrs["inputs"]]
        if len(set(lots)) != len(lots):
            raise ValidationError({"inputs": [_("Each input lot may appear only once.")]})
        field = attrs.get("field")
        if field is not None and field.farm_id != attrs["farm"].pk:
            raise ValidationError({"field": [_("The field belongs to another farm.")]})
        attrs["inputs"] = [(line["batch"], line["quantity"]) for line in attrs["inputs"]]
        return attrs


class HoldSerializer(StrictModelSerializer):
    """A food-safety hold: a failed quality test held the lot and the lots made from it until
    someone who may recall the lot releases it or turns it into a recall."""

    batch = serializers.SlugRelatedField(slug_field="lot_code", read_only=True)
    test_event = serializers.UUIDField(source="test_event.client_id", read_only=True)
    held_batches = serializers.SerializerMethodField()
    is_open = serializers.BooleanField(read_only=True)
    opened_by = serializers.CharField(source="opened_by.username", read_only=True, default=None, allow_null=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, default=None, allow_null=True)
    decision_event = serializers.UUIDField(
        source="decision_event.client_id", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Hold
        fields = [
            "id",
            "batch",
            "reason",
            "test_event",
            "held_batches",
            "is_open",
            "opened_by",
            "opened_at",
            "decision",
            "decided_by",
            "decided_at",
            "decision_note",
            "decision_event",
            "recall",
        ]
        read_only_fields = fields

    def get_held_batches(self, hold) -> list[str]:
        return sorted(lot.batch.lot_code for lot in hold.lots.all())


class HoldDecisionSerializer(StrictSerializer):
    note = serializers.CharField(
        max_length=2000, help_text=_("Why: for a release, the evidence (a retest, a lab report).")
    )


class RecallCreateSerializer(StrictSerializer):
    batch = ScopedSlugField(
        slug_field="lot_code", scope=lambda user: Batch.objects.visible_to(user), queryset=Batch.objects.all()
    )
    reason = serializers.CharField(max_length=2000)


class RecallCloseSerializer(StrictSerializer):
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class TraceLotSerializer(serializers.Serializer):
    lot_code = serializers.CharField()
    status = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3)
    unit = serializers.CharField()
    harvested_on = serializers.DateField(allow_null=True)
    crop_code = serializers.CharField()
    crop_name_zh = serializers.CharField()
    crop_name_en = serializers.CharField()
    farm_id = serializers.IntegerField()
    farm_name_zh = serializers.CharField()
    farm_name_en = serializers.CharField()
    field_id = serializers.IntegerField(allow_null=True)
    field_name_zh = serializers.CharField()
    field_name_en = serializers.CharField()
    village_code = serializers.CharField()
    village_name_zh = serializers.CharField()
    village_name_en = serializers.CharField()
    village_gln = serializers.CharField()


class TraceLinkSerializer(serializers.Serializer):
    input_lot = serializers.CharField()
    output_lot = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3)


class TraceShipmentLotSerializer(serializers.Serializer):
    lot_code = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, allow_null=True)
    unit = serializers.CharField()


class TraceShipmentSerializer(serializers.Serializer):
    shipment = serializers.CharField()
    store = serializers.CharField()
    store_gln = serializers.CharField()
    store_city = serializers.CharField()
    retailer = serializers.CharField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    lots = serializers.SerializerMethodField()

    def get_lots(self, stop) -> TraceShipmentLotSerializer(many=True):
        rows = [{"lot_code": lot, "quantity": quantity, "unit": unit} for lot, quantity, unit in stop.lots]
        return TraceShipmentLotSerializer(rows, many=True).data


class TraceVerificationSerializer(serializers.Serializer):
    """Whether every event behind the trace's lots verified clean at the last `verify_events` run
    (`verified_at`), and the time of the last signed anchor that covers them all (`anchored_at`,
    null while some were recorded after it). `unverified` and `unanchored` count those that are
    not, per village chain; `problems` says what the last run found wrong in those chains;
    `recorded` is false for a lot with no event at all (nothing to verify)."""

    verified = serializers.BooleanField()
    verified_at = serializers.DateTimeField(allow_null=True)
    anchored = serializers.BooleanField()
    anchored_at = serializers.DateTimeField(allow_null=True)
    recorded = serializers.BooleanField()
    unverified = serializers.DictField(child=serializers.IntegerField())
    unanchored = serializers.DictField(child=serializers.IntegerField())
    problems = serializers.ListField(child=serializers.CharField())


class TraceSerializer(serializers.Serializer):
    """A lot's trace: backward to every input lot, its farm, field and village; forward to every
    lot made from it and the shipments and stores that received them."""

    lot = TraceLotSerializer()
    direction = serializers.CharField()
    ancestors = TraceLotSerializer(many=True)
    descendants = TraceLotSerializer(many=True)
    links = TraceLinkSerializer(many=True)
    shipments = TraceShipmentSerializer(many=True)
    verification = TraceVerificationSerializer()


class TraceQuerySerializer(StrictSerializer):
    direction = serializers.ChoiceField(choices=[(d, d) for d in trace.DIRECTIONS], default="both")


def _not_in_future(value):
    try:
        return lifecycle.check_not_in_future(value)
    except DjangoValidationError as exc:
        raise ValidationError(exc.messages)


# ---------------------------------------------------------------------------------------------
# Filters


class BatchFilter(FilterSet):
    lot_code = django_filters.CharFilter()
    lot_code__startswith = django_filters.CharFilter(field_name="lot_code", lookup_expr="startswith")
    village = IdFilter(field_name="farm__village_id")
    crop_code = django_filters.CharFilter(field_name="crop__code")
    harvested_after = django_filters.DateFilter(field_name="harvested_on", lookup_expr="gte")
    harvested_before = django_filters.DateFilter(field_name="harvested_on", lookup_expr="lte")

    class Meta:
        model = Batch
        fields = ["farm", "field", "crop", "status", "unit"]


class TraceEventFilter(FilterSet):
    lot_code = django_filters.CharFilter(field_name="lines__batch__lot_code", distinct=True)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lte")

    class Meta:
        model = TraceEvent
        fields = ["kind", "village", "farm", "client_id"]


class RecallFilter(FilterSet):
    lot_code = django_filters.CharFilter(field_name="batch__lot_code")
    open = django_filters.BooleanFilter(field_name="closed_at", lookup_expr="isnull")

    class Meta:
        model = Recall
        fields = []


# ---------------------------------------------------------------------------------------------
# Viewsets


class RecordedByCaller(BasePermission):
    """A phone's outbox names who made each record in the X-Outbox-User header (a user id): on a
    shared phone, one farmer's records are refused rather than saved under another's name."""

    message = _("This record was made by another person on this phone: they must sign in to send it.")

    def has_permission(self, request, view):
        made_by = request.headers.get("X-Outbox-User")
        return made_by is None or made_by == str(request.user.pk)


class BatchViewSet(
    IdempotentMixin,
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Lots, addressed by lot code. Farmers and coordinators register and annotate their
    village's lots; everyone reads what Batch.objects.visible_to allows."""

    lookup_field = "lot_code"
    lookup_value_regex = lot_codes.URL_PATTERN
    filterset_class = BatchFilter
    ordering_fields = ["created_at", "lot_code", "harvested_on", "quantity"]
    ordering = ["-created_at", "lot_code"]

    def get_serializer_class(self):
        if self.action == "create":
            return BatchCreateSerializer
        if self.action in ("update", "partial_update"):
            return BatchUpdateSerializer
        return BatchSerializer

    def visible(self, user):
        return Batch.objects.visible_to(user).select_related("farm", "crop", "created_by").prefetch_related("inputs")

    def writable(self, user):
        return Batch.objects.writable_by(user)

    def get_permissions(self):
        return [*super().get_permissions(), RecordedByCaller()]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client_id = serializer.validated_data.get("client_id")
        retried = client_id is not None and Batch.objects.filter(client_id=client_id).exists()
        batch = services.register_batch(created_by=request.user, **serializer.validated_data)
        return Response(
            BatchSerializer(batch, context=self.get_serializer_context()).data,
            status=status.HTTP_200_OK if retried else status.HTTP_201_CREATED,
        )

    def update(self, request, *args, **kwargs):
        super().update(request, *args, **kwargs)
        batch = self.visible(request.user).get(pk=self.get_object().pk)
        return Response(BatchSerializer(batch, context=self.get_serializer_context()).data)

    # Not named `trace`: an action named like an HTTP method becomes that method's handler, and
    # `TRACE /api/v1/batches/` answered with a trace. The URL keeps its name.
    @extend_schema(parameters=[TraceQuerySerializer], responses=TraceSerializer)
    @action(
        detail=True, methods=["get"], url_path="trace", url_name="trace", filterset_class=None, pagination_class=None
    )
    def lineage(self, request, lot_code=None):
        """Backward and forward trace of the lot (`?direction=both|backward|forward`), for those
        who may trace it (permissions.may_trace; anyone else 404, as on the trace page): auditors
        and the lot's village see all of it, retailer staff the lots their shipments carried and
        their own shipments and stores."""
        batch = self.get_object()
        if not permissions.may_trace(request.user, batch):
            raise NotFound(_("No such object."))
        query = TraceQuerySerializer(data=request.query_params.dict(), context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        result = trace.trace_lot(batch, direction=query.validated_data["direction"])
        return Response(TraceSerializer(permissions.visible_trace(request.user, result)).data)


class TraceEventViewSet(
    IdempotentMixin,
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """The append-only event log: list, read and record events; a mistake is fixed by a
    correction event, never by editing."""

    filterset_class = TraceEventFilter
    ordering_fields = ["occurred_at", "recorded_at", "id"]
    ordering = ["occurred_at", "id"]

    def get_serializer_class(self):
        return TraceEventWithPhotoSerializer if self.action == "create" else TraceEventSerializer

    def get_permissions(self):
        return [*super().get_permissions(), RecordedByCaller()]

    def visible(self, user):
        events = TraceEvent.objects.all()
        if not user.is_authenticated:
            return events.none()
        if not Membership.objects.sees_everything(user):
            events = events.filter(village__in=Village.objects.visible_to(user))
        return events.select_related("actor", "corrects").prefetch_related("lines__batch")

    def writable(self, user):
        return TraceEvent.objects.none()  # nothing is ever changed in place

    @extend_schema(
        request={
            "application/json": PolymorphicProxySerializer(
                component_name="EventCreate",
                serializers=[TraceEventCreateSerializer, CorrectionCreateSerializer],
                resource_type_field_name=None,
            ),
            "multipart/form-data": TraceEventWithPhotoSerializer,
        },
        responses={201: TraceEventSerializer, 200: TraceEventSerializer},
    )
    def create(self, request, *args, **kwargs):
        """Record a farm-side event on a lot, or (kind=correction) correct a recorded event.
        A retry with the same client_id answers 200 with the event already recorded."""
        if isinstance(request.data, Mapping) and request.data.get("kind") == TraceEvent.Kind.CORRECTION:
            return self._correct(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event, created = services.record_batch_event(actor=request.user, **serializer.validated_data)
        return self._read(event, created)

    def _correct(self, request):
        serializer = CorrectionCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        client_id = data.get("client_id")
        retried = client_id is not None and TraceEvent.objects.filter(client_id=client_id).exists()
        correction, _replacement = services.record_correction(
            event=data["corrects"],
            reason=data["correction_reason"],
            actor=request.user,
            note=data["note"],
            corrected_data=data.get("corrected_data"),
            corrected_occurred_at=data.get("corrected_occurred_at"),
            corrected_quantity=data.get("corrected_quantity"),
            client_id=client_id,
        )
        return self._read(correction, not retried)

    def _read(self, event, created: bool) -> Response:
        event = self.visible(self.request.user).get(pk=event.pk)
        return Response(
            TraceEventSerializer(event, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class RecallViewSet(IdempotentMixin, TenantScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Recalls of lots the caller can see, open and closed. POST opens one (coordinators of the
    lot's village and retailer staff who see the lot): the lot and everything made from it are
    held at once; POST /recalls/{id}/close/ lifts the holds."""

    filterset_class = RecallFilter
    ordering_fields = ["opened_at", "id"]
    ordering = ["-opened_at"]

    def get_serializer_class(self):
        if self.action == "create":
            return RecallCreateSerializer
        if self.action == "close":
            return RecallCloseSerializer
        return RecallSerializer

    def visible(self, user):
        return (
            Recall.objects.filter(batch__in=Batch.objects.visible_to(user))
            .select_related("batch", "opened_by", "closed_by")
            .prefetch_related("held_batches")
        )

    def writable(self, user):
        return self.visible(user)  # services.close_recall decides who may close (403 otherwise)

    def _read(self, recall, status_code=status.HTTP_200_OK) -> Response:
        recall = self.visible(self.request.user).get(pk=recall.pk)
        return Response(RecallSerializer(recall, context=self.get_serializer_context()).data, status=status_code)

    @extend_schema(request=RecallCreateSerializer, responses={201: RecallSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        recall = services.open_recall(actor=request.user, **serializer.validated_data)
        return self._read(recall, status.HTTP_201_CREATED)

    @extend_schema(request=RecallCloseSerializer, responses=RecallSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        recall = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        recall = services.close_recall(recall=recall, actor=request.user, **serializer.validated_data)
        return self._read(recall)


class HoldFilter(FilterSet):
    lot_code = django_filters.CharFilter(field_name="batch__lot_code")
    open = django_filters.BooleanFilter(field_name="decided_at", lookup_expr="isnull")

    class Meta:
        model = Hold
        fields = ["decision"]


class HoldViewSet(IdempotentMixin, TenantScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Food-safety holds of lots the caller can see. A failed quality test opens one at once;
    POST /holds/{id}/release/ or /holds/{id}/recall/ (with a note saying why) decides it, for
    those who may recall the lot (403 otherwise, 409 once decided)."""

    serializer_class = HoldSerializer
    queryset = Hold.objects.none()  # the model, for the schema (visible() needs a real user)
    filterset_class = HoldFilter
    ordering_fields = ["opened_at", "id"]
    ordering = ["-opened_at"]

    def get_serializer_class(self):
        return HoldDecisionSerializer if self.action in ("release", "recall") else HoldSerializer

    def visible(self, user):
        return (
            Hold.objects.visible_to(user)
            .select_related("batch", "test_event", "opened_by", "decided_by", "decision_event")
            .prefetch_related("lots__batch")
        )

    def writable(self, user):
        return self.visible(user)  # services.decide_hold decides who may (403 otherwise)

    def _decide(self, request, decision: str) -> Response:
        hold = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.decide_hold(hold=hold, decision=decision, actor=request.user, **serializer.validated_data)
        hold = self.visible(request.user).get(pk=hold.pk)
        return Response(HoldSerializer(hold, context=self.get_serializer_context()).data)

    @extend_schema(request=HoldDecisionSerializer, responses=HoldSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """Lift the hold: the lots go back to the state they were held in, unless another hold or a
        recall still holds them."""
        return self._decide(request, Hold.Decision.RELEASED)

    @extend_schema(request=HoldDecisionSerializer, responses=HoldSerializer)
    @action(detail=True, methods=["post"])
    def recall(self, request, pk=None):
        """Turn the hold into a recall of the tested lot (and, through it, every lot made from it)."""
        return self._decide(request, Hold.Decision.RECALLED)


class TransformationViewSet(IdempotentMixin, viewsets.GenericViewSet):
    """Make a new lot from input lots (sorting, repacking, mixing): POST only; the new lot and
    its transformation event are then read through /batches/ and /events/."""

    serializer_class = TransformationCreateSerializer

    def get_queryset(self):
        return Batch.objects.writable_by(self.request.user)

    @extend_schema(responses={201: BatchSerializer, 200: BatchSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch, _event, created = services.transform_batches(actor=request.user, **serializer.validated_data)
        batch = Batch.objects.select_related("farm", "crop", "created_by").get(pk=batch.pk)
        return Response(
            BatchSerializer(batch, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


# ---------------------------------------------------------------------------------------------
# Alerts


class AlertSerializer(serializers.Serializer):
    """One alert that waits for the caller's decision (traceability.alerts)."""

    kind = serializers.ChoiceField(choices=AlertKind.choices)
    lot_code = serializers.CharField()
    since = serializers.DateTimeField()
    reason = serializers.CharField()
    decision = serializers.CharField()
    recall = serializers.IntegerField(allow_null=True, help_text=_("The open recall's id (open_recall)."))
    event = serializers.UUIDField(allow_null=True, help_text=_("The reading's client_id (temperature_excursion)."))
    may_close = serializers.BooleanField(help_text=_("Whether the caller may close the recall."))


class AlertQuerySerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=AlertKind.choices, required=False)


class AlertViewSet(viewsets.GenericViewSet):
    """Alerts that need the caller's decision, the same as on their home page: open recalls that
    hold their lots, held lots, temperature excursions, imported lots without a harvest or quality
    record (`?kind=` one of those). Read-only: an alert goes away when the decision it asks for
    is recorded (closing the recall, releasing or recalling the lot, a passing test, the record)."""

    serializer_class = AlertSerializer
    filter_backends = []

    @extend_schema(parameters=[AlertQuerySerializer])
    def list(self, request):
        query = AlertQuerySerializer(data=request.query_params.dict(), context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        found = alerts_for(request.user)
        if "kind" in query.validated_data:
            found = [alert for alert in found if alert.kind == query.validated_data["kind"]]
        page = self.paginate_queryset(found)
        return self.get_paginated_response(AlertSerializer(page, many=True).data)

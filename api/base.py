"""What every API resource shares: strict serializers, scoped references, pagination, tenancy
scoping (the error format is in api.errors). No business rules here, and no roles: the apps
above say who may see what (farms.api_permissions, the apps' `visible_to` querysets)."""

import json
from collections.abc import Callable, Mapping

import django_filters
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, pagination, permissions, serializers

MAX_TEXT = 10_000  # characters in a free-text field without a database limit
MAX_JSON = 10_000  # characters of a key-data-elements object once serialised
MAX_PK = 2**63 - 1  # the largest bigint: larger ids cannot exist and must not reach the database


# ---------------------------------------------------------------------------------------------
# Serializers


class StrictSerializerMixin:
    """Refuses fields the caller may not set instead of silently dropping them, so a client
    that tries to set `status` or `owner` learns at once that it cannot."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            extra = sorted(str(name) for name in data if name not in writable)
            if extra:
                raise serializers.ValidationError(
                    {
                        name: [_("This field cannot be set.") if name in self.fields else _("Unknown field.")]
                        for name in extra
                    }
                )
        return super().to_internal_value(data)


class StrictSerializer(StrictSerializerMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    """A ModelSerializer whose free-text fields have a length limit (TextField has none)."""

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if issubclass(field_class, serializers.CharField) and "max_length" not in kwargs and "choices" not in kwargs:
            kwargs["max_length"] = MAX_TEXT
        return field_class, kwargs


class _ScopedLookup:
    """A reference to another object, looked up among those the caller may use.

    `scope(user)` returns that queryset. A reference to an object outside it, or to none at all,
    answers 404 like any other route to another tenant's object: no existence oracle.
    """

    def __init__(self, *, scope: Callable[..., QuerySet], **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.scope(self.context["request"].user)

    def _get(self, **lookup):
        try:
            return self.get_queryset().get(**lookup)
        except (ObjectDoesNotExist, ValueError, TypeError, DjangoValidationError):
            raise exceptions.NotFound(_("No such object."))


class ScopedRelatedField(_ScopedLookup, serializers.PrimaryKeyRelatedField):
    """By primary key (an integer)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str) or not str(data).isdigit():
            self.fail("incorrect_type", data_type=type(data).__name__)
        if int(data) > MAX_PK:  # cannot exist, and PostgreSQL would refuse to compare it
            raise exceptions.NotFound(_("No such object."))
        return self._get(pk=int(data))


class ScopedSlugField(_ScopedLookup, serializers.SlugRelatedField):
    """By a unique text field such as a lot code."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if "\x00" in data or len(data) > 200:
            raise exceptions.NotFound(_("No such object."))
        return self._get(**{self.slug_field: data})


class KeyDataField(serializers.JSONField):
    """A JSON object of key data elements: no NUL characters (PostgreSQL refuses them), bounded size."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Expected a JSON object."))
        text = json.dumps(value, ensure_ascii=True)
        if "\\u0000" in text:
            raise serializers.ValidationError(_("Null characters are not allowed."))
        if len(text) > MAX_JSON:
            raise serializers.ValidationError(_("Too large: at most 10000 characters."))
        return value


class CallerScope:
    """What serializers need to know about their caller, computed once per request and shared by
    every object shown: for private fields (a farm's phone and internal notes, a shipment's notes)
    shown only to the people they belong to. Each app subclasses it with what it needs
    (farms.api.VillageScope, shipments.api.RetailerScope): this app knows no roles."""

    def __init__(self, user):
        raise NotImplementedError

    @classmethod
    def of(cls, serializer) -> "CallerScope":
        request = serializer.context["request"]
        scopes = getattr(request, "_caller_scopes", None)
        if scopes is None:
            scopes = request._caller_scopes = {}
        if cls not in scopes:
            scopes[cls] = cls(request.user)
        return scopes[cls]


def blank_private(data: dict, fields: list[str], allowed: bool) -> dict:
    """Empties private fields the caller may not read (emptied, not removed: the schema keeps its shape)."""
    if not allowed:
        for name in fields:
            data[name] = ""
    return data


# ---------------------------------------------------------------------------------------------
# Pagination


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


# ---------------------------------------------------------------------------------------------
# Tenancy


class TenantScopedMixin:
    """Scopes a viewset to its caller in one place.

    `visible(user)` is every object the caller may read: anything else answers 404.
    `writable(user)` is the subset they may change: an object they can read but not change
    answers 403 to PUT, PATCH, DELETE and POST actions.
    """

    lookup_value_regex = r"[0-9]{1,18}"

    def visible(self, user) -> QuerySet:
        raise NotImplementedError

    def writable(self, user) -> QuerySet:
        return self.visible(user).none()

    def get_queryset(self):
        return self.visible(self.request.user)

    def get_object(self):
        obj = super().get_object()
        unsafe = self.request.method not in permissions.SAFE_METHODS
        if unsafe and not self.writable(self.request.user).filter(pk=obj.pk).exists():
            raise exceptions.PermissionDenied(_("You may read this but not change it."))
        return obj


# ---------------------------------------------------------------------------------------------
# Filters


class IdFilter(django_filters.NumberFilter):
    """An id in a query string: a whole number in the range of a bigint, else 400 (a larger
    number must not reach the database, which would fail on it)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_PK)
        kwargs.setdefault("decimal_places", 0)
        super().__init__(*args, **kwargs)


class FilterSet(django_filters.FilterSet):
    """Related fields filter by id with IdFilter, never by a lookup of the related object: that
    would tell a caller whether another tenant's object exists (400 against an empty list)."""

    FILTER_DEFAULTS = {
        **django_filters.filterset.FILTER_FOR_DBFIELD_DEFAULTS,
        models.ForeignKey: {"filter_class": IdFilter},
        models.OneToOneField: {"filter_class": IdFilter},
        models.ManyToManyField: {"filter_class": IdFilter},
    }

"""Text of a trace's plain dataclasses in the reader's language."""

from django import template

from farms.models import localized
from traceability.models import BatchStatus, Unit

register = template.Library()


@register.filter
def local(obj, field: str) -> str:
    """`{{ lot|local:"farm_name" }}`: `farm_name_en` in English when there is one, else `farm_name_zh`."""
    return localized(obj, field)


@register.filter
def status_label(value: str) -> str:
    """A batch status code ("packed") as its translated label."""
    return BatchStatus(value).label if value in BatchStatus.values else value


@register.filter
def unit_label(value: str) -> str:
    """A unit code ("kg") as its translated label ("千克" in Chinese), as get_unit_display gives."""
    return Unit(value).label if value in Unit.values else (value or "")

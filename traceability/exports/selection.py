"""Which events an export covers: a lot's full trace closure, or the events of a date range.

Every export takes a queryset of TraceEvents chosen here (then scoped to the caller by the view
or command) and returns bytes.
"""

from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from traceability.models import Batch, TraceEvent
from traceability.trace import ancestor_ids, closure_sql, descendant_ids

MAX_RANGE_DAYS = 366


class InvalidRange(ValueError):
    """The date range of an export is missing, reversed or too long. The message is for people."""


def lot_closure(batch: Batch) -> set[int]:
    """Primary keys of the lot, all its ancestors and all its descendants."""
    return {batch.pk} | ancestor_ids([batch.pk]) | descendant_ids([batch.pk])


def events_for_lot(batch: Batch, closure: set[int] | None = None):
    """Every event of the lot's full trace closure: the lot, all its ancestors and all its descendants.

    Pass the same `closure` (lot_closure(batch)) as `lot_ids` to fsma_* and eu_* so that a
    shipment carrying other lots too gives rows for the traced lots only.
    """
    if connection.vendor == "postgresql":
        # The closure once, as an array: the planner then reads the lines by index.
        ids = sorted(closure if closure is not None else lot_closure(batch))
        lines = RawSQL("SELECT event_id FROM traceability_eventbatch WHERE batch_id = ANY(%s)", [ids])
        return TraceEvent.objects.filter(pk__in=lines)
    scope = Q(lines__batch_id=batch.pk)
    for direction in ("backward", "forward"):
        sql, params = closure_sql(batch.pk, direction)
        scope |= Q(lines__batch_id__in=RawSQL(sql, params))
    return TraceEvent.objects.filter(scope).distinct()


def events_between(start: date | None, end: date | None):
    """Events that happened between two local dates, both included. Raises InvalidRange."""
    if start is None or end is None:
        raise InvalidRange(_("Give both a start date and an end date."))
    if end < start:
        raise InvalidRange(_("The end date is before the start date."))
    if (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidRange(_("The range is longer than %(days)s days: export it in parts.") % {"days": MAX_RANGE_DAYS})
    zone = timezone.get_default_timezone()
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    return TraceEvent.objects.filter(occurred_at__gte=since, occurred_at__lt=until)


def parse_range(start: str | None, end: str | None) -> tuple[date, date]:
    """Dates from text (YYYY-MM-DD), for commands and views. Raises InvalidRange."""
    try:
        return date.fromisoformat(start or ""), date.fromisoformat(end or "")
    except ValueError:
        raise InvalidRange(_("Dates must be given as YYYY-MM-DD, both start and end."))

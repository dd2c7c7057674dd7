"""Alerts that need a decision, for each person's home page and GET /api/v1/alerts/.

alerts_for(user) lists them for the lots the user decides about (permissions.watched_lots): an
alert is not dismissed, it goes away when the decision it asks for is recorded.

- open_recall: an open recall holds one of the user's lots. Resolved by closing the recall (by
  the organisation that opened it).
- lot_held: a lot is on hold and no open recall holds it: a safety hold after a failed quality
  test (traceability.models.Hold) holds it or a lot it was made from. Resolved by releasing the
  hold or recalling the lot (services.decide_hold).
- temperature_excursion: a cooling or temperature reading is flagged `data["excursion"]`.
  Resolved by a passing quality test after it, a recall of the lot, or a correction of the reading.
- missing_records: an imported lot, harvested or packed, has no harvest and no quality-test
  record. Resolved by recording either.

Readings are flagged as excursions where they are recorded (the crop's storage range is the
lifecycle rules' business); this module only reads the flag. A lot held by an open recall shows
once, under its recall. At most eight queries, whatever the number of alerts.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet, TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from traceability import permissions
from traceability.models import Batch, EventBatch, HoldLot, Recall, RecallHold, TraceEvent

# The kinds of events whose readings may be flagged as excursions.
READING_KINDS = (TraceEvent.Kind.COOLING, TraceEvent.Kind.TEMPERATURE)


class AlertKind(TextChoices):
    OPEN_RECALL = "open_recall", gettext_lazy("Recall in progress")
    LOT_HELD = "lot_held", gettext_lazy("Lot on hold")
    TEMPERATURE_EXCURSION = "temperature_excursion", gettext_lazy("Temperature excursion")
    MISSING_RECORDS = "missing_records", gettext_lazy("No harvest or quality record")


@dataclass(frozen=True)
class Alert:
    """One thing that waits for a decision. `reason` says what happened (a recall's reason, the
    failed test, the reading), `decision` what is asked of the user. `recall` is the recall's id
    for open_recall; `event` the client_id of the reading for temperature_excursion."""

    kind: str
    lot_code: str
    since: datetime
    reason: str
    decision: str
    recall: int | None = None
    event: str | None = None
    may_close: bool = False

    @property
    def label(self) -> str:
        return AlertKind(self.kind).label


def _effective(kinds) -> QuerySet:
    return TraceEvent.objects.effective().filter(kind__in=kinds)


def _open_recalls(user, watched) -> list[Alert]:
    recalls = (
        Recall.objects.open()
        .filter(pk__in=RecallHold.objects.filter(batch__in=watched).values("recall_id"))
        .select_related("batch")
        .order_by("-opened_at")
    )
    closable = set(permissions.closable_recalls(user).open().values_list("pk", flat=True))
    return [
        Alert(
            kind=AlertKind.OPEN_RECALL,
            lot_code=recall.batch.lot_code,
            since=recall.opened_at,
            reason=recall.reason,
            decision=_("Close the recall when the lots are safe again.")
            if recall.pk in closable
            else _("Keep the held lots out of sale until the recall is closed."),
            recall=recall.pk,
            may_close=recall.pk in closable,
        )
        for recall in recalls
    ]


def _failed_test(event: TraceEvent) -> str:
    what = " · ".join(filter(None, [event.data.get("test", ""), event.data.get("lab", "")]))
    return _("Failed quality test: %(what)s") % {"what": what} if what else _("Failed quality test")


def _held_lots(watched) -> list[Alert]:
    held_by_recall = RecallHold.objects.filter(recall__closed_at__isnull=True).values("batch_id")
    lots = list(
        watched.filter(status=Batch.Status.ON_HOLD).exclude(pk__in=held_by_recall).order_by("-created_at", "lot_code")
    )
    # The reason: the failed quality test of the safety hold that holds the lot (for a lot made from
    # the tested one too), the latest where several do.
    failed = {}
    if lots:
        held = HoldLot.objects.filter(hold__decided_at__isnull=True, batch__in=[lot.pk for lot in lots])
        for line in held.select_related("hold__test_event").order_by("hold__opened_at"):
            failed[line.batch_id] = line.hold.test_event
    return [
        Alert(
            kind=AlertKind.LOT_HELD,
            lot_code=lot.lot_code,
            since=failed[lot.pk].occurred_at if lot.pk in failed else lot.created_at,
            reason=_failed_test(failed[lot.pk]) if lot.pk in failed else "",
            decision=_("Release the lot or recall it."),
        )
        for lot in lots
    ]


def _excursions(watched) -> list[Alert]:
    after = {"lines__batch": OuterRef("batch"), "occurred_at__gte": OuterRef("event__occurred_at")}
    passed = _effective([TraceEvent.Kind.QUALITY_TEST]).filter(data__result="pass", **after)
    recalled = Recall.objects.filter(batch=OuterRef("batch"), opened_at__gte=OuterRef("event__occurred_at"))
    lines = (
        EventBatch.objects.filter(batch__in=watched, event__in=_effective(READING_KINDS).filter(data__excursion=True))
        .exclude(Exists(passed))
        .exclude(Exists(recalled))
        .select_related("event", "batch")
        .order_by("-event__occurred_at", "batch__lot_code")
    )
    return [
        Alert(
            kind=AlertKind.TEMPERATURE_EXCURSION,
            lot_code=line.batch.lot_code,
            since=line.event.occurred_at,
            reason=_("%(temperature)s °C, outside the crop's storage range")
            % {"temperature": line.event.data.get("temperature_c", "?")},
            decision=_("Test the lot, recall it, or correct the reading if it was wrong."),
            event=str(line.event.client_id),
        )
        for line in lines
    ]


def _missing_records(watched) -> list[Alert]:
    recorded = _effective([TraceEvent.Kind.HARVEST, TraceEvent.Kind.QUALITY_TEST]).filter(lines__batch=OuterRef("pk"))
    lots = (
        watched.filter(imported_at__isnull=False, status__in=[Batch.Status.HARVESTED, Batch.Status.PACKED])
        .exclude(Exists(recorded))
        .order_by("-imported_at", "lot_code")
    )
    return [
        Alert(
            kind=AlertKind.MISSING_RECORDS,
            lot_code=lot.lot_code,
            since=lot.imported_at,
            reason=_("Imported from a spreadsheet without a harvest or quality-test record."),
            decision=_("Record its harvest or a quality test."),
        )
        for lot in lots
    ]


def alerts_for(user) -> list[Alert]:
    """The alerts a user is to decide about, recalls first, then held lots, temperature
    excursions and missing records, the newest first within each kind."""
    if not user.is_authenticated:
        return []
    watched = permissions.watched_lots(user)
    return [*_open_recalls(user, watched), *_held_lots(watched), *_excursions(watched), *_missing_records(watched)]

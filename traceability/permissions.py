"""Who may do what with lots, their events, recalls and shipments: one function per question.

Every door asks here (web views and their templates through the context, the API's viewsets,
serializers and services, the batch import) and none re-derives a role. A question about one
object (`may_trace(user, lot)`) is its scope's queryset asked about that object, so the two can
never disagree; docs/architecture.md has the table of rules.

Retailer staff, their retailers, stores and shipments live in the shipments app, which depends on
this one: they are reached through the relations shipments declares, by name
(`user.retailer_roles`, `Batch.shipment_items`, `Village.supplied_retailers`), never by import.
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce

from farms.models import Membership, Village
from traceability.models import MOVEMENT_KINDS, Batch, Lineage, Recall, TraceEvent

COORDINATOR = Membership.Role.COORDINATOR


# ---------------------------------------------------------------------------------------------
# Who a user is (the header's navigation and the home page's sections)


@dataclass(frozen=True)
class Roles:
    farmer: bool = False
    coordinator: bool = False
    retailer: bool = False
    auditor: bool = False

    @property
    def village_member(self) -> bool:
        return self.farmer or self.coordinator

    @property
    def any(self) -> bool:
        return self.village_member or self.retailer or self.auditor


def roles(user) -> Roles:
    """The roles a user holds, computed once per request (the result is kept on the user object).
    Superusers count as retailer staff and auditors: they see every section."""
    if not user.is_authenticated:
        return Roles()
    cached = getattr(user, "_staff_roles", None)
    if cached is None:
        village_roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
        cached = Roles(
            farmer=Membership.Role.FARMER in village_roles,
            coordinator=COORDINATOR in village_roles,
            retailer=user.is_superuser or user.retailer_roles.exists(),
            auditor=user.is_superuser or Membership.Role.AUDITOR in village_roles,
        )
        user._staff_roles = cached
    return cached


# ---------------------------------------------------------------------------------------------
# Tracing and exporting


def _carried_lots(user) -> QuerySet:
    """Lots in the shipments, not cancelled, of the user's retailers (drafts included: what the
    retailer has taken on). One filter() call, so that both conditions hold for the same item."""
    return Batch.objects.filter(
        shipment_items__shipment__store__retailer__staff__user=user,
        shipment_items__shipment__cancelled_at__isnull=True,
    ).values("pk")


def _retailer_lots(user) -> Q:
    """The lots a retailer's staff may trace: those its shipments carried and what they were made from."""
    carried = _carried_lots(user)
    return Q(pk__in=carried) | Q(pk__in=Lineage.objects.filter(descendant__in=carried).values("ancestor_id"))


def traceable_lots(user) -> QuerySet:
    """Lots a user may trace and export: auditors and superusers every lot; farmers and
    coordinators their villages' lots; retailer staff the lots their retailer's shipments (not
    cancelled) carried and every lot those were made from."""
    if not user.is_authenticated:
        return Batch.objects.none()
    if Membership.objects.sees_everything(user):
        return Batch.objects.all()
    return Batch.objects.filter(Q(farm__village_id__in=Membership.objects.village_ids(user)) | _retailer_lots(user))


def may_trace(user, lot: Batch) -> bool:
    return traceable_lots(user).filter(pk=lot.pk).exists()


def may_export(user, lot: Batch) -> bool:
    """The rule of may_trace: an export is the trace written down."""
    return may_trace(user, lot)


def may_see_harvester(user) -> bool:
    """Whether the harvester's name and phone (FSMA 204's harvester KDEs, a person's identity for
    food-safety regulators only) fill their cells in the exports a user makes: auditors and
    superusers; everyone else, retailer staff and the village included, gets them empty. The
    consumer page never shows them."""
    return user.is_authenticated and Membership.objects.sees_everything(user)


def _sees_whole_trace(user, lot_village_id: int) -> bool:
    """Auditors, superusers and the lot's village see every lot and shipment of its trace (the
    village shipped them); anyone else only their own part (visible_trace)."""
    return Membership.objects.sees_everything(user) or lot_village_id in Membership.objects.village_ids(user)


def _own_shipment_codes(user, codes) -> set[str]:
    """Those of `codes` that are shipments of the user's retailers."""
    if not codes:
        return set()
    path = "retailer__stores__shipments__public_code"
    return set(user.retailer_roles.filter(**{f"{path}__in": list(codes)}).values_list(path, flat=True))


def visible_trace(user, trace):
    """What `user` may see of a trace of a lot they may trace: all of it for auditors and the
    lot's village; for retailer staff, the lots they may trace and their own retailer's
    shipments and stores, not another retailer's."""
    if _sees_whole_trace(user, trace.lot.village_id):
        return trace
    lots = [lot.id for lot in (*trace.ancestors, *trace.descendants)]
    lot_ids = set(traceable_lots(user).filter(pk__in=lots).values_list("pk", flat=True)) if lots else set()
    shipments = _own_shipment_codes(user, {stop.shipment for stop in trace.shipments})
    return trace.limited_to(lot_ids=lot_ids, shipments=shipments)


def visible_lot_ids(user, lot_ids: set[int]) -> set[int]:
    """Those of `lot_ids` the user may trace (the rows an export of a lot's closure may show)."""
    if Membership.objects.sees_everything(user):
        return set(lot_ids)
    return set(traceable_lots(user).filter(pk__in=lot_ids).values_list("pk", flat=True))


def exportable_events(user, events: QuerySet) -> QuerySet:
    """Those of `events` a user's export may hold: events of lots they may trace; of shipping and
    receiving events (and corrections of them), only those of their villages' shipments or their
    own retailer's, so that retailer staff never read another retailer's consignments."""
    if Membership.objects.sees_everything(user):
        return events
    in_scope = TraceEvent.objects.filter(lines__batch__in=traceable_lots(user))
    movement = Q(kind__in=MOVEMENT_KINDS) | Q(corrects__kind__in=MOVEMENT_KINDS)
    own_codes = user.retailer_roles.values("retailer__stores__shipments__public_code")
    allowed = (
        in_scope.annotate(
            shipment_code=Coalesce(KeyTextTransform("shipment", "data"), KeyTextTransform("shipment", "corrects__data"))
        )
        .filter(~movement | Q(village_id__in=Membership.objects.village_ids(user)) | Q(shipment_code__in=own_codes))
        .values("pk")
    )
    return events.filter(pk__in=allowed)


# ---------------------------------------------------------------------------------------------
# Recalls


def recallable_lots(user) -> QuerySet:
    """Lots a user may recall: superusers all; coordinators their villages' lots; retailer staff
    the lots of the villages that supply their retailer."""
    if not user.is_authenticated:
        return Batch.objects.none()
    if user.is_superuser:
        return Batch.objects.all()
    coordinated = Membership.objects.village_ids(user, roles=(COORDINATOR,))
    suppliers = Village.objects.filter(supplied_retailers__staff__user=user).values("pk")
    return Batch.objects.filter(Q(farm__village_id__in=coordinated) | Q(farm__village_id__in=suppliers))


def may_open_recall(user, lot: Batch) -> bool:
    return recallable_lots(user).filter(pk=lot.pk).exists()


def closable_recalls(user) -> QuerySet:
    """Recalls a user may close: only the organisation that opened one closes it. Opened by a
    coordinator of the lot's village: that village's coordinators; opened by retailer staff: the
    staff of that retailer; superusers any; auditors none. The organisation is read from the
    opener's roles now: if they have left it, a superuser closes the recall."""
    if not user.is_authenticated:
        return Recall.objects.none()
    if user.is_superuser:
        return Recall.objects.all()
    opener_coordinates = Exists(
        Membership.objects.filter(
            user_id=OuterRef("opened_by_id"), role=COORDINATOR, village_id=OuterRef("batch__farm__village_id")
        )
    )
    by_village = Q(batch__farm__village_id__in=Membership.objects.village_ids(user, roles=(COORDINATOR,)))
    colleagues = user.retailer_roles.values("retailer__staff__user_id")
    return Recall.objects.filter((by_village & opener_coordinates) | Q(opened_by_id__in=colleagues))


def may_close_recall(user, recall: Recall) -> bool:
    return closable_recalls(user).filter(pk=recall.pk).exists()


def may_decide_hold(user, hold) -> bool:
    """Release a safety hold (a failed quality test) or turn it into a recall: whoever may recall
    the tested lot, since either decision is theirs to take (traceability.services.decide_hold)."""
    return may_open_recall(user, hold.batch)


# ---------------------------------------------------------------------------------------------
# Recording and correcting events, importing


def recordable_lots(user) -> QuerySet:
    """Lots whose events a user may record: superusers all; farmers and coordinators their
    villages' lots. (Batch.objects.writable_by is this rule.)"""
    if not user.is_authenticated:
        return Batch.objects.none()
    if user.is_superuser:
        return Batch.objects.all()
    return Batch.objects.filter(farm__village_id__in=Membership.objects.village_ids(user))


def may_record_event(user, lot: Batch) -> bool:
    return recordable_lots(user).filter(pk=lot.pk).exists()


def correctable_events(user) -> QuerySet:
    """Events a user may correct: those of lots whose events they may record. Whether an event
    can still be corrected (not a correction, not corrected already) is the service's rule."""
    if not user.is_authenticated:
        return TraceEvent.objects.none()
    if user.is_superuser:
        return TraceEvent.objects.all()
    concerning = TraceEvent.objects.filter(lines__batch__in=recordable_lots(user)).values("pk")
    return TraceEvent.objects.filter(pk__in=concerning)


def may_correct(user, event: TraceEvent) -> bool:
    return correctable_events(user).filter(pk=event.pk).exists()


def importable_villages(user) -> QuerySet:
    """Villages into which a user may import a sheet of batches: their coordinators' (superusers all)."""
    return Village.objects.managed_by(user)


def may_import(user, village: Village) -> bool:
    return importable_villages(user).filter(pk=village.pk).exists()


# ---------------------------------------------------------------------------------------------
# Printing labels


@dataclass(frozen=True)
class Printers:
    """Who prints a shipment's labels: superusers any; the staff of its retailer; the farmers and
    coordinators of its origin village. Auditors read everything but print nothing. Made once
    (two queries) and asked about many shipments, as a list of them does."""

    everything: bool
    village_ids: frozenset[int]
    retailer_ids: frozenset[int]

    def allow(self, shipment) -> bool:
        """`shipment` is anything with `origin_village_id` and `store.retailer_id` (a Shipment)."""
        return (
            self.everything
            or shipment.origin_village_id in self.village_ids
            or shipment.store.retailer_id in self.retailer_ids
        )

    def filter(self, shipments: QuerySet) -> QuerySet:
        if self.everything:
            return shipments
        return shipments.filter(Q(origin_village_id__in=self.village_ids) | Q(store__retailer_id__in=self.retailer_ids))


def printers(user) -> Printers:
    if not user.is_authenticated:
        return Printers(False, frozenset(), frozenset())
    return Printers(
        everything=user.is_superuser,
        village_ids=frozenset(Membership.objects.village_ids(user)),
        retailer_ids=frozenset(user.retailer_roles.values_list("retailer_id", flat=True)),
    )


def printable_shipments(user, shipments: QuerySet) -> QuerySet:
    """Those of `shipments` whose labels the user may print."""
    return printers(user).filter(shipments)


def may_print(user, shipment) -> bool:
    return printers(user).allow(shipment)


# ---------------------------------------------------------------------------------------------
# Alerts


def watched_lots(user) -> QuerySet:
    """Lots whose alerts a user is shown because they decide about them: farmers and
    coordinators their villages' lots; retailer staff the lots of the villages that supply them
    and the lots they may trace; superusers all. Auditors decide nothing and watch none."""
    if not user.is_authenticated:
        return Batch.objects.none()
    if user.is_superuser:
        return Batch.objects.all()
    suppliers = Village.objects.filter(supplied_retailers__staff__user=user).values("pk")
    return Batch.objects.filter(
        Q(farm__village_id__in=Membership.objects.village_ids(user))
        | Q(farm__village_id__in=suppliers)
        | _retailer_lots(user)
    )

"""What happened to each lot: batches, their genealogy, the append-only event log and recalls."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from farms.models import Crop, Farm, Field, Membership, Village
from traceability.lot_codes import MAX_LENGTH, validate_lot_code
from traceability.lot_codes import PATTERN as LOT_CODE_PATTERN
from traceability.lot_codes import RESERVED_PATTERN as RESERVED_LOT_CODES


class Unit(models.TextChoices):
    KG = "kg", _("kg")
    BOX = "box", _("box")
    CRATE = "crate", _("crate")
    PIECE = "piece", _("piece")


class BatchQuerySet(models.QuerySet):
    def for_villages(self, village_ids) -> "BatchQuerySet":
        return self.filter(farm__village_id__in=village_ids)

    def visible_to(self, user) -> "BatchQuerySet":
        """Batches a user may read: the same rule as Farm.objects.visible_to, through the farm."""
        return self.filter(farm__in=Farm.objects.visible_to(user))

    def writable_by(self, user) -> "BatchQuerySet":
        """Batches whose events a user may record: the rule of traceability.permissions.recordable_lots
        (farmers and coordinators of the batch's village)."""
        from traceability.permissions import recordable_lots

        return self & recordable_lots(user)

    def held(self) -> "BatchQuerySet":
        return self.filter(status__in=[Batch.Status.ON_HOLD, Batch.Status.RECALLED])


class BatchStatus(models.TextChoices):
    GROWING = "growing", _("Growing")
    HARVESTED = "harvested", _("Harvested")
    PACKED = "packed", _("Packed")
    ON_HOLD = "on_hold", _("On hold")
    RECALLED = "recalled", _("Recalled")


class Batch(models.Model):
    """A traceability lot: one crop from one farm (and usually one field), harvested together."""

    Status = BatchStatus

    lot_code = models.CharField(_("lot code"), max_length=MAX_LENGTH, unique=True, validators=[validate_lot_code])
    farm = models.ForeignKey(Farm, verbose_name=_("farm"), on_delete=models.PROTECT, related_name="batches")
    field = models.ForeignKey(
        Field,
        verbose_name=_("field"),
        on_delete=models.PROTECT,
        related_name="batches",
        null=True,
        blank=True,
    )
    crop = models.ForeignKey(Crop, verbose_name=_("crop"), on_delete=models.PROTECT, related_name="batches")
    planted_on = models.DateField(_("planted on"), null=True, blank=True)
    harvested_on = models.DateField(_("harvested on"), null=True, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices, default=Unit.KG)
    # Quantity already committed to shipments and transformations. Changed only under a row lock
    # (see traceability.services.allocate); the CHECK constraint is the backstop against over-shipping.
    allocated_quantity = models.DecimalField(
        _("allocated quantity"),
        max_digits=12,
        decimal_places=3,
        default=Decimal("0"),
        editable=False,
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.GROWING)
    # While the lot is on hold or recalled: the state it returns to when the last hold is lifted.
    # Written only by traceability.lifecycle (issue 12).
    status_before_hold = models.CharField(
        _("status before the hold"), max_length=16, choices=Status.choices, blank=True, editable=False
    )
    inputs = models.ManyToManyField(
        "self",
        through="BatchInput",
        through_fields=("output", "input"),
        symmetrical=False,
        related_name="outputs",
        verbose_name=_("made from"),
        blank=True,
    )
    notes = models.TextField(_("internal notes (private)"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    # Set for lots that came in from a spreadsheet (traceability.imports): no one recorded their
    # harvest or quality test in the app, which the alerts ask for (traceability.alerts).
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True, editable=False)
    # Made by the phone that registered the lot (an offline outbox sends it again after a lost
    # answer, maybe days later): services.register_batch returns the lot already registered with it.
    client_id = models.UUIDField(_("client id"), null=True, blank=True, unique=True, editable=False)

    objects = BatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "lot_code"]
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        indexes = [
            models.Index(fields=["farm", "status"]),
            models.Index(fields=["crop", "harvested_on"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="batch_quantity_positive"),
            models.CheckConstraint(
                condition=Q(allocated_quantity__gte=0) & Q(allocated_quantity__lte=F("quantity")),
                name="batch_not_over_allocated",
                violation_error_message=_("More than the batch holds has been allocated."),
            ),
            models.CheckConstraint(condition=Q(status__in=BatchStatus.values), name="batch_status_valid"),
            models.CheckConstraint(condition=Q(unit__in=Unit.values), name="batch_unit_valid"),
            models.CheckConstraint(
                condition=Q(lot_code__regex=LOT_CODE_PATTERN),
                name="batch_lot_code_format",
            ),
            models.CheckConstraint(
                condition=~Q(lot_code__iregex=RESERVED_LOT_CODES),
                name="batch_lot_code_not_reserved",
            ),
            models.CheckConstraint(
                condition=Q(planted_on__isnull=True)
                | Q(harvested_on__isnull=True)
                | Q(harvested_on__gte=F("planted_on")),
                name="batch_harvest_after_planting",
                violation_error_message=_("The harvest date cannot be before the planting date."),
            ),
        ]

    def __str__(self) -> str:
        return self.lot_code

    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.allocated_quantity

    def is_held(self) -> bool:
        return self.status in (self.Status.ON_HOLD, self.Status.RECALLED)


class Lineage(models.Model):
    """One pair of the genealogy's transitive closure: `ancestor` went, through one or more
    transformations, into `descendant`. Kept by database triggers on BatchInput (on PostgreSQL and
    SQLite alike, migration 0004), so no code path can forget it, and answers "every lot made from
    X" or "everything X was made from" with one index range scan instead of a recursive walk
    (traceability.trace). Links are append-only, so a pair once true stays true."""

    pk = models.CompositePrimaryKey("ancestor", "descendant")
    # The primary key (ancestor, descendant) and lineage_backward_idx serve both directions.
    ancestor = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+", db_index=False)
    descendant = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        verbose_name = _("lineage pair")
        verbose_name_plural = _("lineage pairs")
        indexes = [models.Index(fields=["descendant", "ancestor"], name="lineage_backward_idx")]
        constraints = [models.CheckConstraint(condition=~Q(ancestor=F("descendant")), name="lineage_no_cycle")]

    def __str__(self) -> str:
        return f"{self.ancestor_id} -> ... -> {self.descendant_id}"


class _PostgresSystemType(models.Field):
    """A column of a PostgreSQL system type (text on other databases, where it stays unused), read
    and written only by SQL in traceability.trace and the triggers of migration 0005."""

    pg_type = ""

    def db_type(self, connection):
        return self.pg_type if connection.vendor == "postgresql" else "text"


class SnapshotField(_PostgresSystemType):
    pg_type = "pg_snapshot"


class TransactionIdField(_PostgresSystemType):
    pg_type = "xid8"


class StoredTrace(models.Model):
    """A lot's whole trace (both directions, names aside) as computed by traceability.trace, kept
    on PostgreSQL so that the next trace of a big lot is one row read instead of thousands.

    `snapshot` is the database snapshot the document was computed in. The document stays good
    while no TraceChange of its lot was made by a transaction that snapshot does not see: the
    check is part of the read, so a stored trace can never show a state older than the last
    committed change of any lot in it (no invalidation race, no lock taken by writers)."""

    batch = models.OneToOneField(Batch, on_delete=models.CASCADE, primary_key=True, related_name="+")
    snapshot = SnapshotField()
    document = models.TextField()

    class Meta:
        verbose_name = _("stored trace")
        verbose_name_plural = _("stored traces")


class TraceChange(models.Model):
    """A transaction changed something a trace of `batch_id` shows (a lot's status, quantity or
    names' ids, a new transformation link, a shipping or receiving line, a correction of one).
    Written only by PostgreSQL triggers (migration 0005), for the changed lot, its ancestors and
    its descendants; `xid` is the writing transaction. Old rows are removed by
    traceability.trace.forget_old_changes."""

    batch_id = models.BigIntegerField()
    xid = TransactionIdField()
    changed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("trace change")
        verbose_name_plural = _("trace changes")
        indexes = [
            models.Index(fields=["batch_id", "xid"], name="tracechange_lot_idx"),
            models.Index(fields=["changed_at"], name="tracechange_age_idx"),
        ]


class ImmutableEventError(Exception):
    """Raised on any attempt to change or delete recorded history."""


_CHANGE_REFUSED = "Recorded history is append-only: record a correction event instead."
_DELETE_REFUSED = "Recorded history is append-only: it cannot be deleted."


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk changes of recorded history (on PostgreSQL, triggers also refuse raw SQL:
    migration 0002 for events and their lines, 0004 for transformation links)."""

    def update(self, **kwargs):
        raise ImmutableEventError(_CHANGE_REFUSED)

    def delete(self):
        raise ImmutableEventError(_DELETE_REFUSED)


class AppendOnlyModel(models.Model):
    """A row of recorded history: it can be added, never changed or deleted."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableEventError(_CHANGE_REFUSED)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableEventError(_DELETE_REFUSED)


class BatchInput(AppendOnlyModel):
    """One input of a transformation (sorting, repacking, mixing): `quantity` of `input` went into `output`."""

    output = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="input_links")
    input = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="output_links")
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)

    class Meta:
        verbose_name = _("transformation input")
        verbose_name_plural = _("transformation inputs")
        # Covering indexes: a trace reads the links of thousands of lots from the index alone.
        indexes = [
            models.Index(fields=["input", "output"], include=["quantity"], name="batchinput_forward_idx"),
            models.Index(fields=["output", "input"], include=["quantity"], name="batchinput_backward_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["output", "input"], name="batch_input_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="batch_input_quantity_positive"),
            models.CheckConstraint(condition=~Q(output=F("input")), name="batch_input_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.input_id} -> {self.output_id} ({self.quantity})"


class TraceEventQuerySet(AppendOnlyQuerySet):
    def effective(self) -> "TraceEventQuerySet":
        """Events that no correction has declared erroneous, and not the corrections themselves."""
        return self.exclude(kind=TraceEvent.Kind.CORRECTION).exclude(corrections__isnull=False)

    def excursions(self) -> "TraceEventQuerySet":
        """Temperature readings outside their crop's storage range, as traceability.lifecycle
        flagged them when they were recorded."""
        return self.filter(data__excursion=True)


class EventKind(models.TextChoices):
    PLANTING = "planting", _("Planting")
    INPUT_APPLIED = "input_applied", _("Input applied")
    HARVEST = "harvest", _("Harvest")
    COOLING = "cooling", _("Cooling")
    PACKING = "packing", _("Packing")
    QUALITY_TEST = "quality_test", _("Quality test")
    SHIPPING = "shipping", _("Shipping")
    RECEIVING = "receiving", _("Receiving")
    TRANSFORMATION = "transformation", _("Transformation")
    TEMPERATURE = "temperature", _("Temperature reading")
    CORRECTION = "correction", _("Correction")
    # Someone who may recall the lot released a safety hold or turned it into a recall (issue 12).
    HOLD_DECISION = "hold_decision", _("Hold decision")
    # A lot's registration (EPCIS commissioning): its farm, field, crop, quantity and unit in the
    # chain, so that changing the lot's row is detectable; corrected like any other event.
    REGISTRATION = "registration", _("Registration")


# The events that move lots between places: the stops of a forward trace.
MOVEMENT_KINDS = [EventKind.SHIPPING.value, EventKind.RECEIVING.value]


class TraceEvent(AppendOnlyModel):
    """One thing that happened to one or more batches. Append-only: never updated, never deleted.

    Each event is chained to the previous event of its village by hash (`prev_hash`, `hash`), so
    tampering with stored history is detectable (see traceability.chain).
    """

    Kind = EventKind

    class CorrectionReason(models.TextChoices):
        DID_NOT_OCCUR = "did_not_occur", _("Did not occur")
        INCORRECT_DATA = "incorrect_data", _("Incorrect data")

    client_id = models.UUIDField(
        _("client id"),
        default=uuid.uuid4,
        unique=True,
        help_text=_("Made by the recording device; retries reuse it."),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    village = models.ForeignKey(
        Village,
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="events",
        help_text=_("Hash chain."),
    )
    farm = models.ForeignKey(
        Farm,
        verbose_name=_("farm"),
        on_delete=models.PROTECT,
        related_name="events",
        null=True,
        blank=True,
    )
    location_gln = models.CharField(_("location GLN"), max_length=13, blank=True)
    location_name = models.CharField(_("location"), max_length=200, blank=True)
    batches = models.ManyToManyField(Batch, through="EventBatch", related_name="events", verbose_name=_("batches"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    # Key data elements: temperature_c, lab, result, reference_document, store, shipment code, ...
    data = models.JSONField(_("key data elements"), default=dict, blank=True)
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("corrects"),
    )
    correction_reason = models.CharField(
        _("correction reason"),
        max_length=16,
        choices=CorrectionReason.choices,
        blank=True,
    )
    seq = models.PositiveBigIntegerField(_("sequence in chain"))
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    objects = TraceEventQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = _("trace event")
        verbose_name_plural = _("trace events")
        indexes = [
            models.Index(fields=["kind", "occurred_at"]),
            models.Index(fields=["occurred_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["village", "seq"], name="event_chain_seq_unique"),
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="event_kind_valid"),
            models.CheckConstraint(
                condition=(Q(kind="correction") & Q(corrects__isnull=False) & ~Q(correction_reason=""))
                | (~Q(kind="correction") & Q(corrects__isnull=True) & Q(correction_reason="")),
                name="event_correction_consistent",
            ),
            # The backstop of record_correction's lock: an event is corrected at most once.
            models.UniqueConstraint(
                fields=["corrects"], condition=Q(corrects__isnull=False), name="event_corrected_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class LineRole(models.TextChoices):
    SUBJECT = "subject", _("Subject")
    INPUT = "input", _("Input")
    OUTPUT = "output", _("Output")


class EventBatch(AppendOnlyModel):
    """A batch an event concerns, with the quantity involved (inputs and outputs of transformations)."""

    Role = LineRole

    event = models.ForeignKey(TraceEvent, on_delete=models.PROTECT, related_name="lines")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="event_lines")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.SUBJECT)
    quantity = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    unit = models.CharField(max_length=8, choices=Unit.choices, blank=True)
    # The event's kind, copied onto its lines (history is immutable, so the copy never goes stale)
    # so that an index can hold the shipping and receiving lines of a lot: a forward trace asks
    # for those of thousands of lots. Database triggers fill it from the event on every insert,
    # whatever the client says (migration 0004).
    event_kind = models.CharField(max_length=16, choices=EventKind.choices, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["batch", "event"]),
            models.Index(
                fields=["batch"],
                include=["event", "quantity", "unit"],
                condition=Q(event_kind__in=MOVEMENT_KINDS),
                name="eventbatch_movement_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "batch", "role"], name="event_batch_unique"),
            models.CheckConstraint(
                condition=Q(quantity__isnull=True) | Q(quantity__gt=0),
                name="event_batch_qty_pos",
            ),
            models.CheckConstraint(condition=Q(role__in=LineRole.values), name="event_batch_role_valid"),
        ]


class RecallQuerySet(models.QuerySet):
    def open(self) -> "RecallQuerySet":
        return self.filter(closed_at__isnull=True)

    def visible_to(self, user) -> "RecallQuerySet":
        """Recalls of the lots the user may see (Batch.objects.visible_to): auditors all."""
        if Membership.objects.sees_everything(user):
            return self
        return self.filter(batch__in=Batch.objects.visible_to(user))


class Recall(models.Model):
    """A recall of a batch and everything made from it. Kept forever as the record of who, when and why."""

    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="recalls")
    reason = models.TextField(_("reason"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("opened by"),
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("closed by"),
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_note = models.TextField(_("closing note"), blank=True)
    held_batches = models.ManyToManyField(
        Batch,
        through="RecallHold",
        related_name="holding_recalls",
        verbose_name=_("held batches"),
    )

    objects = RecallQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("recall")
        verbose_name_plural = _("recalls")
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True, closed_by__isnull=True)
                | Q(closed_at__isnull=False, closed_by__isnull=False),
                name="recall_closed_consistent",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=F("opened_at")),
                name="recall_closed_after_open",
            ),
            # The backstop of open_recall's lock: one open recall per lot.
            models.UniqueConstraint(
                fields=["batch"], condition=Q(closed_at__isnull=True), name="recall_one_open_per_lot"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch} · {self.opened_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class RecallHold(models.Model):
    """A batch put on hold by a recall, with the status to restore when the recall closes."""

    recall = models.ForeignKey(Recall, on_delete=models.CASCADE, related_name="holds")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="holds")
    previous_status = models.CharField(max_length=16, choices=Batch.Status.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recall", "batch"], name="recall_hold_unique")]


class HoldQuerySet(models.QuerySet):
    def open(self) -> "HoldQuerySet":
        return self.filter(decided_at__isnull=True)

    def visible_to(self, user) -> "HoldQuerySet":
        """Holds of the lots the user may see (Batch.objects.visible_to): auditors all."""
        if Membership.objects.sees_everything(user):
            return self
        return self.filter(batch__in=Batch.objects.visible_to(user))


class HoldDecision(models.TextChoices):
    RELEASED = "released", _("Released")
    RECALLED = "recalled", _("Recalled")


class Hold(models.Model):
    """A food-safety hold: a failed quality test put a lot, and every lot made from it, on hold at
    once, until someone who may recall the lot decides to release it or to recall it. Opened and
    decided only by traceability.services; kept forever as the record of who, when and why."""

    Decision = HoldDecision

    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="safety_holds")
    test_event = models.OneToOneField(
        TraceEvent, verbose_name=_("failed test"), on_delete=models.PROTECT, related_name="safety_hold"
    )
    reason = models.TextField(_("reason"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("opened by"),
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    decision_event = models.OneToOneField(
        TraceEvent,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("decision event"),
    )
    recall = models.ForeignKey(
        Recall, on_delete=models.PROTECT, related_name="+", null=True, blank=True, verbose_name=_("recall")
    )

    objects = HoldQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("safety hold")
        verbose_name_plural = _("safety holds")
        constraints = [
            models.CheckConstraint(
                condition=Q(decision="", decided_at__isnull=True, decided_by__isnull=True, decision_event__isnull=True)
                | (Q(decision__in=HoldDecision.values) & Q(decided_at__isnull=False, decided_by__isnull=False)),
                name="hold_decided_consistent",
            ),
            models.CheckConstraint(
                condition=Q(recall__isnull=True) | Q(decision=HoldDecision.RECALLED), name="hold_recall_iff_recalled"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch} · {self.opened_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.decided_at is None


class HoldLot(models.Model):
    """A lot a safety hold holds: the tested lot and every lot made from it at the time."""

    hold = models.ForeignKey(Hold, on_delete=models.CASCADE, related_name="lots")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="safety_hold_lots")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hold", "batch"], name="hold_lot_unique")]


class BatchImport(models.Model):
    """A sheet imported into a village (traceability.imports): its SHA-256, so the same file sent
    twice is recognised and refused unless the person says it is new data."""

    village = models.ForeignKey(Village, on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(max_length=64)
    file_name = models.CharField(max_length=255, blank=True)
    rows = models.PositiveIntegerField()
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("batch import")
        verbose_name_plural = _("batch imports")
        indexes = [models.Index(fields=["village", "sha256"], name="batchimport_file_idx")]


class Anchor(AppendOnlyModel):
    """A signed checkpoint of every village chain's head (last seq and hash), made by
    `manage.py anchor_chains` with an Ed25519 key that is kept out of the database. A chain
    recomputed from some event on, or cut short, no longer reaches an anchored head; a copy of
    the anchor kept outside (`export_anchor`) proves it even if these rows are deleted.
    `payload` is the exact signed text (traceability.anchors)."""

    created_at = models.DateTimeField(_("anchored at"), default=timezone.now)
    key_id = models.CharField(_("key id"), max_length=16)
    payload = models.TextField()
    signature = models.CharField(max_length=100)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("anchor")
        verbose_name_plural = _("anchors")

    def __str__(self) -> str:
        return f"#{self.pk} {self.created_at:%Y-%m-%d %H:%M}"


class ChainCheck(models.Model):
    """What the last runs of `verify_events` and `anchor_chains` found about one village's chain,
    so that pages can say whether what they show verifies without walking the chain: events up to
    `verified_seq` verified (`ok`) at `verified_at`, and up to `anchored_seq` anchored at
    `anchored_at`. A summary for display; the proof is a verification run."""

    village = models.OneToOneField(
        Village, on_delete=models.CASCADE, primary_key=True, related_name="chain_check", verbose_name=_("village")
    )
    ok = models.BooleanField(_("verified"), default=False)
    problem = models.TextField(_("problem"), blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_seq = models.PositiveBigIntegerField(default=0)
    anchored_at = models.DateTimeField(_("anchored at"), null=True, blank=True)
    anchored_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("chain check")
        verbose_name_plural = _("chain checks")

    def __str__(self) -> str:
        return f"{self.village_id}: {'ok' if self.ok else 'broken'} @ {self.verified_seq}"

    def covers(self, seq: int) -> bool:
        """Events up to `seq` verified clean and anchored."""
        return self.ok and self.verified_seq >= seq and self.anchored_seq >= seq

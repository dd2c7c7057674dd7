"""How lots move and what a QR code leads to: retailers, stores, shipments, their items and scans."""

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from farms import gs1
from farms.models import Farm, Membership, Village, latitude_field, longitude_field
from farms.time_zones import time_zone_field
from traceability import permissions
from traceability.models import Batch

# Uppercase base32 without the look-alikes 0/O and 1/I: 32 symbols, 5 bits each.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 16  # 80 bits
PUBLIC_PATH = "/s/"


def new_public_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class RetailerQuerySet(models.QuerySet):
    def visible_to(self, user) -> "RetailerQuerySet":
        """Auditors all; staff their retailer; village members the retailers their village supplies."""
        if not user.is_authenticated:
            return self.none()
        if Membership.objects.sees_everything(user):
            return self.all()
        return self.filter(
            Q(staff__user=user) | Q(supplier_villages__in=Membership.objects.village_ids(user))
        ).distinct()

    def managed_by(self, user) -> "RetailerQuerySet":
        """Retailers whose stores and shipments a user runs: their staff's."""
        if not user.is_authenticated:
            return self.none()
        return self.all() if user.is_superuser else self.filter(staff__user=user)


class LabelQr(models.TextChoices):
    """What a label's QR code encodes."""

    SHORT_URL = "url", _("Short URL (phones only)")
    ITEM = "item", _("GS1 Digital Link of the product and lot (tills and phones)")
    SSCC = "sscc", _("GS1 Digital Link of the crate's SSCC (logistics and phones)")


class LabelDate(models.TextChoices):
    """Which date a Digital Link label of a product and lot carries."""

    NONE = "", _("No date")
    PACKED = "13", _("Packing date (AI 13)")
    EXPIRY = "17", _("Expiry date (AI 17)")


class Retailer(models.Model):
    LabelQr = LabelQr
    LabelDate = LabelDate

    name_zh = models.CharField(_("name (Chinese)"), max_length=100, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    gln = models.CharField(
        _("GLN"),
        max_length=13,
        null=True,
        blank=True,
        unique=True,
        validators=[gs1.validate_gln],
    )
    gs1_company_prefix = models.CharField(
        _("GS1 company prefix"),
        max_length=10,
        null=True,
        blank=True,
        unique=True,
        validators=[gs1.validate_company_prefix],
        help_text=_("7 to 10 digits, as GS1 assigned them: the SSCC of every shipment starts with it."),
    )
    label_qr = models.CharField(_("label QR code"), max_length=4, choices=LabelQr.choices, default=LabelQr.SHORT_URL)
    label_date = models.CharField(
        _("date on Digital Link labels"), max_length=2, choices=LabelDate.choices, default=LabelDate.NONE, blank=True
    )
    shelf_life_days = models.PositiveSmallIntegerField(
        _("shelf life (days)"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("The expiry date printed is the packing date plus this many days."),
    )
    address_zh = models.CharField(_("address (Chinese)"), max_length=200, blank=True, db_default="")
    address_en = models.CharField(_("address (English)"), max_length=200, blank=True, db_default="")
    phone = models.CharField(_("business phone"), max_length=32, blank=True, db_default="")
    # The villages that grow for this retailer: its staff see their farms and batches.
    supplier_villages = models.ManyToManyField(
        Village, verbose_name=_("supplier villages"), related_name="supplied_retailers", blank=True
    )

    objects = RetailerQuerySet.as_manager()

    class Meta:
        ordering = ["name_zh"]
        verbose_name = _("retailer")
        verbose_name_plural = _("retailers")
        constraints = [
            gs1.check_constraint("gln", 13, "retailer_gln_check_digit"),
            models.CheckConstraint(
                condition=Q(gs1_company_prefix__isnull=True) | Q(gs1_company_prefix__regex=r"^[0-9]{7,10}$"),
                name="retailer_gs1_company_prefix_format",
            ),
            models.CheckConstraint(condition=Q(label_qr__in=LabelQr.values), name="retailer_label_qr_valid"),
            models.CheckConstraint(condition=Q(label_date__in=LabelDate.values), name="retailer_label_date_valid"),
            models.CheckConstraint(
                condition=Q(shelf_life_days__gte=1, shelf_life_days__lte=365), name="retailer_shelf_life_days_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name_zh


class StoreQuerySet(models.QuerySet):
    def visible_to(self, user) -> "StoreQuerySet":
        return self.filter(retailer__in=Retailer.objects.visible_to(user))

    def managed_by(self, user) -> "StoreQuerySet":
        return self.filter(retailer__in=Retailer.objects.managed_by(user))


# A store's customer phone as shoppers dial it: digits with spaces, ( ) and -, an optional leading
# +, e.g. "021-6288 0101", "400 820 8820", "+86 (21) 6288-0101". The one rule of every door (the
# admin's form and the API both read the model field).
validate_store_phone = RegexValidator(
    r"^\+?[0-9(][0-9 ()-]{3,29}[0-9]\Z",
    _("A phone number is digits with spaces, ( ) and -, and may start with +: e.g. 021-6288 0101."),
    code="invalid_phone",
)


class Store(models.Model):
    retailer = models.ForeignKey(
        Retailer,
        verbose_name=_("retailer"),
        on_delete=models.PROTECT,
        related_name="stores",
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    city_zh = models.CharField(_("city (Chinese)"), max_length=50)
    city_en = models.CharField(_("city (English)"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)  # in Chinese
    address_en = models.CharField(_("address (English)"), max_length=200, blank=True, db_default="")
    # Public on the consumer page: the number a shopper calls about a recall.
    phone = models.CharField(_("customer phone"), max_length=32, blank=True, validators=[validate_store_phone])
    # For the consumer page's village-to-store distance (no map service is asked); ranges as a village's.
    latitude = latitude_field()
    longitude = longitude_field()
    gln = models.CharField(
        _("GLN"),
        max_length=13,
        null=True,
        blank=True,
        unique=True,
        validators=[gs1.validate_gln],
    )
    time_zone = time_zone_field(_("Where the store is, e.g. Asia/Shanghai: exported event times carry its offset."))

    objects = StoreQuerySet.as_manager()

    class Meta:
        ordering = ["retailer", "name_zh"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        constraints = [
            gs1.check_constraint("gln", 13, "store_gln_check_digit"),
            models.UniqueConstraint(fields=["retailer", "name_zh"], name="store_name_unique_per_retailer"),
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True) | models.Q(latitude__gte=-90, latitude__lte=90),
                name="store_latitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__isnull=True) | models.Q(longitude__gte=-180, longitude__lte=180),
                name="store_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name_zh


class RetailerStaff(models.Model):
    """A person who works for a retailer: manages its stores and shipments, prints labels, recalls."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="retailer_roles",
    )
    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="staff")

    class Meta:
        verbose_name = _("retailer staff")
        verbose_name_plural = _("retailer staff")
        constraints = [models.UniqueConstraint(fields=["user", "retailer"], name="retailer_staff_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.retailer}"


class ShipmentQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ShipmentQuerySet":
        """Shipments a user may read: auditors all; retailer staff their retailer's; village members
        the shipments that leave their village."""
        if not user.is_authenticated:
            return self.none()
        if Membership.objects.sees_everything(user):
            return self.all()
        return self._of_staff_and_members(user)

    def managed_by(self, user) -> "ShipmentQuerySet":
        """Shipments a user may change (items, dispatch, receive, cancel): their retailer's staff."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(store__retailer__staff__user=user)

    def printable_by(self, user) -> "ShipmentQuerySet":
        """Shipments whose labels a user may print: the rule of traceability.permissions.may_print
        (the retailer's staff and the origin village's farmers and coordinators; superusers all;
        auditors read everything but print nothing)."""
        return permissions.printable_shipments(user, self)

    def _of_staff_and_members(self, user) -> "ShipmentQuerySet":
        return self.filter(
            Q(store__retailer__staff__user=user) | Q(origin_village_id__in=Membership.objects.village_ids(user))
        ).distinct()

    def in_transit(self) -> "ShipmentQuerySet":
        return self.filter(status=Shipment.Status.DISPATCHED)

    def by_public_code(self, code: str) -> "ShipmentQuerySet":
        return self.filter(public_code=code.strip().upper())


class ShipmentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PACKED = "packed", _("Packed")
    DISPATCHED = "dispatched", _("Dispatched")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


class Shipment(models.Model):
    Status = ShipmentStatus

    public_code = models.CharField(_("public code"), max_length=CODE_LENGTH, unique=True, editable=False)
    # The shipment as a logistic unit (GS1 AI 00), from its retailer's company prefix; set once,
    # by shipments.services, never changed (crate labels print it).
    sscc = models.CharField(_("SSCC"), max_length=18, null=True, blank=True, unique=True, editable=False)
    origin_village = models.ForeignKey(
        Village,
        verbose_name=_("origin village"),
        on_delete=models.PROTECT,
        related_name="shipments",
    )
    origin_farm = models.ForeignKey(
        Farm,
        verbose_name=_("origin farm"),
        on_delete=models.PROTECT,
        related_name="shipments",
        null=True,
        blank=True,
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("destination store"),
        on_delete=models.PROTECT,
        related_name="shipments",
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    reference = models.CharField(
        _("reference document"),
        max_length=64,
        blank=True,
        help_text=_("Bill of lading or delivery note number."),
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
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True, editable=False)
    batches = models.ManyToManyField(
        Batch,
        through="ShipmentItem",
        related_name="shipments",
        verbose_name=_("batches"),
    )

    objects = ShipmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        indexes = [
            models.Index(fields=["store", "status"]),
            models.Index(fields=["origin_village", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ShipmentStatus.values),
                name="shipment_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(public_code__regex=rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$"),
                name="shipment_public_code_format",
            ),
            models.CheckConstraint(
                condition=Q(delivered_at__isnull=True) | Q(dispatched_at__isnull=False),
                name="shipment_delivered_after_dispatch",
            ),
            gs1.check_constraint("sscc", 18, "shipment_sscc_check_digit"),
        ]

    def __str__(self) -> str:
        return self.public_code

    def save(self, *args, **kwargs):
        # The code is made once, at creation, and never changed: printed labels must keep working.
        if not self.public_code:
            self.public_code = new_public_code()
        super().save(*args, **kwargs)

    @property
    def public_path(self) -> str:
        return f"{PUBLIC_PATH}{self.public_code}"

    @property
    def public_url(self) -> str:
        """The absolute URL the shipment's QR code encodes."""
        return f"{settings.PUBLIC_BASE_URL}{self.public_path}"

    @property
    def sscc_url(self) -> str | None:
        """The shipment's GS1 Digital Link (`/00/{SSCC}`), when it has an SSCC."""
        return f"{settings.PUBLIC_BASE_URL}/00/{self.sscc}" if self.sscc else None


class ShipmentItem(models.Model):
    shipment = models.ForeignKey(
        Shipment,
        verbose_name=_("shipment"),
        on_delete=models.CASCADE,
        related_name="items",
    )
    batch = models.ForeignKey(
        Batch,
        verbose_name=_("batch"),
        on_delete=models.PROTECT,
        related_name="shipment_items",
    )
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)

    class Meta:
        verbose_name = _("shipment item")
        verbose_name_plural = _("shipment items")
        indexes = [models.Index(fields=["batch", "shipment"])]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "batch"], name="shipment_item_unique_batch"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_item_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.batch} × {self.quantity}"


class LostInvalidation(models.Model):
    """A consumer-page invalidation that could not reach the shared cache (Redis down), kept
    until a process replays it there once Redis answers again (shipments.lost_invalidations)."""

    lost_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("lost page invalidation")
        verbose_name_plural = _("lost page invalidations")


class ScanClient(models.TextChoices):
    WECHAT = "wechat", _("WeChat")
    ALIPAY = "alipay", _("Alipay")
    IOS = "ios", _("iPhone / iPad")
    ANDROID = "android", _("Android")
    DESKTOP = "desktop", _("Desktop")
    OTHER = "other", _("Other")


class Scan(models.Model):
    """One view of a shipment's public page. Nothing that identifies a person is kept."""

    Client = ScanClient

    # The hot insert of the scan page. No index of its own: the (shipment, scanned_at) index
    # serves every lookup. No database FOREIGN KEY either: its check takes a FOR KEY SHARE lock on
    # the shipment row at every insert, and thousands of concurrent scans of one popular shipment
    # turn that into MultiXact contention. Shipments are never deleted in practice (their items
    # PROTECT the batches' history), and the ORM still cascades should one be.
    shipment = models.ForeignKey(
        Shipment, on_delete=models.CASCADE, related_name="scans", db_index=False, db_constraint=False
    )
    scanned_at = models.DateTimeField(_("scanned at"), default=timezone.now)
    language = models.CharField(_("language"), max_length=8)
    client = models.CharField(_("client"), max_length=8, choices=Client.choices, default=Client.OTHER)

    class Meta:
        ordering = ["-scanned_at"]
        verbose_name = _("scan")
        verbose_name_plural = _("scans")
        indexes = [models.Index(fields=["shipment", "scanned_at"])]
        constraints = [models.CheckConstraint(condition=Q(client__in=ScanClient.values), name="scan_client_valid")]

"""Who grows what, where: villages, farms, fields, crops, recipes and the people in them."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from farms import gs1, vocabulary
from farms.images import PhotoField
from farms.time_zones import time_zone_field


def localized(obj: models.Model, field: str, language: str | None = None) -> str:
    """`obj.<field>_en` when the language is English and that text exists, else `obj.<field>_zh`."""
    language = language or get_language() or "zh-hans"
    if language.startswith("en"):
        english = getattr(obj, f"{field}_en", "")
        if english:
            return english
    return getattr(obj, f"{field}_zh")


def latitude_field() -> models.DecimalField:
    """A place's latitude (a village, a field, a store), in degrees: the range is checked by every
    door through the field's validators, and by the database's CHECK where the model has one."""
    return models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )


def longitude_field() -> models.DecimalField:
    """A place's longitude, in degrees (as latitude_field)."""
    return models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )


class CropCategory(models.TextChoices):
    FRUIT = "fruit", _("Fruit")
    VEGETABLE = "vegetable", _("Vegetable")
    GRAIN = "grain", _("Grain")
    TEA = "tea", _("Tea")
    MUSHROOM = "mushroom", _("Mushroom")
    NUT = "nut", _("Nut")
    OTHER = "other", _("Other")


class Crop(models.Model):
    Category = CropCategory

    code = models.CharField(
        _("code"),
        max_length=8,
        unique=True,
        help_text=_("Short uppercase code used in lot codes, e.g. WAX."),
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    variety_zh = models.CharField(_("variety (Chinese)"), max_length=100, blank=True)
    variety_en = models.CharField(_("variety (English)"), max_length=100, blank=True)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices, default=Category.OTHER)
    storage_advice_zh = models.TextField(_("storage advice (Chinese)"), blank=True)
    storage_advice_en = models.TextField(_("storage advice (English)"), blank=True)
    gtin = models.CharField(
        _("GTIN"),
        max_length=14,
        null=True,
        blank=True,
        unique=True,
        validators=[gs1.validate_gtin],
    )
    # The storage range: temperature readings outside it are recorded and flagged as excursions
    # (traceability.lifecycle.flag_excursion). Empty means no bound on that side.
    storage_min_c = models.DecimalField(
        _("lowest storage temperature (°C)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    storage_max_c = models.DecimalField(
        _("highest storage temperature (°C)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    photo = PhotoField(
        _("photo"),
        upload_to="crops/",
        blank=True,
        default="",
        db_default="",
        help_text=_("The product, shown at the top of its consumer page."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("crop")
        verbose_name_plural = _("crops")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(storage_min_c__isnull=True)
                | models.Q(storage_max_c__isnull=True)
                | models.Q(storage_min_c__lte=models.F("storage_max_c")),
                name="crop_storage_range_ordered",
                violation_error_message=_("The lowest storage temperature is above the highest."),
            ),
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[A-Z0-9]{2,8}$"),
                name="crop_code_format",
            ),
            gs1.check_constraint("gtin", 14, "crop_gtin_check_digit"),
            models.CheckConstraint(
                condition=models.Q(category__in=CropCategory.values),
                name="crop_category_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_zh} {self.name_en}".strip()

    def name(self, language: str | None = None) -> str:
        return localized(self, "name", language)


class VillageQuerySet(models.QuerySet):
    def visible_to(self, user) -> "VillageQuerySet":
        """Villages a user may read: the same rule as Farm.objects.visible_to."""
        if not user.is_authenticated:
            return self.none()
        if Membership.objects.sees_everything(user):
            return self.all()
        return self.filter(
            models.Q(id__in=Membership.objects.village_ids(user)) | models.Q(supplied_retailers__staff__user=user)
        ).distinct()

    def managed_by(self, user) -> "VillageQuerySet":
        """Villages whose page content and farms a user may change: their coordinators'."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(id__in=Membership.objects.village_ids(user, roles=("coordinator",)))


class Village(models.Model):
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    code = models.CharField(
        _("code"),
        max_length=8,
        unique=True,
        help_text=_("Short uppercase code used in lot codes, e.g. XJ."),
    )
    province_zh = models.CharField(_("province (Chinese)"), max_length=50)
    province_en = models.CharField(_("province (English)"), max_length=50, blank=True)
    county_zh = models.CharField(_("county (Chinese)"), max_length=50)
    county_en = models.CharField(_("county (English)"), max_length=50, blank=True)
    latitude = latitude_field()
    longitude = longitude_field()
    story_zh = models.TextField(_("story (Chinese)"), blank=True)
    story_en = models.TextField(_("story (English)"), blank=True)
    photo = PhotoField(_("photo"), upload_to="villages/", blank=True)
    specialties = models.ManyToManyField(Crop, verbose_name=_("specialty crops"), related_name="villages", blank=True)
    gln = models.CharField(
        _("GLN"),
        max_length=13,
        null=True,
        blank=True,
        unique=True,
        validators=[gs1.validate_gln],
    )
    # Where the village is, as FSMA 204's location description asks (business name, address, phone).
    address_zh = models.CharField(_("address (Chinese)"), max_length=200, blank=True, db_default="")
    address_en = models.CharField(_("address (English)"), max_length=200, blank=True, db_default="")
    phone = models.CharField(
        _("business phone"),
        max_length=32,
        blank=True,
        db_default="",
        help_text=_("The cooperative's business number."),
    )
    time_zone = time_zone_field(_("Where the village is, e.g. Asia/Shanghai: exported event times carry its offset."))

    objects = VillageQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("village")
        verbose_name_plural = _("villages")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[A-Z0-9]{2,8}$"),
                name="village_code_format",
            ),
            gs1.check_constraint("gln", 13, "village_gln_check_digit"),
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True) | models.Q(latitude__gte=-90, latitude__lte=90),
                name="village_latitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__isnull=True) | models.Q(longitude__gte=-180, longitude__lte=180),
                name="village_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name_zh

    def name(self, language: str | None = None) -> str:
        return localized(self, "name", language)


class FarmQuerySet(models.QuerySet):
    def visible_to(self, user) -> "FarmQuerySet":
        """Farms a user may read: auditors all; village members their villages' farms; retailer staff
        the farms of the villages that supply their retailer (`supplied_retailers` is declared by
        shipments.Retailer.supplier_villages; a lookup by name, not an import)."""
        if not user.is_authenticated:
            return self.none()
        if Membership.objects.sees_everything(user):
            return self.all()
        return self.filter(
            models.Q(village_id__in=Membership.objects.village_ids(user))
            | models.Q(village__supplied_retailers__staff__user=user)
        ).distinct()

    def writable_by(self, user) -> "FarmQuerySet":
        """Farms whose batches a user may register and record: those of the villages the user farms
        or coordinates."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(village_id__in=Membership.objects.village_ids(user))

    def managed_by(self, user) -> "FarmQuerySet":
        """Farms whose fields and details a user may change: a coordinator's village's."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(village_id__in=Membership.objects.village_ids(user, roles=("coordinator",)))


class Farm(models.Model):
    village = models.ForeignKey(
        Village,
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="farms",
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    grower_name = models.CharField(_("grower name"), max_length=100)
    contact_phone = models.CharField(_("contact phone (private)"), max_length=32, blank=True)
    certifications = models.TextField(
        _("certifications"),
        blank=True,
        help_text=_("One per line, e.g. 绿色食品 A级 / Green Food grade A."),
    )
    notes = models.TextField(_("internal notes (private)"), blank=True)
    address_zh = models.CharField(_("address (Chinese)"), max_length=200, blank=True, db_default="")
    address_en = models.CharField(_("address (English)"), max_length=200, blank=True, db_default="")
    # db_default: rows written by code that predates the column (an older migration's state) get none.
    photo = PhotoField(
        _("photo"),
        upload_to="farms/",
        blank=True,
        default="",
        db_default="",
        help_text=_("Shown to shoppers with the farm's produce."),
    )

    objects = FarmQuerySet.as_manager()

    class Meta:
        ordering = ["village", "name_zh"]
        verbose_name = _("farm")
        verbose_name_plural = _("farms")
        constraints = [models.UniqueConstraint(fields=["village", "name_zh"], name="farm_name_unique_in_village")]

    def __str__(self) -> str:
        return self.name_zh

    def save(self, *args, **kwargs):
        # Every door (the farm form, the API, the admin) saves here: known certifications, given
        # by code, Chinese or English, are kept in the vocabulary's Chinese; others as entered.
        self.certifications = vocabulary.recorded_lines("certification", self.certifications)
        super().save(*args, **kwargs)

    def name(self, language: str | None = None) -> str:
        return localized(self, "name", language)

    def certification_list(self) -> list[str]:
        return [line.strip() for line in self.certifications.splitlines() if line.strip()]


class Field(models.Model):
    farm = models.ForeignKey(Farm, verbose_name=_("farm"), on_delete=models.PROTECT, related_name="fields")
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    latitude = latitude_field()
    longitude = longitude_field()
    area_mu = models.DecimalField(_("area (mu)"), max_digits=8, decimal_places=2, null=True, blank=True)
    photo = PhotoField(
        _("photo"),
        upload_to="fields/",
        blank=True,
        default="",
        db_default="",
        help_text=_("Shown to shoppers with the produce of this field, instead of the farm's photo."),
    )

    class Meta:
        ordering = ["farm", "name_zh"]
        verbose_name = _("field")
        verbose_name_plural = _("fields")
        constraints = [
            models.UniqueConstraint(fields=["farm", "name_zh"], name="field_name_unique_in_farm"),
            models.CheckConstraint(
                condition=models.Q(area_mu__isnull=True) | models.Q(area_mu__gt=0),
                name="field_area_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.farm} / {self.name_zh}"

    def name(self, language: str | None = None) -> str:
        return localized(self, "name", language)


class RecipeLanguage(models.TextChoices):
    CHINESE = "zh-hans", _("Simplified Chinese")
    ENGLISH = "en", _("English")


class Recipe(models.Model):
    Language = RecipeLanguage

    title = models.CharField(_("title"), max_length=200)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.CHINESE)
    ingredients = models.TextField(_("ingredients"), help_text=_("One per line."))
    steps = models.TextField(_("steps"), help_text=_("One step per line."))
    photo = PhotoField(_("photo"), upload_to="recipes/", blank=True)
    crops = models.ManyToManyField(Crop, verbose_name=_("crops"), related_name="recipes")

    class Meta:
        ordering = ["title"]
        verbose_name = _("recipe")
        verbose_name_plural = _("recipes")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(language__in=RecipeLanguage.values),
                name="recipe_language_valid",
            ),
            models.UniqueConstraint(fields=["title", "language"], name="recipe_title_unique_per_language"),
        ]

    def __str__(self) -> str:
        return self.title

    def ingredient_list(self) -> list[str]:
        return [line.strip() for line in self.ingredients.splitlines() if line.strip()]

    def step_list(self) -> list[str]:
        return [line.strip() for line in self.steps.splitlines() if line.strip()]


class MembershipQuerySet(models.QuerySet):
    def village_ids(self, user, roles: tuple[str, ...] | None = None) -> list[int]:
        memberships = self.filter(user=user, village__isnull=False)
        if roles:
            memberships = memberships.filter(role__in=roles)
        return list(memberships.values_list("village_id", flat=True))

    def sees_everything(self, user) -> bool:
        """Superusers and auditors read every tenant's data."""
        return user.is_superuser or self.filter(user=user, role="auditor").exists()


class MembershipRole(models.TextChoices):
    FARMER = "farmer", _("Farmer")
    COORDINATOR = "coordinator", _("Village coordinator")
    AUDITOR = "auditor", _("Auditor")


class Membership(models.Model):
    """A person's role in a village (farmer, coordinator) or across the system (auditor).

    Retailer staff belong to a retailer, which lives in the shipments app: see shipments.RetailerStaff.
    """

    Role = MembershipRole

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    village = models.ForeignKey(
        Village,
        verbose_name=_("village"),
        on_delete=models.CASCADE,
        related_name="memberships",
        null=True,
        blank=True,
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=MembershipRole.values),
                name="membership_role_valid",
            ),
            # Farmers and coordinators belong to a village; auditors read everything and belong to none.
            models.CheckConstraint(
                condition=models.Q(role="auditor", village__isnull=True)
                | (~models.Q(role="auditor") & models.Q(village__isnull=False)),
                name="membership_village_matches_role",
            ),
            models.UniqueConstraint(fields=["user", "role", "village"], name="membership_unique"),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(role="auditor"),
                name="membership_one_auditor_row",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.village or '*'}"

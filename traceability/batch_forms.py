"""Forms of the farmer's pages: register a batch, record what happened to it, import a sheet."""

from datetime import timedelta

from django import forms
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from farms.images import PhotoFormField
from farms.models import Crop, Field, Village
from traceability.models import EventKind, Unit


class BatchForm(forms.Form):
    farm = forms.ModelChoiceField(label=_("Farm"), queryset=None, empty_label=None)
    crop = forms.ModelChoiceField(label=_("Crop"), queryset=Crop.objects.order_by("code"))
    field = forms.ModelChoiceField(label=_("Field"), queryset=None, required=False, empty_label=_("(not given)"))
    planted_on = forms.DateField(label=_("Planted on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    harvested_on = forms.DateField(
        label=_("Harvested on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty while the crop is still growing."),
    )
    quantity = forms.DecimalField(
        label=_("Quantity"),
        min_value=0.001,
        max_digits=12,
        decimal_places=3,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )
    unit = forms.ChoiceField(label=_("Unit"), choices=Unit.choices, initial=Unit.KG)

    def __init__(self, *args, farms, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["farm"].queryset = farms
        # The villages' specialty crops first: they are what a farmer most often registers.
        specialty = Village.specialties.through.objects.filter(crop=OuterRef("pk"), village__in=farms.values("village"))
        self.fields["crop"].queryset = Crop.objects.annotate(specialty=Exists(specialty)).order_by("-specialty", "code")
        self.fields["field"].queryset = Field.objects.filter(farm__in=farms).select_related("farm")
        self.fields["field"].label_from_instance = lambda f: f"{f.farm.name()} / {f.name()}"
        self.fields["farm"].label_from_instance = lambda f: f.name()
        self.fields["crop"].label_from_instance = lambda c: f"{c.name()} ({c.code})"

    def clean(self):
        cleaned = super().clean()
        farm, field = cleaned.get("farm"), cleaned.get("field")
        if farm and field and field.farm_id != farm.pk:
            self.add_error(
                "field", _("This field belongs to another farm: pick one of %(farm)s's fields.") % {"farm": farm.name()}
            )
        planted, harvested = cleaned.get("planted_on"), cleaned.get("harvested_on")
        if planted and harvested and harvested < planted:
            self.add_error("harvested_on", _("The harvest date cannot be before the planting date."))
        today = timezone.localdate()
        for name in ("planted_on", "harvested_on"):
            value = cleaned.get(name)
            if value and value > today:
                self.add_error(name, _("This date is in the future."))
        return cleaned


QUALITY_RESULTS = [("pass", _("Pass")), ("fail", _("Fail"))]

# Which extra fields each kind of event asks for.
EVENT_FIELDS = {
    EventKind.HARVEST: ("quantity",),
    EventKind.COOLING: ("temperature_c",),
    EventKind.PACKING: ("quantity",),
    EventKind.QUALITY_TEST: ("result", "lab", "test", "photo"),
    EventKind.TEMPERATURE: ("temperature_c",),
}
RECORDABLE_KINDS = list(EVENT_FIELDS)


class BatchEventForm(forms.Form):
    occurred_at = forms.DateTimeField(
        label=_("When"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    quantity = forms.DecimalField(
        label=_("Quantity"),
        required=False,
        min_value=0.001,
        max_digits=12,
        decimal_places=3,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )
    temperature_c = forms.DecimalField(
        label=_("Temperature (°C)"),
        min_value=-40,
        max_value=60,
        max_digits=5,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
    )
    result = forms.ChoiceField(label=_("Result"), choices=QUALITY_RESULTS)
    lab = forms.CharField(label=_("Laboratory"), max_length=200)
    test = forms.CharField(
        label=_("Test"), max_length=200, required=False, help_text=_("e.g. pesticide residue rapid test")
    )
    photo = PhotoFormField(label=_("Photo of the report"), required=False)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        keep = {"occurred_at", "note", *EVENT_FIELDS[kind]}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if "photo" in self.fields:
            self.fields["photo"].widget.attrs["accept"] = "image/*"

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        if value > timezone.now() + timedelta(minutes=5):
            raise forms.ValidationError(_("This time is in the future."))
        return value


class ImportForm(forms.Form):
    village = forms.ModelChoiceField(label=_("Village"), queryset=None, empty_label=None)
    file = forms.FileField(
        label=_("CSV or Excel file"),
        help_text=_("Columns: farm, field, crop, quantity, unit, planted_on, harvested_on, lot_code."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages
        self.fields["village"].label_from_instance = lambda v: v.name()

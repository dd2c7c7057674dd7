"""Forms of the farmer's pages: register a batch, record what happened to it, import a sheet."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from farms.images import PhotoFormField
from farms.models import Crop, Field, Village
from traceability import lifecycle
from traceability.models import EventKind, TraceEvent, Unit


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
        try:
            lifecycle.check_lot_dates(cleaned.get("planted_on"), cleaned.get("harvested_on"))
        except ValidationError as exc:  # the one rule of every door, shown next to its field
            self.add_error(None, exc)
        return cleaned


QUALITY_RESULTS = [("pass", _("Pass")), ("fail", _("Fail"))]

# Which extra fields each kind of event asks for: every farm event the API takes
# (lifecycle.FARM_EVENT_KINDS, the one list), none more.
EVENT_FIELDS = {
    EventKind.PLANTING: (),
    EventKind.INPUT_APPLIED: ("product",),
    EventKind.HARVEST: ("quantity", "harvester_name", "harvester_phone", "reference_document"),
    EventKind.COOLING: ("temperature_c", "quantity"),
    EventKind.PACKING: ("quantity",),
    EventKind.QUALITY_TEST: ("result", "lab", "test", "photo"),
    EventKind.TEMPERATURE: ("temperature_c",),
}
RECORDABLE_KINDS = list(lifecycle.FARM_EVENT_KINDS)
assert set(EVENT_FIELDS) == set(RECORDABLE_KINDS)


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
    # Impossible readings are refused by the service (lifecycle.temperature), as for every door.
    temperature_c = forms.DecimalField(
        label=_("Temperature (°C)"),
        max_digits=5,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
    )
    product = forms.CharField(
        label=_("Product applied"), max_length=200, help_text=_("e.g. organic fertiliser, copper fungicide")
    )
    result = forms.ChoiceField(label=_("Result"), choices=QUALITY_RESULTS)
    lab = forms.CharField(label=_("Laboratory"), max_length=200)
    test = forms.CharField(
        label=_("Test"), max_length=200, required=False, help_text=_("e.g. pesticide residue rapid test")
    )
    photo = PhotoFormField(label=_("Photo of the report"), required=False)
    # FSMA 204's harvester (for regulators only: never shown to shoppers); empty means the farm's grower.
    harvester_name = forms.CharField(
        label=_("Harvester"),
        max_length=100,
        required=False,
        help_text=_("Who harvested, for food-safety regulators only. Leave empty for the farm's grower."),
    )
    harvester_phone = forms.CharField(
        label=_("Harvester's phone"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    reference_document = forms.CharField(label=_("Field tag or harvest record number"), max_length=64, required=False)
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
        try:
            return lifecycle.check_not_in_future(self.cleaned_data["occurred_at"])
        except ValidationError as exc:
            raise ValidationError(exc.messages)


# The key data elements of the farmer's forms that a correction may change. Quantities live on an
# event's lot lines, which a correction keeps: a wrong quantity is voided and recorded again.
CORRECTABLE_FACTS = ("temperature_c", "result", "lab", "test")
INCORRECT_DATA = TraceEvent.CorrectionReason.INCORRECT_DATA
DID_NOT_OCCUR = TraceEvent.CorrectionReason.DID_NOT_OCCUR


class CorrectionForm(forms.Form):
    """Correct or void a recorded event, saying why; for wrong details, the right ones (a blank
    field keeps the recorded value). Shapes the input only: services.record_correction decides
    what may be corrected and says why not."""

    reason = forms.ChoiceField(
        label=_("What is wrong?"),
        choices=[
            (INCORRECT_DATA, _("Some details are wrong: record the right ones")),
            (DID_NOT_OCCUR, _("It did not happen: void it")),
        ],
        initial=INCORRECT_DATA,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Why"),
        max_length=500,
        help_text=_("Kept with the record, e.g. the thermometer was misread."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    occurred_at = BatchEventForm.base_fields["occurred_at"]
    temperature_c = BatchEventForm.base_fields["temperature_c"]
    result = BatchEventForm.base_fields["result"]
    lab = BatchEventForm.base_fields["lab"]
    test = BatchEventForm.base_fields["test"]

    def __init__(self, *args, event: TraceEvent, **kwargs):
        initial = {name: event.data[name] for name in CORRECTABLE_FACTS if name in event.data}
        initial["occurred_at"] = self._minute(event.occurred_at)
        super().__init__(*args, initial=initial, **kwargs)
        self.event = event
        facts = [name for name in EVENT_FIELDS.get(event.kind, ()) if name in CORRECTABLE_FACTS]
        for name in CORRECTABLE_FACTS:
            if name not in facts:
                del self.fields[name]
        for name in ("occurred_at", *facts):
            self.fields[name].required = False

    @staticmethod
    def _minute(moment):
        return timezone.localtime(moment).replace(second=0, microsecond=0)

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        if value is None:
            return value
        try:
            return lifecycle.check_not_in_future(value)  # the one clock-skew rule of every door
        except ValidationError as exc:
            raise ValidationError(exc.messages)

    def corrected_facts(self) -> tuple[dict, object]:
        """(the details that differ from the recorded ones, the new time or None) for a correction
        of wrong details; ({}, None) for a voiding."""
        if self.cleaned_data["reason"] != INCORRECT_DATA:
            return {}, None
        data = {}
        for name in CORRECTABLE_FACTS:
            value = self.cleaned_data.get(name)
            if name not in self.fields or value in (None, ""):
                continue
            value = float(value) if name == "temperature_c" else value
            if value != self.event.data.get(name):
                data[name] = value
        moment = self.cleaned_data.get("occurred_at")
        if moment is not None and moment == self._minute(self.event.occurred_at):
            moment = None
        return data, moment


class ImportForm(forms.Form):
    village = forms.ModelChoiceField(label=_("Village"), queryset=None, empty_label=None)
    file = forms.FileField(
        label=_("CSV or Excel file"),
        help_text=_("Columns: farm, field, crop, quantity, unit, planted_on, harvested_on, lot_code."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )
    new_data = forms.BooleanField(
        label=_("This file was imported before, and this is new data"),
        required=False,
        help_text=_("Tick only if the same file really holds new batches: otherwise it is refused."),
    )

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages
        self.fields["village"].label_from_instance = lambda v: v.name()

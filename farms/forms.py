"""Forms of the village coordinator's pages. Shape and validate only; the views scope the choices."""

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from farms import vocabulary
from farms.models import Crop, Farm, Field, Village


class VillagePageForm(forms.ModelForm):
    """The public page content of a village: what a shopper reads after scanning."""

    class Meta:
        model = Village
        fields = ["story_zh", "story_en", "photo", "specialties", "address_zh", "address_en", "phone", "time_zone"]
        widgets = {
            "story_zh": forms.Textarea(attrs={"rows": 6}),
            "story_en": forms.Textarea(attrs={"rows": 6}),
            "specialties": forms.CheckboxSelectMultiple,
            "phone": forms.TextInput(attrs={"type": "tel"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["specialties"].queryset = Crop.objects.order_by("code")
        self.fields["specialties"].label_from_instance = lambda crop: crop.name()
        self.fields["photo"].widget.attrs["accept"] = "image/*"


class FarmForm(forms.ModelForm):
    """A farm. Its certifications are offered from the vocabulary (farms.vocabulary, in the
    reader's language) as a checklist, with a box for any other, one per line, kept as entered;
    the model stores both as its lines (Farm.save records a term given by its code in Chinese)."""

    known_certifications = forms.MultipleChoiceField(
        label=_("Certifications"), required=False, widget=forms.CheckboxSelectMultiple
    )
    field_order = ["village", "name_zh", "name_en", "grower_name", "contact_phone", "known_certifications"]

    class Meta:
        model = Farm
        fields = [
            "village",
            "name_zh",
            "name_en",
            "grower_name",
            "contact_phone",
            "address_zh",
            "address_en",
            "certifications",
            "notes",
            "photo",
        ]
        widgets = {
            "certifications": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "contact_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }
        labels = {"certifications": _("Other certifications")}
        help_texts = {"certifications": _("One per line, as written on the certificate.")}

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages
        self.fields["village"].empty_label = None
        self.fields["village"].label_from_instance = lambda village: village.name()
        self.fields["known_certifications"].choices = vocabulary.choices("certification", get_language() or "")
        self.fields["photo"].widget.attrs["accept"] = "image/*"
        if self.instance.pk is not None and not self.is_bound:
            lines = self.instance.certification_list()
            known = {line: vocabulary.canonical("certification", line) for line in lines}
            self.initial["known_certifications"] = [term for term in known.values() if term]
            self.initial["certifications"] = "\n".join(line for line, term in known.items() if term is None)

    def clean(self):
        cleaned = super().clean()
        checked = cleaned.get("known_certifications") or []
        cleaned["certifications"] = "\n".join([*checked, cleaned.get("certifications", "")]).strip()
        return cleaned


class FieldForm(forms.ModelForm):
    class Meta:
        model = Field
        fields = ["name_zh", "name_en", "latitude", "longitude", "area_mu", "photo"]
        widgets = {
            "latitude": forms.NumberInput(attrs={"step": "0.000001", "inputmode": "decimal"}),
            "longitude": forms.NumberInput(attrs={"step": "0.000001", "inputmode": "decimal"}),
            "area_mu": forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        }

    def __init__(self, *args, farm: Farm, **kwargs):
        super().__init__(*args, **kwargs)
        self.farm = farm
        self.fields["photo"].widget.attrs["accept"] = "image/*"
        if self.instance.pk is None:
            self.instance.farm = farm

    def clean_name_zh(self):
        name = self.cleaned_data["name_zh"]
        clash = Field.objects.filter(farm=self.farm, name_zh=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("This farm already has a field with this name."))
        return name

"""Forms of the village coordinator's pages. Shape and validate only; the views scope the choices."""

from django import forms
from django.utils.translation import gettext_lazy as _

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
        ]
        widgets = {
            "certifications": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "contact_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages
        self.fields["village"].empty_label = None
        self.fields["village"].label_from_instance = lambda village: village.name()


class FieldForm(forms.ModelForm):
    class Meta:
        model = Field
        fields = ["name_zh", "name_en", "latitude", "longitude", "area_mu"]
        widgets = {
            "latitude": forms.NumberInput(attrs={"step": "0.000001", "inputmode": "decimal"}),
            "longitude": forms.NumberInput(attrs={"step": "0.000001", "inputmode": "decimal"}),
            "area_mu": forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        }

    def __init__(self, *args, farm: Farm, **kwargs):
        super().__init__(*args, **kwargs)
        self.farm = farm
        if self.instance.pk is None:
            self.instance.farm = farm

    def clean_name_zh(self):
        name = self.cleaned_data["name_zh"]
        clash = Field.objects.filter(farm=self.farm, name_zh=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("This farm already has a field with this name."))
        return name

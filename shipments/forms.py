"""Forms of the retailer staff's shipment pages. The views pass in the scoped choices."""

from django import forms
from django.utils.translation import gettext_lazy as _

from farms.models import localized
from shipments.models import Shipment, Store


def store_label(store: Store) -> str:
    return f"{localized(store, 'name')} · {localized(store, 'city')}"


class ShipmentForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Destination store"), queryset=None, empty_label=None)
    origin_village = forms.ModelChoiceField(label=_("Origin village"), queryset=None, empty_label=None)
    carrier = forms.CharField(label=_("Carrier"), max_length=100, required=False)
    reference = forms.CharField(
        label=_("Reference document"),
        max_length=64,
        required=False,
        help_text=_("Bill of lading or delivery note number."),
    )

    def __init__(self, *args, stores, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        self.fields["store"].label_from_instance = store_label
        self.fields["origin_village"].queryset = villages
        self.fields["origin_village"].label_from_instance = lambda v: v.name()


class ShipmentFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)
    store = forms.ModelChoiceField(label=_("Store"), queryset=None, required=False, empty_label=_("All"))

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All")), *Shipment.Status.choices]
        self.fields["store"].queryset = stores
        self.fields["store"].label_from_instance = store_label

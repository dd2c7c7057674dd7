"""The "print labels" page and the label download: parse the form, call labels.render_labels."""

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from shipments import labels
from shipments.models import Retailer, Shipment


class LabelForm(forms.Form):
    """Shapes the request only; render_labels decides what is allowed and says why not."""

    layout = forms.ChoiceField(
        label=_("Layout"),
        choices=[(layout.name, layout.description) for layout in labels.LAYOUTS.values()],
        initial="a4-3x7",
        error_messages={
            "invalid_choice": format_lazy(
                _("Unknown layout “%(value)s”: choose one of {layouts}."), layouts=", ".join(labels.LAYOUTS)
            ),
        },
    )
    copies = forms.IntegerField(
        label=_("Copies"),
        initial=21,
        widget=forms.NumberInput(attrs={"min": labels.MIN_COPIES, "max": labels.MAX_COPIES}),
    )
    start = forms.IntegerField(
        label=_("Start at slot"),
        initial=1,
        help_text=_("On a sheet, the first free label (counted left to right, top to bottom)."),
        widget=forms.NumberInput(attrs={"min": 1, "max": max(layout.slots for layout in labels.LAYOUTS.values())}),
    )
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[("pdf", _("PDF (print at actual size)")), ("zpl", _("ZPL (Zebra thermal printers)"))],
        initial="pdf",
    )
    qr = forms.ChoiceField(label=_("The QR code carries"), choices=Retailer.LabelQr.choices, required=False)
    lot = forms.ChoiceField(
        label=_("Lot"),
        required=False,
        help_text=_("For a Digital Link of the product: the lot these labels go on."),
    )
    date_ai = forms.ChoiceField(label=_("Date in the Digital Link"), choices=Retailer.LabelDate.choices, required=False)
    day = forms.DateField(
        label=_("Date"),
        required=False,
        help_text=_("Empty: the lot's packing date (plus the retailer's shelf life for an expiry date)."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, shipment: Shipment, **kwargs):
        super().__init__(*args, **kwargs)
        self.retailer = retailer = shipment.store.retailer
        self.fields["qr"].initial = retailer.label_qr
        self.fields["date_ai"].initial = retailer.label_date
        lots = list(shipment.items.order_by("batch__lot_code").values_list("batch__lot_code", flat=True))
        self.fields["lot"].choices = [("", "—")] + [(lot, lot) for lot in lots]
        self.fields["lot"].initial = lots[0] if len(lots) == 1 else ""

    def content(self) -> labels.QrContent:
        """This print's choice; what the request leaves out is the retailer's."""
        data = self.cleaned_data
        return labels.QrContent.of_retailer(
            self.retailer,
            kind=data["qr"] or None,
            lot=data["lot"] or None,
            date_ai=data["date_ai"] if "date_ai" in self.data else None,
            day=data["day"],
        )


def _printable_shipment(request, code: str) -> Shipment:
    """The shipment, if this user may print its labels; anyone else gets the same 404 as a bad code."""
    shipment = (
        Shipment.objects.printable_by(request.user)
        .by_public_code(code)
        .select_related("origin_village", "store__retailer")
        .first()
    )
    if shipment is None:
        raise Http404("No such shipment.")
    return shipment


def _page(request, shipment: Shipment, form: LabelForm, status: int = 200) -> HttpResponse:
    items = shipment.items.select_related("batch__crop").order_by("batch__lot_code")
    context = {"shipment": shipment, "items": items, "form": form, "layouts": labels.LAYOUTS.values()}
    return render(request, "shipments/labels/print.html", context, status=status)


@require_GET
def print_labels(request, code: str) -> HttpResponse:
    shipment = _printable_shipment(request, code)
    return _page(request, shipment, LabelForm(shipment=shipment))


@require_GET
def download_labels(request, code: str) -> HttpResponse:
    """The PDF or ZPL file; bad input re-shows the form with the reason and status 400."""
    shipment = _printable_shipment(request, code)
    form = LabelForm(request.GET, shipment=shipment)
    if not form.is_valid():
        return _page(request, shipment, form, status=400)
    try:
        body, content_type, filename = labels.render_labels(
            shipment,
            form.cleaned_data["layout"],
            form.cleaned_data["copies"],
            form.cleaned_data["start"],
            form.cleaned_data["format"],
            form.content(),
        )
    except labels.LabelError as error:
        for problem in error.errors:
            form.add_error(problem.field, problem.message)
        return _page(request, shipment, form, status=400)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response

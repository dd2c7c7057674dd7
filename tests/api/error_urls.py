"""The project's URLs plus views that raise what they are told to, for tests of api.errors."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path
from rest_framework.views import APIView

from api import errors
from config.urls import handler404, handler500, urlpatterns
from shipments.services import ShipmentStateError, WrongOrigin
from traceability.services import BatchOnHold, NotAllowed

RAISES = {
    "invalid": errors.Invalid("That makes no sense."),
    "forbidden": errors.Forbidden("Not yours to change."),
    "not-found": errors.NotFound("No such lot."),
    "conflict": errors.Conflict("Already done."),
    "unprocessable": errors.Unprocessable("Cannot process."),
    "default-message": errors.Conflict(),
    "on-hold": BatchOnHold("Lot XJ-1 is on hold."),
    "not-allowed": NotAllowed("You may not recall lot XJ-1."),
    "shipment-state": ShipmentStateError("This shipment has left."),
    "wrong-origin": WrongOrigin("The farm is not in the origin village."),
    "bug": ValueError("a bug of ours"),
}


class Raiser(APIView):
    permission_classes = []

    def post(self, request, what):
        raise RAISES[what]


def web_raiser(request, what):
    with errors.refused(request) as refusal:
        raise RAISES[what]
    messages.info(request, f"refusal: {refusal.error.code}")
    return redirect("/next/")


def next_page(request):
    return HttpResponse(" | ".join(str(message) for message in messages.get_messages(request)))


urlpatterns = [
    path("api/v1/raise/<str:what>/", Raiser.as_view()),
    path("raise/<str:what>/", web_raiser),
    path("next/", next_page),
    *urlpatterns,
]
__all__ = ["handler404", "handler500", "urlpatterns"]

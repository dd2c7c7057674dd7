"""Service errors and what they mean in HTTP: one hierarchy, mapped once for the API and once for
the web pages.

A domain operation (`<app>/services.py`) that refuses raises a subclass of ServiceError with a
message for the person who asked (`traceability.services.BatchOnHold` is a Conflict,
`shipments.services.WrongOrigin` an Invalid). The API answers it through `exception_handler`
(DRF's EXCEPTION_HANDLER) in the error format below; a web page shows it with `refused`.
Nothing else catches these by type to choose a status code.

A plain ValueError is not a refusal but a bug: the API lets it become a 500 (logged), never a 400.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.fields import get_error_detail


class ServiceError(Exception):
    """A refusal by a domain operation. `status_code` and `code` are its HTTP meaning; the
    message (the first argument, or `default_message`) is shown to the person who asked."""

    status_code = 400
    code = "invalid"
    default_message = _("The request cannot be carried out.")

    def __init__(self, message: str | None = None):
        super().__init__(self.default_message if message is None else message)

    @property
    def message(self) -> str:
        return str(self.args[0])


class Invalid(ServiceError):
    """Input that is well-formed but makes no sense to the operation (400)."""


class Forbidden(ServiceError):
    """The caller may see the object but not do this to it (403). Whoever may not even see it
    never reaches the operation: the scoped lookup before it answers 404 (no existence oracle)."""

    status_code = 403
    code = "permission_denied"
    default_message = _("You do not have permission to perform this action.")


class NotFound(ServiceError):
    """The object the operation needs does not exist, or not for this caller (404)."""

    status_code = 404
    code = "not_found"
    default_message = _("Not found.")


class Conflict(ServiceError):
    """The request conflicts with the current state (409): a lot on hold, too little left, a
    shipment that has left, an Idempotency-Key still in use."""

    status_code = 409
    code = "conflict"
    default_message = _("The request conflicts with the current state of the resource.")


class Unprocessable(ServiceError):
    """Understood but cannot be processed (422): an Idempotency-Key reused with another body."""

    status_code = 422
    code = "unprocessable"
    default_message = _("The request cannot be processed.")


# ---------------------------------------------------------------------------------------------
# The API: {"error": {"code": ..., "message": ..., "fields": {...}}}


def _as_api_exception(exc: Exception) -> Exception:
    """Our refusals and the database's, as DRF exceptions; anything else unchanged."""
    if isinstance(exc, ServiceError):
        if exc.status_code == 400:
            return exceptions.ValidationError(exc.message)
        api_exc = exceptions.APIException(exc.message, code=exc.code)
        api_exc.status_code = exc.status_code
        return api_exc
    if isinstance(exc, ProtectedError | RestrictedError):
        return _as_api_exception(Conflict(_("Other records still refer to this one, so it cannot be deleted.")))
    if isinstance(exc, IntegrityError):
        # The constraints are the backstop of validation: a race between two requests lands here.
        return _as_api_exception(
            Conflict(_("The change conflicts with existing data (a duplicate or a limit); nothing was saved."))
        )
    if isinstance(exc, DataError):
        return exceptions.ValidationError(_("A value is out of range for the database; nothing was saved."))
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(get_error_detail(exc))
    return exc


def exception_handler(exc, context):
    """DRF's handler, plus service errors and database refusals mapped to client errors, in one
    error format. Anything else (a ValueError, a KeyError: our bugs) stays unhandled: Django logs
    it and answers 500 (api.views.server_error, in the same format)."""
    # Imported here: DRF's settings import this module while rest_framework.views is loading.
    from rest_framework.views import exception_handler as drf_exception_handler

    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = response.data
        if isinstance(detail, dict):
            fields = detail
        else:
            fields = {"non_field_errors": detail if isinstance(detail, list) else [detail]}
        message = _("The request is not valid: see the field messages.")
        code = "invalid"
    else:
        fields = {}
        detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
        message = detail.get("detail", detail) if isinstance(detail, dict) else detail
        code = getattr(message, "code", None) or getattr(exc, "default_code", "error")
    response.data = {"error": {"code": code, "message": str(message), "fields": fields}}
    return response


# ---------------------------------------------------------------------------------------------
# Web pages


class refused:  # lower case, as contextlib.suppress: it reads as a statement
    """Runs a domain operation for a web page: a ServiceError becomes an error message on the
    next page the person sees, and the block is left; anything else propagates (a bug is a 500).

        with refused(request) as refusal:
            services.cancel_shipment(shipment=shipment, actor=request.user)
        if not refusal:
            messages.success(request, _("Shipment cancelled."))
        return redirect(...)

    `refusal.error` is the ServiceError (or None); the page decides where to go next, as a
    form page sends itself back with its input and a 4xx status.
    """

    def __init__(self, request: HttpRequest):
        self.request = request
        self.error: ServiceError | None = None

    def __enter__(self) -> "refused":
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if isinstance(exc, ServiceError):
            self.error = exc
            messages.error(self.request, exc.message)
            return True
        return False

    def __bool__(self) -> bool:
        return self.error is not None

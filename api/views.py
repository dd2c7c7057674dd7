"""Views that belong to no domain app: API token login and logout, the health check, and the
404/500 handlers that answer in the API's error format under /api/."""

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.views import APIView

from api.base import StrictSerializer
from api.throttling import ScopedRateThrottle


class TokenRequestSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class TokenView(APIView):
    """POST a username and password to get your API token; DELETE it to revoke it."""

    throttle_scope = "token"

    def get_permissions(self):
        if self.request.method == "POST":
            return [permissions.AllowAny()]
        return [permissions.IsAuthenticated()]

    def get_throttles(self):
        return [*super().get_throttles(), ScopedRateThrottle()]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("Token", {"token": serializers.CharField()})},
        auth=[],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = authenticate(request=request._request, **serializer.validated_data)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Unable to log in with the username and password given."))
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: the process is up. Touches no database, so it is also the benchmarks' baseline."""
    return HttpResponse("ok", content_type="text/plain")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def api_error(code: str, message: str, status: int) -> HttpResponse:
    """The API's error format (api.errors.exception_handler), for errors that never reach DRF."""
    body = {"error": {"code": code, "message": message, "fields": {}}}
    # Chinese as UTF-8 text, as DRF's renderer writes it, not \u escapes.
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: JSON under /api/ (unmatched URLs never reach DRF), the site's 404 page elsewhere."""
    if _is_api(request):
        return api_error("not_found", gettext("Not found."), 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: JSON under /api/, Django's plain 500 page (templates/500.html) elsewhere."""
    if _is_api(request):
        return api_error("error", gettext("A server error occurred."), 500)
    return defaults.server_error(request)

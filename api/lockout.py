"""What a locked-out login attempt gets (django-axes' AXES_LOCKOUT_CALLABLE): the API's error
format under /api/, a translated page elsewhere. Both answer 429 and say when to try again."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.path.startswith("/api/"):
        message = gettext("Too many failed logins: try again in %(minutes)d minutes.") % {"minutes": minutes}
        body = {"error": {"code": "locked_out", "message": message, "fields": {}}}
        response = JsonResponse(body, status=429, json_dumps_params={"ensure_ascii": False})
        response["Retry-After"] = str(minutes * 60)
        return response
    response = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response

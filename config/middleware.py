"""Request plumbing that must run before anything reads the host or the path."""

from urllib.parse import unquote

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse


def health_check(get_response):
    """`GET /healthz` answers whatever the Host header, so a load balancer can check each app
    server by its IP address (a host not in ALLOWED_HOSTS is a 400 everywhere else). With an
    allowed host it goes through the whole stack like any page (the benchmarks' bare baseline)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path_info == "/healthz" and request.method in ("GET", "HEAD"):
            try:
                request.get_host()
            except DisallowedHost:
                return HttpResponse("ok", content_type="text/plain")  # as the healthz view answers
        return get_response(request)

    return middleware


def refuse_nul_bytes(get_response):
    """A NUL byte in the path or the query string is a 400: PostgreSQL refuses NUL in text, so
    it would otherwise reach a lookup and fail as a 500. Nothing legitimate ever sends one."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or "\x00" in unquote(request.META.get("QUERY_STRING", "")):
            message = "NUL bytes are not allowed in the address."
            if request.path.startswith("/api/"):
                body = {"error": {"code": "invalid", "message": message, "fields": {}}}
                return JsonResponse(body, status=400)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware

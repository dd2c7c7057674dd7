from django.http import HttpRequest, HttpResponse


def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: the process is up. Touches no database, so it is also the benchmarks' baseline."""
    return HttpResponse("ok", content_type="text/plain")

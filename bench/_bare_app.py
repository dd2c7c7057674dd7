"""The floor for bench/scan_page.py: a one-file Django application with no middleware, no apps, no
database and one view answering "ok". bench/scan_page.py serves it under the same gunicorn as the
project, so the gap between it and the project's /healthz is the project's middleware and URL
resolution, and the gap to the consumer page is the page itself.

    .venv/bin/gunicorn --chdir bench _bare_app:application

(The leading underscore keeps bench/run_all.py from running it as a benchmark.)
"""

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-bare-app-" + "x" * 40,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_I18N=False,
)

from django.core.wsgi import get_wsgi_application  # noqa: E402 (settings first)
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402


def ok(request: HttpRequest) -> HttpResponse:
    # Content-Length as the project's CommonMiddleware sets it, so gunicorn does not chunk the body.
    return HttpResponse(b"ok", content_type="text/plain", headers={"Content-Length": "2"})


urlpatterns = [path("", ok)]
application = get_wsgi_application()

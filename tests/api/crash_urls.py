"""The project's URLs plus one view that crashes, to exercise handler500 (tests only)."""

from django.urls import path

from config.urls import handler404, handler500, urlpatterns


def crash(request):
    raise RuntimeError("a bug")


urlpatterns = [path("api/v1/crash/", crash), path("crash/", crash), *urlpatterns]
__all__ = ["handler404", "handler500", "urlpatterns"]

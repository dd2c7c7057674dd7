"""Public, anonymous URLs: the QR target and its images. `/S/` too, so an all-uppercase URL
(the densest QR encoding, which some scanners pass on as is) still lands on the page."""

from django.urls import path

from shipments import public

urlpatterns = [
    path("s/<str:code>", public.page, name="public-page"),
    path("S/<str:code>", public.page),
    path("s/<str:code>/qr.png", public.qr_png, name="public-qr-png"),
    path("s/<str:code>/qr.svg", public.qr_svg, name="public-qr-svg"),
]

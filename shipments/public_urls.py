"""Public, anonymous URLs: the QR target and its images. `/S/` too, so an all-uppercase URL
(the densest QR encoding, which some scanners pass on as is) still lands on the page."""

from django.urls import path

from shipments import product_page, public

urlpatterns = [
    path("s/<str:code>", public.page, name="public-page"),
    path("S/<str:code>", public.page),
    path("s/<str:code>/qr.png", public.qr_png, name="public-qr-png"),
    path("s/<str:code>/qr.svg", public.qr_svg, name="public-qr-svg"),
]

# The product page of a GTIN (the default link of /01/{GTIN} in the Digital Link resolver).
urlpatterns += [path("p/<str:gtin>", product_page.product_page, name="product-page")]

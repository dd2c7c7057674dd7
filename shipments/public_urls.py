"""Public, anonymous URLs: the QR target and its images. `/S/` too, so an all-uppercase URL
(the densest QR encoding, which some scanners pass on as is) still lands on the page."""

from django.urls import path, re_path

from shipments import id_views, product_page, public
from traceability.lot_codes import URL_PATTERN as LOT_CODE

urlpatterns = [
    path("s/<str:code>", public.page, name="public-page"),
    path("S/<str:code>", public.page),
    path("s/<str:code>/qr.png", public.qr_png, name="public-qr-png"),
    path("s/<str:code>/qr.svg", public.qr_svg, name="public-qr-svg"),
]

# The product page of a GTIN (the default link of /01/{GTIN} in the Digital Link resolver).
urlpatterns += [path("p/<str:gtin>", product_page.product_page, name="product-page")]

# What the identifiers of our EPCIS documents lead to (traceability/identifiers.py makes them).
urlpatterns += [
    re_path(rf"^id/lot/(?P<code>{LOT_CODE})$", id_views.lot, name="id-lot"),
    path("id/village/<str:code>", id_views.village, name="id-village"),
    path("id/farm/<int:pk>", id_views.farm, name="id-farm"),
    path("id/store/<int:pk>", id_views.store, name="id-store"),
    path("id/retailer/<int:pk>", id_views.retailer, name="id-retailer"),
    path("ns/trace", id_views.namespace, name="ns-trace"),
]

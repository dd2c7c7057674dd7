from django.urls import path, re_path

from shipments import digital_link_views

urlpatterns = [
    path(".well-known/gs1resolver", digital_link_views.resolver_description, name="gs1-resolver"),
    re_path(r"^01/", digital_link_views.resolve, name="digital-link"),
    re_path(r"^00/", digital_link_views.resolve, name="digital-link-sscc"),
]

# A fully compressed Digital Link is one base64url segment at the root (10 characters at least:
# the shortest, a GTIN alone, has 55 bits). config/urls.py includes this last, after every page.
compressed_urlpatterns = [
    re_path(r"^[A-Za-z0-9_-]{10,}$", digital_link_views.resolve, name="digital-link-compressed"),
]

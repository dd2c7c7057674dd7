from django.urls import path, re_path

from shipments import digital_link_views

urlpatterns = [
    path(".well-known/gs1resolver", digital_link_views.resolver_description, name="gs1-resolver"),
    re_path(r"^01/(?P<path>.+)$", digital_link_views.resolve, name="digital-link"),
]

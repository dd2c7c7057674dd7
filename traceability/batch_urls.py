"""The batch pages of the web app, lot codes matched by the one lot-code rule."""

from django.urls import path, re_path

from traceability import batch_views, offline_views
from traceability.lot_codes import URL_PATTERN as LOT

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

urlpatterns = [
    # The web app for phones: its worker's scope is the path it is served from, so it is served at the root.
    path("sw.js", offline_views.service_worker, name="service_worker"),
    path("manifest.webmanifest", offline_views.manifest, name="web_manifest"),
    path("batches/outbox/", offline_views.outbox, name="outbox"),
    path("batches/outbox/data.json", offline_views.offline_data, name="offline_data"),
    path("batches/outbox/session.json", offline_views.outbox_session, name="outbox_session"),
    path("batches/record/<str:kind>/", offline_views.event_form_page, name="event_form_page"),
    path("batches/", batch_views.batch_list, name="batch_list"),
    path("batches/new/", batch_views.batch_create, name="batch_create"),
    path("batches/import/", batch_views.batch_import, name="batch_import"),
    path("batches/import/sample.csv", batch_views.batch_import_sample, name="batch_import_sample"),
    path("holds/<int:pk>/<str:decision>/", batch_views.hold_decide, name="hold_decide"),
    re_path(
        rf"^batches/(?P<lot_code>{LOT})/record/(?P<kind>[a-z_]+)/$",
        batch_views.batch_event,
        name="batch_event",
    ),
    re_path(
        rf"^batches/(?P<lot_code>{LOT})/events/(?P<client_id>{UUID})/correct/$",
        batch_views.batch_event_correct,
        name="batch_event_correct",
    ),
    re_path(rf"^batches/(?P<lot_code>{LOT})/$", batch_views.batch_detail, name="batch_detail"),
]

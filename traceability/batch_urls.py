"""The batch pages of the web app. Lot codes may contain '/', so they are matched with re_path."""

from django.urls import path, re_path

from traceability import batch_views

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

urlpatterns = [
    path("batches/", batch_views.batch_list, name="batch_list"),
    path("batches/new/", batch_views.batch_create, name="batch_create"),
    path("batches/import/", batch_views.batch_import, name="batch_import"),
    path("batches/import/sample.csv", batch_views.batch_import_sample, name="batch_import_sample"),
    path("holds/<int:pk>/<str:decision>/", batch_views.hold_decide, name="hold_decide"),
    re_path(
        r"^batches/(?P<lot_code>[A-Za-z0-9][A-Za-z0-9._/-]*)/record/(?P<kind>[a-z_]+)/$",
        batch_views.batch_event,
        name="batch_event",
    ),
    re_path(
        rf"^batches/(?P<lot_code>[A-Za-z0-9][A-Za-z0-9._/-]*)/events/(?P<client_id>{UUID})/correct/$",
        batch_views.batch_event_correct,
        name="batch_event_correct",
    ),
    re_path(r"^batches/(?P<lot_code>[A-Za-z0-9][A-Za-z0-9._/-]*)/$", batch_views.batch_detail, name="batch_detail"),
]

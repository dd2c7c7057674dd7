from django.urls import path

from shipments import label_views

app_name = "labels"

urlpatterns = [
    path("shipments/<str:code>/labels/", label_views.print_labels, name="print"),
    path("shipments/<str:code>/labels/download", label_views.download_labels, name="download"),
]

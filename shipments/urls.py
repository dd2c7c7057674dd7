from django.urls import include, path

from shipments import views
from shipments.home import home

urlpatterns = [
    # The home page shows each role what it needs next, so it reads all three apps: routed from
    # the top of the dependency order.
    path("", home, name="home"),
    path("", include("traceability.batch_urls")),
    path("shipments/", views.shipment_list, name="shipment_list"),
    path("shipments/new/", views.shipment_create, name="shipment_create"),
    path("shipments/<str:code>/", views.shipment_detail, name="shipment_detail"),
    path("shipments/<str:code>/items/", views.shipment_add_items, name="shipment_add_items"),
    path("shipments/<str:code>/items/remove/", views.shipment_remove_item, name="shipment_remove_item"),
    # A recall's affected shipments live here, not in traceability, which never imports shipments.
    path("recalls/<int:pk>/shipments/", views.recall_shipments, name="recall_shipments"),
    path("recalls/<int:pk>/shipments.csv", views.recall_shipments_csv, name="recall_shipments_csv"),
    path("shipments/<str:code>/<str:action>/", views.shipment_action, name="shipment_action"),
]

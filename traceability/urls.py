from django.urls import path

from traceability import views

urlpatterns = [
    path("trace/", views.trace, name="trace"),
    path("trace/export/<str:name>", views.export, name="trace_export"),
    path("recalls/", views.recall_list, name="recall_list"),
    path("recalls/open/", views.recall_open, name="recall_open"),
    path("recalls/<int:pk>/", views.recall_detail, name="recall_detail"),
    path("recalls/<int:pk>/close/", views.recall_close, name="recall_close"),
    path("recalls/<int:pk>/record.csv", views.recall_export, name="recall_export"),
]

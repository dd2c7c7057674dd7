from django.urls import include, path

from farms import views

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("village/", views.village_list, name="village_list"),
    path("village/<str:code>/", views.village_edit, name="village_edit"),
    path("farms/", views.farm_list, name="farm_list"),
    path("farms/new/", views.farm_create, name="farm_create"),
    path("farms/<int:pk>/", views.farm_edit, name="farm_edit"),
    path("farms/<int:farm_pk>/fields/new/", views.field_create, name="field_create"),
    path("fields/<int:pk>/", views.field_edit, name="field_edit"),
]

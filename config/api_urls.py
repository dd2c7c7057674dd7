"""The REST API under /api/: version 1 resources, the OpenAPI schema and its browsable docs."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from api.views import TokenView
from farms.api import CropViewSet, FarmViewSet, FieldViewSet, RecipeViewSet, VillageViewSet, VocabularyView
from shipments.api import MeView, RetailerViewSet, ScanViewSet, ShipmentViewSet, StoreViewSet
from traceability.api import (
    AlertViewSet,
    BatchViewSet,
    HoldViewSet,
    RecallViewSet,
    TraceEventViewSet,
    TransformationViewSet,
)

router = DefaultRouter()
router.register("villages", VillageViewSet, basename="village")
router.register("farms", FarmViewSet, basename="farm")
router.register("fields", FieldViewSet, basename="field")
router.register("crops", CropViewSet, basename="crop")
router.register("recipes", RecipeViewSet, basename="recipe")
router.register("batches", BatchViewSet, basename="batch")
router.register("events", TraceEventViewSet, basename="event")
router.register("recalls", RecallViewSet, basename="recall")
router.register("holds", HoldViewSet, basename="hold")
router.register("transformations", TransformationViewSet, basename="transformation")
router.register("alerts", AlertViewSet, basename="alert")
router.register("retailers", RetailerViewSet, basename="retailer")
router.register("stores", StoreViewSet, basename="store")
router.register("shipments", ShipmentViewSet, basename="shipment")
router.register("scans", ScanViewSet, basename="scan")

app_name = "api"
urlpatterns = [
    path("v1/auth/token/", TokenView.as_view(), name="token"),
    path("v1/me/", MeView.as_view(), name="me"),
    path("v1/vocabulary/", VocabularyView.as_view(), name="vocabulary"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # Redoc writes its styles into the page at run time and runs its search in a worker made
    # from a blob: inline styles and that worker there, never inline scripts.
    path(
        "docs/redoc/",
        csp_update({"style-src": [SELF, UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})(
            SpectacularRedocView.as_view(url_name="api:schema")
        ),
        name="redoc",
    ),
]

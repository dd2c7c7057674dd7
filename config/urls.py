from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from api import views
from shipments import digital_link_urls

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    # Public, anonymous pages: the QR target, its images, GS1 Digital Link.
    path("", include("shipments.public_urls")),
    path("", include("shipments.digital_link_urls")),
    # Staff pages of each app.
    path("", include("shipments.label_urls")),
    path("", include("traceability.urls")),
    path("", include("farms.urls")),
    path("", include("shipments.urls")),
    # Last: a compressed GS1 Digital Link is any one-segment path no page above claims.
    path("", include(digital_link_urls.compressed_urlpatterns)),
]

# Unmatched URLs and crashes: JSON in the API's error format under /api/, HTML pages elsewhere.
handler404 = "api.views.page_not_found"
handler500 = "api.views.server_error"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShipmentsConfig(AppConfig):
    name = "shipments"
    verbose_name = _("Shipments and stores")

    def ready(self) -> None:
        # Connects the consumer page's invalidation to batches_changed and model saves.
        from shipments import page_invalidation  # noqa: F401

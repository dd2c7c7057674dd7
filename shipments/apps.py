from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShipmentsConfig(AppConfig):
    name = "shipments"
    verbose_name = _("Shipments and stores")

    def ready(self) -> None:
        # Connects the consumer page's cache invalidation to batches_changed and model saves.
        from shipments import (
            checks,  # noqa: F401  (registers the deploy check)
            public_cache,  # noqa: F401
        )

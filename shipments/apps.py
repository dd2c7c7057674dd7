from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShipmentsConfig(AppConfig):
    name = "shipments"
    verbose_name = _("Shipments and stores")

    def ready(self) -> None:
        # page_invalidation connects the consumer page's invalidation to batches_changed and
        # model saves; verification adds the checks of shipments and allocations to every
        # verification of the event chains.
        from shipments import (
            checks,  # noqa: F401  (registers the deploy check)
            page_invalidation,  # noqa: F401
            verification,  # noqa: F401
        )

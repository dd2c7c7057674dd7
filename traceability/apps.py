from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TraceabilityConfig(AppConfig):
    name = "traceability"
    verbose_name = _("Traceability")

    def ready(self) -> None:
        # Announces batches saved through the model (see signals._batch_saved).
        from traceability import signals  # noqa: F401

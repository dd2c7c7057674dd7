from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """The stored outcome of one API POST sent with an Idempotency-Key (see api.idempotency).

    A row without `status_code` is a request still running; the unique constraint makes two
    concurrent requests with one key race for a single row, so only one of them runs.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    route = models.CharField(max_length=512, help_text=_("Method and path the key was used on."))
    fingerprint = models.CharField(max_length=64, help_text=_("SHA-256 of the request body."))
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        indexes = [models.Index(fields=["created_at"])]
        constraints = [models.UniqueConstraint(fields=["user", "route", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.route} {self.key}"

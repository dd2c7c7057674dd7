"""The API's permission of the farms roles, in its own module: DRF imports its default
permission classes (settings.REST_FRAMEWORK) while rest_framework.views loads, so this module
must not import views or viewsets."""

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from farms.models import Membership


class AuditorsReadOnly(permissions.BasePermission):
    """Auditors read everything and change nothing (DESIGN.md section 9)."""

    message = _("Auditors have read-only access.")

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS or not request.user.is_authenticated:
            return True
        if request.user.is_superuser:
            return True
        return not Membership.objects.filter(user=request.user, role=Membership.Role.AUDITOR).exists()

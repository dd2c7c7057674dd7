"""What the signed-in person is, for the header's navigation and the home page."""

from django import template

from farms.models import localized
from traceability.permissions import Roles
from traceability.permissions import roles as roles_for

register = template.Library()

__all__ = ["Roles", "roles_for"]


@register.simple_tag
def user_roles(user) -> Roles:
    return roles_for(user)


@register.filter
def local(obj, field: str) -> str:
    """`{{ store|local:"name" }}`: the English text in English when there is one, else the Chinese."""
    return localized(obj, field)

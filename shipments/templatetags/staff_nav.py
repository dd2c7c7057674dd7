"""What the signed-in person is, for the header's navigation and the home page."""

from dataclasses import dataclass

from django import template

from farms.models import Membership, localized

register = template.Library()


@dataclass(frozen=True)
class Roles:
    farmer: bool = False
    coordinator: bool = False
    retailer: bool = False
    auditor: bool = False

    @property
    def village_member(self) -> bool:
        return self.farmer or self.coordinator


def roles_for(user) -> Roles:
    """The roles a user holds, computed once per request (the result is kept on the user object)."""
    if not user.is_authenticated:
        return Roles()
    cached = getattr(user, "_staff_roles", None)
    if cached is None:
        village_roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
        cached = Roles(
            farmer=Membership.Role.FARMER in village_roles,
            coordinator=Membership.Role.COORDINATOR in village_roles,
            retailer=user.is_superuser or user.retailer_roles.exists(),
            auditor=user.is_superuser or Membership.Role.AUDITOR in village_roles,
        )
        user._staff_roles = cached
    return cached


@register.simple_tag
def user_roles(user) -> Roles:
    return roles_for(user)


@register.filter
def local(obj, field: str) -> str:
    """`{{ store|local:"name" }}`: the English text in English when there is one, else the Chinese."""
    return localized(obj, field)

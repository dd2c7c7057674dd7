"""GS1 check digits: pure functions plus a database constraint that computes the same rule.

GS1 rule: weight the digits before the check digit 3, 1, 3, 1... from the right, sum them,
check = (10 - sum mod 10) mod 10. Equivalently, with the check digit weighted 1, the weighted
sum of all digits is a multiple of 10; the constraint below uses that form.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Mod, StrIndex, Substr
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _


def check_digit(body: str) -> int:
    """The GS1 check digit for `body` (all digits but the last)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid(code: str, length: int) -> bool:
    return len(code) == length and code.isdigit() and check_digit(code[:-1]) == int(code[-1])


def validate_gtin(value: str) -> None:
    if not is_valid(value, 14):
        raise ValidationError(
            _("A GTIN must be 14 digits with a valid GS1 check digit."),
            code="invalid_gtin",
        )


def validate_gln(value: str) -> None:
    if not is_valid(value, 13):
        raise ValidationError(
            _("A GLN must be 13 digits with a valid GS1 check digit."),
            code="invalid_gln",
        )


def check_constraint(field: str, length: int, name: str) -> models.CheckConstraint:
    """A CHECK constraint that lets NULL through and otherwise demands `length` digits with a valid
    GS1 check digit. Digits are read with STRPOS into '0123456789' rather than a cast, so a
    non-digit fails the check instead of raising a cast error."""
    weighted = None
    for position in range(1, length + 1):
        weight = 3 if (length - position) % 2 == 1 else 1
        digit = StrIndex(models.Value("0123456789"), Substr(field, position, 1)) - 1
        term = digit * weight
        weighted = term if weighted is None else weighted + term
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__isnull": True})
        | (models.Q(**{f"{field}__regex": rf"^[0-9]{{{length}}}$"}) & Exact(Mod(weighted, 10), 0)),
        name=name,
        violation_error_message=_("Invalid GS1 identifier: wrong length or check digit."),
    )


def validate_company_prefix(value: str) -> None:
    if not (value.isascii() and value.isdigit() and 7 <= len(value) <= 10):
        raise ValidationError(
            _("A GS1 company prefix is 7 to 10 digits, as GS1 assigned it."),
            code="invalid_company_prefix",
        )


def sscc(prefix: str, serial_reference: int, extension: int = 0) -> str:
    """The 18-digit SSCC (AI 00): extension digit, company prefix, serial reference zero-padded to
    fill the 16 digits left for prefix and reference, check digit. ValueError if the reference
    does not fit (a 7-digit prefix leaves 9 digits, a 10-digit one 6)."""
    digits = 16 - len(prefix)
    if not 0 <= serial_reference < 10**digits or not 0 <= extension <= 9:
        raise ValueError(f"serial reference {serial_reference} does not fit {digits} digits")
    body = f"{extension}{prefix}{serial_reference:0{digits}d}"
    return body + str(check_digit(body))

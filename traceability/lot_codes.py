"""The one lot-code rule, which every door uses: the model field and its CHECK constraint, the
API, the import, the admin (through the model field), register_batch, and the URL patterns.

1 to 40 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit. These are RFC 3986's
unreserved characters, so a code sits in a URL path or query as it is (a `/` made a lot
unreachable), and all are in GS1's character set 82, so a code of at most 20 characters is also
a valid GS1 batch/lot (AI 10) in a Digital Link. Generated codes
(`{village}-{crop}-{YYYYMMDD}-{NNN}`) follow the same rule and fit in 30.

A few words are the addresses of the batch pages themselves (`/batches/new/`, `/batches/import/`,
`/batches/outbox/`): a lot with such a code could never be opened, so they are refused whatever
their case (`RESERVED`), by the same validator and by a CHECK constraint of its own.
"""

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

MAX_LENGTH = 40
# For URL patterns: the same characters, no anchors.
URL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}"
PATTERN = rf"^{URL_PATTERN}$"
MESSAGE = _("A lot code is 1 to 40 letters, digits and . _ - and starts with a letter or digit.")

# The batch pages' own addresses under /batches/ (traceability/batch_urls.py), lowercase.
RESERVED = ("new", "import", "outbox")
# For the CHECK constraint (`lot_code__iregex`): any case.
RESERVED_PATTERN = rf"^({'|'.join(RESERVED)})$"
RESERVED_MESSAGE = _("“%(code)s” is the address of a batch page, so it cannot be a lot code: choose another.")

# \Z, not $: `$` also matches before a final newline.
_format = RegexValidator(rf"^{URL_PATTERN}\Z", MESSAGE, code="invalid_lot_code")


def validate_lot_code(value: str) -> None:
    """The rule, as a validator: the alphabet, then the reserved words."""
    _format(value)
    if is_reserved(value):
        raise ValidationError(RESERVED_MESSAGE, code="reserved_lot_code", params={"code": value})


def is_lot_code(text: str) -> bool:
    """Written in the lot-code alphabet (a reserved word is, see `is_reserved`)."""
    return re.fullmatch(URL_PATTERN, text) is not None


def is_reserved(text: str) -> bool:
    return text.casefold() in RESERVED

"""The one lot-code rule, which every door uses: the model field and its CHECK constraint, the
API, the import, the admin (through the model field), register_batch, and the URL patterns.

1 to 40 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit. These are RFC 3986's
unreserved characters, so a code sits in a URL path or query as it is (a `/` made a lot
unreachable), and all are in GS1's character set 82, so a code of at most 20 characters is also
a valid GS1 batch/lot (AI 10) in a Digital Link. Generated codes
(`{village}-{crop}-{YYYYMMDD}-{NNN}`) follow the same rule and fit in 30.
"""

import re

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

MAX_LENGTH = 40
# For URL patterns: the same characters, no anchors.
URL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}"
PATTERN = rf"^{URL_PATTERN}$"
MESSAGE = _("A lot code is 1 to 40 letters, digits and . _ - and starts with a letter or digit.")

# \Z, not $: `$` also matches before a final newline.
validate_lot_code = RegexValidator(rf"^{URL_PATTERN}\Z", MESSAGE, code="invalid_lot_code")


def is_lot_code(text: str) -> bool:
    return re.fullmatch(URL_PATTERN, text) is not None

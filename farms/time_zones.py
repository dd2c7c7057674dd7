"""The one time-zone rule every door uses: an IANA name the server's zoneinfo database knows.

Villages and stores record where they are as a time zone (`Asia/Shanghai`, `Asia/Urumqi`, ...), so
an export can give each event the offset of the place where it happened (traceability.places).
The model fields carry `validate_time_zone`, so model forms, the admin, the API's model serializers
and `full_clean()` all ask it.
"""

import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

DEFAULT_TIME_ZONE = "Asia/Shanghai"


@lru_cache(maxsize=1)
def known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in known_time_zones():
        raise ValidationError(
            _("%(value)s is not a known time zone: use an IANA name such as Asia/Shanghai."),
            code="invalid_time_zone",
            params={"value": value},
        )

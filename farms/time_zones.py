"""The one time-zone rule every door uses: an IANA name the server's zoneinfo database knows.

Villages and stores record where they are as a time zone (`Asia/Shanghai`, `Asia/Urumqi`, ...), so
an export can give each event the offset of the place where it happened (traceability.places).
Both places' column is `time_zone_field()`, which carries `validate_time_zone`, so model forms, the
admin, the API's model serializers and `full_clean()` all ask it.
"""

import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.db import models
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


def time_zone_field(help_text) -> models.CharField:
    """The time-zone column of a place (a village, a store): the rule, the default, and a database
    default so rows written by code that predates the column still get one."""
    return models.CharField(
        _("time zone"),
        max_length=64,
        default=DEFAULT_TIME_ZONE,
        db_default=DEFAULT_TIME_ZONE,
        validators=[validate_time_zone],
        help_text=help_text,
    )

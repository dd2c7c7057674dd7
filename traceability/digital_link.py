"""GS1 Digital Link URIs for lots: build and parse `/01/{GTIN-14}[/22/{cpv}][/10/{lot}][/21/{serial}]`.

Framework-free but for gettext: a MalformedLink's message is for people (the resolver answers
with it), so it is translated, in the active language, when raised. Follows the GS1 Digital Link
standard's syntax: the primary key GTIN (AI 01) is padded to 14 digits and must carry a valid
check digit; key qualifiers appear in the order 22, 10, 21; their values are 1 to 20 characters
of GS1's 82-character set (AI encodable set 82), percent-encoded in the URI where needed.
"""

import re
import string
from dataclasses import dataclass
from urllib.parse import quote, unquote

from django.utils.translation import gettext as _

from farms import gs1

# GS1 AI encodable character set 82.
CSET82 = set(string.ascii_letters + string.digits + "!\"%&'()*+,-./:;<=>?_")
QUALIFIERS = ("22", "10", "21")
MAX_LENGTH = {"22": 20, "10": 20, "21": 20}


class MalformedLink(ValueError):
    """The path is not a valid GS1 Digital Link URI path; the message says what is wrong."""


@dataclass(frozen=True)
class DigitalLink:
    gtin: str
    cpv: str | None = None
    lot: str | None = None
    serial: str | None = None

    def path(self) -> str:
        parts = [f"/01/{self.gtin}"]
        for ai, value in (("22", self.cpv), ("10", self.lot), ("21", self.serial)):
            if value is not None:
                parts.append(f"/{ai}/{quote(value, safe='')}")
        return "".join(parts)


def normalise_gtin(raw: str) -> str:
    if not raw.isdigit() or len(raw) not in (8, 12, 13, 14):
        raise MalformedLink(_("GTIN %(gtin)s must be 8, 12, 13 or 14 digits.") % {"gtin": repr(raw)})
    gtin = raw.zfill(14)
    if not gs1.is_valid(gtin, 14):
        raise MalformedLink(_("GTIN %(gtin)s has a wrong check digit.") % {"gtin": repr(raw)})
    return gtin


def check_value(ai: str, value: str) -> str:
    if not 1 <= len(value) <= MAX_LENGTH[ai]:
        raise MalformedLink(_("AI %(ai)s must be 1 to %(max)s characters.") % {"ai": ai, "max": MAX_LENGTH[ai]})
    if not set(value) <= CSET82:
        raise MalformedLink(_("AI %(ai)s has characters outside GS1's 82-character set.") % {"ai": ai})
    return value


def build(gtin: str, *, lot: str | None = None, serial: str | None = None, cpv: str | None = None) -> DigitalLink:
    link = DigitalLink(
        gtin=normalise_gtin(gtin),
        cpv=None if cpv is None else check_value("22", cpv),
        lot=None if lot is None else check_value("10", lot),
        serial=None if serial is None else check_value("21", serial),
    )
    return link


_SEGMENT = re.compile(r"^/01/([^/]+)((?:/[^/]+/[^/]+)*)/?$")


def parse(path: str) -> DigitalLink:
    """Parse the path of a Digital Link URI (no host, no query). Raises MalformedLink."""
    match = _SEGMENT.match(path)
    if not match:
        raise MalformedLink(_("The path must start with /01/{GTIN} followed by AI/value pairs."))
    values: dict[str, str] = {}
    pairs = match.group(2).strip("/").split("/") if match.group(2) else []
    last_position = -1
    for ai, raw in zip(pairs[::2], pairs[1::2], strict=True):
        if ai not in QUALIFIERS:
            raise MalformedLink(_("AI %(ai)s is not a key qualifier of GTIN (expected 22, 10 or 21).") % {"ai": ai})
        position = QUALIFIERS.index(ai)
        if position <= last_position:
            raise MalformedLink(_("Key qualifiers must appear once each, in the order 22, 10, 21."))
        last_position = position
        values[ai] = check_value(ai, unquote(raw))
    return DigitalLink(
        gtin=normalise_gtin(match.group(1)), cpv=values.get("22"), lot=values.get("10"), serial=values.get("21")
    )

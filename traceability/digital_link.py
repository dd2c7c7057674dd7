"""GS1 Digital Link URIs: build them, parse them, and write their GS1 element strings.

Framework-free but for gettext: a MalformedLink's message is for people (the resolver answers
with it), so it is translated, in the active language, when raised. Follows GS1 Digital Link URI
syntax 1.4/1.5 as GS1's own parser (gs1/gs1-syntax-engine, `gs1_parseDLuri`) applies it:

- the path holds a primary key (AI 01 GTIN or AI 00 SSCC), found as the rightmost key of the
  path, then its key qualifiers: for a GTIN, 22, 10, 21 in that order, each at most once, or 235
  alone; an SSCC has none;
- the query string holds data attributes (AI 17, 13, 3103...); numeric keys must be AIs we know,
  other keys (linkType, anything of the caller's) are ignored here and passed on by the resolver;
  an AI that could be a key qualifier of the path belongs in the path, and no AI may appear twice;
- each value is percent-decoded exactly once (in the query, "+" also means a space), must not
  decode to NUL, and must fit its AI's format (digits and length, check digit, YYMMDD date, or 1
  to n characters of GS1's 82-character set).

Only the AIs in `AIS` are known: the keys and qualifiers we resolve and the data attributes a
label or a till may carry. A real AI outside that table is refused like an unknown one.
"""

import calendar
import re
import string
from dataclasses import dataclass
from urllib.parse import quote

from django.utils.translation import gettext as _

from farms import gs1

# GS1 AI encodable character set 82.
CSET82 = frozenset(string.ascii_letters + string.digits + "!\"%&'()*+,-./:;<=>?_")
# What a URI may contain at all (RFC 3986), and what may not appear in its host.
URI_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
BAD_HOST_CHARACTERS = frozenset("_~?#@!$&'()*+,;=%")
SCHEMES = ("https://", "HTTPS://", "http://", "HTTP://")
# AIs whose length GS1 predefines: no FNC1 separator follows them in an element string.
PREDEFINED_LENGTH = ("00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20")
PREDEFINED_LENGTH += ("31", "32", "33", "34", "35", "36", "41")


@dataclass(frozen=True)
class AI:
    """One GS1 Application Identifier as far as we check it."""

    code: str
    title: str
    numeric: bool  # digits only (else GS1's 82-character set)
    min_length: int
    max_length: int
    check_digit: bool = False
    date: bool = False  # YYMMDD, DD may be 00
    attribute: bool = True  # may be a data attribute in a URI's query string


def _ais() -> dict[str, AI]:
    table = [
        AI("00", "SSCC", True, 18, 18, check_digit=True, attribute=False),
        AI("01", "GTIN", True, 14, 14, check_digit=True, attribute=False),
        AI("02", "CONTENT", True, 14, 14, check_digit=True),
        AI("10", "BATCH/LOT", False, 1, 20),
        AI("11", "PROD DATE", True, 6, 6, date=True),
        AI("13", "PACK DATE", True, 6, 6, date=True),
        AI("15", "BEST BEFORE", True, 6, 6, date=True),
        AI("16", "SELL BY", True, 6, 6, date=True),
        AI("17", "USE BY OR EXPIRY", True, 6, 6, date=True),
        AI("21", "SERIAL", False, 1, 20),
        AI("22", "CPV", False, 1, 20, attribute=False),
        AI("235", "TPX", False, 1, 28, attribute=False),
        AI("30", "VAR. COUNT", True, 1, 8),
        AI("37", "COUNT", True, 1, 8),
        AI("7003", "EXPIRY TIME", True, 10, 10),
        AI("90", "INTERNAL", False, 1, 30),
    ]
    table += [AI(f"310{n}", "NET WEIGHT (kg)", True, 6, 6) for n in range(6)]
    table += [AI(f"392{n}", "PRICE", True, 1, 15) for n in range(4)]
    table += [AI(f"9{n}", "INTERNAL", False, 1, 90) for n in range(1, 10)]
    return {ai.code: ai for ai in table}


AIS = _ais()
# Each primary key and the key-qualifier chains it accepts (any in-order subset of one chain).
PRIMARY_KEYS = {"01": (("22", "10", "21"), ("235",)), "00": ()}
QUALIFIERS = ("22", "10", "21", "235")


class MalformedLink(ValueError):
    """Not a valid GS1 Digital Link URI; the message says what is wrong."""


@dataclass(frozen=True)
class DigitalLink:
    """A parsed or built Digital Link: the primary key, its qualifiers and the data attributes,
    each an (AI, value) pair of plain (decoded) values, in URI order."""

    primary: tuple[str, str]
    qualifiers: tuple[tuple[str, str], ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()

    def value(self, ai: str) -> str | None:
        for code, value in (self.primary, *self.qualifiers, *self.attributes):
            if code == ai:
                return value
        return None

    @property
    def gtin(self) -> str | None:
        return self.value("01")

    @property
    def sscc(self) -> str | None:
        return self.value("00")

    def qualifier(self, ai: str) -> str | None:
        return dict(self.qualifiers).get(ai)

    @property
    def lot(self) -> str | None:
        return self.qualifier("10")

    @property
    def serial(self) -> str | None:
        return self.qualifier("21")

    @property
    def cpv(self) -> str | None:
        return self.qualifier("22")

    def path(self) -> str:
        """The path: `/01/{GTIN}[/22/..][/10/..][/21/..]` or `/00/{SSCC}`, values percent-encoded."""
        return "".join(f"/{ai}/{quote(value, safe='')}" for ai, value in (self.primary, *self.qualifiers))

    def query(self) -> str:
        """The data attributes as a query string (without "?"), or ""."""
        return "&".join(f"{ai}={quote(value, safe='')}" for ai, value in self.attributes)

    def uri(self, base: str) -> str:
        query = self.query()
        return base.rstrip("/") + self.path() + (f"?{query}" if query else "")

    def key(self) -> "DigitalLink":
        """The identified thing without its data attributes (what a linkset's anchor names)."""
        return DigitalLink(self.primary, self.qualifiers)

    def parent(self) -> "DigitalLink | None":
        """One step up the tree (the last key qualifier dropped), None at the primary key."""
        if not self.qualifiers:
            return None
        return DigitalLink(self.primary, self.qualifiers[:-1])

    def pairs(self) -> tuple[tuple[str, str], ...]:
        return (self.primary, *self.qualifiers, *self.attributes)

    def element_string(self) -> str:
        """The GS1 element string with "^" for FNC1, as a till reads it from a GS1 barcode:
        `^0109506000134352^10ABC` (a separator only after AIs whose length is not predefined)."""
        parts, separator = [], True
        for ai, value in self.pairs():
            parts.append(("^" if separator else "") + ai + value)
            separator = ai[:2] not in PREDEFINED_LENGTH
        return "".join(parts)

    def hri(self) -> str:
        """The human-readable interpretation printed under a symbol: `(01) 09506000134352 (10) ABC`."""
        return " ".join(f"({ai}) {value}" for ai, value in self.pairs())


# Building ------------------------------------------------------------------------------------


def normalise_gtin(raw: str) -> str:
    if not raw.isdigit() or len(raw) not in (8, 12, 13, 14):
        raise MalformedLink(_("GTIN %(gtin)s must be 8, 12, 13 or 14 digits.") % {"gtin": repr(raw)})
    gtin = raw.zfill(14)
    if not gs1.is_valid(gtin, 14):
        raise MalformedLink(_("GTIN %(gtin)s has a wrong check digit.") % {"gtin": repr(raw)})
    return gtin


def check_value(ai: str, value: str) -> str:
    """`value` if it fits AI `ai`'s format; MalformedLink saying why not."""
    spec = AIS[ai]
    if "\x00" in value:
        raise MalformedLink(_("AI %(ai)s contains a NUL character.") % {"ai": ai})
    if spec.numeric:
        if not (value.isascii() and value.isdigit()) or not spec.min_length <= len(value) <= spec.max_length:
            if spec.min_length == spec.max_length:
                raise MalformedLink(_("AI %(ai)s must be %(length)s digits.") % {"ai": ai, "length": spec.max_length})
            raise MalformedLink(_("AI %(ai)s must be 1 to %(max)s digits.") % {"ai": ai, "max": spec.max_length})
        if spec.check_digit and not gs1.is_valid(value, len(value)):
            if ai == "01":
                raise MalformedLink(_("GTIN %(gtin)s has a wrong check digit.") % {"gtin": repr(value)})
            raise MalformedLink(_("AI %(ai)s has a wrong check digit.") % {"ai": ai})
        if spec.date and not _is_date(value):
            raise MalformedLink(_("AI %(ai)s is not a valid date (YYMMDD).") % {"ai": ai})
        return value
    if not spec.min_length <= len(value) <= spec.max_length:
        raise MalformedLink(_("AI %(ai)s must be 1 to %(max)s characters.") % {"ai": ai, "max": spec.max_length})
    if not set(value) <= CSET82:
        raise MalformedLink(_("AI %(ai)s has characters outside GS1's 82-character set.") % {"ai": ai})
    return value


def _is_date(value: str) -> bool:
    year, month, day = 2000 + int(value[:2]), int(value[2:4]), int(value[4:])
    return 1 <= month <= 12 and 0 <= day <= calendar.monthrange(year, month)[1]


def build(
    gtin: str,
    *,
    lot: str | None = None,
    serial: str | None = None,
    cpv: str | None = None,
    attributes: tuple[tuple[str, str], ...] = (),
) -> DigitalLink:
    """A GTIN-level or lot-level link, its values checked (the GTIN padded to 14 digits)."""
    values = (("22", cpv), ("10", lot), ("21", serial))
    qualifiers = tuple((ai, check_value(ai, value)) for ai, value in values if value is not None)
    return _checked(DigitalLink(("01", normalise_gtin(gtin)), qualifiers, attributes))


def build_sscc(sscc: str, *, attributes: tuple[tuple[str, str], ...] = ()) -> DigitalLink:
    return _checked(DigitalLink(("00", check_value("00", sscc)), (), attributes))


def _checked(link: DigitalLink) -> DigitalLink:
    """Re-parse the built link, so building and parsing apply the very same rules."""
    parsed = parse(link.path(), link.query())
    if parsed != link:  # pragma: no cover - a build that parses differently is a bug here
        raise AssertionError(f"{link} parses as {parsed}")
    return link


# Parsing -------------------------------------------------------------------------------------

_HEX = re.compile(r"%([0-9A-Fa-f]{2})")


def unescape(raw: str, *, query: bool = False) -> str:
    """Percent-decode once, as GS1's parser does: "%XX" becomes that byte (a malformed escape
    stays as it is); in a query "+" is a space. Bytes above 127 become characters above 127,
    which no AI accepts."""
    if query:
        raw = raw.replace("+", " ")
    return _HEX.sub(lambda match: chr(int(match.group(1), 16)), raw)


def parse_uri(uri: str, *, zero_suppressed_gtin: bool = False) -> DigitalLink:
    """Parse a whole Digital Link URI (scheme, host, path, query, fragment). Raises MalformedLink.

    A path before the primary key (a "custom stem") is allowed and ignored, as the standard says.
    `zero_suppressed_gtin` accepts the GTIN-8/12/13 that URI syntax 1.4 no longer allows.
    """
    if not set(uri) <= URI_CHARACTERS:
        raise MalformedLink(_("The URI contains characters that a URI may not contain."))
    scheme = next((s for s in SCHEMES if uri.startswith(s)), None)
    slash = uri.find("/", len(scheme)) if scheme else -1
    if scheme is None or slash <= len(scheme) or set(uri[len(scheme) : slash]) & BAD_HOST_CHARACTERS:
        raise MalformedLink(_("The URI must start with http:// or https://, a host name and a path."))
    rest = uri[slash:].partition("#")[0]
    path, _mark, query = rest.partition("?")
    link, _stem = parse_path(path, query, zero_suppressed_gtin=zero_suppressed_gtin)
    return link


def parse(path: str, query: str = "", *, zero_suppressed_gtin: bool = False) -> DigitalLink:
    """Parse the path and query of a Digital Link URI, as sent (percent-encoded), with no stem
    before the primary key. Raises MalformedLink."""
    link, stem = parse_path(path, query, zero_suppressed_gtin=zero_suppressed_gtin)
    if stem:
        raise MalformedLink(_("The path must start with /01/{GTIN} or /00/{SSCC}."))
    return link


def parse_path(path: str, query: str = "", *, zero_suppressed_gtin: bool = False) -> tuple[DigitalLink, str]:
    """(the link, the stem before its primary key)."""
    segments = path.split("/")[1:] if path.startswith("/") else []
    start = _primary_key_position(segments)
    stem = "/".join(segments[:start])
    pairs = []
    for ai, raw in zip(segments[start::2], segments[start + 1 :: 2], strict=True):
        value = unescape(raw)
        if value == "":
            raise MalformedLink(_("AI %(ai)s has an empty value.") % {"ai": ai})
        if ai == "01" and zero_suppressed_gtin and len(value) in (8, 12, 13) and value.isdigit():
            value = value.zfill(14)
        pairs.append((ai, check_value(ai, value)))
    primary, qualifiers = pairs[0], tuple(pairs[1:])
    _check_qualifiers(primary[0], [ai for ai, _v in qualifiers])
    attributes = tuple(_attributes(query, zero_suppressed_gtin))
    _check_attributes(primary[0], [ai for ai, _v in qualifiers], attributes, pairs)
    return DigitalLink(primary, qualifiers, attributes), stem


def _primary_key_position(segments: list[str]) -> int:
    """Where the rightmost primary key starts: walk back over AI/value pairs from the end."""
    position = len(segments) - 2
    while position >= 0 and segments[position] in AIS:
        if segments[position] in PRIMARY_KEYS:
            return position
        position -= 2
    raise MalformedLink(_("The path must contain /01/{GTIN} or /00/{SSCC} followed by AI/value pairs."))


def _valid_sequence(primary: str, qualifiers: list[str]) -> bool:
    for chain in PRIMARY_KEYS[primary]:
        positions = [chain.index(ai) if ai in chain else -1 for ai in qualifiers]
        if -1 not in positions and positions == sorted(set(positions)):
            return True
    return not qualifiers


def _check_qualifiers(primary: str, qualifiers: list[str]) -> None:
    if _valid_sequence(primary, qualifiers):
        return
    for ai in qualifiers:
        if not any(ai in chain for chain in PRIMARY_KEYS[primary]):
            raise MalformedLink(_("AI %(ai)s is not a key qualifier of AI %(key)s.") % {"ai": ai, "key": primary})
    raise MalformedLink(_("Key qualifiers must appear once each, in the order 22, 10, 21 (or 235 alone)."))


def _attributes(query: str, zero_suppressed_gtin: bool):
    for parameter in query.split("&"):
        key, equals, raw = parameter.partition("=")
        if not equals or not key.isdigit():
            continue  # a singleton or a non-AI parameter (linkType, the caller's own): not ours
        if key not in AIS:
            raise MalformedLink(_("Query parameter %(ai)s is not a GS1 Application Identifier we know.") % {"ai": key})
        value = unescape(raw, query=True)
        if value == "":
            raise MalformedLink(_("AI %(ai)s has an empty value.") % {"ai": key})
        if key == "01" and zero_suppressed_gtin and len(value) in (8, 12, 13) and value.isdigit():
            value = value.zfill(14)
        yield key, check_value(key, value)


def _check_attributes(primary: str, qualifiers: list[str], attributes, pairs) -> None:
    seen = set()
    for ai, _value in (*pairs, *attributes):
        if ai in seen:
            raise MalformedLink(_("AI %(ai)s appears more than once.") % {"ai": ai})
        seen.add(ai)
    for ai, _value in attributes:
        if not AIS[ai].attribute:
            raise MalformedLink(_("AI %(ai)s cannot be a data attribute in the query string.") % {"ai": ai})
        for position in range(len(qualifiers) + 1):
            if _valid_sequence(primary, [*qualifiers[:position], ai, *qualifiers[position:]]):
                raise MalformedLink(
                    _("AI %(ai)s is a key qualifier here: it belongs in the path, not the query string.") % {"ai": ai}
                )

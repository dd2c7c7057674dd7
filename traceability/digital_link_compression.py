"""Decompression of compressed GS1 Digital Link URIs (GS1 Digital Link standard 1.1, the
compression chapter; as GS1's reference toolkit, gs1/GS1DigitalLinkToolkit.js, writes them).

A compressed URI's path is `/{base64url}` (fully compressed) or `/{primary AI}/{value}/{base64url}`
(partially compressed: the primary key stays readable). The base64url text (A-Z a-z 0-9 - _, six
bits a character) is one bit string, read while more than 8 bits remain:

- two 4-bit nibbles h1 h2. Both 0-9: the first two digits of an AI; `TABLE_P` says how many digits
  it has, the rest follow as 4-bit nibbles, then its value. Otherwise h1h2 is the hex code of an
  optimised AI sequence (`TABLE_OPT`), whose values follow in that order. h1 = F: a non-GS1
  key=value pair: a 7-bit key length (h2 and 3 more bits), the key in base64url characters, then
  a value as below with a 7-bit length.
- a value, component by component as its AI's format says: n fixed digits as an integer of
  ceil(n·log2 10 + 0.01) bits; up to m digits as a length of ceil(log2 m + 0.01) bits and that many
  digits as an integer; up to m characters as a 3-bit encoding, the length, then the characters:
  0 digits (one integer), 1 lower-case hex and 2 upper-case hex (4 bits each), 3 base64url
  (6 bits), 4 ASCII (7 bits).

Only the AIs of `digital_link.AIS` are decoded; anything else is refused. Where the toolkit drops
leading zeros of an all-digit value (it prints the integer), we keep the encoded number of digits,
which is what the length field says the value had. `TABLE_OPT` sequences are in the order the
toolkit writes them (it sorts each sequence's AIs).
"""

import math
import string

from django.utils.translation import gettext as _

from traceability.digital_link import AIS, PRIMARY_KEYS, DigitalLink, MalformedLink

BASE64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
HEX = "0123456789ABCDEF"
# How many digits an AI has, by its first two.
TABLE_P = {"23": 3, "24": 3, "25": 3, "40": 3, "41": 3, "42": 3, "71": 3}
TABLE_P |= {p: 4 for p in ("31", "32", "33", "34", "35", "36", "39", "70", "72", "80", "81", "82")}
TABLE_P |= {p: 2 for p in ("00", "01", "02", "10", "11", "12", "13", "15", "16", "17", "20", "21", "22", "30", "37")}
TABLE_P |= {f"9{n}": 2 for n in range(10)}
# Optimised AI sequences, restricted to the AIs we know.
TABLE_OPT = {
    "0A": ("01", "22"),
    "0B": ("01", "10"),
    "0C": ("01", "21"),
    "0D": ("01", "17"),
    "0E": ("01", "7003"),
    "0F": ("01", "30"),
    "1A": ("01", "10", "17", "21"),
    "1B": ("01", "15"),
    "1C": ("01", "11"),
    "1D": ("01", "16"),
    "1E": ("01", "91"),
    "1F": ("01", "10", "15"),
}
TABLE_OPT |= {f"2{'ABCDEF'[n]}": ("01", f"310{n}") for n in range(6)}
TABLE_OPT |= {f"A{n}": ("01", f"392{n}") for n in range(4)}


def value_bits(digits: int) -> int:
    return math.ceil(digits * math.log2(10) + 0.01)


def length_bits(maximum: int) -> int:
    return math.ceil(math.log2(maximum) + 0.01)


class _Bits:
    def __init__(self, text: str):
        if not text or any(char not in BASE64URL for char in text):
            raise _broken()
        self.bits = "".join(f"{BASE64URL.index(char):06b}" for char in text)
        self.cursor = 0

    @property
    def left(self) -> int:
        return len(self.bits) - self.cursor

    def take(self, count: int) -> int:
        if count > self.left:
            raise _broken()
        chunk = self.bits[self.cursor : self.cursor + count]
        self.cursor += count
        return int(chunk, 2) if chunk else 0

    def digits(self, count: int) -> str:
        return str(self.take(value_bits(count))).zfill(count)[-count:] if count else ""

    def characters(self, encoding: int, count: int) -> str:
        if encoding == 0:
            return self.digits(count)
        if encoding in (1, 2):
            text = "".join(HEX[self.take(4)] for _ in range(count))
            return text.lower() if encoding == 1 else text
        if encoding == 3:
            return "".join(BASE64URL[self.take(6)] for _ in range(count))
        if encoding == 4:
            return "".join(chr(self.take(7)) for _ in range(count))
        raise _broken()


def _broken() -> MalformedLink:
    return MalformedLink(_("This compressed GS1 Digital Link cannot be decompressed."))


def _value(bits: _Bits, ai: str) -> str:
    spec = AIS.get(ai)
    if spec is None:
        raise MalformedLink(_("Query parameter %(ai)s is not a GS1 Application Identifier we know.") % {"ai": ai})
    if spec.numeric and spec.min_length == spec.max_length:
        return bits.digits(spec.max_length)
    if spec.numeric:
        return bits.digits(bits.take(length_bits(spec.max_length)))
    encoding = bits.take(3)
    return bits.characters(encoding, bits.take(length_bits(spec.max_length)))


def decompress(text: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The (AI, value) pairs and the other (key, value) pairs compressed in `text`, in order."""
    bits = _Bits(text)
    pairs: list[tuple[str, str]] = []
    others: list[tuple[str, str]] = []
    while bits.left > 8:
        h1, h2 = HEX[bits.take(4)], HEX[bits.take(4)]
        code = h1 + h2
        if code.isdigit():
            if code not in TABLE_P:
                raise _broken()
            ai = code + "".join(str(bits.take(4)) for _ in range(TABLE_P[code] - 2))
            pairs.append((ai, _value(bits, ai)))
        elif code in TABLE_OPT:
            pairs += [(ai, _value(bits, ai)) for ai in TABLE_OPT[code]]
        elif h1 == "F":
            length = (int(h2, 16) << 3) | bits.take(3)
            key = "".join(BASE64URL[bits.take(6)] for _ in range(length))
            encoding = bits.take(3)
            others.append((key, bits.characters(encoding, bits.take(7))))
        else:
            raise _broken()
    return pairs, others


def expand(path: str) -> tuple[DigitalLink, list[tuple[str, str]]] | None:
    """The uncompressed link (its values unchecked: parse its path and query to check them) and the
    other compressed key=value pairs, if `path` is a fully or partially compressed Digital Link
    path; None when `path` does not have that shape."""
    segments = path.split("/")[1:]
    if len(segments) == 1 and segments[0]:
        pairs, others = decompress(segments[0])
    elif len(segments) == 3 and segments[0] in PRIMARY_KEYS and segments[2]:
        if any(char not in BASE64URL for char in segments[2]):
            return None
        pairs, others = decompress(segments[2])
        pairs.insert(0, (segments[0], segments[1]))
    else:
        return None
    primary = next((pair for pair in pairs if pair[0] in PRIMARY_KEYS), None)
    if primary is None:
        raise MalformedLink(_("The path must contain /01/{GTIN} or /00/{SSCC} followed by AI/value pairs."))
    codes = [ai for ai, _value in pairs]
    for ai in codes:
        if codes.count(ai) > 1:
            raise MalformedLink(_("AI %(ai)s appears more than once.") % {"ai": ai})
    chain = () if primary[0] == "00" else ("235",) if "235" in codes else ("22", "10", "21")
    qualifiers = tuple((ai, dict(pairs)[ai]) for ai in chain if ai in codes)
    rest = tuple(pair for pair in pairs if pair != primary and pair not in qualifiers)
    return DigitalLink(primary, qualifiers, rest), others

"""The identifiers our records give lots, places, parties, logistic units and documents: one place
every export (EPCIS above all) asks, so an identifier is written the same way everywhere.

GS1 keys are written as EPC URNs (GS1 EPC Tag Data Standard, "pure identity" URIs), which EPCIS 2.0
accepts and every GS1 EPC parser reads:

- a lot: `urn:epc:class:lgtin:<company prefix>.<indicator + item reference>.<lot>` when its crop
  has a GTIN and the lot code is a valid GS1 batch/lot (AI 10: 1 to 20 characters of GS1's
  character set 82); otherwise an HTTP URI the app serves, `{PUBLIC_BASE_URL}/id/lot/<code>` (the
  crop's GTIN, if any, then travels in the lot's master data);
- a location: `urn:epc:id:sgln:<company prefix>.<location reference>.0` for a GLN; a village
  without one `/id/village/<code>`, a store `/id/store/<pk>`, a farm `/id/farm/<pk>` (served);
- a party: `urn:epc:id:pgln:<company prefix>.<party reference>` for a GLN; a village without one
  its `/id/village/<code>`, a retailer `/id/retailer/<pk>` (served);
- a logistic unit: `urn:epc:id:sscc:<company prefix>.<extension digit + serial reference>`;
- a business transaction: CBV's `urn:epcglobal:cbv:bt:<issuer's GLN>:<document id>`.

A GS1 key's URN needs the length of its GS1 company prefix, which the key itself does not tell:
`settings.GS1_COMPANY_PREFIX_LENGTH` (GS1 China issues 7 to 9 digit prefixes), or the length the
caller knows (an SSCC made from a retailer's own prefix). Carriers are not places: nothing here
makes an identifier of a carrier's name.
"""

from urllib.parse import quote

from django.conf import settings

from traceability.digital_link import CSET82

COUNTRY_OF_ORIGIN = "CN"  # ISO 3166-1 alpha-2: every village is in China (province and county of China)

# UN/CEFACT Recommendation 20 (rev. 17) current codes; BX and CR are deprecated for XBX and XCR.
UOM = {"kg": "KGM", "box": "XBX", "crate": "XCR", "piece": "H87"}

# The paths of what the app serves for identifiers without a GS1 key (shipments/id_views.py).
LOT_PATH = "/id/lot/"
VILLAGE_PATH = "/id/village/"
STORE_PATH = "/id/store/"
RETAILER_PATH = "/id/retailer/"
FARM_PATH = "/id/farm/"
NAMESPACE_PATH = "/ns/trace"

# GS1 EPC TDS: characters of set 82 a URN writes %-escaped.
_URN_ESCAPE = {c: f"%{ord(c):02X}" for c in '"%&/<>?'}
AI10_MAX_LENGTH = 20


def base() -> str:
    return settings.PUBLIC_BASE_URL


def namespace() -> str:
    """Our extension namespace (EPCIS `tr:` terms), served as a document by the app."""
    return f"{base()}{NAMESPACE_PATH}#"


def term(name: str) -> str:
    """One term of our namespace as a full URI (a bizStep, bizTransaction type ... CBV lacks)."""
    return namespace() + name


def company_prefix_length() -> int:
    return settings.GS1_COMPANY_PREFIX_LENGTH


def _split(key: str, length: int | None) -> tuple[str, str]:
    """A 13- or 14-digit key without its check digit, split after the company prefix."""
    n = length or company_prefix_length()
    return key[:n], key[n:]


def is_gs1_lot(lot_code: str) -> bool:
    """Whether a lot code is a valid GS1 batch/lot number (AI 10): 1 to 20 characters of set 82."""
    return 0 < len(lot_code) <= AI10_MAX_LENGTH and set(lot_code) <= CSET82


def _urn_text(text: str) -> str:
    return "".join(_URN_ESCAPE.get(c, c) for c in text)


def lot_uri(lot_code: str) -> str:
    """The served HTTP URI of a lot."""
    return f"{base()}{LOT_PATH}{quote(lot_code, safe='')}"


def lot_class(lot_code: str, gtin: str) -> str:
    """A lot as an EPCIS class: its LGTIN when the crop has a GTIN and the code is a GS1 lot, else
    its served URI."""
    if gtin and is_gs1_lot(lot_code):
        company, item = _split(gtin[1:13], None)
        return f"urn:epc:class:lgtin:{company}.{gtin[0]}{item}.{_urn_text(lot_code)}"
    return lot_uri(lot_code)


def is_lgtin(uri: str) -> bool:
    return uri.startswith("urn:epc:class:lgtin:")


def sgln(gln: str) -> str:
    company, location = _split(gln[:12], None)
    return f"urn:epc:id:sgln:{company}.{location}.0"


def pgln(gln: str) -> str:
    company, party = _split(gln[:12], None)
    return f"urn:epc:id:pgln:{company}.{party}"


def sscc(code: str, prefix_length: int | None = None) -> str:
    """An 18-digit SSCC as a URN: extension digit moved after the company prefix, check digit dropped."""
    company, serial = _split(code[1:17], prefix_length)
    return f"urn:epc:id:sscc:{company}.{code[0]}{serial}"


def village_location(gln: str, code: str) -> str:
    return sgln(gln) if gln else f"{base()}{VILLAGE_PATH}{quote(code, safe='')}"


def village_party(gln: str, code: str) -> str:
    """The village cooperative as a party (the owner at the source of a shipment, a lot's producer)."""
    return pgln(gln) if gln else f"{base()}{VILLAGE_PATH}{quote(code, safe='')}"


def store_location(gln: str, pk: str | int | None) -> str | None:
    """A store as a location; None for an old record that named it by neither GLN nor key."""
    if gln:
        return sgln(gln)
    return f"{base()}{STORE_PATH}{pk}" if pk else None


def retailer_party(gln: str, pk: str | int | None) -> str | None:
    if gln:
        return pgln(gln)
    return f"{base()}{RETAILER_PATH}{pk}" if pk else None


def farm_uri(pk: int) -> str:
    return f"{base()}{FARM_PATH}{pk}"


def business_transaction(issuer_gln: str, document_id: str) -> str | None:
    """CBV 2.0's form of a business transaction identifier, `urn:epcglobal:cbv:bt:<GLN>:<id>`;
    None without the issuer's GLN (CBV has no form for an issuer without one)."""
    if not issuer_gln or not document_id:
        return None
    return f"urn:epcglobal:cbv:bt:{issuer_gln}:{_urn_document(document_id)}"


def _urn_document(document_id: str) -> str:
    # RFC 8141 NSS characters stay; anything else (spaces, CJK) is %-escaped as UTF-8.
    return quote(document_id, safe="-._~!$&'()*+,;=:@")

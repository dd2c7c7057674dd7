"""Semantic checks of an EPCIS 2.0 document, written from the EPCIS 2.0 and CBV 2.0 standards and
GS1's identifier rules, beyond what the JSON schema checks. `problems(document, client)` lists
what is wrong (empty when all is well):

- units: every quantity's uom is a current UN/CEFACT Rec 20 code of the ones we use (BX and CR
  were deprecated for XBX and XCR);
- identifiers: every EPC URN (epcClass, parentID, SGLN, PGLN, SSCC) is parsed by epcpy (GS1 EPC Tag
  Data Standard), every LGTIN's GTIN and lot by biip as a GS1 element string (AI 01 + AI 10);
  every other URI is under PUBLIC_BASE_URL and answers 200 through the Django test client;
- where: read points and business locations are SGLNs or served URIs; an in-transit shipping
  event has no bizLocation; owning parties are PGLNs or served URIs, locations SGLNs or served;
- why: a bizTransaction is CBV's `urn:epcglobal:cbv:bt:<GLN>:<id>` with a valid GLN;
- master data: commissioning ObjectEvents and TransformationEvents carry ILMD whose lotNumber is
  a lot of the event.
"""

import re
from urllib.parse import unquote, urlsplit

from biip.gln import Gln
from biip.gs1_messages import GS1Message
from django.conf import settings
from epcpy import epc_pure_identity_to_scheme
from epcpy.epc_schemes import LGTIN, PGLN, SGLN, SSCC

REC20_CURRENT = {"KGM", "XBX", "XCR", "H87", "CEL"}
CBV_BT = re.compile(r"^urn:epcglobal:cbv:bt:(\d{13}):(.+)$")
OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")


def _served(uri: str) -> bool:
    return uri.startswith(settings.PUBLIC_BASE_URL + "/")


def uris(value) -> list[str]:
    """Every string in the document that is an http(s) URI or a URN."""
    if isinstance(value, dict):
        return [u for key, item in value.items() for u in uris(key) + uris(item)]
    if isinstance(value, list):
        return [u for item in value for u in uris(item)]
    if isinstance(value, str) and re.match(r"^(https?://|urn:)", value):
        return [value]
    return []


class Checker:
    def __init__(self, client):
        self.client = client
        self.found: list[str] = []
        self.answered: dict[str, int] = {}

    def fail(self, event: dict, text: str) -> None:
        self.found.append(f"{event.get('eventID', '?')} ({event.get('tr:kind', event['type'])}): {text}")

    def served(self, event: dict, uri: str, what: str) -> None:
        if not _served(uri):
            self.fail(event, f"{what} {uri} is neither a GS1 key nor served by the app")
            return
        path = urlsplit(uri).path
        if path not in self.answered:
            self.answered[path] = self.client.get(unquote(path)).status_code
        if self.answered[path] != 200:
            self.fail(event, f"{what} {uri} answers {self.answered[path]}")

    def lot_class(self, event: dict, uri: str) -> str | None:
        """The lot of an epcClass (checked), or None."""
        if uri.startswith("urn:"):
            try:
                lgtin = LGTIN(uri)
                GS1Message.parse_hri(lgtin.gs1_element_string())
            except Exception as error:  # any parser refusal is the finding
                self.fail(event, f"epcClass {uri} is not a valid LGTIN: {error}")
                return None
            return unquote(uri.rsplit(".", 1)[1])
        self.served(event, uri, "epcClass")
        return unquote(uri.rsplit("/", 1)[1])

    def location(self, event: dict, uri: str, what: str) -> None:
        if uri.startswith("urn:"):
            try:
                SGLN(uri)
            except Exception as error:
                self.fail(event, f"{what} {uri} is not an SGLN: {error}")
        else:
            self.served(event, uri, what)

    def party(self, event: dict, uri: str) -> None:
        if uri.startswith("urn:"):
            try:
                PGLN(uri)
            except Exception as error:
                self.fail(event, f"owning party {uri} is not a PGLN: {error}")
        else:
            self.served(event, uri, "owning party")

    def check(self, event: dict) -> None:
        if not OFFSET.match(event.get("eventTimeZoneOffset", "")):
            self.fail(event, "no eventTimeZoneOffset")
        quantities = []
        for key in ("quantityList", "inputQuantityList", "outputQuantityList", "childQuantityList"):
            quantities += event.get(key, [])
        lots = set()
        for element in quantities:
            if "uom" in element and element["uom"] not in REC20_CURRENT:
                self.fail(event, f"uom {element['uom']} is not a current Rec 20 code")
            lot = self.lot_class(event, element["epcClass"])
            if lot:
                lots.add(lot)
        if "parentID" in event:
            try:
                SSCC(event["parentID"])
                epc_pure_identity_to_scheme(event["parentID"])
            except Exception as error:
                self.fail(event, f"parentID {event['parentID']} is not an SSCC: {error}")
        for key in ("readPoint", "bizLocation"):
            if key in event:
                self.location(event, event[key]["id"], key)
        if event.get("bizStep") == "shipping" and "bizLocation" in event:
            self.fail(event, "an in-transit shipping event has a bizLocation")
        for entry in event.get("sourceList", []) + event.get("destinationList", []):
            uri = entry.get("source") or entry.get("destination")
            if entry["type"] == "owning_party":
                self.party(event, uri)
            elif entry["type"] == "location":
                self.location(event, uri, "source/destination location")
            else:
                self.fail(event, f"unexpected source/destination type {entry['type']}")
        for transaction in event.get("bizTransactionList", []):
            match = CBV_BT.match(transaction["bizTransaction"])
            if not match:
                self.fail(event, f"bizTransaction {transaction['bizTransaction']} is not CBV's bt form")
            else:
                try:
                    Gln.parse(match.group(1))
                except Exception as error:
                    self.fail(event, f"bizTransaction issuer {match.group(1)} is not a GLN: {error}")
        commissioning = event["type"] == "ObjectEvent" and event.get("bizStep") == "commissioning"
        if commissioning or event["type"] == "TransformationEvent":
            ilmd = event.get("ilmd")
            if not ilmd:
                self.fail(event, "no ILMD on a commissioning or transformation event")
            elif ilmd.get("cbvmda:lotNumber") not in lots:
                self.fail(event, f"ILMD lotNumber {ilmd.get('cbvmda:lotNumber')} is not a lot of the event")
        for uri in uris(event):
            if uri.startswith("http") and not uri.startswith("https://ref.gs1.org/"):
                self.served(event, uri, "URI")


def problems(document: dict, client) -> list[str]:
    checker = Checker(client)
    for uri in uris(document["@context"]):
        if _served(uri):
            checker.served({"eventID": "@context", "type": "context"}, uri, "namespace")
    for event in document["epcisBody"]["eventList"]:
        checker.check(event)
    return checker.found

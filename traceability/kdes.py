"""The key data elements of a movement: what a shipping or receiving event records about the
shipment in its `data` (TraceEvent.data), defined once.

`shipments` writes them (shipments.services) and `traceability` reads them (traces, exports) without
importing `shipments`; the consumer page reads them too. The JSON keys are the field names, and
they are covered by the event's hash: never rename one. Older events may lack later keys, so a
reader takes a missing key as "".
"""

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class MovementKDEs:
    """Who sent what to whom, as FSMA 204's shipping and receiving KDEs and EPCIS's source and
    destination need it; names and GLNs as they were when the event was recorded."""

    shipment: str  # the shipment's public code
    store: str  # the receiving store's Chinese name
    store_gln: str = ""
    store_city: str = ""
    retailer: str = ""
    retailer_gln: str = ""
    ship_from: str = ""  # the origin village's Chinese name
    ship_from_gln: str = ""
    carrier: str = ""
    reference_document: str = ""  # the shipment's reference (bill of lading)
    # FSMA 204's location descriptions (business name, address, phone) and where each place is, as
    # they were when the event happened (later keys: older events lack them).
    ship_from_en: str = ""  # the origin village's English name
    ship_from_address: str = ""  # Chinese
    ship_from_address_en: str = ""
    ship_from_phone: str = ""
    ship_from_time_zone: str = ""  # IANA name, e.g. Asia/Shanghai
    store_en: str = ""
    store_address: str = ""  # Chinese
    store_address_en: str = ""
    store_phone: str = ""
    store_time_zone: str = ""
    retailer_en: str = ""
    retailer_address: str = ""  # Chinese
    retailer_address_en: str = ""
    retailer_phone: str = ""
    # The identifiers EPCIS needs (later keys: older events lack them): the store's and retailer's
    # primary keys (their served URIs when they have no GLN), the shipment's SSCC and the GS1
    # company prefix it was made from (its URN needs the prefix length).
    store_id: str = ""
    retailer_id: str = ""
    sscc: str = ""
    sscc_company_prefix: str = ""

    def to_data(self) -> dict[str, str]:
        """The event's `data`: every key, in field order."""
        return {key: getattr(self, key) for key in MOVEMENT_KEYS}

    @classmethod
    def from_data(cls, data: dict) -> "MovementKDEs":
        """The KDEs of an event's `data`; keys it lacks (older events) or holds as null read as "",
        keys that are not KDEs are ignored."""
        return cls(**{key: data.get(key) or "" for key in MOVEMENT_KEYS})

    @staticmethod
    def keys(*names: str) -> tuple[str, ...]:
        """`names` checked against the fields, for code that reads the KDEs in SQL: a misspelt key
        fails when the module loads instead of reading null forever."""
        unknown = set(names) - set(MOVEMENT_KEYS)
        if unknown:
            raise ValueError(f"Not a movement KDE: {', '.join(sorted(unknown))}")
        return names


MOVEMENT_KEYS: tuple[str, ...] = tuple(field.name for field in fields(MovementKDEs))


def json_text(key: str, *, vendor: str, column: str = "e.data") -> str:
    """SQL for the text of `key` in the JSON `column` (null when absent), on PostgreSQL or SQLite."""
    if not key.isidentifier():
        raise ValueError(f"Not a key data element name: {key!r}")
    if vendor == "postgresql":
        return f"{column}->>'{key}'"
    return f"json_extract({column}, '$.{key}')"

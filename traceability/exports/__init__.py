"""Exports for regulators and trading partners: FSMA 204 sortable spreadsheet (CSV, XLSX),
EPCIS 2.0 JSON-LD and the EU 931/2011 consignment list (CSV), and the recall record.

Every export takes a queryset of TraceEvents (choose it with events_for_lot or events_between,
then scope it to the caller) and returns bytes. Column headers are the standards' English terms,
not translated: the readers are regulators' tools and people who expect those words.

One module per job:

- `selection`: which events an export covers (a lot's closure, a date range);
- `rows`: what the EPCIS and EU exports read (EventLine), cell and CSV formatting;
- `fsma`: FSMA 204, CSV and XLSX from one pipeline; `xlsx`: rows in, workbook bytes out;
- `epcis`: EPCIS 2.0; `eu`: EU 931/2011; `recall`: the recall record;
- `csvsafe`: CSV cells a spreadsheet will not run as formulas (every CSV export writes through it).

The names below are the package's public interface; import them from `traceability.exports`.
"""

from traceability.exports.epcis import (
    BIZ_STEPS,
    DISPOSITIONS,
    EPCIS_CONTEXT,
    EXTENSION_PREFIX,
    UOM,
    epcis_document,
    epcis_json,
    lot_class_uri,
)
from traceability.exports.eu import EU_COLUMNS, eu_csv, eu_rows
from traceability.exports.fsma import DOCUMENT_TYPES, FSMA_COLUMNS, FSMA_CTES, fsma_csv, fsma_rows, fsma_xlsx
from traceability.exports.recall import recall_csv
from traceability.exports.selection import (
    MAX_RANGE_DAYS,
    InvalidRange,
    events_between,
    events_for_lot,
    lot_closure,
    parse_range,
)

__all__ = [
    "BIZ_STEPS",
    "DISPOSITIONS",
    "DOCUMENT_TYPES",
    "EPCIS_CONTEXT",
    "EU_COLUMNS",
    "EXTENSION_PREFIX",
    "FSMA_COLUMNS",
    "FSMA_CTES",
    "MAX_RANGE_DAYS",
    "UOM",
    "InvalidRange",
    "epcis_document",
    "epcis_json",
    "eu_csv",
    "eu_rows",
    "events_between",
    "events_for_lot",
    "fsma_csv",
    "fsma_rows",
    "fsma_xlsx",
    "lot_class_uri",
    "lot_closure",
    "parse_range",
    "recall_csv",
]

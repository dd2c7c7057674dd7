"""What the export tests share: the official EPCIS schema (where present) and the Scenario's
expected FSMA rows."""

import json
import os
from pathlib import Path

import jsonschema
import pytest
from django.conf import settings

# The official schema lives in ../shared/standards beside the repository (CI has it there);
# EPCIS_SCHEMA points elsewhere. Tests that need it skip, with this reason, where it is missing.
SCHEMA_PATH = Path(
    os.environ.get("EPCIS_SCHEMA") or Path(settings.BASE_DIR).parent / "shared/standards/epcis/EPCIS-JSON-Schema.json"
)
requires_schema = pytest.mark.skipif(
    not SCHEMA_PATH.exists(), reason=f"needs the official EPCIS 2.0 JSON schema at {SCHEMA_PATH} (or set EPCIS_SCHEMA)"
)

SOURCE = "王家果园, 仙居县杨梅村"
GLN = "9520000000011"
PRODUCT = "杨梅 Waxberry"
# The FSMA rows of lot M1's closure, without the last column (the event IDs are random UUIDs).
EXPECTED_FSMA = [
    ["Harvesting", "2026-06-10", "2026-06-10T16:00:00+08:00", "XJ-WAX-20260610-001", PRODUCT, "", "", "王家果园", GLN,
     "", "", "", "", SOURCE, GLN, "东坡地", "", "", ""],
    ["Cooling", "2026-06-10", "2026-06-10T18:00:00+08:00", "XJ-WAX-20260610-001", PRODUCT, "", "", "王家果园", GLN,
     "", "", "", "", SOURCE, GLN, "", "", "", ""],
    ["Initial packing", "2026-06-10", "2026-06-10T20:00:00+08:00", "XJ-WAX-20260610-001", PRODUCT, "100", "kg",
     "王家果园", GLN, "", "", "", "", SOURCE, GLN, "", "", "", ""],
    ["Transformation", "2026-06-11", "2026-06-11T16:00:00+08:00", "XJ-WAX-20260611-001", PRODUCT, "70", "kg",
     "王家果园", GLN, "", "", "", "", SOURCE, GLN, "", "XJ-WAX-20260610-001 40 kg; XJ-WAX-20260610-002 30 kg", "", ""],
    ["Transformation", "2026-06-12", "2026-06-12T16:00:00+08:00", "XJ-WAX-20260612-001", PRODUCT, "50", "kg",
     "王家果园", GLN, "", "", "", "", SOURCE, GLN, "", "XJ-WAX-20260611-001 50 kg", "", ""],
    ["Transformation", "2026-06-13", "2026-06-13T16:00:00+08:00", "XJ-WAX-20260613-001", PRODUCT, "30", "kg",
     "王家果园", GLN, "", "", "", "", SOURCE, GLN, "", "XJ-WAX-20260610-001 10 kg; XJ-WAX-20260612-001 20 kg",
     "Production record", "PACK-7"],
    ["Shipping", "2026-06-14", "2026-06-14T16:00:00+08:00", "XJ-WAX-20260613-001", PRODUCT, "10", "kg",
     "仙居县杨梅村", GLN, "仙居县杨梅村", GLN, "上海静安店, 盒马鲜生, 上海", "9520000000035", SOURCE, GLN, "", "",
     "Bill of lading", "BOL-001"],
    ["Shipping", "2026-06-14", "2026-06-14T17:00:00+08:00", "XJ-WAX-20260612-001", PRODUCT, "5", "kg",
     "仙居县杨梅村", GLN, "仙居县杨梅村", GLN, "杭州西湖店, 盒马鲜生, 杭州", "", SOURCE, GLN, "", "", "", ""],
    ["Receiving", "2026-06-15", "2026-06-15T16:00:00+08:00", "XJ-WAX-20260613-001", PRODUCT, "10", "kg",
     "上海静安店", "9520000000035", "仙居县杨梅村", GLN, "上海静安店, 盒马鲜生, 上海", "9520000000035", SOURCE, GLN,
     "", "", "Bill of lading", "BOL-001"],
]  # fmt: skip


def epcis_validator():
    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)

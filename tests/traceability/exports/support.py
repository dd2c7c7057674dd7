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
# The FSMA location descriptions of the Scenario (no addresses or phones recorded there).
FARM = "王家果园, 仙居县杨梅村 Wang Family Orchard, Xianju Waxberry Village"
VILLAGE = "仙居县杨梅村 Xianju Waxberry Village"
P_EN, P_ZH = "Waxberry, bulk, by weight (kg)", "杨梅，散装，按千克计"
HEAD = [P_EN, P_ZH, PRODUCT, ""]  # product description (English, Chinese), commodity, variety
NOTHING = ["", "", "", "", ""]  # farm where harvested, field, harvest date, harvester name and phone


def _row(
    cte,
    lot,
    quantity,
    day,
    hour,
    location,
    location_gln,
    *,
    previous=("", ""),
    recipient=("", ""),
    farm=NOTHING,
    cooling=("", ""),
    source=(FARM, GLN),
    used=("", "", "", ""),
    reference=("", ""),
):
    return [
        cte,
        lot,
        *HEAD,
        quantity,
        "kg",
        f"2026-06-{day}",
        f"2026-06-{day}T{hour}:00:00+08:00",
        location,
        location_gln,
        *previous,
        *recipient,
        *farm,
        *cooling,
        *source,
        *used,
        *reference,
        "",
        "",
        "",
    ]


# The FSMA rows of lot M1's closure as the CSV writes them, without the last column (the event
# IDs are random UUIDs). Harvester cells are empty: the export is not made for a regulator.
EXPECTED_FSMA = [
    _row("Harvesting", "XJ-WAX-20260610-001", "100", 10, 16, FARM, GLN, recipient=(VILLAGE, GLN),
         farm=[FARM, "东坡地", "2026-06-10", "", ""]),
    _row("Cooling", "XJ-WAX-20260610-001", "100", 10, 18, FARM, GLN, recipient=(VILLAGE, GLN),
         farm=[FARM, "", "2026-06-10", "", ""], cooling=("2026-06-10", FARM)),
    _row("Initial packing", "XJ-WAX-20260610-001", "100", 10, 20, FARM, GLN,
         farm=[FARM, "东坡地", "2026-06-10", "", ""], cooling=("2026-06-10", FARM)),
    _row("Transformation", "XJ-WAX-20260611-001", "70", 11, 16, FARM, GLN,
         used=("XJ-WAX-20260610-001", P_EN, "40", "kg")),
    _row("Transformation", "XJ-WAX-20260611-001", "70", 11, 16, FARM, GLN,
         used=("XJ-WAX-20260610-002", P_EN, "30", "kg")),
    _row("Transformation", "XJ-WAX-20260612-001", "50", 12, 16, FARM, GLN,
         used=("XJ-WAX-20260611-001", P_EN, "50", "kg")),
    _row("Transformation", "XJ-WAX-20260613-001", "30", 13, 16, FARM, GLN,
         used=("XJ-WAX-20260610-001", P_EN, "10", "kg"), reference=("Production record", "PACK-7")),
    _row("Transformation", "XJ-WAX-20260613-001", "30", 13, 16, FARM, GLN,
         used=("XJ-WAX-20260612-001", P_EN, "20", "kg"), reference=("Production record", "PACK-7")),
    _row("Shipping", "XJ-WAX-20260613-001", "10", 14, 16, VILLAGE, GLN,
         recipient=("上海静安店, 盒马鲜生 Hema", "9520000000035"), reference=("Bill of lading", "BOL-001")),
    _row("Shipping", "XJ-WAX-20260612-001", "5", 14, 17, VILLAGE, GLN, recipient=("杭州西湖店, 盒马鲜生 Hema", "")),
    _row("Receiving", "XJ-WAX-20260613-001", "10", 15, 16, "上海静安店, 盒马鲜生 Hema", "9520000000035",
         previous=(VILLAGE, GLN), reference=("Bill of lading", "BOL-001")),
]  # fmt: skip


def epcis_validator():
    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)

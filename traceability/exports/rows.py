"""What the exports share: one flat row per event line (EventLine, with its event's facts and its
lot's product and origin, what the EPCIS and EU exports read; FSMA reads its own narrower rows,
see fsma.py) and how cells and CSV files are written."""

import io
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.utils import timezone

from traceability.exports import csvsafe
from traceability.kdes import MovementKDEs
from traceability.models import EventBatch, TraceEvent
from traceability.trace import fast_plans


class EventLine(NamedTuple):
    event_id: int
    client_id: str
    kind: str
    occurred_at: datetime  # local time
    recorded_at: datetime
    location_name: str
    location_gln: str
    data: dict
    corrects_client_id: str | None
    correction_reason: str
    lot_code: str
    role: str
    quantity: Decimal | None
    unit: str
    crop_zh: str
    crop_en: str
    gtin: str
    farm_zh: str
    field_zh: str
    village_zh: str
    village_code: str
    village_gln: str

    @property
    def movement(self) -> MovementKDEs:
        """The key data elements of a shipping or receiving event."""
        return MovementKDEs.from_data(self.data)


def event_lines(events, *, effective: bool, lot_ids: set[int] | None = None) -> list[EventLine]:
    """The events' batch lines in time order, each with its event's facts (read once per event)
    and its lot's product and origin. Occurred_at is in local time."""
    events = events.order_by()
    if effective:
        events = events.exclude(kind=TraceEvent.Kind.CORRECTION).exclude(corrections__isnull=False)
    event_query = events.values_list(
        "pk", "client_id", "kind", "occurred_at", "recorded_at", "location_name", "location_gln", "data",
        "corrects__client_id", "correction_reason",
    )  # fmt: skip
    line_query = EventBatch.objects.filter(event_id__in=events.values("pk")).values_list(
        "event_id", "batch_id", "batch__lot_code", "role", "quantity", "unit", "batch__crop__name_zh",
        "batch__crop__name_en", "batch__crop__gtin", "batch__farm__name_zh", "batch__field__name_zh",
        "batch__farm__village__name_zh",
        "batch__farm__village__code", "batch__farm__village__gln",
    )  # fmt: skip
    zone = timezone.get_current_timezone()
    with fast_plans():
        facts = {}
        for pk, client_id, kind, occurred, recorded, name, gln, data, corrects, reason in event_query:
            corrects = str(corrects) if corrects else None
            facts[pk] = (
                pk,
                str(client_id),
                kind,
                occurred.astimezone(zone),
                recorded,
                name,
                gln,
                data,
                corrects,
                reason,
            )
        rows = list(line_query)
    # Inputs of a transformation stay: they are key data of the new lot, wherever they came from.
    lines = [
        EventLine(
            *facts[event_id], lot_code, role, quantity, unit, crop_zh, crop_en, gtin or "", farm_zh, field_zh or "",
            village_zh, village_code, village_gln or "",
        )
        for (
            event_id, batch_id, lot_code, role, quantity, unit, crop_zh, crop_en, gtin, farm_zh, field_zh, village_zh,
            village_code, village_gln,
        ) in rows
        if lot_ids is None or batch_id in lot_ids or role == EventBatch.Role.INPUT
    ]  # fmt: skip
    lines.sort(key=lambda line: (line.occurred_at, line.event_id, line.lot_code, line.role))
    return lines


def qty(value: Decimal | None) -> str:
    """A quantity as written in a spreadsheet cell: no exponent, no trailing zeros."""
    return "" if value is None else format(value.normalize(), "f")


def local(moment: datetime) -> datetime:
    return timezone.localtime(moment)


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    """A sheet as UTF-8 CSV with a BOM, so spreadsheet programs read the Chinese names correctly."""
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode()

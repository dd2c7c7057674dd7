"""Where an event happened, as a time zone: exports give each event time the offset of its place,
not the server's (`settings.TIME_ZONE`), so the same harvest exports the same date wherever the
server runs.

- farm events (harvest, cooling, packing, tests, transformation, ...): the lot's village
  (`TraceEvent.village`, whose `time_zone` is read);
- shipping: the ship-from village, receiving: the ship-to store, both as the movement's key data
  elements recorded them when the event happened (`MovementKDEs.ship_from_time_zone`,
  `store_time_zone`), so a place that later moves does not rewrite history;
- older movement events recorded before those keys existed: shipping falls back to the village's
  zone, receiving (the store is not known here: traceability never imports shipments) to
  `settings.TIME_ZONE`, as every export did before.

A name the server's zoneinfo database does not know (it can only come from an old record) reads as
the fallback rather than failing the export.
"""

import zoneinfo
from functools import lru_cache

from django.conf import settings

from traceability.kdes import MovementKDEs
from traceability.models import EventKind


@lru_cache(maxsize=64)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def server_zone() -> zoneinfo.ZoneInfo:
    return _zone(settings.TIME_ZONE) or zoneinfo.ZoneInfo("UTC")


def zone_for(kind: str, data: dict | None, village_time_zone: str | None) -> zoneinfo.ZoneInfo:
    """The time zone of an event of `kind` with key data elements `data` whose village's zone is
    `village_time_zone`: for exports that read events as values, not objects."""
    fallback = village_time_zone or ""
    if kind in (EventKind.SHIPPING, EventKind.RECEIVING):
        movement = MovementKDEs.from_data(data or {})
        if kind == EventKind.SHIPPING:
            name = movement.ship_from_time_zone or fallback
        else:
            name = movement.store_time_zone or settings.TIME_ZONE
    else:
        name = fallback
    return (_zone(name) if name else None) or server_zone()


def event_zone(event) -> zoneinfo.ZoneInfo:
    """The time zone of where `event` (a TraceEvent) happened."""
    village = event.village if event.village_id else None
    return zone_for(event.kind, event.data, village.time_zone if village else None)

"""Places for people: a place's name without repeats, and the distance between two points.
Framework-free; no map service is asked."""

import math
import re

EARTH_RADIUS_KM = 6371.0088  # the mean radius
_SEPARATORS = re.compile(r"\s*[,，、]\s*")
_GENERIC = re.compile(r"\s+(county|city|district|village|town|prefecture|province)$", re.IGNORECASE)


def place(parts: list[str], language: str) -> str:
    """The names of a place from the smallest (village) to the largest (province), each maybe
    holding several ("Sanyuanzhu Village, Shouguang"), as one line with no name twice:
    "Sanyuanzhu Village, Shouguang, Weifang, Shandong", not "..., Shouguang, Shouguang, ...".
    Chinese reads from the largest to the smallest with no separator (山东省寿光市三元朱村)."""
    if language != "en":
        text, kept = "", []
        for part in reversed([p.strip() for p in parts if p and p.strip()]):
            for larger in kept:  # 仙居县杨梅村 after 仙居县: only 杨梅村 is new
                if part.startswith(larger):
                    part = part[len(larger) :]
            kept.append(part)
            if part and part not in text:
                text += part
        return text
    kept, seen = [], set()
    for part in parts:
        for name in _SEPARATORS.split(part or ""):
            key = _GENERIC.sub("", name).casefold()
            if name and key not in seen:
                seen.add(key)
                kept.append(name)
    return ", ".join(kept)


def distance_km(start: tuple, end: tuple) -> float | None:
    """The great-circle (haversine) distance between two (latitude, longitude) pairs in
    degrees, or None when either is unknown."""
    if None in (*start, *end):
        return None
    lat1, lon1, lat2, lon2 = (math.radians(float(value)) for value in (*start, *end))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))

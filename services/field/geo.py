"""Distance between the phone's position and the unit's surveyed position (pure: no I/O).

The haversine formula on a sphere of the mean Earth radius (6,371,008.8 m, IUGG); over the few
hundred metres a visit radius spans its error against the WGS-84 ellipsoid is under 0.5%, far
below a phone's GPS accuracy. A visit farther than the radius is flagged for the supervisor, not
refused (a unit's survey GPS can itself be wrong).

The radius comes from FIELD_VISIT_RADIUS_M (metres, default 100).
"""
from __future__ import annotations

import math
import os
from decimal import ROUND_HALF_UP, Decimal

EARTH_RADIUS_M = 6_371_008.8
DEFAULT_RADIUS_M = 100


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two (latitude, longitude) points in degrees."""
    for lat in (lat1, lat2):
        if not -90 <= float(lat) <= 90:
            raise ValueError(f"latitude {lat} is outside -90..90")
    for lon in (lon1, lon2):
        if not -180 <= float(lon) <= 180:
            raise ValueError(f"longitude {lon} is outside -180..180")
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp, dl = p2 - p1, math.radians(float(lon2) - float(lon1))
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def distance_m(phone: tuple | None, unit: tuple | None) -> Decimal | None:
    """Metres (1 decimal, half up) from the phone to the unit; None when either position is unknown."""
    if phone is None or unit is None or None in phone or None in unit:
        return None
    metres = haversine_m(phone[0], phone[1], unit[0], unit[1])
    return Decimal(repr(metres)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def visit_radius_m(env=None) -> int:
    """The flagging radius: FIELD_VISIT_RADIUS_M (a whole number of metres > 0), default 100."""
    raw = (env if env is not None else os.environ).get("FIELD_VISIT_RADIUS_M")
    if not raw:
        return DEFAULT_RADIUS_M
    value = int(raw)
    if value <= 0:
        raise ValueError("FIELD_VISIT_RADIUS_M must be a whole number of metres above 0")
    return value


def is_flagged(distance: Decimal | None, radius: int) -> bool:
    """Farther than the radius. An unknown distance is not flagged here (the page says it is unknown)."""
    return distance is not None and distance > radius

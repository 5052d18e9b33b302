"""Distances, and the fuzzing that keeps a stay's exact place private."""

from __future__ import annotations

import math
import random

EARTH_RADIUS_M = 6_371_000.0


def fuzz_location(lat: float, lon: float, rng: random.Random | None = None) -> tuple[float, float]:
    """Move a point 100 to 500 m in a random direction, then round to 3 decimals (~100 m).

    Done once when a stay is saved and stored: never recomputed, so reading the published
    position many times cannot average the noise away.
    """
    rng = rng or random.SystemRandom()
    distance = rng.uniform(100.0, 500.0)
    bearing = rng.uniform(0.0, 2 * math.pi)
    dlat = (distance * math.cos(bearing)) / EARTH_RADIUS_M
    dlon = (distance * math.sin(bearing)) / (EARTH_RADIUS_M * math.cos(math.radians(lat)))
    new_lat = max(-90.0, min(90.0, lat + math.degrees(dlat)))
    new_lon = ((lon + math.degrees(dlon) + 180.0) % 360.0) - 180.0
    return round(new_lat, 3), round(new_lon, 3)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a)) / 1000.0

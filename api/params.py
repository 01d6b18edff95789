"""Parsing and validation of query parameters shared by several routes."""

from __future__ import annotations

import math
from datetime import datetime

from api.errors import RequestError
from geo.crs import CRS, parse_crs, to_wgs84
from layers.registry.hours import parse_local_datetime
from layers.registry.service import Registry
from layers.store import BBox

#: Examples of the OpenAPI document (they are real: a seeded facility, a layer, People's
#: Square), which clients and the fuzz tests start from.
EXAMPLE_LAYER = "health_point"
EXAMPLE_FACILITY = "training_site:site-01"
EXAMPLE_LON, EXAMPLE_LAT = 121.4737, 31.2304


def parse_bbox(value: str) -> BBox:
    """Parse ``west,south,east,north`` (WGS84 degrees) into a :class:`BBox`."""
    parts = value.split(",")
    if len(parts) != 4:
        raise RequestError(
            f"bbox must be four comma-separated numbers west,south,east,north (got {value!r})"
        )
    try:
        west, south, east, north = (float(part) for part in parts)
    except ValueError:
        raise RequestError(f"bbox values must be numbers (got {value!r})") from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise RequestError(f"bbox values must be finite numbers (got {value!r})")
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90):
        raise RequestError(f"bbox is out of range: longitudes in [-180, 180], latitudes in [-90, 90] (got {value!r})")
    if west > east or south > north:
        raise RequestError(f"bbox must satisfy west <= east and south <= north (got {value!r})")
    return BBox(west, south, east, north)


def parse_open_at(value: str | None) -> datetime | None:
    """Parse ``open_at`` (ISO 8601; no offset means Shanghai local time)."""
    if value is None:
        return None
    try:
        return parse_local_datetime(value)
    except ValueError:
        raise RequestError(
            f"open_at must be an ISO 8601 date-time such as 2026-11-20T12:30 (got {value!r})"
        ) from None


def query_point(lon: float, lat: float, crs: str, registry: Registry) -> tuple[float, float, CRS]:
    """Validate a query point, convert it to WGS84 and check it lies in the service area."""
    for name, number, bound in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        if not math.isfinite(number):
            raise RequestError(f"{name} must be a finite number (got {number})")
        if not -bound <= number <= bound:
            raise RequestError(f"{name} must be between {-bound:g} and {bound:g} (got {number})")
    source = parse_crs(crs)
    wgs_lon, wgs_lat = to_wgs84(lon, lat, source)
    if not registry.in_service_area(wgs_lon, wgs_lat):
        raise RequestError(
            f"point lon={lon}, lat={lat} ({source.value}) is outside the service area: "
            "the Shanghai municipality (16 districts); servicemap answers only inside it",
            code="outside_service_area",
        )
    return wgs_lon, wgs_lat, source

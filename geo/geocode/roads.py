"""Placing a record on a named road: house-number interpolation, cross streets, midpoints.

All geometry is done in UTM 51N metres on the road lines of the gazetteer. A road here is
the set of OSM ways of one name within one district (several rows when the road crosses
districts; the caller picks those of the named district).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from geo.crs import from_utm, to_utm
from geo.geocode.gazetteer import Gazetteer

#: Two roads cross where their lines come this close (metres).
CROSSING_TOLERANCE_M = 30.0
#: Uncertainty given to an interpolated number and to a crossing (metres).
INTERPOLATED_UNCERTAINTY_M = 150.0
CROSSING_UNCERTAINTY_M = 120.0
#: A midpoint is never trusted to better than this (metres).
MIN_MIDPOINT_UNCERTAINTY_M = 100.0


@dataclass(frozen=True)
class RoadPoint:
    """A point on a road: WGS84 position, uncertainty radius and how it was found."""

    lon: float
    lat: float
    uncertainty_m: float
    method: str  # "interpolated", "crossing", "midpoint"


def _to_wgs84(x: float, y: float) -> tuple[float, float]:
    lon, lat = from_utm(np.array([x]), np.array([y]))
    return float(lon[0]), float(lat[0])


def roads_metric(gazetteer: Gazetteer, roads: Sequence[int]) -> BaseGeometry:
    """Union of the road lines (metres) of several road rows."""
    parts = [gazetteer.road_metric(index) for index in roads]
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def distance_to_roads_m(
    gazetteer: Gazetteer, roads: Sequence[int], places: Sequence[int]
) -> NDArray[np.float64]:
    """Metres from each place to the nearest of the road lines."""
    if not roads or not places:
        return np.full(len(places), np.inf)
    geometry = roads_metric(gazetteer, roads)
    index = np.asarray(places, dtype=np.int64)
    points = shapely.points(gazetteer.x[index], gazetteer.y[index])
    return np.asarray(shapely.distance(geometry, points), dtype=float)


def interpolate_number(
    gazetteer: Gazetteer, road_name: str, roads: Sequence[int], number: int
) -> RoadPoint | None:
    """Position of house ``number`` from the address points on the road, if it is bracketed.

    Address points of the same parity as ``number`` are preferred (Chinese streets number
    one side odd, the other even); the two nearest numbers below and above are projected on
    the road and the position is interpolated linearly along it. No extrapolation.
    """
    points = gazetteer.address_points(road_name)
    same_side = [(n, p) for n, p in points if n % 2 == number % 2]
    pool = same_side if len(same_side) >= 2 else points
    below = [(n, p) for n, p in pool if n < number]
    above = [(n, p) for n, p in pool if n > number]
    if not below or not above or not roads:
        return None
    low_n, low_p = max(below)
    high_n, high_p = min(above)
    geometry = roads_metric(gazetteer, roads)
    merged = shapely.line_merge(geometry)
    lines = list(merged.geoms) if hasattr(merged, "geoms") else [merged]
    low_pt = shapely.Point(gazetteer.x[low_p], gazetteer.y[low_p])
    high_pt = shapely.Point(gazetteer.x[high_p], gazetteer.y[high_p])
    line = min(lines, key=lambda item: item.distance(low_pt) + item.distance(high_pt))
    fraction = (number - low_n) / (high_n - low_n)
    if line.distance(low_pt) > 100 or line.distance(high_pt) > 100:
        x = gazetteer.x[low_p] + fraction * (gazetteer.x[high_p] - gazetteer.x[low_p])
        y = gazetteer.y[low_p] + fraction * (gazetteer.y[high_p] - gazetteer.y[low_p])
    else:
        start, end = line.project(low_pt), line.project(high_pt)
        point = line.interpolate(start + fraction * (end - start))
        x, y = point.x, point.y
    lon, lat = _to_wgs84(float(x), float(y))
    return RoadPoint(lon, lat, INTERPOLATED_UNCERTAINTY_M, "interpolated")


def crossing(
    gazetteer: Gazetteer,
    roads: Sequence[int],
    cross_roads: Sequence[int],
    near: tuple[float, float] | None = None,
) -> RoadPoint | None:
    """Where the road meets a cross street (``近真北路``), nearest to ``near`` if several."""
    if not roads or not cross_roads:
        return None
    first = roads_metric(gazetteer, roads)
    second = roads_metric(gazetteer, cross_roads)
    if first.distance(second) > CROSSING_TOLERANCE_M:
        return None
    meeting = first.intersection(second.buffer(CROSSING_TOLERANCE_M, quad_segs=2))
    if meeting.is_empty:
        return None
    parts = list(meeting.geoms) if hasattr(meeting, "geoms") else [meeting]
    centres = [part.centroid for part in parts if not part.is_empty]
    if near is not None and len(centres) > 1:
        x, y = to_utm(np.array([near[0]]), np.array([near[1]]))
        target = shapely.Point(float(x[0]), float(y[0]))
        centre = min(centres, key=lambda point: point.distance(target))
    else:
        centre = centres[0]
    lon, lat = _to_wgs84(centre.x, centre.y)
    return RoadPoint(lon, lat, CROSSING_UNCERTAINTY_M, "crossing")


def midpoint(
    gazetteer: Gazetteer, roads: Sequence[int], within: BaseGeometry | None = None
) -> RoadPoint | None:
    """Middle of the longest connected stretch of the road (inside ``within``, metres).

    The uncertainty is half that stretch's length (at least 100 m).
    """
    if not roads:
        return None
    geometry = shapely.line_merge(roads_metric(gazetteer, roads))
    if within is not None:
        clipped = geometry.intersection(within)
        if not clipped.is_empty and clipped.length > 0:
            geometry = shapely.line_merge(clipped) if clipped.geom_type != "LineString" else clipped
    parts = [part for part in getattr(geometry, "geoms", [geometry]) if part.length > 0]
    if not parts:
        return None
    longest = max(parts, key=lambda part: part.length)
    if longest.geom_type != "LineString":
        return None
    point = longest.interpolate(0.5, normalized=True)
    lon, lat = _to_wgs84(point.x, point.y)
    return RoadPoint(lon, lat, max(longest.length / 2.0, MIN_MIDPOINT_UNCERTAINTY_M), "midpoint")


def metric_polygon(geometry: BaseGeometry) -> BaseGeometry:
    """A WGS84 polygon projected to UTM 51N metres."""
    return shapely.transform(geometry, lambda xy: np.column_stack(to_utm(xy[:, 0], xy[:, 1])))

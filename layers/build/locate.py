"""Point-in-polygon assignment of districts and subdistricts, and metric helpers.

Districts come from ``boundaries/districts_land.geojson`` (land only), so points on piers,
reclaimed land or just offshore fall outside every polygon; those get the nearest district
within ``max_offshore_m`` (2 km), else ``None``. Metric work uses UTM zone 51N (EPSG:32651).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo._once import once_property
from geo._prepared import SharedPrepared

logger = logging.getLogger(__name__)

METRIC_CRS = "EPSG:32651"
_TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_TO_WGS84 = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


def to_metric(geometry: BaseGeometry) -> BaseGeometry:
    """Project a WGS84 geometry to UTM 51N metres."""
    return shapely.transform(
        geometry, lambda xy: np.column_stack(_TO_METRIC.transform(xy[:, 0], xy[:, 1]))
    )


def to_wgs84(geometry: BaseGeometry) -> BaseGeometry:
    """Project a UTM 51N geometry back to WGS84 lon/lat."""
    return shapely.transform(
        geometry, lambda xy: np.column_stack(_TO_WGS84.transform(xy[:, 0], xy[:, 1]))
    )


def project_points(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS84 lon/lat arrays to UTM 51N easting/northing arrays (metres)."""
    x, y = _TO_METRIC.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


class PolygonLocator:
    """Assign points to named polygons with an STRtree.

    Parameters
    ----------
    names
        One name per polygon.
    geometries
        WGS84 polygons, same order as ``names``.
    max_offshore_m
        Points inside no polygon take the nearest one within this distance (metres);
        0 disables the fallback.
    """

    def __init__(
        self, names: Sequence[str], geometries: Sequence[BaseGeometry], max_offshore_m: float = 0.0
    ) -> None:
        if len(names) != len(geometries):
            raise ValueError(f"{len(names)} names for {len(geometries)} polygons")
        self.names = list(names)
        self.geometries = list(geometries)
        self.max_offshore_m = float(max_offshore_m)
        self._tree = shapely.STRtree(self.geometries)

    @classmethod
    def from_features(
        cls, features: list[dict[str, Any]], name_key: str, max_offshore_m: float = 0.0
    ) -> PolygonLocator:
        """Build from GeoJSON features, naming each polygon by ``properties[name_key]``."""
        names = [str(feature["properties"][name_key]) for feature in features]
        geometries = [shapely.make_valid(shape(feature["geometry"])) for feature in features]
        return cls(names, geometries, max_offshore_m)

    def locate(self, lon: Sequence[float], lat: Sequence[float]) -> list[str | None]:
        """Name of the polygon containing each point (vectorised).

        Returns
        -------
        list
            One name or ``None`` per point.
        """
        lon_arr = np.asarray(lon, dtype=float)
        lat_arr = np.asarray(lat, dtype=float)
        result: list[str | None] = [None] * len(lon_arr)
        if len(lon_arr) == 0:
            return result
        points = shapely.points(lon_arr, lat_arr)
        point_idx, poly_idx = self._tree.query(points, predicate="intersects")
        # a point on a shared border intersects two polygons: keep the first (lowest index)
        for point, poly in sorted(
            zip(point_idx.tolist(), poly_idx.tolist(), strict=True), reverse=True
        ):
            result[point] = self.names[poly]
        missing = [index for index, name in enumerate(result) if name is None]
        if missing and self.max_offshore_m > 0:
            self._assign_nearby(lon_arr, lat_arr, missing, result)
        return result

    @once_property
    def _metric_tree(self) -> shapely.STRtree:
        """The polygons in EPSG:32651, for the offshore fallback (built on first use)."""
        return shapely.STRtree([to_metric(geom) for geom in self.geometries])

    def _assign_nearby(
        self, lon: np.ndarray, lat: np.ndarray, missing: list[int], result: list[str | None]
    ) -> None:
        x, y = project_points(lon[missing], lat[missing])
        points = shapely.points(x, y)
        input_idx, tree_idx = self._metric_tree.query_nearest(
            points, max_distance=self.max_offshore_m, all_matches=False
        )
        for index, poly in zip(input_idx.tolist(), tree_idx.tolist(), strict=True):
            result[missing[index]] = self.names[poly]
        logger.debug(
            "%d of %d points outside every polygon; %d placed within %.0f m",
            len(missing),
            len(lon),
            len(input_idx),
            self.max_offshore_m,
        )


def contains_points(area: BaseGeometry, lon: Sequence[float], lat: Sequence[float]) -> np.ndarray:
    """Boolean mask: which WGS84 points lie inside (or on the edge of) ``area``.

    ``area`` itself is not prepared (it may be shared): a prepared copy is queried.
    """
    if len(lon) == 0:
        return np.zeros(0, dtype=bool)
    points = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(SharedPrepared(area).intersects(points), dtype=bool)

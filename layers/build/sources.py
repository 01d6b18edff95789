"""The raw source files the build reads, their dates and licences, and shared lookups.

Paths are relative to the source directory (``../shared/data`` in the development set-up,
see its README). Dates are the sources' own snapshot or reference dates; they become the
``updated_at`` of the records so rebuilding gives identical files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo._once import OnceMap, once_property
from layers.build.io import read_csv_rows, read_geojson
from layers.build.locate import PolygonLocator, project_points, to_metric, to_wgs84
from layers.registry.catalog import DISTRICTS

logger = logging.getLogger(__name__)

TRAINING_SITES_CSV = "sites/training_sites.csv"
SERVICE_CENTRES_CSV = "sites/service_centres.csv"
POIS_GEOJSON = "osm/pois.geojson"
LANDUSE_GEOJSON = "osm/landuse_industrial_commercial.geojson"
BUILDINGS_GEOJSON = "osm/buildings_work.geojson"
MAJOR_ROADS_GEOJSON = "osm/major_roads_citywide.geojson"
DISTRICTS_GEOJSON = "boundaries/districts_land.geojson"
SUBDISTRICTS_GEOJSON = "demand/subdistrict_employment_density_central.geojson"
METRO_STATIONS_CSV = "metro/stations.csv"
METRO_LINES_GEOJSON = "metro/lines_schematic.geojson"
DISTRICT_EMPLOYMENT_CSV = "demand/district_employment_2023.csv"
DISTRICT_INDUSTRY_CSV = "demand/district_industry_employment_2023.csv"
SUBDISTRICT_EMPLOYMENT_CSV = "demand/subdistrict_employment_2023_central.csv"

REQUIRED_FILES: tuple[str, ...] = (
    TRAINING_SITES_CSV,
    SERVICE_CENTRES_CSV,
    POIS_GEOJSON,
    LANDUSE_GEOJSON,
    BUILDINGS_GEOJSON,
    MAJOR_ROADS_GEOJSON,
    DISTRICTS_GEOJSON,
    SUBDISTRICTS_GEOJSON,
    METRO_STATIONS_CSV,
    METRO_LINES_GEOJSON,
    DISTRICT_EMPLOYMENT_CSV,
    DISTRICT_INDUSTRY_CSV,
    SUBDISTRICT_EMPLOYMENT_CSV,
)

OSM_LICENCE = "© OpenStreetMap contributors, ODbL 1.0"
OSM_SNAPSHOT = datetime(2025, 3, 18, tzinfo=UTC)
OSM_SOURCE = f"OpenStreetMap, Geofabrik free layers 2025-03-18; {OSM_LICENCE}"
METRO_SNAPSHOT = datetime(2026, 7, 18, tzinfo=UTC)
METRO_SOURCE = "Amap metro station points via Evenss/metro-typing (MIT), GCJ-02 converted to WGS84"
PLAN_DATE = datetime(2023, 1, 1, tzinfo=UTC)

#: Points outside every land district take the nearest district within this distance.
MAX_OFFSHORE_M = 2000.0
#: The service area is the union of the land districts buffered by this distance.
SERVICE_AREA_BUFFER_M = 1000.0


class SourceMissingError(FileNotFoundError):
    """A required source file is absent from the source directory."""


@dataclass
class MetroStation:
    """One metro station of ``metro/stations.csv`` (WGS84)."""

    name_zh: str
    name_en: str
    lines: list[str]
    lon: float
    lat: float


@dataclass
class SourceData:
    """Lazily loaded sources and lookups shared by the build steps.

    Parameters
    ----------
    source_dir
        The directory laid out like ``../shared/data``.
    """

    source_dir: Path
    _cache: OnceMap[str, Any] = field(default_factory=OnceMap, repr=False)

    def __post_init__(self) -> None:
        self.source_dir = Path(self.source_dir)
        missing = [name for name in REQUIRED_FILES if not (self.source_dir / name).exists()]
        if missing:
            raise SourceMissingError(
                f"{len(missing)} source file(s) missing under {self.source_dir}: {', '.join(missing)}"
            )

    def path(self, name: str) -> Path:
        """Absolute path of a source file."""
        return self.source_dir / name

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        """A value derived from the sources, built by ``build()`` once per ``key``."""
        return self._cache.get(key, build)

    def geojson(self, name: str) -> dict[str, Any]:
        """A source GeoJSON file, loaded once."""
        data: dict[str, Any] = self.cached(name, lambda: read_geojson(self.path(name)))
        return data

    def csv(self, name: str) -> list[dict[str, str]]:
        """A source CSV file as row dicts, loaded once."""
        rows: list[dict[str, str]] = self.cached(f"csv:{name}",
                                                 lambda: read_csv_rows(self.path(name)))
        return rows

    @once_property
    def district_features(self) -> list[dict[str, Any]]:
        """The land district features, validated against the catalogue's 16 names."""
        features = self.geojson(DISTRICTS_GEOJSON)["features"]
        unknown = sorted({f["properties"]["name"] for f in features} - set(DISTRICTS))
        if unknown:
            raise ValueError(f"districts file has names not in the catalogue: {unknown}")
        return sorted(features, key=lambda f: DISTRICTS.index(f["properties"]["name"]))

    @once_property
    def districts(self) -> PolygonLocator:
        """District lookup (land polygons, nearest within 2 km offshore)."""
        return PolygonLocator.from_features(self.district_features, "name", MAX_OFFSHORE_M)

    @once_property
    def subdistricts(self) -> PolygonLocator:
        """Subdistrict (街道/镇) lookup for the 8 central districts; no offshore fallback."""
        features = self.geojson(SUBDISTRICTS_GEOJSON)["features"]
        return PolygonLocator.from_features(features, "name")

    @once_property
    def land(self) -> BaseGeometry:
        """Union of the 16 land districts (WGS84)."""
        return shapely.union_all(self.districts.geometries)

    @once_property
    def service_area(self) -> BaseGeometry:
        """The land districts buffered by 1 km, simplified to 50 m (WGS84)."""
        metric = to_metric(self.land).buffer(SERVICE_AREA_BUFFER_M, quad_segs=4)
        return to_wgs84(metric.simplify(50.0, preserve_topology=True))

    @once_property
    def metro_stations(self) -> list[MetroStation]:
        """Metro stations sorted by Chinese name."""
        stations = [
            MetroStation(
                name_zh=row["name_zh"].strip(),
                name_en=row["name_en"].strip(),
                lines=[line for line in row["lines"].split("|") if line],
                lon=float(row["wgs84_lon"]),
                lat=float(row["wgs84_lat"]),
            )
            for row in self.csv(METRO_STATIONS_CSV)
        ]
        return sorted(stations, key=lambda station: station.name_zh)

    @once_property
    def _station_xy(self) -> np.ndarray:
        x, y = project_points(
            np.array([s.lon for s in self.metro_stations]),
            np.array([s.lat for s in self.metro_stations]),
        )
        return np.column_stack([x, y])

    def nearest_station(self, lon: float, lat: float, max_m: float) -> MetroStation | None:
        """The nearest metro station within ``max_m`` metres, or ``None``."""
        if not self.metro_stations:
            return None
        x, y = project_points(np.array([lon]), np.array([lat]))
        dist = np.hypot(self._station_xy[:, 0] - x[0], self._station_xy[:, 1] - y[0])
        best = int(np.argmin(dist))
        return self.metro_stations[best] if dist[best] <= max_m else None

    @once_property
    def district_employment(self) -> dict[str, int]:
        """Workplace employment per district (2023 economic census)."""
        return {
            row["district"]: int(row["employment"]) for row in self.csv(DISTRICT_EMPLOYMENT_CSV)
        }

    def feature_shapes(self, name: str) -> list[tuple[dict[str, Any], BaseGeometry]]:
        """(properties, shapely geometry) pairs of a source GeoJSON file."""
        return [
            (feature["properties"], shape(feature["geometry"]))
            for feature in self.geojson(name)["features"]
        ]

"""Workplaces: industrial/business parks (园区) and work buildings (楼宇) from OSM.

Parks are ``landuse=industrial|commercial`` polygons; buildings are industrial,
commercial and warehouse footprints. Each becomes a context-layer facility placed at a
representative point inside the polygon (``point_on_surface``) with its area in m²
(computed in UTM 51N), and a row of the workplace GeoParquet that keeps the polygon for
the coverage-gap analysis. The facility id and the parquet id are the same.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from layers.build.locate import to_metric
from layers.build.sources import (
    BUILDINGS_GEOJSON,
    LANDUSE_GEOJSON,
    OSM_SNAPSHOT,
    OSM_SOURCE,
    SourceData,
)
from layers.registry.schema import Facility, LocationPrecision

logger = logging.getLogger(__name__)

PARK_UNNAMED = {
    "industrial": ("未命名工业区", "Unnamed industrial area"),
    "commercial": ("未命名商务区", "Unnamed commercial area"),
}
BUILDING_UNNAMED = {
    "industrial": ("未命名工业建筑", "Unnamed industrial building"),
    "commercial": ("未命名商业建筑", "Unnamed commercial building"),
    "warehouse": ("未命名仓库", "Unnamed warehouse"),
    "office": ("未命名办公楼", "Unnamed office building"),
    "retail": ("未命名商业建筑", "Unnamed retail building"),
}


@dataclass(frozen=True)
class Workplace:
    """One workplace polygon with its representative point and location."""

    id: str
    kind: str  # "park" or "building"
    osm_id: str
    category: str  # industrial | commercial | warehouse | office | retail
    name: str | None
    lon: float
    lat: float
    area_m2: float
    levels: int | None
    district: str | None
    subdistrict: str | None
    geometry: BaseGeometry

    @property
    def layer(self) -> str:
        return "workplace_park" if self.kind == "park" else "workplace_building"


def _levels(props: dict[str, Any]) -> int | None:
    raw = props.get("building:levels") or props.get("levels")
    match = re.match(r"^\s*(\d+)", str(raw)) if raw not in (None, "") else None
    return int(match.group(1)) if match else None


def _load_kind(sources: SourceData, name: str, kind: str, class_key: str) -> list[Workplace]:
    pairs = sources.feature_shapes(name)
    geometries = np.array([shapely.make_valid(geom) for _, geom in pairs], dtype=object)
    if len(geometries) == 0:
        return []
    points = shapely.point_on_surface(geometries)
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    areas = shapely.area(np.array([to_metric(geom) for geom in geometries], dtype=object))
    districts = sources.districts.locate(lon, lat)
    subdistricts = sources.subdistricts.locate(lon, lat)
    prefix = "workplace_park" if kind == "park" else "workplace_building"
    workplaces = []
    for index, (props, _) in enumerate(pairs):
        osm_id = str(props["osm_id"])
        workplaces.append(
            Workplace(
                id=f"{prefix}:osm-a{osm_id}",
                kind=kind,
                osm_id=osm_id,
                category=str(props.get(class_key) or "commercial"),
                name=(props.get("name") or "").strip() or None,
                lon=round(float(lon[index]), 7),
                lat=round(float(lat[index]), 7),
                area_m2=round(float(areas[index]), 1),
                levels=_levels(props),
                district=districts[index],
                subdistrict=subdistricts[index],
                geometry=geometries[index],
            )
        )
    # the free layers may repeat an object; keep the first of each id
    unique: dict[str, Workplace] = {}
    for workplace in workplaces:
        unique.setdefault(workplace.id, workplace)
    return sorted(unique.values(), key=lambda w: (int(re.sub(r"\D", "", w.osm_id) or 0), w.id))


def load_workplaces(sources: SourceData) -> list[Workplace]:
    """Parks then buildings, each sorted by OSM id (cached on ``sources``)."""

    def load() -> list[Workplace]:
        loaded = _load_kind(sources, LANDUSE_GEOJSON, "park", "fclass") + _load_kind(
            sources, BUILDINGS_GEOJSON, "building", "type"
        )
        logger.debug("workplaces: %d polygons", len(loaded))
        return loaded

    return list(sources.cached("workplaces", load))


def display_name(workplace: Workplace) -> tuple[str, str | None]:
    """(zh name, en name or None) of a workplace, generic when OSM has no name."""
    if workplace.name:
        return workplace.name, None
    table = PARK_UNNAMED if workplace.kind == "park" else BUILDING_UNNAMED
    return table.get(workplace.category, ("未命名工作场所", "Unnamed workplace"))


def workplace_facility(workplace: Workplace) -> Facility:
    """The context-layer record of a workplace (representative point)."""
    name, name_en = display_name(workplace)
    extra: dict[str, Any] = {"osm_id": workplace.osm_id, "osm_type": "area"}
    if workplace.subdistrict:
        extra["subdistrict"] = workplace.subdistrict
    if workplace.levels is not None:
        extra["levels"] = workplace.levels
    return Facility(
        id=workplace.id,
        layer=workplace.layer,
        name=name,
        name_en=name_en,
        district=workplace.district,
        lon=workplace.lon,
        lat=workplace.lat,
        location_precision=LocationPrecision.EXACT,
        host_type=workplace.category,
        services=[workplace.category],
        area_m2=workplace.area_m2,
        source=OSM_SOURCE,
        updated_at=OSM_SNAPSHOT,
        extra=extra,
    )


def workplace_frame(workplaces: list[Workplace]) -> Any:
    """The workplaces as a GeoDataFrame (EPSG:4326) for GeoParquet, sorted by id."""
    import geopandas as gpd  # heavy imports, only needed when building
    import pandas as pd

    rows = sorted(workplaces, key=lambda w: w.id)
    return gpd.GeoDataFrame(
        {
            "id": [w.id for w in rows],
            "kind": [w.kind for w in rows],
            "category": [w.category for w in rows],
            "name": [display_name(w)[0] for w in rows],
            "osm_name": [w.name for w in rows],
            "district": [w.district for w in rows],
            "subdistrict": [w.subdistrict for w in rows],
            "area_m2": np.array([w.area_m2 for w in rows], dtype=float),
            "levels": pd.array([w.levels for w in rows], dtype="Int32"),
            "lon": np.array([w.lon for w in rows], dtype=float),
            "lat": np.array([w.lat for w in rows], dtype=float),
        },
        geometry=[w.geometry for w in rows],
        crs="EPSG:4326",
    )

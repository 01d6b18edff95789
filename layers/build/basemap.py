"""Small vector layers for the web map's offline basemap and for area checks.

* ``districts``: the 16 land districts, simplified as a coverage to about 20 m so
  neighbouring borders stay shared;
* ``roads``: motorway, trunk and primary roads, merged per class and simplified to 15 m;
* ``metro_lines``: the schematic metro lines (straight segments between stations);
* ``service_area``: the land districts buffered by 1 km (the area "nearest" accepts);
* ``subdistricts``: the 113 subdistricts of the 8 central districts with 2023 employment.

Geometry is simplified in UTM 51N and written in WGS84 with 5 decimals (about 1 m).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from layers.build.io import MAP_DECIMALS, round_coords
from layers.build.locate import to_metric, to_wgs84
from layers.build.sources import (
    DISTRICT_EMPLOYMENT_CSV,
    MAJOR_ROADS_GEOJSON,
    METRO_LINES_GEOJSON,
    SERVICE_AREA_BUFFER_M,
    SUBDISTRICTS_GEOJSON,
    SourceData,
)

logger = logging.getLogger(__name__)

DISTRICT_TOLERANCE_M = 20.0
ROAD_TOLERANCE_M = 15.0
ROAD_CLASSES: tuple[str, ...] = ("motorway", "trunk", "primary")


def _feature(
    geometry: BaseGeometry, properties: dict[str, Any], decimals: int = MAP_DECIMALS
) -> dict[str, Any]:
    geo = mapping(geometry)
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {
            "type": geo["type"],
            "coordinates": round_coords(geo["coordinates"], decimals),
        },
    }


def _drop_degenerate_lines(feature: dict[str, Any]) -> dict[str, Any]:
    """Turn a line feature into a MultiLineString without parts shorter than two points."""
    geometry = feature["geometry"]
    parts = (
        [geometry["coordinates"]] if geometry["type"] == "LineString" else geometry["coordinates"]
    )
    kept = []
    for part in parts:
        deduped = [
            point for index, point in enumerate(part) if index == 0 or point != part[index - 1]
        ]
        if len(deduped) >= 2:
            kept.append(deduped)
    feature["geometry"] = {"type": "MultiLineString", "coordinates": kept}
    return feature


def _collection(features: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", **meta, "features": features}


def _simplify_coverage(geometries: list[BaseGeometry], tolerance_m: float) -> list[BaseGeometry]:
    """Simplify polygons that share borders without opening gaps (metric tolerance)."""
    metric = np.array([to_metric(geom) for geom in geometries], dtype=object)
    simplified = shapely.coverage_simplify(metric, tolerance_m)
    result = []
    for original, geom in zip(metric, simplified, strict=True):
        fixed = geom if geom.is_valid and not geom.is_empty else original.simplify(tolerance_m)
        result.append(to_wgs84(shapely.make_valid(fixed)))
    return result


def districts_layer(sources: SourceData) -> dict[str, Any]:
    """The 16 land districts (name, name_en, adcode)."""
    features = sources.district_features
    names_en = {row["district"]: row["district_en"] for row in sources.csv(DISTRICT_EMPLOYMENT_CSV)}
    geometries = _simplify_coverage(list(sources.districts.geometries), DISTRICT_TOLERANCE_M)
    out = [
        _feature(
            geometry,
            {
                "name": feature["properties"]["name"],
                "name_en": names_en.get(feature["properties"]["name"]),
                "adcode": feature["properties"].get("adcode"),
            },
        )
        for feature, geometry in zip(features, geometries, strict=True)
    ]
    return _collection(out, name="districts")


def roads_layer(sources: SourceData) -> dict[str, Any]:
    """Major roads (motorway, trunk, primary), one merged feature per class."""
    by_class: dict[str, list[BaseGeometry]] = {name: [] for name in ROAD_CLASSES}
    for props, geometry in sources.feature_shapes(MAJOR_ROADS_GEOJSON):
        highway = props.get("highway")
        if highway in by_class:
            by_class[highway].append(geometry)
    features = []
    for highway, lines in by_class.items():
        if not lines:
            continue
        merged = shapely.line_merge(shapely.union_all(lines))
        simplified = to_metric(merged).simplify(ROAD_TOLERANCE_M, preserve_topology=False)
        feature = _feature(to_wgs84(simplified), {"highway": highway})
        features.append(_drop_degenerate_lines(feature))
        logger.debug("roads %s: %d links merged", highway, len(lines))
    return _collection(features, name="roads")


def metro_lines_layer(sources: SourceData) -> dict[str, Any]:
    """Schematic metro lines with line name and colour."""
    source = sources.geojson(METRO_LINES_GEOJSON)
    features = []
    for feature in sorted(source["features"], key=lambda f: str(f["properties"].get("line"))):
        props = feature["properties"]
        geometry = feature["geometry"]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "line": props.get("line"),
                    "color": props.get("color"),
                    "n_stations": props.get("n_stations"),
                    "stations": props.get("stations_in_order"),
                },
                "geometry": {
                    "type": geometry["type"],
                    "coordinates": round_coords(geometry["coordinates"], 6),
                },
            }
        )
    return _collection(features, name="metro_lines", schematic=True)


def service_area_layer(sources: SourceData) -> dict[str, Any]:
    """The service area: the land districts buffered by 1 km (one feature)."""
    return _collection(
        [_feature(sources.service_area, {"buffer_m": SERVICE_AREA_BUFFER_M})],
        name="service_area",
    )


def subdistricts_layer(sources: SourceData) -> dict[str, Any]:
    """Central subdistricts (街道/镇) with 2023 workplace employment and density."""
    source = sources.geojson(SUBDISTRICTS_GEOJSON)["features"]
    geometries = _simplify_coverage(
        [shapely.make_valid(shape(f["geometry"])) for f in source], DISTRICT_TOLERANCE_M
    )
    keys = ("district", "code", "name", "area_km2", "employment_2023", "employment_per_km2")
    features = [
        _feature(geometry, {key: feature["properties"].get(key) for key in keys})
        for feature, geometry in zip(source, geometries, strict=True)
    ]
    features.sort(key=lambda f: str(f["properties"]["code"]))
    return _collection(features, name="subdistricts")


MAP_BUILDERS = {
    "districts": districts_layer,
    "roads": roads_layer,
    "metro_lines": metro_lines_layer,
    "service_area": service_area_layer,
    "subdistricts": subdistricts_layer,
}

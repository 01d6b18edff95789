"""The offline vector basemap: map features from the shipped sources, tiled into PMTiles.

``map/basemap.pmtiles`` holds Mapbox Vector Tiles for tile zooms 7–14, drawn as 512-px
tiles, so they serve display zooms 8–15 natively; the web map overzooms beyond (to 19).
Layers (tile zooms):

========== ===================================================================== =======
layer      content                                                               zooms
========== ===================================================================== =======
outside    what is not Shanghai's land (the page background is the land colour)  7–14
water      the Huangpu: OSM river area where the extracts have it (Lujiazui),     7–14
           elsewhere its OSM centre line widened to 400 m (approximate);
           ponds and lakes of the extracts                                        12–14
water_label the Huangpu centre line with its name                               9–14
park       public parks (green space)                                             9–14
park_label park names at a point inside                                           11–14
workplace  industrial and commercial land use (园区 / 楼宇 districts)              10–14
building   industrial/commercial/warehouse buildings, and every building of the   13–14
           Lujiazui extract
road       every street of the OSM extracts (central 10×10 km, Lujiazui, People's 7–14
           Square) with ``class``, ``name``, ``name_en``; the citywide major
           roads (no names) where the extracts do not reach
boundary   district (``admin_level`` 6) and central subdistrict (8) borders       7–14
place      district (7–12) and central subdistrict (11–14) names                 7–14
metro      the schematic metro lines, coloured                                   7–11
station    metro stations with names                                             11–14
========== ===================================================================== =======

Not in the sources, so not on the map: other rivers and canals (Suzhou Creek …), the sea
and the Yangtze, residential buildings outside Lujiazui, names of the citywide major roads
outside the central extracts, English names of the subdistricts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiLineString, Point, shape
from shapely.geometry.base import BaseGeometry

from geo._prepared import SharedPrepared
from layers.basemap_tiles import BASEMAP_ARCHIVE
from layers.build.locate import to_metric, to_wgs84
from layers.build.osm_extract import OsmFeatures, read_osm_features, road_class
from layers.build.sources import (
    BUILDINGS_GEOJSON,
    DISTRICT_EMPLOYMENT_CSV,
    DISTRICTS_GEOJSON,
    LANDUSE_GEOJSON,
    MAJOR_ROADS_GEOJSON,
    METRO_LINES_GEOJSON,
    METRO_STATIONS_CSV,
    SUBDISTRICTS_GEOJSON,
    SourceData,
)
from layers.build.vector_tiles import (
    TileFeature,
    TilesReport,
    to_mercator,
    vector_layers_metadata,
    write_pmtiles,
)

logger = logging.getLogger(__name__)

MIN_ZOOM = 7
MAX_ZOOM = 14
CENTER = (121.4737, 31.2304, 12)  # People's Square

OSM_EXTRACTS: tuple[str, ...] = (
    "osm/central_100km2.osm",
    "osm/lujiazui.osm",
    "osm/peoples_square.osm",
)
GREEN_PARKS_GEOJSON = "osm/green_parks.geojson"

#: Half the width given to the Huangpu where only its centre line is known. Measured: the
#: OSM river area in the Lujiazui extract is 2.42 km² over 5.53 km of centre line (mean
#: width 439 m); the river is narrower upstream, so outside Lujiazui the width is a sketch.
HUANGPU_HALF_WIDTH_M = 200.0
HUANGPU = "黄浦江"
#: A citywide major-road link is dropped when this share of it lies within
#: ``EXTRACT_MATCH_M`` of a street of the OSM extracts (it is drawn from them, with a name).
EXTRACT_MATCH_SHARE = 0.8
EXTRACT_MATCH_M = 8.0

#: First tile zoom of each road class (links one zoom later).
ROAD_MINZOOM: dict[str, int] = {
    "motorway": 7,
    "trunk": 7,
    "primary": 8,
    "secondary": 10,
    "tertiary": 11,
    "minor": 12,
    "service": 13,
    "path": 14,
}
ROAD_RANK = {name: rank for rank, name in enumerate(ROAD_MINZOOM)}

LAYER_DESCRIPTIONS = {
    "outside": "Outside Shanghai's land: sea, Yangtze, neighbouring provinces",
    "water": "The Huangpu (OSM area in Lujiazui, elsewhere the centre line widened to 400 m) and ponds",
    "water_label": "The Huangpu centre line, for its name",
    "park": "Public parks (green space)",
    "park_label": "Park names",
    "workplace": "Industrial and commercial land use (parks of firms, office districts)",
    "building": "Industrial, commercial and warehouse buildings; all Lujiazui buildings",
    "road": "Streets with class, name and English name where OSM has one",
    "boundary": "District (level 6) and subdistrict (level 8) borders",
    "place": "District and subdistrict names",
    "metro": "Schematic metro lines (straight between stations)",
    "station": "Metro stations",
}
ATTRIBUTION = (
    '<a href="https://www.openstreetmap.org/copyright">© OpenStreetMap contributors</a> (ODbL)'
)


@dataclass
class BasemapReport:
    """The archive written and what is in it (``rows``: features before tiling)."""

    path: Path
    rows: int
    tiles: TilesReport

    def manifest_fields(self) -> dict[str, Any]:
        """What the manifest records beside the file's hash and size."""
        return {
            "format": "PMTiles v3, gzip Mapbox Vector Tiles, 512 px",
            "zooms": [MIN_ZOOM, MAX_ZOOM],
            "tiles": self.tiles.tiles,
            "licence": (
                "OSM layers ODbL 1.0, © OpenStreetMap contributors; land, district borders "
                "and metro as their sources (see SOURCES.md)"
            ),
        }


def basemap_sources(sources: SourceData) -> str:
    """The source files the basemap was built from (those present), for the manifest."""
    names = [
        *OSM_EXTRACTS,
        GREEN_PARKS_GEOJSON,
        LANDUSE_GEOJSON,
        BUILDINGS_GEOJSON,
        MAJOR_ROADS_GEOJSON,
        DISTRICTS_GEOJSON,
        SUBDISTRICTS_GEOJSON,
        METRO_LINES_GEOJSON,
        METRO_STATIONS_CSV,
    ]
    return ", ".join(name for name in names if sources.path(name).exists())


def _min_area_units(px: float) -> float:
    """Square tile units of a ``px`` × ``px`` square on screen (tiles are drawn 512 px wide)."""
    units_per_px = 4096 / 512
    return (px * units_per_px) ** 2


def _label_point(geometry: BaseGeometry) -> BaseGeometry:
    """A point well inside a polygon (pole of inaccessibility of its largest part, 10 m)."""
    metric = to_metric(geometry)
    parts = list(getattr(metric, "geoms", [metric]))
    largest = max(parts, key=lambda part: part.area)
    centre = shapely.get_point(shapely.maximum_inscribed_circle(largest, tolerance=10.0), 0)
    return to_wgs84(centre)


def _feature(
    layer: str,
    geometry: BaseGeometry,
    properties: dict[str, Any],
    minzoom: int,
    maxzoom: int = MAX_ZOOM,
    min_area_px: float = 0.0,
) -> TileFeature:
    return TileFeature(
        layer=layer,
        geometry=to_mercator(geometry),
        properties=properties,
        minzoom=minzoom,
        maxzoom=maxzoom,
        min_area_units=_min_area_units(min_area_px),
    )


#: The ``outside`` layer covers the archive's bounds less the land, this far around it.
OUTSIDE_MARGIN_DEG = 0.05


def outside_features(sources: SourceData) -> list[TileFeature]:
    """Everything around Shanghai that is not its land (sea, Yangtze, neighbouring provinces).

    The map's background is the land colour, so tiles inside Shanghai carry nothing for
    this layer (a land polygon would repeat in every tile).
    """
    minx, miny, maxx, maxy = sources.land.bounds
    frame = shapely.box(
        minx - OUTSIDE_MARGIN_DEG,
        miny - OUTSIDE_MARGIN_DEG,
        maxx + OUTSIDE_MARGIN_DEG,
        maxy + OUTSIDE_MARGIN_DEG,
    )
    return [_feature("outside", frame.difference(sources.land), {}, MIN_ZOOM)]


def water_features(sources: SourceData, osm: OsmFeatures) -> list[TileFeature]:
    """The Huangpu (exact area where known, widened centre line elsewhere) and ponds."""
    features = []
    rivers = [s for s in osm.water_areas if s.tags["kind"] == "river"]
    exact = shapely.union_all([s.geometry for s in rivers]) if rivers else shapely.Polygon()
    centre = [s for s in osm.waterways if s.tags.get("name") == HUANGPU]
    if centre:
        line = shapely.line_merge(shapely.union_all([s.geometry for s in centre]))
        widened = to_wgs84(to_metric(line).buffer(HUANGPU_HALF_WIDTH_M, quad_segs=8))
        for source in sorted({s.source for s in rivers}):
            # An extract with the exact area is a box: the widened line stops at its edges.
            widened = widened.difference(shapely.box(*osm.file_bounds[source]))
        river = shapely.union_all([widened, exact]).intersection(sources.land.buffer(0.01))
        names = {"kind": "river", "name": HUANGPU, "name_en": centre[0].tags.get("name:en")}
        features.append(_feature("water", river, names, MIN_ZOOM))
        features.append(_feature("water_label", line, names, 9))
    elif not exact.is_empty:
        features.append(_feature("water", exact, {"kind": "river"}, MIN_ZOOM))
    for pond in osm.water_areas:
        if pond.tags["kind"] == "pond":
            props = {"kind": "pond", "name": pond.tags.get("name")}
            features.append(_feature("water", pond.geometry, props, 12, min_area_px=2))
    return features


def _optional_shapes(sources: SourceData, name: str) -> list[tuple[dict[str, Any], BaseGeometry]]:
    """A source the basemap can do without: its shapes, or none (logged) when it is absent."""
    if not sources.path(name).exists():
        logger.info("%s not found: left out of the basemap", name)
        return []
    return sources.feature_shapes(name)


def park_features(sources: SourceData) -> list[TileFeature]:
    """Green parks with their names; labels from zoom 11 (large) to 13 (small)."""
    features = []
    labels = []
    for props, geometry in _optional_shapes(sources, GREEN_PARKS_GEOJSON):
        geometry = shapely.make_valid(geometry)
        name = props.get("name") or None
        features.append(_feature("park", geometry, {"name": name}, 9, min_area_px=3))
        if name:
            area_m2 = to_metric(geometry).area
            minzoom = 11 if area_m2 >= 500_000 else 12 if area_m2 >= 50_000 else 13
            point = _label_point(geometry)
            labels.append(
                _feature("park_label", point, {"name": name, "area_m2": round(area_m2)}, minzoom)
            )
    return features + labels


def workplace_features(sources: SourceData) -> list[TileFeature]:
    """Industrial and commercial land use (the 园区 and office districts)."""
    return [
        _feature(
            "workplace",
            shapely.make_valid(geometry),
            {"kind": props.get("fclass"), "name": props.get("name") or None},
            10,
            min_area_px=3,
        )
        for props, geometry in sources.feature_shapes(LANDUSE_GEOJSON)
    ]


def building_features(sources: SourceData, osm: OsmFeatures) -> list[TileFeature]:
    """Work buildings citywide and every building of the OSM extracts (once per OSM id)."""
    features = []
    seen: set[int] = set()
    for props, geometry in sources.feature_shapes(BUILDINGS_GEOJSON):
        osm_id = int(props["osm_id"]) if str(props.get("osm_id", "")).isdigit() else None
        if osm_id is not None:
            seen.add(osm_id)
        features.append(
            _feature(
                "building",
                shapely.make_valid(geometry),
                {"kind": props.get("type") or "building"},
                13,
                min_area_px=1,
            )
        )
    for building in osm.buildings:
        if building.osm_id not in seen:
            features.append(
                _feature(
                    "building",
                    building.geometry,
                    {"kind": building.tags["kind"]},
                    13,
                    min_area_px=1,
                )
            )
    return features


def _road_props(tags: dict[str, str]) -> dict[str, Any]:
    kind = tags["class"]
    return {
        "class": kind,
        "rank": ROAD_RANK[kind],
        "link": tags.get("link") == "yes" or None,
        "name": tags.get("name"),
        "name_en": tags.get("name:en"),
        "bridge": tags.get("bridge") == "yes" or None,
        "tunnel": tags.get("tunnel") == "yes" or None,
    }


def _merged_lines(lines: list[BaseGeometry]) -> list[BaseGeometry]:
    """Ways of one street joined end to end (longer lines place labels better)."""
    merged = shapely.line_merge(MultiLineString([list(line.coords) for line in lines]))
    return list(getattr(merged, "geoms", [merged]))


def road_features(sources: SourceData, osm: OsmFeatures) -> list[TileFeature]:
    """Streets of the OSM extracts (merged per name and class) and the citywide major roads."""
    groups: dict[tuple[Any, ...], list[BaseGeometry]] = {}
    for street in osm.streets:
        props = _road_props(street.tags)
        key = tuple(props.items())
        groups.setdefault(key, []).append(street.geometry)
    features = []
    for key, lines in groups.items():
        props = dict(key)
        minzoom = ROAD_MINZOOM[props["class"]] + (1 if props["link"] else 0)
        for line in _merged_lines(lines):
            features.append(_feature("road", line, props, minzoom))
    features.extend(_citywide_roads(sources, osm))
    # Draw order inside the layer: small roads first, so major roads are painted over them.
    features.sort(key=lambda f: -int(f.properties["rank"] or 0))
    return features


def _citywide_roads(sources: SourceData, osm: OsmFeatures) -> list[TileFeature]:
    """Major-road links of the citywide file that the named extracts do not already draw."""
    major = [s.geometry for s in osm.streets if ROAD_RANK[s.tags["class"]] <= ROAD_RANK["tertiary"]]
    cover = (
        to_metric(shapely.union_all(major)).buffer(EXTRACT_MATCH_M, quad_segs=2)
        if major
        else shapely.Polygon()
    )
    covered = SharedPrepared(cover)  # prepared once, queried under its lock
    groups: dict[tuple[Any, ...], list[BaseGeometry]] = {}
    dropped = 0
    for props, geometry in sources.feature_shapes(MAJOR_ROADS_GEOJSON):
        kind = road_class(str(props.get("highway", "")))
        if kind is None:
            continue
        metric = to_metric(geometry)
        if (
            not cover.is_empty
            and metric.length > 0
            and covered.intersects(metric)
            and metric.intersection(cover).length >= EXTRACT_MATCH_SHARE * metric.length
        ):
            dropped += 1
            continue
        link = str(props.get("highway", "")).endswith("_link")
        road = _road_props({"class": kind, **({"link": "yes"} if link else {})})
        groups.setdefault(tuple(road.items()), []).append(geometry)
    logger.debug("citywide roads: %d links drawn from the extracts instead", dropped)
    features = []
    for key, lines in groups.items():
        props = dict(key)
        minzoom = ROAD_MINZOOM[props["class"]] + (1 if props["link"] else 0)
        features.extend(_feature("road", line, props, minzoom) for line in _merged_lines(lines))
    return features


def boundary_features(sources: SourceData) -> list[TileFeature]:
    """Borders between districts (level 6) and central subdistricts (level 8), each edge once.

    The outer edge of Shanghai is left out: it is the edge of the ``outside`` layer.
    """
    outer = sources.land.boundary.buffer(0.0002)
    districts = shapely.union_all(
        [polygon.boundary for polygon in sources.districts.geometries]
    ).difference(outer)
    subdistricts = shapely.union_all(
        [
            shapely.make_valid(shape(f["geometry"])).boundary
            for f in sources.geojson(SUBDISTRICTS_GEOJSON)["features"]
        ]
    )
    # Subdistrict edges that are also district borders are drawn once, as district borders.
    inner = subdistricts.difference(districts.buffer(0.0002)).difference(outer)
    return [
        _feature("boundary", shapely.line_merge(districts), {"admin_level": 6}, MIN_ZOOM),
        _feature("boundary", shapely.line_merge(inner), {"admin_level": 8}, 10),
    ]


def place_features(sources: SourceData) -> list[TileFeature]:
    """District and subdistrict names at a point well inside each."""
    names_en = {row["district"]: row["district_en"] for row in sources.csv(DISTRICT_EMPLOYMENT_CSV)}
    features = []
    for feature, geometry in zip(
        sources.district_features, sources.districts.geometries, strict=True
    ):
        name = feature["properties"]["name"]
        props = {"kind": "district", "name": name, "name_en": names_en.get(name)}
        features.append(_feature("place", _label_point(geometry), props, MIN_ZOOM, 12))
    source = sorted(
        sources.geojson(SUBDISTRICTS_GEOJSON)["features"],
        key=lambda f: str(f["properties"]["code"]),
    )
    for feature in source:
        name = feature["properties"].get("name")
        if not name:
            continue
        point = _label_point(shapely.make_valid(shape(feature["geometry"])))
        features.append(_feature("place", point, {"kind": "subdistrict", "name": name}, 11, 14))
    return features


def metro_features(sources: SourceData) -> list[TileFeature]:
    """Schematic metro lines (low zooms) and stations with names."""
    features = []
    lines = sorted(
        sources.geojson(METRO_LINES_GEOJSON)["features"], key=lambda f: str(f["properties"]["line"])
    )
    for feature in lines:
        props = {
            "line": feature["properties"].get("line"),
            "color": feature["properties"].get("color"),
        }
        features.append(_feature("metro", shape(feature["geometry"]), props, MIN_ZOOM, 11))
    for station in sources.metro_stations:
        props = {
            "name": station.name_zh,
            "name_en": station.name_en or None,
            "lines": ",".join(station.lines),
            "interchange": len(station.lines) > 1,
        }
        features.append(_feature("station", Point(station.lon, station.lat), props, 11))
    return features


def basemap_features(sources: SourceData) -> list[TileFeature]:
    """Every feature of the vector basemap, layer by layer in drawing order."""
    osm = read_osm_features(sources.path(name) for name in OSM_EXTRACTS)
    return [
        *outside_features(sources),
        *workplace_features(sources),
        *park_features(sources),
        *water_features(sources, osm),
        *building_features(sources, osm),
        *boundary_features(sources),
        *road_features(sources, osm),
        *metro_features(sources),
        *place_features(sources),
    ]


def write_basemap(
    sources: SourceData, out_dir: Path, progress: Callable[[int], None] | None = None
) -> BasemapReport:
    """Build ``map/basemap.pmtiles`` under ``out_dir`` from the sources.

    Returns
    -------
    BasemapReport
        The archive's path, its feature count and the tiler's report.
    """
    features = basemap_features(sources)
    metadata = {
        "name": "servicemap Shanghai offline basemap",
        "description": "Offline vector basemap of Shanghai built from OpenStreetMap extracts",
        "attribution": ATTRIBUTION,
        "licence": "ODbL 1.0, © OpenStreetMap contributors",
        "type": "baselayer",
        "format": "pbf",
        "tile_size_px": 512,
        "vector_layers": vector_layers_metadata(features, LAYER_DESCRIPTIONS),
    }
    path = Path(out_dir) / BASEMAP_ARCHIVE
    tiles = write_pmtiles(
        path,
        features,
        min_zoom=MIN_ZOOM,
        max_zoom=MAX_ZOOM,
        metadata=metadata,
        center=CENTER,
        progress=progress,
    )
    logger.info(
        "basemap: %d features, %d tiles, %d bytes", len(features), tiles.tiles, tiles.size_bytes
    )
    return BasemapReport(path=path, rows=len(features), tiles=tiles)


__all__ = [
    "MAX_ZOOM",
    "MIN_ZOOM",
    "basemap_features",
    "write_basemap",
]

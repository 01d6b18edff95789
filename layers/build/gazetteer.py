"""The offline gazetteer: named places, roads and areas the registry geocoder matches against.

Built from the shipped sources at data-build time and written as three gzip JSON Lines files
under ``gazetteer/`` (layout in :mod:`layers.registry.shipped`):

* ``places.jsonl.gz``: every named OSM point of interest (hospitals, clinics, community
  health centres, shops, banks, community centres ...), named industrial/commercial landuse
  areas (园区), named work buildings (楼宇), named green parks, the metro stations, and the
  OSM objects of the XML extracts that carry a name or an address (``addr:street`` +
  ``addr:housenumber``). Polygons keep a representative point (``point_on_surface``) and an
  equivalent radius ``radius_m`` = sqrt(area / π);
* ``roads.jsonl.gz``: named streets of the OSM XML extracts (the central 100 km² box and
  Lujiazui), one row per name and district with the simplified lines, length and midpoint;
* ``areas.jsonl.gz``: the 16 districts and the subdistricts/towns of the official list, with
  a representative point and radius: from the polygon where one exists (central districts),
  else estimated from the OSM places named after the subdistrict (``estimate``), else none.

Every source is optional except the POIs and districts the build already requires, so a
reduced source directory (the tests' synthetic one) still builds. Coordinates are WGS84 with
6 decimals (about 10 cm); rows are sorted, so the files are byte-for-byte reproducible.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import osmium
import shapely
from shapely.geometry import LineString, MultiLineString, shape
from shapely.geometry.base import BaseGeometry

from layers.build.context import Poi, classify_poi, station_slug
from layers.build.io import _gzip_bytes, _write_bytes
from layers.build.locate import project_points, to_metric, to_wgs84
from layers.build.sources import SourceData
from layers.build.workplaces import Workplace
from layers.registry.shipped import (
    GAZETTEER_AREAS_PATH,
    GAZETTEER_PLACES_PATH,
    GAZETTEER_ROADS_PATH,
)

logger = logging.getLogger(__name__)

GREEN_PARKS_GEOJSON = "osm/green_parks.geojson"
OSM_XML_FILES: tuple[str, ...] = ("osm/central_100km2.osm", "osm/lujiazui.osm")
SUBDISTRICT_POLYGONS_GEOJSON = "boundaries/subdistricts_central.geojson"
SUBDISTRICT_LIST_CSV = "boundaries/subdistricts_list.csv"

PLACES_FILE = GAZETTEER_PLACES_PATH
ROADS_FILE = GAZETTEER_ROADS_PATH
AREAS_FILE = GAZETTEER_AREAS_PATH

COORD_DECIMALS = 6
#: Road lines are simplified to this tolerance (metres) before writing.
ROAD_TOLERANCE_M = 3.0
#: Highway classes whose names are streets an address can be on.
STREET_CLASSES = frozenset(
    {
        "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
        "living_street", "pedestrian", "service", "primary_link", "secondary_link",
        "tertiary_link", "trunk_link", "road",
    }
)
#: Radius given to a subdistrict estimated from place names (metres, clipped range).
ESTIMATE_RADIUS_M = (1000.0, 4000.0)


@dataclass
class GazetteerBuild:
    """Rows of the three gazetteer files, and where they came from."""

    places: list[dict[str, Any]] = field(default_factory=list)
    roads: list[dict[str, Any]] = field(default_factory=list)
    areas: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[str, list[str]] = field(
        default_factory=lambda: {"places": [], "roads": [], "areas": []}
    )


def _round(value: float) -> float:
    return round(float(value), COORD_DECIMALS)


def _radius(area_m2: float | None) -> int:
    return round(math.sqrt(area_m2 / math.pi)) if area_m2 and area_m2 > 0 else 0


def _place(
    source_id: str,
    kind: str,
    name: str,
    lon: float,
    lat: float,
    radius_m: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": source_id,
        "kind": kind,
        "name": name,
        "lon": _round(lon),
        "lat": _round(lat),
        "radius_m": int(radius_m),
    }
    row.update({key: value for key, value in extra.items() if value not in (None, "", [])})
    return row


def poi_places(pois: Iterable[Poi]) -> list[dict[str, Any]]:
    """Named POIs; the kind is the context layer (hospital, community_health ...) or the class."""
    rows: dict[str, dict[str, Any]] = {}
    for poi in pois:
        if not poi.name:
            continue
        found = classify_poi(poi)
        kind = found[0] if found and found[0] in {"hospital", "community_health", "clinic"} else poi.fclass
        source_id = f"osm_poi:{poi.osm_type[0]}{poi.osm_id}"
        rows.setdefault(
            source_id,
            _place(source_id, kind, poi.name, poi.lon, poi.lat, _radius(poi.area_m2),
                   district=poi.district),
        )
    return list(rows.values())


def workplace_places(workplaces: Iterable[Workplace]) -> list[dict[str, Any]]:
    """Named landuse parks (``industrial_park``/``commercial_area``) and work buildings."""
    rows = []
    for place in workplaces:
        if not place.name:
            continue
        if place.kind == "park":
            kind = "industrial_park" if place.category == "industrial" else "commercial_area"
            source_id = f"osm_landuse:a{place.osm_id}"
        else:
            kind = "building"
            source_id = f"osm_building:a{place.osm_id}"
        rows.append(
            _place(source_id, kind, place.name, place.lon, place.lat, _radius(place.area_m2),
                   district=place.district, subdistrict=place.subdistrict)
        )
    return rows


def green_park_places(sources: SourceData) -> list[dict[str, Any]]:
    """Named green parks (公园) of ``osm/green_parks.geojson`` (empty when the file is absent)."""
    if not sources.path(GREEN_PARKS_GEOJSON).exists():
        return []
    named = [(props, geom) for props, geom in sources.feature_shapes(GREEN_PARKS_GEOJSON)
             if (props.get("name") or "").strip()]
    if not named:
        return []
    geometries = np.array([shapely.make_valid(geom) for _, geom in named], dtype=object)
    points = shapely.point_on_surface(geometries)
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    areas = shapely.area(np.array([to_metric(geom) for geom in geometries], dtype=object))
    districts = sources.districts.locate(lon, lat)
    subdistricts = sources.subdistricts.locate(lon, lat)
    rows: dict[str, dict[str, Any]] = {}
    for index, (props, _) in enumerate(named):
        source_id = f"osm_park:a{props['osm_id']}"
        rows.setdefault(
            source_id,
            _place(source_id, "park", str(props["name"]).strip(), lon[index], lat[index],
                   _radius(float(areas[index])), district=districts[index],
                   subdistrict=subdistricts[index]),
        )
    return list(rows.values())


def metro_places(sources: SourceData) -> list[dict[str, Any]]:
    """Metro stations, with ``站``/``地铁站`` spellings as alternative names."""
    stations = sources.metro_stations
    districts = sources.districts.locate([s.lon for s in stations], [s.lat for s in stations])
    rows = []
    used: set[str] = set()
    for station, district in zip(stations, districts, strict=True):
        slug, suffix = station_slug(station.name_en), 2
        candidate = slug
        while candidate in used:
            candidate, suffix = f"{slug}-{suffix}", suffix + 1
        used.add(candidate)
        name = station.name_zh
        rows.append(
            _place(f"metro:{candidate}", "metro_station", name, station.lon, station.lat, 0,
                   district=district, alt=[f"{name}站", f"{name}地铁站"])
        )
    return rows


class _OsmXmlHandler(osmium.SimpleHandler):  # type: ignore[misc]
    """Collect named street ways and named or addressed objects of an OSM XML file."""

    def __init__(self) -> None:
        super().__init__()
        self.streets: list[tuple[str, str, list[str], list[tuple[float, float]]]] = []
        self.objects: list[tuple[str, dict[str, str], list[tuple[float, float]]]] = []

    @staticmethod
    def _interesting(tags: dict[str, str]) -> bool:
        if "addr:housenumber" in tags and "addr:street" in tags:
            return True
        return "name" in tags and "highway" not in tags and (
            "building" in tags or "amenity" in tags or "shop" in tags or "office" in tags
            or "tourism" in tags or "leisure" in tags or "healthcare" in tags
        )

    def node(self, node: Any) -> None:
        tags = {tag.k: tag.v for tag in node.tags}
        if tags and self._interesting(tags) and node.location.valid():
            self.objects.append((f"n{node.id}", tags, [(node.location.lon, node.location.lat)]))

    def way(self, way: Any) -> None:
        tags = {tag.k: tag.v for tag in way.tags}
        coords = [(n.location.lon, n.location.lat) for n in way.nodes if n.location.valid()]
        if len(coords) < 1:
            return
        highway = tags.get("highway")
        name = (tags.get("name:zh") or tags.get("name") or "").strip()
        if highway in STREET_CLASSES and name and len(coords) >= 2:
            alt = [tags[key].strip() for key in ("alt_name", "old_name", "name")
                   if tags.get(key) and tags[key].strip() != name]
            self.streets.append((name, f"w{way.id}", alt, coords))
        elif self._interesting(tags):
            self.objects.append((f"w{way.id}", tags, coords))


def _read_osm_xml(sources: SourceData) -> _OsmXmlHandler:
    handler = _OsmXmlHandler()
    for name in OSM_XML_FILES:
        path = sources.path(name)
        if path.exists():
            handler.apply_file(str(path), locations=True)
            logger.debug("gazetteer: read %s", name)
    return handler


def _object_point(coords: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Representative point and area (m²) of an XML object (node, line or closed way)."""
    if len(coords) == 1:
        return coords[0][0], coords[0][1], 0.0
    if len(coords) >= 4 and coords[0] == coords[-1]:
        polygon = shapely.make_valid(shapely.Polygon(coords))
        point = polygon.point_on_surface()
        return point.x, point.y, float(to_metric(polygon).area)
    line = LineString(coords)
    point = line.interpolate(0.5, normalized=True)
    return point.x, point.y, 0.0


def xml_object_places(
    handler: _OsmXmlHandler, sources: SourceData, known_ids: set[str]
) -> list[dict[str, Any]]:
    """Address points (``address``) and named buildings/amenities of the XML extracts.

    An object already in the places (same OSM way as a work building) only adds its address.
    """
    rows: dict[str, dict[str, Any]] = {}
    points = [_object_point(coords) for _, _, coords in handler.objects]
    districts = sources.districts.locate([p[0] for p in points], [p[1] for p in points])
    for (osm_ref, tags, _), (lon, lat, area), district in zip(
        handler.objects, points, districts, strict=True
    ):
        street = (tags.get("addr:street") or "").strip()
        number = (tags.get("addr:housenumber") or "").strip()
        name = (tags.get("name:zh") or tags.get("name") or "").strip()
        kind = "address" if street and number else "building"
        source_id = f"osm_address:{osm_ref}" if kind == "address" else f"osm_xml:{osm_ref}"
        if kind == "building" and f"osm_building:a{osm_ref[1:]}" in known_ids:
            continue
        alt = [tags[key].strip() for key in ("official_name", "short_name", "alt_name")
               if tags.get(key) and tags[key].strip() != name]
        rows.setdefault(
            source_id,
            _place(source_id, kind, name or f"{street}{number}号", lon, lat, _radius(area),
                   district=district, street=street or None, housenumber=number or None,
                   alt=alt),
        )
    return list(rows.values())


def _merge_lines(lines: list[list[tuple[float, float]]]) -> BaseGeometry:
    merged = shapely.line_merge(MultiLineString(lines))
    metric = to_metric(merged).simplify(ROAD_TOLERANCE_M, preserve_topology=False)
    return metric


def road_rows(handler: _OsmXmlHandler, sources: SourceData) -> list[dict[str, Any]]:
    """One row per (street name, district): simplified lines, length and midpoint."""
    if not handler.streets:
        return []
    mids = [coords[len(coords) // 2] for _, _, _, coords in handler.streets]
    districts = sources.districts.locate([m[0] for m in mids], [m[1] for m in mids])
    groups: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"lines": [], "ways": set(), "alt": set()}
    )
    for (name, way_id, alt, coords), district in zip(handler.streets, districts, strict=True):
        group = groups[(name, district or "")]
        if way_id in group["ways"]:
            continue  # the two extracts overlap
        group["ways"].add(way_id)
        group["lines"].append(coords)
        group["alt"].update(alt)
    rows = []
    for (name, district), group in sorted(groups.items()):
        metric = _merge_lines(group["lines"])
        parts = list(metric.geoms) if hasattr(metric, "geoms") else [metric]
        parts = [part for part in parts if part.length > 0]
        if not parts:
            continue
        longest = max(parts, key=lambda part: part.length)
        mid = to_wgs84(longest.interpolate(0.5, normalized=True))
        lines = []
        for part in sorted(parts, key=lambda p: (-p.length, p.coords[0])):
            wgs = to_wgs84(part)
            lines.append([[_round(x), _round(y)] for x, y in wgs.coords])
        row: dict[str, Any] = {
            "id": f"road:{district or 'none'}:{name}",
            "name": name,
            "district": district or None,
            "length_m": round(sum(part.length for part in parts), 1),
            "lon": _round(mid.x),
            "lat": _round(mid.y),
            "n_ways": len(group["ways"]),
            "lines": lines,
        }
        alt = sorted(a for a in group["alt"] if a != name and re.search(r"[\u4e00-\u9fff]", a))
        if alt:
            row["alt"] = alt
        rows.append(row)
    return rows


def _estimate_from_places(
    name: str, district: str, places: list[dict[str, Any]]
) -> tuple[float, float, float, int] | None:
    """Median point of the places in ``district`` whose name contains the subdistrict name."""
    short = re.sub(r"(街道|镇|乡)$", "", name)
    hits = [p for p in places if p.get("district") == district and name in p["name"]]
    if not hits and len(short) >= 2:
        hits = [p for p in places if p.get("district") == district and short in p["name"]]
        if len(hits) < 3:
            return None
    if not hits:
        return None
    lon = float(np.median([p["lon"] for p in hits]))
    lat = float(np.median([p["lat"] for p in hits]))
    x, y = project_points(np.array([p["lon"] for p in hits]), np.array([p["lat"] for p in hits]))
    cx, cy = project_points(np.array([lon]), np.array([lat]))
    spread = float(np.median(np.hypot(x - cx[0], y - cy[0]))) * 2 if len(hits) >= 3 else 0.0
    radius = min(max(spread, ESTIMATE_RADIUS_M[0]), ESTIMATE_RADIUS_M[1])
    if len(hits) < 3:
        radius = ESTIMATE_RADIUS_M[1]
    return lon, lat, radius, len(hits)


def area_rows(sources: SourceData, places: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Districts and subdistricts with a representative point and radius."""
    rows: list[dict[str, Any]] = []
    for feature in sources.district_features:
        geometry = shapely.make_valid(shape(feature["geometry"]))
        point = geometry.point_on_surface()
        props = feature["properties"]
        rows.append(
            {
                "id": f"district:{props.get('adcode') or props['name']}",
                "kind": "district",
                "name": props["name"],
                "district": props["name"],
                "lon": _round(point.x),
                "lat": _round(point.y),
                "radius_m": _radius(float(to_metric(geometry).area)),
                "estimate": "polygon",
            }
        )
    polygons: dict[tuple[str, str], BaseGeometry] = {}
    if sources.path(SUBDISTRICT_POLYGONS_GEOJSON).exists():
        for feature in sources.geojson(SUBDISTRICT_POLYGONS_GEOJSON)["features"]:
            props = feature["properties"]
            key = (str(props.get("official_control_name_2023") or props.get("osm_name")),
                   str(props.get("district")))
            polygons[key] = shapely.make_valid(shape(feature["geometry"]))
    if not sources.path(SUBDISTRICT_LIST_CSV).exists():
        return rows
    for item in sorted(sources.csv(SUBDISTRICT_LIST_CSV), key=lambda r: r["code_9"]):
        name, district = item["name"].strip(), item["district"].strip()
        row: dict[str, Any] = {
            "id": f"subdistrict:{item['code_9']}",
            "kind": "subdistrict",
            "name": name,
            "district": district,
            "unit": item.get("kind", ""),
        }
        polygon = polygons.get((name, district))
        if polygon is not None:
            point = polygon.point_on_surface()
            row.update(lon=_round(point.x), lat=_round(point.y),
                       radius_m=_radius(float(to_metric(polygon).area)), estimate="polygon")
        else:
            estimate = _estimate_from_places(name, district, places)
            if estimate is not None:
                lon, lat, radius, hits = estimate
                row.update(lon=_round(lon), lat=_round(lat), radius_m=round(radius),
                           estimate=f"place_names:{hits}")
        rows.append(row)
    return rows


def build_gazetteer(
    sources: SourceData, pois: list[Poi], workplaces: list[Workplace]
) -> GazetteerBuild:
    """Collect the gazetteer rows from the loaded sources (see the module docstring)."""
    built = GazetteerBuild()
    places = poi_places(pois) + workplace_places(workplaces) + metro_places(sources)
    built.sources["places"] += ["osm/pois.geojson", "osm/landuse_industrial_commercial.geojson",
                                "osm/buildings_work.geojson", "metro/stations.csv"]
    parks = green_park_places(sources)
    if parks:
        built.sources["places"].append(GREEN_PARKS_GEOJSON)
    places += parks
    handler = _read_osm_xml(sources)
    xml_files = [name for name in OSM_XML_FILES if sources.path(name).exists()]
    known = {row["id"] for row in places}
    places += xml_object_places(handler, sources, known)
    subdistricts = sources.subdistricts.locate([p["lon"] for p in places], [p["lat"] for p in places])
    for row, subdistrict in zip(places, subdistricts, strict=True):
        if subdistrict and "subdistrict" not in row:
            row["subdistrict"] = subdistrict
    built.places = sorted(places, key=lambda row: row["id"])
    built.roads = road_rows(handler, sources)
    built.sources["places"] += xml_files
    built.sources["roads"] += xml_files
    built.areas = area_rows(sources, built.places)
    built.sources["areas"] += [name for name in ("boundaries/districts_land.geojson",
                               SUBDISTRICT_POLYGONS_GEOJSON, SUBDISTRICT_LIST_CSV)
                               if sources.path(name).exists()]
    logger.info(
        "gazetteer: %d places, %d roads, %d areas",
        len(built.places), len(built.roads), len(built.areas),
    )
    return built


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as reproducible gzip JSON Lines; returns the row count."""
    lines = [json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in rows]
    _write_bytes(path, _gzip_bytes(("\n".join(lines) + "\n" if lines else "").encode("utf-8")))
    return len(lines)


def write_gazetteer(out_dir: Path, built: GazetteerBuild) -> list[tuple[Path, int, str]]:
    """Write the three files; returns (path, rows, source description) per file."""
    written = []
    for name, rows, key in (
        (PLACES_FILE, built.places, "places"),
        (ROADS_FILE, built.roads, "roads"),
        (AREAS_FILE, built.areas, "areas"),
    ):
        path = Path(out_dir) / name
        count = write_rows(path, rows)
        written.append((path, count, ", ".join(built.sources[key]) or "none"))
    return written


__all__ = [
    "AREAS_FILE",
    "PLACES_FILE",
    "ROADS_FILE",
    "GazetteerBuild",
    "build_gazetteer",
    "write_gazetteer",
]

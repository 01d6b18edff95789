"""Streets, water and buildings from OSM files (``.osm`` XML or ``.osm.pbf``) for the basemap.

Reads ways with pyosmium (node locations resolved), merged across files by OSM way id (the
first file that has a way wins), and turns them into WGS84 shapely geometries with the few
tags the basemap draws:

* streets: ``highway`` ways folded into the basemap's road classes, with ``name``,
  ``name:en``, bridge and tunnel flags;
* water: ``natural=water`` areas and ``waterway`` lines (rivers, canals, streams);
* buildings: closed ``building=*`` ways.

Multipolygon relations are not read (the shipped extracts hold none).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import osmium
import shapely
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

logger = logging.getLogger(__name__)

#: OSM ``highway`` value → basemap road class (``_link`` ways take their road's class).
ROAD_CLASS: dict[str, str] = {
    "motorway": "motorway",
    "trunk": "trunk",
    "primary": "primary",
    "secondary": "secondary",
    "tertiary": "tertiary",
    "residential": "minor",
    "unclassified": "minor",
    "living_street": "minor",
    "road": "minor",
    "service": "service",
    "pedestrian": "path",
    "footway": "path",
    "path": "path",
    "cycleway": "path",
    "steps": "path",
    "track": "path",
}
WATERWAYS = ("river", "canal", "stream", "drain", "ditch")


@dataclass(frozen=True)
class OsmShape:
    """One OSM way as a geometry with the tags the basemap keeps."""

    osm_id: int
    geometry: BaseGeometry
    tags: dict[str, str]
    source: str = ""


@dataclass
class OsmFeatures:
    """What :func:`read_osm_features` found, in OSM-id order per kind."""

    streets: list[OsmShape] = field(default_factory=list)
    water_areas: list[OsmShape] = field(default_factory=list)
    waterways: list[OsmShape] = field(default_factory=list)
    buildings: list[OsmShape] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: Bounds ``(min lon, min lat, max lon, max lat)`` of the located nodes of each file.
    file_bounds: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)


def road_class(highway: str) -> str | None:
    """The basemap class of an OSM ``highway`` value, or ``None`` when not drawn."""
    return ROAD_CLASS.get(highway.removesuffix("_link"))


def _street_tags(tags: dict[str, str]) -> dict[str, str] | None:
    highway = tags.get("highway", "")
    kind = road_class(highway)
    if kind is None or tags.get("area") == "yes":
        return None
    kept = {"class": kind}
    if highway.endswith("_link"):
        kept["link"] = "yes"
    for key in ("name", "name:en"):
        if tags.get(key):
            kept[key] = tags[key]
    if tags.get("bridge", "no") != "no":
        kept["bridge"] = "yes"
    if tags.get("tunnel", "no") != "no" or tags.get("covered") == "yes":
        kept["tunnel"] = "yes"
    return kept


def _polygon(coords: list[tuple[float, float]]) -> BaseGeometry | None:
    if len(coords) < 4 or coords[0] != coords[-1]:
        return None
    polygon = shapely.make_valid(Polygon(coords))
    return None if polygon.is_empty or polygon.area == 0 else polygon


def read_osm_features(paths: Iterable[Path]) -> OsmFeatures:
    """Read streets, water and buildings from OSM files.

    Parameters
    ----------
    paths
        ``.osm`` / ``.osm.pbf`` files; files that do not exist are skipped (logged).

    Returns
    -------
    OsmFeatures
        WGS84 geometries; a way with fewer than two located nodes is left out.
    """
    seen: set[int] = set()
    found = OsmFeatures()
    for path in paths:
        path = Path(path)
        if not path.exists():
            logger.info("OSM file %s not found: left out of the basemap", path.name)
            continue
        found.files.append(path.name)
        bounds = [180.0, 90.0, -180.0, -90.0]
        processor = osmium.FileProcessor(str(path)).with_locations()
        processor = processor.with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        for way in processor:
            coords = [(nd.lon, nd.lat) for nd in way.nodes if nd.location.valid()]
            if len(coords) < 2:
                continue
            _extend_bounds(bounds, coords)
            if way.id in seen:
                continue
            tags = {tag.k: tag.v for tag in way.tags}
            shape = _shape_of(way.id, tags, coords)
            if shape is None:
                continue
            seen.add(way.id)
            kind, item = shape
            getattr(found, kind).append(replace(item, source=path.name))
        found.file_bounds[path.name] = (bounds[0], bounds[1], bounds[2], bounds[3])
    for kind in ("streets", "water_areas", "waterways", "buildings"):
        getattr(found, kind).sort(key=lambda item: item.osm_id)
    logger.debug(
        "OSM basemap features: %d streets, %d water areas, %d waterways, %d buildings",
        len(found.streets),
        len(found.water_areas),
        len(found.waterways),
        len(found.buildings),
    )
    return found


def _extend_bounds(bounds: list[float], coords: list[tuple[float, float]]) -> None:
    lons = [lon for lon, _ in coords]
    lats = [lat for _, lat in coords]
    bounds[0] = min(bounds[0], *lons)
    bounds[1] = min(bounds[1], *lats)
    bounds[2] = max(bounds[2], *lons)
    bounds[3] = max(bounds[3], *lats)


def _shape_of(
    osm_id: int, tags: dict[str, str], coords: list[tuple[float, float]]
) -> tuple[str, OsmShape] | None:
    if "highway" in tags:
        street = _street_tags(tags)
        if street is None:
            return None
        return "streets", OsmShape(osm_id, LineString(coords), street)
    named = {key: tags[key] for key in ("name", "name:en") if tags.get(key)}
    if tags.get("natural") == "water" or tags.get("landuse") in ("reservoir", "basin"):
        polygon = _polygon(coords)
        if polygon is None:
            return None
        kind = "river" if tags.get("water") in ("river", "canal") else "pond"
        return "water_areas", OsmShape(osm_id, polygon, {"kind": kind, **named})
    if tags.get("waterway") in WATERWAYS and tags.get("tunnel", "no") == "no":
        return "waterways", OsmShape(
            osm_id, LineString(coords), {"kind": tags["waterway"], **named}
        )
    if tags.get("building", "no") != "no":
        polygon = _polygon(coords)
        if polygon is None:
            return None
        return "buildings", OsmShape(osm_id, polygon, {"kind": tags["building"]})
    return None

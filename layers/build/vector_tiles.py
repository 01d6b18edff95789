"""Cut features into Mapbox Vector Tiles and write them as one PMTiles archive.

The tiler is generic: it takes :class:`TileFeature` objects (geometry in Web Mercator
metres, EPSG:3857, plus properties and a zoom range) and writes every non-empty tile of
every zoom into a PMTiles v3 archive (gzip-compressed MVT tiles, clustered in tile-id
order). The web map reads the archive with HTTP range requests.

Per zoom, geometry is simplified to a fraction of a tile unit (the tile extent is 4096
units), polygons below a minimum on-screen size are dropped, and each tile keeps what lies
within the tile plus a buffer (so strokes and labels at tile edges are not cut off). The
output is byte-for-byte reproducible: features keep their input order, tiles are sorted
by tile id, gzip members carry ``mtime=0`` and the metadata is written with sorted keys.

Build-time code: nothing at request time imports it.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely
from mapbox_vector_tile.encoder import on_invalid_geometry_make_valid
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

logger = logging.getLogger(__name__)

#: Half the width of the Web Mercator square, metres.
MERCATOR_HALF_M = 20037508.342789244
#: Coordinate units across one tile (the MVT default).
TILE_EXTENT = 4096
#: Units kept around each tile, so strokes and labels crossing the edge are drawn whole.
TILE_BUFFER_UNITS = 80
#: Simplification tolerance in tile units below the archive's top zoom (and at it).
SIMPLIFY_UNITS = 2.0
SIMPLIFY_UNITS_TOP = 0.5
#: Lines below the top zoom: 1 px of a 512-px tile. Coarser than polygons, because a line
#: label needs straight runs, and vertices jittered by rounding to tile units break them.
SIMPLIFY_LINE_UNITS = 8.0

_TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)

PropertyValue = str | int | float | bool


@dataclass(frozen=True)
class TileFeature:
    """One feature to tile.

    Attributes
    ----------
    layer
        Vector tile layer name.
    geometry
        Geometry in Web Mercator metres (see :func:`to_mercator`).
    properties
        Attribute values (``None`` values are left out of the tile).
    minzoom, maxzoom
        Tile zooms (inclusive) the feature appears in.
    min_area_units
        Polygons: dropped at a zoom where their area is below this many square tile units.
    """

    layer: str
    geometry: BaseGeometry
    properties: dict[str, PropertyValue | None]
    minzoom: int
    maxzoom: int
    min_area_units: float = 0.0


@dataclass
class TilesReport:
    """What the tiler wrote."""

    tiles: int = 0
    tiles_per_zoom: dict[int, int] = field(default_factory=dict)
    features_per_layer: dict[str, int] = field(default_factory=dict)
    bytes_per_zoom: dict[int, int] = field(default_factory=dict)
    size_bytes: int = 0


def to_mercator(geometry: BaseGeometry) -> BaseGeometry:
    """Project a WGS84 geometry to Web Mercator metres (EPSG:3857)."""
    return shapely.transform(
        geometry, lambda xy: np.column_stack(_TO_MERCATOR.transform(xy[:, 0], xy[:, 1]))
    )


def tile_size_m(zoom: int) -> float:
    """Width of one tile at ``zoom`` in Web Mercator metres."""
    return 2 * MERCATOR_HALF_M / (1 << zoom)


def tile_range(bounds: Sequence[float], zoom: int) -> tuple[int, int, int, int]:
    """Tile columns and rows ``(x0, y0, x1, y1)``, inclusive, covering Mercator bounds."""
    size = tile_size_m(zoom)
    last = (1 << zoom) - 1
    minx, miny, maxx, maxy = bounds
    x0 = max(0, math.floor((minx + MERCATOR_HALF_M) / size))
    x1 = min(last, math.floor((maxx + MERCATOR_HALF_M) / size))
    y0 = max(0, math.floor((MERCATOR_HALF_M - maxy) / size))
    y1 = min(last, math.floor((MERCATOR_HALF_M - miny) / size))
    return x0, y0, x1, y1


def tile_bounds(zoom: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Mercator bounds ``(minx, miny, maxx, maxy)`` of one tile."""
    size = tile_size_m(zoom)
    minx = -MERCATOR_HALF_M + x * size
    maxy = MERCATOR_HALF_M - y * size
    return minx, maxy - size, minx + size, maxy


@dataclass
class _ZoomLayer:
    """The features of one layer at one zoom, simplified, with a spatial index."""

    name: str
    geometries: np.ndarray
    properties: list[dict[str, PropertyValue]]
    tree: shapely.STRtree


def _tolerance_units(geometries: np.ndarray, top: bool) -> np.ndarray | float:
    if top:
        return SIMPLIFY_UNITS_TOP
    lineal = np.isin(shapely.get_type_id(geometries), (1, 5))  # LineString, MultiLineString
    return np.where(lineal, SIMPLIFY_LINE_UNITS, SIMPLIFY_UNITS)


def _zoom_layers(features: Sequence[TileFeature], zoom: int, max_zoom: int) -> list[_ZoomLayer]:
    unit_m = tile_size_m(zoom) / TILE_EXTENT
    by_layer: dict[str, list[TileFeature]] = {}
    for feature in features:
        if feature.minzoom <= zoom <= feature.maxzoom:
            by_layer.setdefault(feature.layer, []).append(feature)
    layers = []
    for name, members in by_layer.items():
        originals = np.array([f.geometry for f in members], dtype=object)
        geometries = shapely.simplify(
            originals,
            _tolerance_units(originals, zoom == max_zoom) * unit_m,
            preserve_topology=True,
        )
        polygonal = shapely.get_type_id(geometries) >= 3  # Polygon, MultiPolygon
        broken = polygonal & ~shapely.is_valid(geometries)
        if broken.any():  # simplification can make a ring touch itself; clipping needs valid input
            geometries[broken] = shapely.make_valid(
                geometries[broken], method="structure", keep_collapsed=False
            )
        min_area_m2 = np.array([f.min_area_units for f in members]) * unit_m * unit_m
        keep = ~shapely.is_empty(geometries)
        keep &= ~polygonal | (shapely.area(geometries) >= min_area_m2)
        kept = np.flatnonzero(keep)
        if not len(kept):
            continue
        properties = [
            {k: v for k, v in members[i].properties.items() if v is not None} for i in kept
        ]
        geometries = geometries[kept]
        layers.append(_ZoomLayer(name, geometries, properties, shapely.STRtree(geometries)))
    return layers


def _tile_geometry(geometries: np.ndarray, zoom: int, x: int, y: int) -> np.ndarray:
    """Clip Mercator geometries to a buffered tile and move them to tile units (y down)."""
    minx, miny, maxx, maxy = tile_bounds(zoom, x, y)
    size = maxx - minx
    buffer_m = size * TILE_BUFFER_UNITS / TILE_EXTENT
    clipped = shapely.clip_by_rect(
        geometries, minx - buffer_m, miny - buffer_m, maxx + buffer_m, maxy + buffer_m
    )
    scale = TILE_EXTENT / size

    def to_units(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(((xy[:, 0] - minx) * scale, (maxy - xy[:, 1]) * scale))

    return np.asarray(shapely.transform(clipped, to_units))


def _encode_tile(layers: list[_ZoomLayer], zoom: int, x: int, y: int) -> bytes | None:
    minx, miny, maxx, maxy = tile_bounds(zoom, x, y)
    buffer_m = (maxx - minx) * TILE_BUFFER_UNITS / TILE_EXTENT
    box = shapely.box(minx - buffer_m, miny - buffer_m, maxx + buffer_m, maxy + buffer_m)
    encoded_layers = []
    for layer in layers:
        hits = np.sort(layer.tree.query(box, predicate="intersects"))
        if not len(hits):
            continue
        geometries = _tile_geometry(layer.geometries[hits], zoom, x, y)
        features = [
            {"geometry": geometry, "properties": layer.properties[i]}
            for geometry, i in zip(geometries, hits, strict=True)
            if not geometry.is_empty
        ]
        if features:
            encoded_layers.append({"name": layer.name, "features": features})
    if not encoded_layers:
        return None
    data: bytes = mapbox_vector_tile.encode(
        encoded_layers,
        default_options={
            "y_coord_down": True,
            "extents": TILE_EXTENT,
            "on_invalid_geometry": on_invalid_geometry_make_valid,
        },
    )
    return data


def vector_layers_metadata(
    features: Sequence[TileFeature], descriptions: dict[str, str]
) -> list[dict[str, Any]]:
    """The TileJSON ``vector_layers`` entry: each layer's fields and zoom range."""
    layers: dict[str, dict[str, Any]] = {}
    for feature in features:
        entry = layers.setdefault(
            feature.layer,
            {"id": feature.layer, "fields": {}, "minzoom": feature.minzoom, "maxzoom": 0},
        )
        entry["minzoom"] = min(entry["minzoom"], feature.minzoom)
        entry["maxzoom"] = max(entry["maxzoom"], feature.maxzoom)
        for key, value in feature.properties.items():
            kind = "Boolean" if isinstance(value, bool) else "Number"
            entry["fields"][key] = "String" if isinstance(value, str) else kind
    out = []
    for name in sorted(layers):
        entry = layers[name]
        entry["fields"] = dict(sorted(entry["fields"].items()))
        entry["description"] = descriptions.get(name, "")
        out.append(entry)
    return out


def write_pmtiles(
    path: Path,
    features: Sequence[TileFeature],
    *,
    min_zoom: int,
    max_zoom: int,
    metadata: dict[str, Any],
    center: tuple[float, float, int],
    progress: Callable[[int], None] | None = None,
) -> TilesReport:
    """Tile ``features`` for zooms ``min_zoom..max_zoom`` and write a PMTiles archive.

    Parameters
    ----------
    path
        Output file (replaced).
    features
        Features in Web Mercator metres; their order is kept inside each tile layer.
    min_zoom, max_zoom
        Tile zooms written (inclusive). Clients overzoom beyond ``max_zoom``.
    metadata
        JSON metadata stored in the archive (name, attribution, ``vector_layers`` …).
    center
        ``(lon, lat, zoom)`` a viewer starts at.
    progress
        Called with each zoom as it starts.

    Returns
    -------
    TilesReport
    """
    report = TilesReport()
    for feature in features:
        report.features_per_layer[feature.layer] = (
            report.features_per_layer.get(feature.layer, 0) + 1
        )
    wgs_bounds = _wgs84_bounds(features)
    tiles: list[tuple[int, bytes]] = []
    for zoom in range(min_zoom, max_zoom + 1):
        if progress is not None:
            progress(zoom)
        layers = _zoom_layers(features, zoom, max_zoom)
        if not layers:
            continue
        bounds = _mercator_bounds(layer.geometries for layer in layers)
        x0, y0, x1, y1 = tile_range(bounds, zoom)
        count = 0
        size = 0
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                data = _encode_tile(layers, zoom, x, y)
                if data is None:
                    continue
                compressed = gzip.compress(data, compresslevel=9, mtime=0)
                tiles.append((zxy_to_tileid(zoom, x, y), compressed))
                count += 1
                size += len(compressed)
        report.tiles_per_zoom[zoom] = count
        report.bytes_per_zoom[zoom] = size
        logger.debug("zoom %d: %d tiles, %d bytes", zoom, count, size)
    tiles.sort(key=lambda item: item[0])
    report.tiles = len(tiles)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lon, lat, center_zoom = center
    header = {
        "tile_compression": Compression.GZIP,
        "tile_type": TileType.MVT,
        "min_lon_e7": round(wgs_bounds[0] * 1e7),
        "min_lat_e7": round(wgs_bounds[1] * 1e7),
        "max_lon_e7": round(wgs_bounds[2] * 1e7),
        "max_lat_e7": round(wgs_bounds[3] * 1e7),
        "center_zoom": center_zoom,
        "center_lon_e7": round(lon * 1e7),
        "center_lat_e7": round(lat * 1e7),
    }
    # The writer gzips the metadata itself; sorted keys keep the bytes stable.
    stable_metadata = json.loads(json.dumps(metadata, sort_keys=True))
    with path.open("wb") as handle:
        writer = Writer(handle)
        for tile_id, data in tiles:
            writer.write_tile(tile_id, data)
        writer.finalize(header, stable_metadata)
    report.size_bytes = path.stat().st_size
    return report


def _mercator_bounds(groups: Iterable[np.ndarray]) -> tuple[float, float, float, float]:
    bounds = np.array([shapely.total_bounds(geometries) for geometries in groups])
    return (
        float(bounds[:, 0].min()),
        float(bounds[:, 1].min()),
        float(bounds[:, 2].max()),
        float(bounds[:, 3].max()),
    )


def _wgs84_bounds(features: Sequence[TileFeature]) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = _mercator_bounds(
        [np.array([f.geometry for f in features], dtype=object)]
    )
    lon, lat = _TO_MERCATOR.transform([minx, maxx], [miny, maxy], direction="INVERSE")
    return float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])

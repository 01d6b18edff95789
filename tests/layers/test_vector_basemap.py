"""The vector tiler, the OSM reader and the offline basemap archive (built and shipped)."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import mapbox_vector_tile
import pytest
from shapely.geometry import LineString, Point, box

from layers.basemap_tiles import (
    BASEMAP_ARCHIVE,
    BasemapTiles,
    BasemapUnavailableError,
    TileOutOfRangeError,
)
from layers.build.osm_extract import read_osm_features, road_class
from layers.build.sources import SourceData
from layers.build.vector_basemap import MAX_ZOOM, MIN_ZOOM, write_basemap
from layers.build.vector_tiles import (
    TILE_BUFFER_UNITS,
    TILE_EXTENT,
    TileFeature,
    tile_bounds,
    tile_range,
    to_mercator,
    write_pmtiles,
)
from layers.registry.catalog import DISTRICTS
from layers.registry.shipped import DEFAULT_DATA_DIR, read_manifest
from tests.layers.test_build import make_sources

FIXTURE_OSM = Path(__file__).resolve().parents[1] / "data" / "peoples_square.osm"


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def _decode(data: bytes) -> dict[str, dict]:
    return mapbox_vector_tile.decode(gzip.decompress(data), default_options={"y_coord_down": True})


def test_tile_grid_round_trip() -> None:
    for zoom in (0, 7, 14):
        x, y = _tile_of(121.4737, 31.2304, zoom)
        minx, miny, maxx, maxy = tile_bounds(zoom, x, y)
        centre = to_mercator(Point(121.4737, 31.2304))
        assert minx <= centre.x < maxx
        assert miny < centre.y <= maxy
        assert tile_range((minx + 1, miny + 1, maxx - 1, maxy - 1), zoom) == (x, y, x, y)


@pytest.fixture(scope="module")
def tiny_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[TileFeature]]:
    features = [
        TileFeature(
            "road",
            to_mercator(LineString([(121.40, 31.20), (121.55, 31.25)])),
            {"class": "primary", "name": "测试路", "name_en": None},
            9,
            12,
        ),
        TileFeature(
            "park", to_mercator(box(121.47, 31.22, 121.48, 31.23)), {"name": "大公园"}, 9, 12
        ),
        # ~100 m square: below 3 px at zoom 9, above at zoom 12
        TileFeature(
            "park",
            to_mercator(box(121.50, 31.24, 121.501, 31.241)),
            {"name": "小公园"},
            9,
            12,
            min_area_units=(3 * 8) ** 2,
        ),
    ]
    path = tmp_path_factory.mktemp("tiles") / "tiny.pmtiles"
    write_pmtiles(
        path, features, min_zoom=9, max_zoom=12, metadata={"name": "t"}, center=(121.47, 31.23, 10)
    )
    return path, features


def test_tiles_keep_properties_zooms_and_tile_units(
    tiny_archive: tuple[Path, list[TileFeature]],
) -> None:
    path, _ = tiny_archive
    tiles = BasemapTiles(path)
    assert (tiles.info.min_zoom, tiles.info.max_zoom) == (9, 12)
    x, y = _tile_of(121.475, 31.225, 12)
    tile = _decode(tiles.tile(12, x, y) or b"")
    road = tile["road"]["features"][0]
    assert road["properties"] == {"class": "primary", "name": "测试路"}  # None left out
    coords = road["geometry"]["coordinates"]
    for cx, cy in coords:
        assert -TILE_BUFFER_UNITS <= cx <= TILE_EXTENT + TILE_BUFFER_UNITS
        assert -TILE_BUFFER_UNITS <= cy <= TILE_EXTENT + TILE_BUFFER_UNITS
    assert tile["park"]["features"][0]["properties"]["name"] == "大公园"
    with pytest.raises(TileOutOfRangeError, match="outside the basemap's tile zooms 9–12"):
        tiles.tile(13, x * 2, y * 2)
    assert tiles.tile(12, 0, 0) is None


def test_small_polygons_wait_for_their_zoom(tiny_archive: tuple[Path, list[TileFeature]]) -> None:
    path, _ = tiny_archive
    tiles = BasemapTiles(path)

    def small_park_at(zoom: int) -> bool:
        x, y = _tile_of(121.5005, 31.2405, zoom)
        data = tiles.tile(zoom, x, y)
        if data is None:
            return False
        parks = _decode(data).get("park", {"features": []})["features"]
        return any(f["properties"]["name"] == "小公园" for f in parks)

    assert not small_park_at(9)
    assert small_park_at(12)


def test_tiling_is_byte_identical(
    tiny_archive: tuple[Path, list[TileFeature]], tmp_path: Path
) -> None:
    path, features = tiny_archive
    again = tmp_path / "again.pmtiles"
    write_pmtiles(
        again, features, min_zoom=9, max_zoom=12, metadata={"name": "t"}, center=(121.47, 31.23, 10)
    )
    assert again.read_bytes() == path.read_bytes()


def test_archive_errors(tmp_path: Path) -> None:
    with pytest.raises(BasemapUnavailableError, match="servicemap data build"):
        BasemapTiles(tmp_path / "missing.pmtiles")
    junk = tmp_path / "junk.pmtiles"
    junk.write_bytes(b"not a tile archive" * 20)
    with pytest.raises(BasemapUnavailableError, match="not a PMTiles file"):
        BasemapTiles(junk)


def test_osm_reader_keeps_named_streets_once() -> None:
    found = read_osm_features([FIXTURE_OSM, FIXTURE_OSM])
    assert found.files == ["peoples_square.osm", "peoples_square.osm"]
    ids = [street.osm_id for street in found.streets]
    assert len(ids) == len(set(ids))  # the second copy adds nothing
    names = {street.tags.get("name") for street in found.streets}
    assert {"西藏中路", "人民大道", "延安东路"} <= names
    classes = {street.tags["class"] for street in found.streets}
    assert {"trunk", "primary", "secondary", "tertiary", "minor"} <= classes
    lon0, lat0, lon1, lat1 = found.file_bounds["peoples_square.osm"]
    assert lon0 < 121.4737 < lon1
    assert lat0 < 31.2304 < lat1
    assert road_class("primary_link") == "primary"
    assert road_class("footway") == "path"
    assert road_class("proposed") is None


def test_basemap_of_synthetic_sources(tmp_path: Path) -> None:
    """The build works without the optional sources (OSM extracts, parks) and labels the
    districts and stations."""
    sources = SourceData(make_sources(tmp_path / "sources"))
    report = write_basemap(sources, tmp_path / "out")
    tiles = BasemapTiles(report.path)
    assert (tiles.info.min_zoom, tiles.info.max_zoom) == (MIN_ZOOM, MAX_ZOOM)
    names: set[str] = set()
    layers: set[str] = set()
    x0, y0, x1, y1 = tile_range(to_mercator(sources.land).bounds, 9)
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            data = tiles.tile(9, x, y)
            if data:
                tile = _decode(data)
                layers |= set(tile)
                names |= {
                    f["properties"].get("name") for f in tile.get("place", {}).get("features", [])
                }
    assert set(DISTRICTS) <= names
    assert {"outside", "road", "boundary", "metro", "place"} <= layers
    metadata_layers = {layer["id"] for layer in tiles.metadata["vector_layers"]}
    assert {"road", "station", "place"} <= metadata_layers
    assert "OpenStreetMap" in tiles.metadata["attribution"]


def test_shipped_archive_is_in_the_manifest_with_named_streets() -> None:
    manifest = read_manifest(DEFAULT_DATA_DIR)
    entry = next(e for e in manifest["files"] if e["path"] == BASEMAP_ARCHIVE)
    path = DEFAULT_DATA_DIR / BASEMAP_ARCHIVE
    assert entry["size_bytes"] == path.stat().st_size < 6_000_000
    assert entry["zooms"] == [MIN_ZOOM, MAX_ZOOM]
    assert "ODbL" in entry["licence"]
    assert "osm/central_100km2.osm" in entry["source"]
    tiles = BasemapTiles(path)
    x, y = _tile_of(121.4737, 31.2304, MAX_ZOOM)
    tile = _decode(tiles.tile(MAX_ZOOM, x, y) or b"")
    roads = tile["road"]["features"]
    named = {f["properties"].get("name"): f["properties"].get("name_en") for f in roads}
    assert named.get("人民大道") == "People's Avenue"
    assert "西藏中路" in named
    assert {"park", "building", "station", "boundary"} <= set(tile)
    # the Huangpu is on the map at the Bund (tile east of People's Square)
    x, y = _tile_of(121.4925, 31.2400, 12)
    water = _decode(tiles.tile(12, x, y) or b"")["water"]["features"]
    assert any(f["properties"].get("name") == "黄浦江" for f in water)
    assert json.dumps(tiles.metadata)  # metadata is plain JSON

"""The offline basemap's tiles and the basemap configuration (sources, keys, GCJ-02)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.main import create_app
from api.settings import Settings


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The Web Mercator tile holding a point."""
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


# People's Square at tile zoom 14 (the archive's top zoom)
PEOPLES_SQUARE_TILE = _tile_of(121.4737, 31.2304, 14)


def _client(tmp_path: Path, **settings: object) -> TestClient:
    config = Settings(
        state_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'registry.db'}",
        seed_on_start=False,
        warm_up=False,
        **settings,  # type: ignore[arg-type]
    )
    return TestClient(create_app(config), raise_server_exceptions=False)


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[TestClient]:
    with _client(
        tmp_path,
        basemap_sources="tianditu_vec,amap,osm",
        tianditu_key="test-key-123",
    ) as client:
        yield client


def test_tile_is_gzip_mvt_with_named_streets(client: TestClient) -> None:
    z, x, y = PEOPLES_SQUARE_TILE
    response = client.get(f"/api/v1/basemap/tiles/{z}/{x}/{y}.mvt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert response.headers["content-encoding"] == "gzip"
    assert "max-age" in response.headers["cache-control"]
    # The client decodes the gzip coding once: the body is the MVT itself (the GZip
    # middleware did not compress the stored gzip tile a second time).
    assert not response.content.startswith(b"\x1f\x8b")
    tile = mapbox_vector_tile.decode(response.content)
    assert {"road", "park", "building", "station"} <= set(tile)
    names = {f["properties"].get("name") for f in tile["road"]["features"]}
    assert {"人民大道", "西藏中路", "南京西路"} <= names
    english = {f["properties"].get("name_en") for f in tile["road"]["features"]}
    assert "People's Avenue" in english


def test_empty_tile_is_204_and_bad_tiles_are_404(client: TestClient) -> None:
    empty = client.get("/api/v1/basemap/tiles/14/0/0.mvt")  # mid-Pacific
    assert empty.status_code == 204
    assert empty.content == b""
    low = client.get("/api/v1/basemap/tiles/3/6/3.mvt")
    assert low.status_code == 404
    assert low.json()["error"] == "tile_out_of_range"
    assert "7–14" in low.json()["message"]
    outside = client.get("/api/v1/basemap/tiles/8/300/10.mvt")
    assert outside.status_code == 404
    assert "outside the tile grid" in outside.json()["message"]
    assert client.get("/api/v1/basemap/tiles/8/-1/10.mvt").status_code == 422
    assert client.get("/api/v1/basemap/tiles/8/x/10.mvt").status_code == 422


def test_default_sources_are_osm_and_the_offline_archive(client: TestClient) -> None:
    body = client.get("/api/v1/basemap/sources").json()
    assert [source["id"] for source in body["sources"]] == ["osm"]
    assert body["sources"][0]["crs"] == "wgs84"
    offline = body["offline"]
    assert offline["url"] == "basemap/tiles/{z}/{x}/{y}.mvt"
    assert (offline["minDataZoom"], offline["maxDataZoom"]) == (7, 14)
    assert 1_000_000 < offline["sizeBytes"] < 8_000_000
    assert "OpenStreetMap" in offline["attribution"]
    lon0, lat0, lon1, lat1 = offline["bounds"]
    assert lon0 < 121.4737 < lon1
    assert lat0 < 31.2304 < lat1


def test_configured_sources_in_order_with_the_key_and_crs(configured: TestClient) -> None:
    body = configured.get("/api/v1/basemap/sources").json()
    sources = {source["id"]: source for source in body["sources"]}
    assert list(sources) == ["tianditu_vec", "amap", "osm"]
    tianditu = sources["tianditu_vec"]
    assert tianditu["crs"] == "wgs84"
    base, labels = tianditu["layers"]
    assert "tk=test-key-123" in base["url"]
    assert "{key}" not in base["url"]
    assert base["options"] == {"layer": "vec"}
    assert labels["langOptions"] == {"zh": {"layer": "cva"}, "en": {"layer": "eva"}}
    amap = sources["amap"]
    assert amap["crs"] == "gcj02"
    assert amap["layers"][0]["langOptions"]["en"] == {"lang": "en"}
    assert sources["osm"]["crs"] == "wgs84"


def test_key_never_reaches_the_static_page(configured: TestClient) -> None:
    for path in ("/", "/index.html", "/js/basemap.js", "/planner.html"):
        assert "test-key-123" not in configured.get(path).text


def test_tencent_flips_y_and_urls_can_point_at_a_mirror(tmp_path: Path) -> None:
    with _client(
        tmp_path,
        basemap_sources="tencent,tianditu_img",
        basemap_urls={
            "tianditu_img": "https://mirror.example/img/{z}/{x}/{y}.jpg",
            "tianditu_img:1": "https://mirror.example/{layer}/{z}/{x}/{y}.png",
        },
    ) as client:
        body = client.get("/api/v1/basemap/sources").json()
    tencent, tianditu = body["sources"]
    assert tencent["crs"] == "gcj02"
    assert "{-y}" in tencent["layers"][0]["url"]
    # mirrors replace both of the source's templates, so no key is needed for it
    assert tianditu["layers"][0]["url"] == "https://mirror.example/img/{z}/{x}/{y}.jpg"
    assert tianditu["layers"][1]["langOptions"]["en"] == {"layer": "eia"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"basemap_sources": "osm,bing"}, "unknown basemap source"),
        ({"basemap_sources": "osm,osm"}, "repeat"),
        ({"basemap_sources": "tianditu_vec"}, "needs SERVICEMAP_TIANDITU_KEY"),
        (
            {"basemap_sources": "tianditu_vec", "basemap_urls": {"tianditu_vec": "https://m/{z}"}},
            "needs SERVICEMAP_TIANDITU_KEY",  # its annotation layer still needs the key
        ),
        ({"basemap_urls": {"google": "https://x/{z}/{x}/{y}"}}, "unknown source"),
    ],
)
def test_bad_basemap_settings_are_refused(
    tmp_path: Path, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(state_dir=tmp_path, **settings)  # type: ignore[arg-type]


def test_settings_read_the_key_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVICEMAP_TIANDITU_KEY", "env-key")
    monkeypatch.setenv("SERVICEMAP_BASEMAP_SOURCES", "tianditu_vec,osm")
    settings = Settings(state_dir=tmp_path)
    assert settings.basemap_source_ids == ["tianditu_vec", "osm"]
    assert settings.basemap_keys() == {"tianditu": "env-key"}
    assert "env-key" not in repr(settings)


def test_missing_archive_is_503_and_sources_say_offline_null(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with _client(tmp_path, data_dir=data) as client:
        tile = client.get("/api/v1/basemap/tiles/10/857/418.mvt")
        assert tile.status_code == 503
        assert "servicemap data build" in tile.json()["message"]
        assert client.get("/api/v1/basemap/sources").json()["offline"] is None

"""Layer list, features, facilities, districts and basemap endpoints."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from layers.networks import NetworkService
from layers.registry.catalog import DISTRICTS, LAYERS, REGISTRY_LAYERS


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_503_until_the_warm_up_has_finished(
    app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    monkeypatch.setattr(NetworkService, "warm_up", lambda self, layers=(): release.wait(30))
    with TestClient(create_app(app_settings.model_copy(update={"warm_up": True}))) as app:
        waiting = app.get("/readyz")
        assert waiting.status_code == 503
        assert waiting.json()["status"] == "warming_up"
        assert waiting.json()["store"] == "ok"  # the store answers meanwhile
        assert app.get("/healthz").status_code == 200  # alive, and serving, meanwhile
        release.set()
        deadline = time.monotonic() + 10
        while (ready := app.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"


def test_openapi_docs_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/nearest", "/api/v1/layers", "/api/v1/districts"} <= set(paths)


def test_layers_lists_catalogue_with_counts_and_demo_flags(client: TestClient) -> None:
    layers = {layer["id"]: layer for layer in client.get("/api/v1/layers").json()["layers"]}
    assert set(layers) == set(LAYERS)
    assert layers["training_site"]["count"] == 25
    assert layers["service_centre"]["count"] == 16
    assert layers["training_site"]["demo"] is False
    for demo_layer in ("health_point", "fitness_station", "relay_station", "rest_room"):
        assert layers[demo_layer]["demo"] is True
        assert layers[demo_layer]["count"] > 0
    assert 1_000 <= layers["relay_station"]["count"] <= 1_600
    for layer_id in REGISTRY_LAYERS:
        assert layers[layer_id]["kind"] == "registry"
        assert layers[layer_id]["name_zh"]
        assert layers[layer_id]["name_en"]
    assert layers["hospital"]["kind"] == "context"
    assert layers["hospital"]["count"] > 100


def test_features_are_rfc7946_feature_collection(client: TestClient) -> None:
    body = client.get("/api/v1/layers/training_site/features").json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == 25 == body["numberReturned"]
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert feature["id"].startswith("training_site:")
        assert "lon" not in feature["properties"]
        if feature["geometry"] is not None:
            lon, lat = feature["geometry"]["coordinates"]
            assert 120.8 < lon < 122.3
            assert 30.6 < lat < 31.9
    unknown = [f for f in body["features"] if f["geometry"] is None]
    assert len(unknown) == 1
    assert unknown[0]["properties"]["location_precision"] == "unknown"


def test_features_bbox_district_status_and_paging(client: TestClient) -> None:
    bbox = (121.45, 31.20, 121.50, 31.25)
    body = client.get(
        "/api/v1/layers/relay_station/features", params={"bbox": ",".join(map(str, bbox))}
    ).json()
    assert body["numberMatched"] > 0
    for feature in body["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert bbox[0] <= lon <= bbox[2]
        assert bbox[1] <= lat <= bbox[3]

    district = client.get(
        "/api/v1/layers/relay_station/features", params={"district": "黄浦区", "limit": 5000}
    ).json()
    assert district["numberMatched"] > 0
    assert {f["properties"]["district"] for f in district["features"]} == {"黄浦区"}

    active = client.get(
        "/api/v1/layers/relay_station/features", params={"status": "active", "limit": 5000}
    ).json()
    assert {f["properties"]["status"] for f in active["features"]} == {"active"}

    first = client.get("/api/v1/layers/relay_station/features", params={"limit": 10}).json()
    second = client.get(
        "/api/v1/layers/relay_station/features", params={"limit": 10, "offset": 10}
    ).json()
    assert first["numberReturned"] == second["numberReturned"] == 10
    assert not {f["id"] for f in first["features"]} & {f["id"] for f in second["features"]}
    assert first["numberMatched"] == second["numberMatched"]


@pytest.mark.parametrize(
    ("bbox", "fragment"),
    [
        ("1,2,3", "four comma-separated"),
        ("a,b,c,d", "must be numbers"),
        ("121.5,31.2,121.4,31.3", "west <= east"),
        ("121,31,200,32", "out of range"),
        ("nan,31,122,32", "finite"),
    ],
)
def test_malformed_bbox_is_422(client: TestClient, bbox: str, fragment: str) -> None:
    response = client.get("/api/v1/layers/relay_station/features", params={"bbox": bbox})
    assert response.status_code == 422
    assert fragment in response.json()["message"]


def test_unknown_layer_is_404_listing_valid_layers(client: TestClient) -> None:
    response = client.get("/api/v1/layers/bus_stops/features")
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "unknown_layer"
    assert "relay_station" in body["message"]
    assert set(body["valid"]) == set(LAYERS)


def test_unknown_status_and_district_are_422(client: TestClient) -> None:
    status = client.get("/api/v1/layers/relay_station/features", params={"status": "open"})
    assert status.status_code == 422
    assert "yellow_card" in status.json()["message"]
    district = client.get("/api/v1/layers/relay_station/features", params={"district": "Huangpu"})
    assert district.status_code == 422
    assert "黄浦区" in district.json()["message"]


def test_facility_by_id_and_404(client: TestClient) -> None:
    feature = client.get("/api/v1/layers/service_centre/features").json()["features"][0]
    response = client.get(f"/api/v1/facilities/{feature['id']}")
    assert response.status_code == 200
    facility = response.json()
    assert facility["id"] == feature["id"]
    assert facility["phone"]
    assert facility["address"]
    missing = client.get("/api/v1/facilities/relay_station:does-not-exist")
    assert missing.status_code == 404
    assert "does-not-exist" in missing.json()["message"]


def test_districts_are_the_16(client: TestClient) -> None:
    body = client.get("/api/v1/districts").json()
    assert body["type"] == "FeatureCollection"
    names = {feature["properties"]["name"] for feature in body["features"]}
    assert names == set(DISTRICTS)


@pytest.mark.parametrize("name", ["districts", "roads", "metro_lines", "service_area"])
def test_basemap_layers(client: TestClient, name: str) -> None:
    response = client.get(f"/api/v1/basemap/{name}")
    assert response.status_code == 200
    assert response.json()["features"]


def test_unknown_basemap_is_422(client: TestClient) -> None:
    assert client.get("/api/v1/basemap/satellite").status_code == 422


def test_web_map_is_served_at_root(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "leaflet" in response.text.lower()
    assert "cdn" not in response.text.lower()

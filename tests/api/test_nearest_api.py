"""``/api/v1/nearest``: the reference answers, a brute-force oracle and every bad input."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from geo.crs import CRS, from_wgs84, haversine_m

PEOPLES_SQUARE = (121.4705745, 31.2346189)
PEOPLES_SQUARE_GCJ02 = (121.475108, 31.232687)


def _nearest(client: TestClient, **params: object) -> dict:
    response = client.get("/api/v1/nearest", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("profile", "method"), [(None, "network"), ("walk", "network"),
                                                 ("straight", "straight_line")])
def test_peoples_square_training_site_wgs84(
    client: TestClient, profile: str | None, method: str
) -> None:
    params = {"lon": PEOPLES_SQUARE[0], "lat": PEOPLES_SQUARE[1], "layer": "training_site", "k": 1}
    if profile:
        params["profile"] = profile
    body = _nearest(client, **params)
    (result,) = body["results"]
    assert "人民广场" in result["facility"]["name"]
    assert result["distance_m"] < 100
    assert result["method"] == method
    assert body["query"]["crs"] == "wgs84"


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_peoples_square_training_site_in_chinese_crs(client: TestClient, crs: str) -> None:
    if crs == "gcj02":
        lon, lat = PEOPLES_SQUARE_GCJ02
    else:
        lon, lat = from_wgs84(*PEOPLES_SQUARE, CRS.BD09)
    body = _nearest(client, lon=lon, lat=lat, layer="training_site", k=1, crs=crs)
    (result,) = body["results"]
    assert "人民广场" in result["facility"]["name"]
    assert result["distance_m"] < 100
    assert body["query"]["input_crs"] == crs
    assert haversine_m(body["query"]["lon"], body["query"]["lat"], *PEOPLES_SQUARE) < 1


def test_results_ordered_and_complete(client: TestClient) -> None:
    body = _nearest(client, lon=121.48, lat=31.23, layer="relay_station", k=5, profile="straight")
    distances = [r["distance_m"] for r in body["results"]]
    assert len(distances) == 5
    assert distances == sorted(distances)
    facility = body["results"][0]["facility"]
    for field in ("id", "name", "lon", "lat", "services", "hours", "phone", "status", "demo",
                  "hours_text_zh", "hours_text_en", "district", "address"):
        assert field in facility
    assert facility["demo"] is True


def _serving_located(client: TestClient, layer: str) -> list[dict]:
    body = client.get(f"/api/v1/layers/{layer}/features", params={"limit": 10_000}).json()
    serving = {"new", "active", "upgraded", "yellow_card"}
    return [
        f for f in body["features"]
        if f["geometry"] is not None and f["properties"]["status"] in serving
    ]


@pytest.mark.parametrize("k", [1, 5])
@pytest.mark.parametrize("layer", ["relay_station", "health_point", "training_site"])
def test_matches_brute_force_haversine(client: TestClient, layer: str, k: int) -> None:
    """≥1,000 seeded random points: identical ids and distances within 0.5 m."""
    features = _serving_located(client, layer)
    ids = np.array([f["id"] for f in features])
    lon = np.array([f["geometry"]["coordinates"][0] for f in features])
    lat = np.array([f["geometry"]["coordinates"][1] for f in features])
    registry = client.app.state.registry  # in-process for the 1,000 queries; HTTP spot-checks below
    rng = np.random.default_rng(2023 + k)
    queries = np.column_stack([rng.uniform(121.2, 121.8, 1000), rng.uniform(30.95, 31.4, 1000)])
    for row, (qlon, qlat) in enumerate(queries):
        brute = haversine_m(qlon, qlat, lon, lat)
        order = np.argsort(brute, kind="stable")[:k]
        hits = registry.nearest(float(qlon), float(qlat), layer, k=k)
        got = np.array([hit.distance_m for hit in hits])
        np.testing.assert_allclose(got, brute[order], atol=0.5)
        by_id = dict(zip(ids, brute, strict=True))
        for hit in hits:  # each returned id really lies at the returned distance
            assert abs(by_id[hit.facility.id] - hit.distance_m) < 0.5
        head = np.sort(brute)[: k + 1]
        if np.all(np.diff(head) > 1e-6):  # no ties among the k+1 nearest: identical ids
            assert [hit.facility.id for hit in hits] == list(ids[order])
        if row % 100 == 0 and registry.in_service_area(float(qlon), float(qlat)):
            via_http = _nearest(client, lon=qlon, lat=qlat, layer=layer, k=k, profile="straight")
            assert [r["facility"]["id"] for r in via_http["results"]] == [h.facility.id for h in hits]


def test_service_filter(client: TestClient) -> None:
    body = _nearest(client, lon=121.48, lat=31.23, layer="relay_station", k=5, service="microwave")
    assert body["results"]
    assert all("microwave" in r["facility"]["services"] for r in body["results"])


def test_open_at_filter(client: TestClient) -> None:
    body = _nearest(client, lon=121.48, lat=31.23, layer="relay_station", k=5,
                    open_at="2026-11-22T03:00")  # a Sunday, 3 a.m.
    assert body["results"]
    for result in body["results"]:
        hours = result["facility"]["hours"]
        assert hours is not None
        assert hours["always_open"] or any(
            rule["closes"] <= rule["opens"] for rule in hours["rules"]
        )


def test_unknown_location_sites_never_returned(client: TestClient) -> None:
    body = _nearest(client, lon=121.8, lat=31.35, layer="service_centre", k=16,
                    profile="straight")
    assert len(body["results"]) == 8  # only the located centres
    assert all(r["facility"]["lon"] is not None for r in body["results"])


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"lat": 31.2, "layer": "relay_station"}, 422, "lon: required"),
        ({"lon": 121.4, "layer": "relay_station"}, 422, "lat: required"),
        ({"lon": "abc", "lat": 31.2, "layer": "relay_station"}, 422, "lon"),
        ({"lon": "nan", "lat": 31.2, "layer": "relay_station"}, 422, "finite"),
        ({"lon": 121.4, "lat": "inf", "layer": "relay_station"}, 422, "finite"),
        ({"lon": 200, "lat": 31.2, "layer": "relay_station"}, 422, "between -180 and 180"),
        ({"lon": 121.4, "lat": -95, "layer": "relay_station"}, 422, "between -90 and 90"),
        ({"lon": 116.39, "lat": 39.9, "layer": "relay_station"}, 422, "outside the service area"),
        ({"lon": 121.4, "lat": 31.2, "layer": "bus_stop"}, 404, "valid layers"),
        ({"lon": 121.4, "lat": 31.2, "layer": "relay_station", "k": 0}, 422, "k"),
        ({"lon": 121.4, "lat": 31.2, "layer": "relay_station", "k": 51}, 422, "k"),
        ({"lon": 121.4, "lat": 31.2, "layer": "relay_station", "crs": "utm"}, 422, "valid values"),
        ({"lon": 121.4, "lat": 31.2, "layer": "relay_station", "service": "sauna"}, 422, "microwave"),
        ({"lon": 121.4, "lat": 31.2, "layer": "relay_station", "open_at": "noon"}, 422, "ISO 8601"),
        ({"lon": 121.4, "lat": 31.2}, 422, "layer: required"),
        ({"lon": 121.4, "lat": 31.2, "layer": "relay_station", "profile": "fly"}, 422, "profile"),
        ({"lon": 121.4, "lat": 31.2, "layer": "relay_station", "max_minutes": -5}, 422,
         "max_minutes"),
    ],
)
def test_bad_input_is_a_clear_4xx(
    client: TestClient, params: dict, status: int, fragment: str
) -> None:
    response = client.get("/api/v1/nearest", params=params)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "message"}
    assert fragment in body["message"]


def test_outside_area_message_names_the_point(client: TestClient) -> None:
    message = client.get(
        "/api/v1/nearest", params={"lon": 116.39, "lat": 39.9, "layer": "relay_station"}
    ).json()["message"]
    assert "116.39" in message
    assert "39.9" in message
    assert "Shanghai" in message


def test_no_500_on_garbage(client: TestClient) -> None:
    rng = np.random.default_rng(5)
    garbage = ["", " ", "1e999", "-0", "0x10", "１２１", "121,4", "None", "[]", "%00"]
    for _ in range(60):
        params = {
            "lon": rng.choice([*garbage, "121.47"]),
            "lat": rng.choice([*garbage, "31.23"]),
            "layer": rng.choice(["relay_station", "", "x" * 300]),
            "k": rng.choice(["5", "-1", "abc", "1.5"]),
        }
        response = client.get("/api/v1/nearest", params=params)
        assert response.status_code < 500, (params, response.text)
        if response.status_code != 200:
            assert response.json()["message"]

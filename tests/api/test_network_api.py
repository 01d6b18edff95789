"""Network answers through the API: nearest by walk/drive, isochrones, service areas, matrix."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape

from api.main import create_app
from api.settings import Settings
from geo.crs import haversine_m

LUJIAZUI = (121.5020, 31.2395)  # Pudong bank of the Huangpu, inside the central walk network
PEOPLES_SQUARE = (121.4705745, 31.2346189)
SONGJIANG = (121.2278, 31.0322)  # far outside the central networks


def _get(client: TestClient, path: str, **params: object) -> dict:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_networks_listed_with_coverage_and_calibration(client: TestClient) -> None:
    networks = {n["name"]: n for n in _get(client, "/api/v1/networks")["networks"]}
    assert {"central_walk", "central_drive", "citywide_drive"} <= set(networks)
    walk = networks["central_walk"]
    assert walk["profile"] == "walk"
    assert walk["default_for_profile"] == ["walk"]
    assert 1.0 < walk["calibration"]["detour_median"] < walk["calibration"]["detour_p90"] < 3
    polygon = shape(walk["coverage"]["features"][0]["geometry"])
    assert polygon.contains(Point(*PEOPLES_SQUARE))
    assert not polygon.contains(Point(*SONGJIANG))


def test_walk_nearest_is_a_network_route(client: TestClient) -> None:
    body = _get(client, "/api/v1/nearest", lon=PEOPLES_SQUARE[0] + 0.004,
                lat=PEOPLES_SQUARE[1] + 0.003, layer="relay_station", k=5, profile="walk")
    assert body["status"] == "ok"
    assert body["query"]["network"] == "central_walk"
    results = body["results"]
    assert len(results) == 5
    durations = [r["duration_s"] for r in results]
    assert durations == sorted(durations)
    for result in results:
        if result["method"] != "network":
            continue
        facility = result["facility"]
        straight = float(haversine_m(body["query"]["lon"], body["query"]["lat"],
                                     facility["lon"], facility["lat"]))
        # a street route is never shorter than the crow flies (allowing for both snaps)
        assert result["distance_m"] + result["snap_distance_m"] + 500 >= straight
        assert result["duration_s"] == pytest.approx(result["distance_m"] / 1.2, rel=1e-3)
        # door to door: the walk to the street, the street part, the walk to the door
        origin_leg, facility_leg = result["access_m"]
        assert origin_leg == pytest.approx(result["snap_distance_m"], abs=0.05)
        assert result["distance_m"] == pytest.approx(
            origin_leg + result["network_m"] + facility_leg, abs=0.2)
        assert straight <= result["distance_m"] + 0.5
        line = result["route"]
        assert line["type"] == "LineString"
        start, end = line["coordinates"][0], line["coordinates"][-1]
        assert start == pytest.approx([body["query"]["lon"], body["query"]["lat"]], abs=2e-7)
        assert end == pytest.approx([facility["lon"], facility["lat"]], abs=2e-7)


def test_walk_k1_agrees_with_travel_matrix(client: TestClient) -> None:
    """The nearest by label lookup equals the minimum of an independent matrix search."""
    features = client.get("/api/v1/layers/training_site/features").json()["features"]
    sites = [f for f in features if f["geometry"] and f["properties"]["status"] == "active"]
    rng = np.random.default_rng(11)
    checked = 0
    for qlon, qlat in zip(rng.uniform(121.44, 121.50, 30), rng.uniform(31.20, 31.26, 30),
                          strict=True):
        nearest = client.get("/api/v1/nearest", params={
            "lon": qlon, "lat": qlat, "layer": "training_site", "k": 1, "profile": "walk"})
        if nearest.status_code != 200 or not nearest.json()["results"]:
            continue
        result = nearest.json()["results"][0]
        if result["method"] != "network":
            continue
        matrix = client.post("/api/v1/matrix", json={
            "origins": [[qlon, qlat]],
            "destinations": [f["geometry"]["coordinates"] for f in sites],
            "profile": "walk"}).json()
        times = [(t, m) for t, m in zip(matrix["duration_s"][0], matrix["methods"][0],
                                        strict=True) if t is not None and m == "network"]
        assert result["duration_s"] == pytest.approx(min(t for t, _ in times), abs=0.2)
        checked += 1
    assert checked >= 10


def test_outside_coverage_is_estimated_without_route(client: TestClient) -> None:
    body = _get(client, "/api/v1/nearest", lon=SONGJIANG[0], lat=SONGJIANG[1],
                layer="relay_station", k=3, profile="walk")
    assert body["query"]["in_coverage"] is False
    calibration = {n["name"]: n for n in _get(client, "/api/v1/networks")["networks"]}[
        "central_walk"]["calibration"]
    for result in body["results"]:
        assert result["method"] == "estimated"
        assert "route" not in result
        facility = result["facility"]
        straight = float(haversine_m(SONGJIANG[0], SONGJIANG[1], facility["lon"], facility["lat"]))
        assert result["distance_m"] == pytest.approx(straight * calibration["detour_median"], rel=1e-3)


def test_drive_profile_uses_the_citywide_network(client: TestClient) -> None:
    body = _get(client, "/api/v1/nearest", lon=121.45, lat=31.10, layer="service_centre", k=2,
                profile="drive")
    assert body["query"]["network"] == "citywide_drive"
    assert body["results"]
    for result in body["results"]:
        assert result["method"] in {"network", "estimated"}
        assert result["duration_s"] > 0


def test_max_minutes_limits_results(client: TestClient) -> None:
    body = _get(client, "/api/v1/nearest", lon=PEOPLES_SQUARE[0], lat=PEOPLES_SQUARE[1],
                layer="relay_station", k=50, profile="walk", max_minutes=3)
    assert all(r["duration_s"] <= 180 for r in body["results"])
    assert len(body["results"]) < 50


def test_across_the_river_on_foot_is_not_a_route(client: TestClient) -> None:
    """On foot from Lujiazui, no route may cross the Huangpu (tunnels are not walkable)."""
    body = _get(client, "/api/v1/nearest", lon=LUJIAZUI[0], lat=LUJIAZUI[1],
                layer="training_site", k=3, profile="walk")
    river_x = 121.4905  # the Huangpu runs roughly north-south west of Lujiazui here
    for result in body["results"]:
        if result["method"] == "network":
            assert result["facility"]["lon"] > river_x
    (unreachable,) = body["unreachable"]  # 豫园, 2 km away as the crow flies, across the river
    assert unreachable["facility"]["lon"] < river_x
    assert unreachable["straight_line_m"] < body["results"][0]["distance_m"]
    drive = _get(client, "/api/v1/nearest", lon=LUJIAZUI[0], lat=LUJIAZUI[1],
                 layer="training_site", k=1, profile="drive")
    assert drive["results"][0]["method"] == "network"


def test_snap_too_far_is_422(client: TestClient, app_settings: Settings) -> None:
    strict = app_settings.model_copy(update={"max_snap_m": 2.0, "warm_up": False})
    app = create_app(strict, registry=client.app.state.registry)
    with TestClient(app, raise_server_exceptions=False) as tight:
        response = tight.get("/api/v1/nearest", params={
            "lon": PEOPLES_SQUARE[0], "lat": PEOPLES_SQUARE[1], "layer": "relay_station"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "snap_too_far"
    assert "limit is 2 m" in body["message"]


def test_isochrones_are_nested_polygons_containing_the_start(client: TestClient) -> None:
    body = _get(client, "/api/v1/isochrones", lon=PEOPLES_SQUARE[0], lat=PEOPLES_SQUARE[1],
                profile="walk", minutes="5,10,15")
    assert [f["properties"]["minutes"] for f in body["features"]] == [5, 10, 15]
    polygons = [shape(f["geometry"]) for f in body["features"]]
    assert all(p.is_valid and not p.is_empty for p in polygons)
    assert polygons[0].distance(Point(*PEOPLES_SQUARE)) < 0.001  # within ~100 m: the snap
    areas = [f["properties"]["area_m2"] for f in body["features"]]
    assert areas[0] < areas[1] < areas[2]
    assert shapely.difference(polygons[0], polygons[2].buffer(1e-6)).area < 1e-9
    # a 15-minute walk reaches at most 1.2 m/s × 900 s = 1,080 m from the start
    hull = polygons[2].convex_hull
    corner_m = max(float(haversine_m(PEOPLES_SQUARE[0], PEOPLES_SQUARE[1], x, y))
                   for x, y in hull.exterior.coords)
    assert corner_m < 1_080 + 300


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"minutes": "0"}, "above 0"),
        ({"minutes": "a,b"}, "numbers"),
        ({"minutes": "5,10,15,20,25,30,35"}, "1 to 6"),
        ({"profile": "boat"}, "profile"),
    ],
)
def test_isochrone_bad_input(client: TestClient, params: dict, fragment: str) -> None:
    response = client.get("/api/v1/isochrones", params={
        "lon": PEOPLES_SQUARE[0], "lat": PEOPLES_SQUARE[1], **params})
    assert response.status_code == 422
    assert fragment in response.json()["message"]


def test_isochrone_outside_coverage_is_422(client: TestClient) -> None:
    response = client.get("/api/v1/isochrones", params={"lon": SONGJIANG[0], "lat": SONGJIANG[1]})
    assert response.status_code == 422
    assert response.json()["error"] == "out_of_coverage"


def test_layer_service_area(client: TestClient) -> None:
    body = _get(client, "/api/v1/layers/training_site/service-area", minutes=10)
    (feature,) = body["features"]
    assert feature["properties"]["facilities_on_network"] >= 5
    polygon = shape(feature["geometry"])
    assert polygon.distance(Point(*PEOPLES_SQUARE)) < 0.001  # the site's street is covered
    assert not polygon.contains(Point(*LUJIAZUI))  # across the river on foot
    assert client.get("/api/v1/layers/nope/service-area").status_code == 404


def test_matrix_dense_and_sparse(client: TestClient) -> None:
    origins = [[121.47, 31.23], [121.48, 31.235], SONGJIANG]
    destinations = [[121.475, 31.232], [121.465, 31.24]]
    dense = client.post("/api/v1/matrix", json={"origins": origins, "destinations": destinations})
    assert dense.status_code == 200
    body = dense.json()
    assert len(body["duration_s"]) == 3
    assert len(body["duration_s"][0]) == 2
    assert body["methods"][2] == ["estimated", "estimated"]
    assert body["methods"][0] == ["network", "network"]
    legs = body["access_m"]
    assert legs["origins"][2] is None  # outside coverage: estimated, no access leg
    assert all(v >= 0 for v in legs["origins"][:2] + legs["destinations"])
    sparse = client.post("/api/v1/matrix", json={"origins": origins,
                                                 "destinations": destinations, "max_minutes": 20})
    pairs = sparse.json()["pairs"]
    assert pairs
    assert all(p["duration_s"] <= 1200 for p in pairs)
    assert not any(p["origin"] == 2 for p in pairs)
    for pair in pairs:
        i, j = pair["origin"], pair["destination"]
        assert pair["access_m"] == [legs["origins"][i], legs["destinations"][j]]
        assert pair["distance_m"] == pytest.approx(sum(pair["access_m"]) + pair["network_m"],
                                                   abs=0.2)
        assert pair["duration_s"] == pytest.approx(body["duration_s"][i][j], abs=0.05)


def test_matrix_from_a_point_to_itself_is_zero(client: TestClient) -> None:
    points = [[121.4721, 31.2369], [121.4805, 31.2301]]  # both off the street
    body = client.post("/api/v1/matrix", json={"origins": points, "destinations": points}).json()
    assert body["methods"] == [["network"] * 2] * 2
    assert min(body["access_m"]["origins"]) > 1.0
    assert body["duration_s"][0][0] == body["duration_s"][1][1] == 0.0
    assert body["duration_s"][0][1] > 0


@pytest.mark.parametrize(
    "body",
    [
        {"origins": [], "destinations": [[121.4, 31.2]]},
        {"origins": [[121.4]], "destinations": [[121.4, 31.2]]},
        {"origins": [[116.4, 39.9]], "destinations": [[121.4, 31.2]]},
        {"origins": [[121.4, 31.2]], "destinations": [[121.4, 31.2]], "profile": "fly"},
    ],
)
def test_matrix_bad_input(client: TestClient, body: dict) -> None:
    response = client.post("/api/v1/matrix", json=body)
    assert response.status_code == 422
    assert response.json()["message"]

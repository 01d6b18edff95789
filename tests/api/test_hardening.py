"""Regression tests for the measured robustness and browser-security findings.

Body limits (413 before the body is read), short error messages, security headers, CORS on
public reads only, 405 with ``Allow``, huge offsets, and the nested wrong types of
``POST /api/v1/routes`` that used to answer 500.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


def test_an_oversized_body_is_refused_with_413(client: TestClient) -> None:
    body = b'{"origins": [' + b"[121.47, 31.23]," * 150_000 + b"[121.47, 31.23]]}"
    response = client.post("/api/v1/matrix", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "at most 1,000,000 bytes" in response.json()["message"]


def test_a_chunked_oversized_body_is_refused_with_413(client: TestClient) -> None:
    def chunks():
        yield b'{"origins": ['
        for _ in range(2000):
            yield b"[121.47, 31.23]," * 100
        yield b"[121.47, 31.23]]}"

    response = client.post("/api/v1/matrix", content=chunks(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_error_messages_never_echo_large_inputs(client: TestClient) -> None:
    layer = "x" * 200_000
    response = client.post("/api/v1/plans", json={"layer": layer})
    assert response.status_code in (401, 422)
    assert len(response.content) < 3000
    features = client.get(f"/api/v1/layers/{'y' * 5000}/features")
    assert features.status_code == 404
    assert len(features.content) < 3000


def test_huge_offsets_are_a_4xx_not_a_500(client: TestClient) -> None:
    response = client.get("/api/v1/layers/rest_room/features",
                          params={"offset": "9223372036854775808"})
    assert response.status_code == 422
    assert client.get("/api/v1/layers/rest_room/features",
                      params={"offset": str(2**62)}).status_code == 200


@pytest.mark.parametrize("path", ["/", "/planner.html", "/api/v1/layers"])
def test_security_headers_on_pages_and_api(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'self'" in csp
    assert "https://tile.openstreetmap.org" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"


def test_cors_on_public_reads_only(client: TestClient) -> None:
    origin = {"Origin": "https://union-district.example"}
    read = client.get("/api/v1/layers", headers=origin)
    assert read.headers["access-control-allow-origin"] == "*"
    write = client.post("/api/v1/matrix", headers=origin,
                        json={"origins": [[121.47, 31.23]], "destinations": [[121.48, 31.24]]})
    assert "access-control-allow-origin" not in write.headers
    preflight = client.options("/api/v1/nearest", headers={
        **origin, "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 204
    assert "GET" in preflight.headers["access-control-allow-methods"]
    assert "POST" not in preflight.headers["access-control-allow-methods"]
    write_preflight = client.options("/api/v1/layers/relay_station/facilities", headers={
        **origin, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in write_preflight.headers


def test_unsupported_methods_answer_405_with_allow(client: TestClient) -> None:
    for path in ("/", "/api/v1/layers"):
        response = client.request("TRACE", path)
        assert response.status_code == 405
        assert "GET" in response.headers["allow"]


@pytest.mark.parametrize("nested", [
    {"slots": [1]}, {"packages": [None]}, {"vehicles": [{"days": 5}]},
    {"bookings": [{"slots": 5}]}, {"depots": "x"}, {"matrix": 7}, {"lunch_break": {"a": 1}},
    {"bookings": [{"lon": [1], "lat": {"x": 1}, "workers": None}]},
    {"vehicles": [{"count": 1e308, "capacity_half_day": "many"}]},
])
def test_route_requests_with_nested_wrong_types_are_refused_not_crashed(
    client: TestClient, nested: dict
) -> None:
    response = client.post("/api/v1/routes", json=nested)
    assert response.status_code < 500, response.text
    assert response.status_code in (401, 403, 422)


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/api/v1/plans"), ("get", "/api/v1/plans"), ("get", "/api/v1/plans/abc"),
    ("delete", "/api/v1/plans/abc"), ("post", "/api/v1/routes"), ("get", "/api/v1/routes"),
    ("get", "/api/v1/routes/abc"), ("get", "/api/v1/routes/abc/plan.csv"),
    ("get", "/api/v1/routes/abc/schedule.html"), ("delete", "/api/v1/routes/abc"),
])
def test_jobs_and_personal_data_need_an_account(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={} if method == "post" else None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_csp_allows_the_configured_basemap_sources(tmp_path) -> None:
    from api.main import create_app
    from api.settings import Settings

    settings = Settings(state_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'r.db'}",
                        basemap_sources="amap,osm", seed_on_start=False, warm_up=False,
                        basemap_urls={"osm": "https://tiles.union.example/{z}/{x}/{y}.png"})
    with TestClient(create_app(settings)) as app:
        csp = app.get("/healthz").headers["content-security-policy"]
    for origin in ("https://webrd01.is.autonavi.com", "https://webrd04.is.autonavi.com",
                   "https://tiles.union.example"):
        assert origin in csp.split("img-src", 1)[1].split(";", 1)[0]
        assert origin in csp.split("connect-src", 1)[1].split(";", 1)[0]

"""The nearest endpoint answers on the event loop once its indexes are built, in a thread
before: both give the same answer, also under concurrent requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

import api.routers.nearest as nearest_router

POINTS = [(121.4737 + 0.004 * i, 31.2304 - 0.003 * i) for i in range(12)]


def _get(client: TestClient, lon: float, lat: float, **extra: object) -> dict:
    response = client.get("/api/v1/nearest", params={
        "lon": lon, "lat": lat, "layer": "relay_station", "k": 5, "profile": "walk", **extra})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def test_ready_only_once_the_subset_is_built(client: TestClient) -> None:
    networks = client.app.state.networks
    assert not networks.is_ready("relay_station", "walk", "no-such-service-subset")
    assert not networks.is_ready("relay_station", "bike", None)
    _get(client, *POINTS[0], service="microwave")
    client.app.state.registry.serving("relay_station")  # the store's version just checked
    assert networks.is_ready("relay_station", "walk", "microwave")


def test_inline_and_threaded_answers_agree(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _get(client, *POINTS[0])
    client.app.state.registry.serving("relay_station")
    assert client.app.state.networks.is_ready("relay_station", "walk", None)
    inline = [_get(client, lon, lat) for lon, lat in POINTS]
    monkeypatch.setattr(nearest_router.NetworkService, "is_ready", lambda *a, **k: False)
    threaded = [_get(client, lon, lat) for lon, lat in POINTS]
    assert inline == threaded
    assert sum("route" in r for body in inline for r in body["results"]) >= len(POINTS)


def test_concurrent_requests_get_the_sequential_answers(client: TestClient) -> None:
    sequential = [_get(client, lon, lat) for lon, lat in POINTS]
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(lambda p: _get(client, *p), POINTS * 3))
    assert concurrent == sequential * 3

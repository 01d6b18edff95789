"""Isochrones and service areas for anonymous callers: limits, the cache, the compute gate."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api._auth import bearer, client_for, make_app, token

PEOPLES_SQUARE = (121.4705745, 31.2346189)
JINGAN = (121.4480, 31.2290)
BUND = (121.4903, 31.2400)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """A seeded application whose gate lets one anonymous area run and one wait."""
    return make_app(tmp_path_factory.mktemp("areas"), seed_on_start=True,
                    anon_area_concurrency=1, anon_area_max_waiting=1, anon_area_wait_s=20.0)  # fmt: skip


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with client_for(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def staff(client: TestClient) -> dict[str, str]:
    return bearer(token(client, "plan"))


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"minutes": "0"}, 422, "above 0"),
        ({"minutes": "5,x"}, 422, "comma-separated numbers"),
        ({"minutes": "61"}, 422, "at most 60 minutes"),
        ({"minutes": "5,10,15,20,25,30,35"}, 422, "1 to 6"),
        ({"profile": "boat"}, 422, "profile"),
        ({"lon": "nan"}, 422, "lon"),
    ],
)
def test_bad_isochrone_input_is_refused(
    client: TestClient, params: dict[str, str], status: int, fragment: str
) -> None:
    query = {"lon": PEOPLES_SQUARE[0], "lat": PEOPLES_SQUARE[1], **params}
    answer = client.get("/api/v1/isochrones", params=query)
    assert answer.status_code == status
    assert fragment in answer.json()["message"]


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        ("/api/v1/isochrones", {"profile": "drive", "minutes": "10,16"},
         "drive areas reach at most 15 minutes (got 16)"),
        ("/api/v1/isochrones", {"profile": "walk", "minutes": "31"},
         "walk areas reach at most 30 minutes (got 31)"),
        ("/api/v1/isochrones", {"minutes": "5,7.5"}, "whole minutes (got '5,7.5')"),
        ("/api/v1/isochrones", {"minutes": "5,10,15,20"}, "at most 3 thresholds per request (got 4)"),
        ("/api/v1/layers/service_centre/service-area", {"profile": "drive", "minutes": 20},
         "drive areas reach at most 15 minutes (got 20)"),
        ("/api/v1/layers/service_centre/service-area", {"minutes": 12.5}, "whole minutes"),
    ],
)  # fmt: skip
def test_anonymous_callers_are_held_to_their_limits_and_told_which(
    client: TestClient, path: str, params: dict[str, Any], fragment: str
) -> None:
    query = {"lon": PEOPLES_SQUARE[0], "lat": PEOPLES_SQUARE[1], **params}
    answer = client.get(path, params=query)
    assert answer.status_code == 422
    assert answer.json()["error"] == "anonymous_limit"
    assert fragment in answer.json()["message"]


def test_signed_in_staff_keep_the_full_limits(client: TestClient, staff: dict[str, str]) -> None:
    answer = client.get("/api/v1/isochrones", headers=staff, params={
        "lon": PEOPLES_SQUARE[0], "lat": PEOPLES_SQUARE[1], "minutes": "7.5,20,35,45"})
    assert answer.status_code == 200, answer.text
    assert [f["properties"]["minutes"] for f in answer.json()["features"]] == [7.5, 20, 35, 45]
    area = client.get("/api/v1/layers/service_centre/service-area", headers=staff,
                      params={"minutes": 31})  # fmt: skip
    assert area.status_code == 200
    assert area.json()["features"][0]["properties"]["minutes"] == 31
    # made-up credentials do not pass for anonymous ones
    forged = client.get("/api/v1/isochrones", headers=bearer("not-a-token"),
                        params={"lon": PEOPLES_SQUARE[0], "lat": PEOPLES_SQUARE[1]})  # fmt: skip
    assert forged.status_code == 401


def test_a_cached_answer_is_the_same_bytes_as_a_computed_one(
    client: TestClient, tmp_path: Path
) -> None:
    params = {"lon": JINGAN[0], "lat": JINGAN[1], "minutes": "5,10,15"}
    first = client.get("/api/v1/isochrones", params=params)
    again = client.get("/api/v1/isochrones", params=params)
    plain = client.get("/api/v1/isochrones", params=params,
                       headers={"Accept-Encoding": "identity"})  # fmt: skip
    assert (first.headers["x-cache"], again.headers["x-cache"], plain.headers["x-cache"]) == (
        "miss", "hit", "hit")  # fmt: skip
    assert first.headers["content-encoding"] == "gzip"  # stored compressed, sent as stored
    assert "content-encoding" not in plain.headers
    assert plain.headers["content-type"] == "application/geo+json"
    assert first.content == again.content == plain.content
    # the same question to an application without a cache: the same bytes, computed
    with client_for(make_app(tmp_path, staff=False, area_cache_entries=0)) as uncached:
        fresh = [uncached.get("/api/v1/isochrones", params=params) for _ in range(2)]
    assert [r.headers["x-cache"] for r in fresh] == ["miss", "miss"]
    assert fresh[0].content == fresh[1].content == first.content
    # a point a metre away is another question (its walk to the street differs)
    moved = client.get("/api/v1/isochrones", params={**params, "lon": JINGAN[0] + 1e-5})
    assert moved.headers["x-cache"] == "miss"
    assert moved.content != first.content


def test_the_cache_follows_the_layer_and_the_network(app: FastAPI, client: TestClient) -> None:
    path = "/api/v1/layers/service_centre/service-area"
    params = {"minutes": 10}
    first = client.get(path, params=params)
    assert first.status_code == 200
    assert client.get(path, params=params).headers["x-cache"] == "hit"
    on_network = first.json()["features"][0]["properties"]["facilities_on_network"]
    registry = app.state.registry
    registry.delete("service_centre:centre-07")  # Huangpu's, on the central walk network:
    # the layer changes, its areas are asked afresh
    changed = client.get(path, params=params)
    assert changed.headers["x-cache"] == "miss"
    assert changed.json()["features"][0]["properties"]["facilities_on_network"] == on_network - 1
    assert client.get(path, params=params).headers["x-cache"] == "hit"
    app.state.networks.forget_networks()  # a network rebuilt in place: reloaded, recomputed
    reloaded = client.get(path, params=params)
    assert reloaded.headers["x-cache"] == "miss"
    assert reloaded.content == changed.content


def test_anonymous_areas_wait_briefly_for_a_turn_then_get_503_with_retry_after(
    app: FastAPI, client: TestClient, staff: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = app.state.networks
    real = service.isochrones
    entered, release = threading.Event(), threading.Event()
    calls: list[tuple[float, float]] = []

    def slow(lon: float, lat: float, profile: str, minutes: list[float]) -> Any:
        calls.append((lon, lat))
        if len(calls) == 1:
            entered.set()
            assert release.wait(20)
        return real(lon, lat, profile, minutes)

    monkeypatch.setattr(service, "isochrones", slow)
    params = {"lon": BUND[0], "lat": BUND[1], "minutes": "5,10"}
    answers: dict[str, Any] = {}

    def ask(name: str) -> None:
        answers[name] = client.get("/api/v1/isochrones", params=params)

    computing = threading.Thread(target=ask, args=("computing",))
    computing.start()
    assert entered.wait(20)
    waiting = threading.Thread(target=ask, args=("waiting",))
    waiting.start()
    gate = app.state.area_answers.gate
    deadline = time.monotonic() + 10
    while gate.waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (gate.busy, gate.waiting) == (1, 1)
    started = time.monotonic()
    busy = client.get("/api/v1/isochrones", params={**params, "lon": BUND[0] + 0.001})
    assert time.monotonic() - started < 5  # refused at once: the waiting line is full
    assert busy.status_code == 503
    assert busy.json()["error"] == "busy"
    assert "at most 1 at a time and 1 waiting" in busy.json()["message"]
    assert int(busy.headers["retry-after"]) == busy.json()["retry_after_s"] >= 1
    # signed-in staff are not held up by anonymous traffic
    own = client.get("/api/v1/isochrones", headers=staff,
                     params={**params, "lon": BUND[0] + 0.002})  # fmt: skip
    assert own.status_code == 200
    release.set()
    computing.join(30)
    waiting.join(30)
    assert answers["computing"].status_code == answers["waiting"].status_code == 200
    # the caller that waited got the answer the first one computed, not a second computation
    assert answers["waiting"].headers["x-cache"] == "hit"
    assert answers["waiting"].content == answers["computing"].content
    assert len([c for c in calls if c == (BUND[0], BUND[1])]) == 1
    assert gate.busy == gate.waiting == 0

"""``GET /api/v1/geocode``: staff only, offline candidates, bad input refused with 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from api.deps import get_actor
from api.main import create_app
from api.settings import Settings
from layers.accounts.roles import Actor, Role

EDITOR = Actor("putuo_editor", Role.EDITOR, "普陀区")


def _actor_from_header(request: Request) -> Actor | None:
    return EDITOR if request.headers.get("x-test-actor") == "editor" else None


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    state = Path(tmp_path_factory.mktemp("geocode_api"))
    settings = Settings(state_dir=state, database_url=f"sqlite:///{state / 'g.db'}",
                        warm_up=False)  # fmt: skip
    app = create_app(settings)
    app.dependency_overrides[get_actor] = _actor_from_header
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


STAFF = {"x-test-actor": "editor"}


def test_anonymous_callers_get_401(api: TestClient) -> None:
    response = api.get("/api/v1/geocode", params={"q": "长风公园"})
    assert response.status_code == 401
    assert response.json()["error"]


def test_a_park_is_placed_with_its_candidates_once_each(api: TestClient) -> None:
    response = api.get("/api/v1/geocode", params={"q": "长风公园", "district": "普陀区"},
                       headers=STAFF)  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["matched_name"] == "长风公园"
    assert body["precision"] == "building"
    assert 121.38 < body["lon"] < 121.41
    assert 31.21 < body["lat"] < 31.24
    names = [(c["name"], c["kind"], c["lon"], c["lat"]) for c in body["candidates"]]
    assert names
    assert len(names) == len(set(names))
    assert response.headers["cache-control"] == "private, no-store"


def test_nothing_found_is_unknown_not_an_error(api: TestClient) -> None:
    response = api.get("/api/v1/geocode", params={"q": "zzzz qqqq"}, headers=STAFF)
    assert response.status_code == 200
    assert response.json()["precision"] in {"unknown", "district"}


@pytest.mark.parametrize("params", [
    {}, {"q": ""}, {"q": "   "}, {"q": "x" * 301}, {"q": "长风公园", "district": "火星区"},
    {"q": "长风公园", "district": "x" * 21},
])  # fmt: skip
def test_bad_input_is_422_with_a_message(api: TestClient, params: dict[str, str]) -> None:
    response = api.get("/api/v1/geocode", params=params, headers=STAFF)
    assert response.status_code == 422, response.text
    assert response.json()["message"]

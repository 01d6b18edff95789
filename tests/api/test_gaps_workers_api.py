"""Workers in the gap answers: the basis of each figure, and a registry 职工数 end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
from fastapi import Request
from fastapi.testclient import TestClient

from api.deps import get_actor
from api.main import create_app
from api.settings import Settings
from geo.coverage.allocation import BASES
from layers.accounts.roles import Actor, Role
from layers.gaps.data import load_workplaces
from layers.registry.shipped import DEFAULT_DATA_DIR

ACTORS = {
    "editor": Actor("putuo_editor", Role.EDITOR, "普陀区"),
    "reviewer": Actor("city_reviewer", Role.REVIEWER),
}


def _actor(request: Request) -> Actor | None:
    return ACTORS.get(request.headers.get("x-test-actor", ""))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    state = Path(tmp_path_factory.mktemp("gaps_workers"))
    settings = Settings(state_dir=state, database_url=f"sqlite:///{state / 'r.db'}",
                        warm_up=False)  # fmt: skip
    app = create_app(settings)
    app.dependency_overrides[get_actor] = _actor
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _features(api: TestClient) -> dict[str, dict]:
    response = api.get("/api/v1/gaps/medical", params={"geometry": "point"})
    assert response.status_code == 200, response.text
    return {f["id"]: f["properties"] for f in response.json()["features"]}


def test_every_workplace_says_what_its_workers_rest_on(api: TestClient) -> None:
    props = _features(api)
    assert {p["workers_basis"] for p in props.values()} <= set(BASES) - {"registry"}
    assert all(p["workers_estimated"] for p in props.values())
    lunch = api.get("/api/v1/gaps/lunch", params={"geometry": "point", "limit": 5}).json()
    assert all(w["workers_basis"] in BASES for w in lunch["summary"]["worst"])


def test_a_published_health_point_with_workers_overrides_its_park(api: TestClient) -> None:
    wp = load_workplaces(DEFAULT_DATA_DIR)
    putuo = [i for i in range(len(wp)) if wp.district[i] == "普陀区" and wp.kind[i] == "park"]
    park = max(putuo, key=lambda i: wp.area_m2[i])
    wid = str(wp.id[park])
    lon, lat = shapely.get_coordinates(wp.geometry[park].representative_point())[0]
    before = _features(api)[wid]
    assert before["workers_basis"] != "registry"
    body = {"name": "园区职工健康服务点", "district": "普陀区", "lon": float(lon), "lat": float(lat),
            "services": ["consultation"], "n_workers": 4321}  # fmt: skip
    created = api.post("/api/v1/layers/health_point/facilities", json=body,
                       headers={"x-test-actor": "editor"})  # fmt: skip
    assert created.status_code == 201, created.text
    rid = created.json()["record"]["id"]
    assert _features(api)[wid]["workers"] == before["workers"]  # a draft does not count
    for action, who in (("submit", "editor"), ("approve", "reviewer")):
        done = api.post(f"/api/v1/review/{action}", json={"ids": [rid]},
                        headers={"x-test-actor": who})  # fmt: skip
        assert done.status_code == 200, done.text
    after = _features(api)[wid]
    assert after["workers"] == 4321
    assert after["workers_basis"] == "registry"
    assert after["workers_estimated"] is False
    lunch = api.get("/api/v1/gaps/lunch", params={"geometry": "point"}).json()
    assert next(f for f in lunch["features"] if f["id"] == wid)["properties"]["workers"] == 4321

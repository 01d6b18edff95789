"""Editing API: auth, district rules, ETag/If-Match, review actions, visibility in nearest.

The caller is injected with a dependency override keyed by a test header, so these tests
exercise the routes and the workflow; token and session authentication have their own tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from api.deps import get_actor
from api.main import create_app
from api.settings import Settings
from layers.accounts.roles import Actor, Role

ACTORS = {
    "editor": Actor("putuo_editor", Role.EDITOR, "普陀区"),
    "other": Actor("xuhui_editor", Role.EDITOR, "徐汇区"),
    "reviewer": Actor("city_reviewer", Role.REVIEWER),
    "planner": Actor("planner", Role.PLANNER),
}
PUTUO_POINT = {"lon": 121.3950, "lat": 31.2490}
WRITE_ROUTES = [
    ("post", "/api/v1/layers/relay_station/facilities", {"name": "x", "district": "普陀区"}),
    ("patch", "/api/v1/facilities/relay_station:r000000000000", {"phone": "13812345678"}),
    ("delete", "/api/v1/facilities/relay_station:r000000000000", None),
    ("get", "/api/v1/facilities/relay_station:r000000000000/record", None),
    ("get", "/api/v1/facilities/relay_station:r000000000000/history", None),
    ("get", "/api/v1/records", None),
    ("get", "/api/v1/review/queue", None),
    ("post", "/api/v1/review/approve", {"ids": ["relay_station:r000000000000"]}),
    ("post", "/api/v1/facilities/relay_station:r000000000000/cards",
     {"kind": "yellow", "reason": "x"}),
    ("post", "/api/v1/facilities/relay_station:r000000000000/close", {"reason": "x"}),
    ("post", "/api/v1/facilities/relay_station:r000000000000/verify", None),
]


def _actor_from_header(request: Request) -> Actor | None:
    return ACTORS.get(request.headers.get("x-test-actor", ""))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    state = Path(tmp_path_factory.mktemp("records_api"))
    settings = Settings(state_dir=state, database_url=f"sqlite:///{state / 'r.db'}",
                        warm_up=False)
    app = create_app(settings)
    app.dependency_overrides[get_actor] = _actor_from_header
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _as(who: str) -> dict[str, str]:
    return {"x-test-actor": who}


def _create(api: TestClient, **fields: object) -> dict:
    body = {"name": "金沙江路爱心接力站", "district": "普陀区", "address": "金沙江路1759号",
            "services": ["water", "charging"], **PUTUO_POINT, **fields}
    response = api.post("/api/v1/layers/relay_station/facilities", json=body, headers=_as("editor"))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize(("method", "path", "body"), WRITE_ROUTES)
def test_every_staff_route_refuses_anonymous_callers(api, method, path, body) -> None:
    response = api.request(method, path, json=body)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthenticated"


def test_wrong_role_and_wrong_district_are_403(api) -> None:
    body = {"name": "站", "district": "普陀区", **PUTUO_POINT}
    planner = api.post("/api/v1/layers/relay_station/facilities", json=body,
                       headers=_as("planner"))
    assert planner.status_code == 403
    other = api.post("/api/v1/layers/relay_station/facilities", json=body, headers=_as("other"))
    assert other.status_code == 403
    assert "普陀区" in other.json()["message"]
    created = _create(api)
    rid = created["record"]["id"]
    patch = api.patch(f"/api/v1/facilities/{rid}", json={"phone": "13812345678"},
                      headers={**_as("other"), "If-Match": created["etag"]})
    assert patch.status_code == 403
    api.post("/api/v1/review/submit", json={"ids": [rid]}, headers=_as("editor"))
    approve = api.post("/api/v1/review/approve", json={"ids": [rid]}, headers=_as("editor"))
    assert approve.status_code == 403


def test_etag_if_match_flow(api) -> None:
    created = _create(api)
    rid = created["record"]["id"]
    got = api.get(f"/api/v1/facilities/{rid}/record", headers=_as("editor"))
    assert got.headers["etag"] == created["etag"] == '"1"'
    missing = api.patch(f"/api/v1/facilities/{rid}", json={"phone": "13812345678"},
                        headers=_as("editor"))
    assert missing.status_code == 428
    ok = api.patch(f"/api/v1/facilities/{rid}", json={"phone": "13812345678"},
                   headers={**_as("editor"), "If-Match": '"1"'})
    assert ok.status_code == 200
    assert ok.headers["etag"] == '"2"'
    stale = api.patch(f"/api/v1/facilities/{rid}", json={"phone": "13900000000"},
                      headers={**_as("editor"), "If-Match": '"1"'})
    assert stale.status_code == 412
    assert "version 2" in stale.json()["message"]
    weak = api.patch(f"/api/v1/facilities/{rid}", json={"phone": "13900000000"},
                     headers={**_as("editor"), "If-Match": 'W/"2"'})
    assert weak.status_code == 412
    record = api.get(f"/api/v1/facilities/{rid}/record", headers=_as("editor")).json()
    assert record["record"]["phone"] == "13812345678"


def test_concurrent_patches_with_one_etag_give_one_winner(api) -> None:
    created = _create(api)
    rid = created["record"]["id"]
    results: list[int] = []
    barrier = threading.Barrier(8)

    def patch(i: int) -> None:
        barrier.wait()
        response = api.patch(f"/api/v1/facilities/{rid}", json={"phone": f"1381234{i:04d}"},
                             headers={**_as("editor"), "If-Match": created["etag"]})
        results.append(response.status_code)

    threads = [threading.Thread(target=patch, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] + [412] * 7


def test_approved_record_is_visible_to_nearest_at_once(api) -> None:
    lon, lat = 121.3951, 31.2491
    created = _create(api, name="接力站·审核可见", lon=lon, lat=lat)
    rid = created["record"]["id"]

    def nearest_ids() -> list[str]:
        answer = api.get("/api/v1/nearest", params={"lon": lon, "lat": lat,
                                                    "layer": "relay_station", "k": 3,
                                                    "profile": "straight"})
        assert answer.status_code == 200
        return [r["facility"]["id"] for r in answer.json()["results"]]

    assert rid not in nearest_ids()
    assert api.post("/api/v1/review/submit", json={"ids": [rid]},
                    headers=_as("editor")).status_code == 200
    assert rid not in nearest_ids()
    approved = api.post("/api/v1/review/approve", json={"ids": [rid], "comment": "ok"},
                        headers=_as("reviewer"))
    assert approved.status_code == 200
    assert nearest_ids()[0] == rid
    public = api.get(f"/api/v1/facilities/{rid}").json()
    assert public["last_verified"] is not None
    assert public["contact"] is None


def test_review_queue_shows_changes_and_history_names_the_actor(api) -> None:
    created = _create(api, name="排队站")
    rid = created["record"]["id"]
    api.post("/api/v1/review/submit", json={"ids": [rid]}, headers=_as("editor"))
    queue = api.get("/api/v1/review/queue", params={"district": "普陀区"},
                    headers=_as("reviewer")).json()
    mine = [item for item in queue["items"] if item["record"]["id"] == rid]
    assert mine[0]["changes"]["name"] == [None, "排队站"]
    returned = api.post("/api/v1/review/return", json={"ids": [rid], "comment": "补充门牌号"},
                        headers=_as("reviewer"))
    assert returned.status_code == 200
    assert returned.json()["items"][0]["record"]["review"] == "returned"
    history = api.get(f"/api/v1/facilities/{rid}/history", headers=_as("editor")).json()
    assert [e["action"] for e in history["entries"]] == ["return", "submit", "create"]
    assert history["entries"][0]["actor"] == "city_reviewer"
    assert history["entries"][0]["comment"] == "补充门牌号"


def test_cards_via_the_api(api) -> None:
    rid = _create(api, name="卡片站")["record"]["id"]
    api.post("/api/v1/review/submit", json={"ids": [rid]}, headers=_as("editor"))
    api.post("/api/v1/review/approve", json={"ids": [rid]}, headers=_as("reviewer"))
    card = api.post(f"/api/v1/facilities/{rid}/cards",
                    json={"kind": "yellow", "reason": "无饮水", "deadline": "2027-01-31"},
                    headers=_as("reviewer"))
    assert card.status_code == 200
    assert api.get(f"/api/v1/facilities/{rid}").json()["status"] == "yellow_card"
    bad = api.post(f"/api/v1/facilities/{rid}/cards",
                   json={"kind": "yellow", "reason": "x", "issued_on": "2027-02-01",
                         "deadline": "2027-01-01"}, headers=_as("reviewer"))
    assert bad.status_code == 422
    red = api.post(f"/api/v1/facilities/{rid}/cards", json={"kind": "red", "reason": "摘牌"},
                   headers=_as("reviewer"))
    assert red.status_code == 200
    assert api.get(f"/api/v1/facilities/{rid}").status_code == 404


@pytest.mark.parametrize(("body", "status"), [
    ({"name": "x", "district": "普陀区", "lat": 95}, 422),
    ({"name": "x", "district": "普陀区", "wat": 1}, 422),
    ({"name": "x", "district": "火星区"}, 422),
    ({"name": "", "district": "普陀区"}, 422),
    ({"name": "x", "district": "普陀区", "services": ["dispensing"]}, 422),
    ({"name": "x" * 5000, "district": "普陀区"}, 422),
    ([1, 2, 3], 422),
])
def test_bad_records_are_refused_with_4xx(api, body, status) -> None:
    response = api.post("/api/v1/layers/relay_station/facilities", json=body,
                        headers=_as("editor"))
    assert response.status_code == status
    assert len(response.text) < 2000


def test_unknown_layers_context_layers_and_ids(api) -> None:
    body = {"name": "x", "district": "普陀区"}
    assert api.post("/api/v1/layers/nope/facilities", json=body,
                    headers=_as("editor")).status_code == 404
    assert api.post("/api/v1/layers/hospital/facilities", json=body,
                    headers=_as("editor")).status_code == 409
    assert api.get("/api/v1/facilities/not an id/record",
                   headers=_as("editor")).status_code == 422
    assert api.get("/api/v1/facilities/relay_station:r404/record",
                   headers=_as("editor")).status_code == 404
    assert api.post("/api/v1/review/publish", json={"ids": ["relay_station:x"]},
                    headers=_as("reviewer")).status_code == 422


def test_soft_delete_via_the_api(api) -> None:
    created = _create(api, name="删除站")
    rid = created["record"]["id"]
    assert api.delete(f"/api/v1/facilities/{rid}", headers=_as("editor")).status_code == 428
    deleted = api.delete(f"/api/v1/facilities/{rid}",
                         headers={**_as("editor"), "If-Match": created["etag"]})
    assert deleted.status_code == 200
    assert deleted.json()["deleted"] is True
    assert api.get(f"/api/v1/facilities/{rid}/record", headers=_as("editor")).status_code == 404
    listed = api.get("/api/v1/records", params={"layer": "relay_station",
                                                "include_deleted": "true"},
                     headers=_as("editor")).json()
    assert rid in {item["record"]["id"] for item in listed["items"]}

"""Imports and exports over HTTP with real tokens: auth, dry run and commit, refusals,
413, concurrent commits, the round trip export → import, and the edit reaching workers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api._auth import bearer, client_for, make_app, token
from tests.layers.importing.forms import XUHUI_CSV, health_point_form, rest_room_form, to_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    state = Path(tmp_path_factory.mktemp("imports_api"))
    app = make_app(state, seed_on_start=True, max_upload_bytes=2_000_000)
    with client_for(app) as client:
        yield client


@pytest.fixture(scope="module")
def auth(api: TestClient) -> dict[str, dict[str, str]]:
    return {name: bearer(token(api, name)) for name in ("ed", "rev", "plan")}


def _upload(api: TestClient, headers: dict[str, str], data: bytes, name: str = "form.xlsx",
            **form: str) -> object:
    return api.post("/api/v1/imports", headers=headers, files={"file": (name, data, XLSX)},
                    data={"layer": "rest_room", **form})


def test_imports_need_an_account_and_the_right_role(api, auth) -> None:
    data = to_xlsx(rest_room_form())
    anonymous = _upload(api, {}, data)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert _upload(api, auth["plan"], data).status_code == 403
    assert api.get("/api/v1/layers/rest_room/export").status_code == 401


def test_dry_run_then_commit_by_id(api, auth) -> None:
    dry = _upload(api, auth["ed"], to_xlsx(rest_room_form()), name="普陀区休息室.xlsx")
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert body["committed"] is False
    assert body["dry_run"] is True
    assert body["created"] == 3
    records = api.get("/api/v1/records", params={"layer": "rest_room", "review": "draft"},
                      headers=auth["ed"]).json()
    assert records["total"] == 0  # the dry run wrote nothing
    other = api.post(f"/api/v1/imports/{body['import_id']}/commit", headers=auth["plan"])
    assert other.status_code == 403
    results: list[int] = []

    def commit() -> None:
        results.append(api.post(f"/api/v1/imports/{body['import_id']}/commit",
                                headers=auth["ed"]).status_code)

    threads = [threading.Thread(target=commit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 404, 404]
    drafts = api.get("/api/v1/records", params={"layer": "rest_room", "review": "draft"},
                     headers=auth["ed"]).json()
    assert drafts["total"] == 3


def test_a_commit_with_errors_is_refused_with_the_report(api, auth) -> None:
    response = api.post("/api/v1/imports", headers=auth["ed"],
                        files={"file": ("hp.xlsx", to_xlsx(health_point_form()), XLSX)},
                        data={"layer": "health_point", "dry_run": "false"})
    assert response.status_code == 422
    body = response.json()
    assert body["committed"] is False
    assert {e["row"] for e in body["errors"]} == {6, 7}
    partial = api.post("/api/v1/imports", headers=auth["ed"],
                       files={"file": ("hp.xlsx", to_xlsx(health_point_form()), XLSX)},
                       data={"layer": "health_point", "dry_run": "false",
                             "commit_valid": "true"})
    assert partial.status_code == 200
    assert partial.json()["skipped"] == 2


@pytest.mark.parametrize(("data", "status"), [
    (b"\x89PNG\r\n\x1a\n" + bytes(300), 422),
    (b"", 422),
    (b"x" * 2_100_000, 413),
])
def test_junk_and_oversized_files(api, auth, data: bytes, status: int) -> None:
    response = _upload(api, auth["ed"], data, name="junk.xlsx")
    assert response.status_code == status
    body = response.json()
    assert body["message"]
    if status == 422:
        assert body["message_zh"]
        assert body["message_en"]


def test_bad_options_are_4xx(api, auth) -> None:
    data = to_xlsx(rest_room_form())
    assert _upload(api, auth["ed"], data, crs="utm").status_code == 422
    assert _upload(api, auth["ed"], data, mapping="{not json").status_code == 422
    wrong_layer = api.post("/api/v1/imports", headers=auth["ed"],
                           files={"file": ("f.xlsx", data, XLSX)}, data={"layer": "hospital"})
    assert wrong_layer.status_code == 422
    missing = api.post("/api/v1/imports", headers=auth["ed"], data={"layer": "rest_room"})
    assert missing.status_code == 422
    assert api.post("/api/v1/imports/imp-0000000000000000/commit",
                    headers=auth["ed"]).status_code == 404


def test_export_and_reimport_round_trip(api, auth) -> None:
    exported = api.get("/api/v1/layers/rest_room/export", params={"format": "xlsx"},
                       headers=auth["ed"])
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith(XLSX)
    again = _upload(api, auth["ed"], exported.content, name="export.xlsx")
    body = again.json()
    assert body["errors"] == []
    assert body["created"] == body["updated"] == 0
    assert body["unchanged"] == body["rows"] > 0
    for fmt, media in (("geojson", "application/geo+json"), ("csv", "text/csv"),
                       ("gpkg", "application/geopackage+sqlite3")):
        response = api.get("/api/v1/layers/rest_room/export", params={"format": fmt},
                           headers=auth["rev"])
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
    assert api.get("/api/v1/layers/rest_room/export", params={"format": "pdf"},
                   headers=auth["rev"]).status_code == 422


def test_an_imported_and_approved_centre_reaches_nearest(api, auth) -> None:
    response = api.post("/api/v1/imports", headers=auth["rev"],
                        files={"file": (XUHUI_CSV.name, XUHUI_CSV.read_bytes(), "text/csv")},
                        data={"layer": "community_health", "crs": "bd09", "dry_run": "false",
                              "submit": "true"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] == 6
    assert body["updated"] == 7
    ids = [o["record_id"] for o in body["outcomes"]]
    approved = api.post("/api/v1/review/approve", json={"ids": ids}, headers=auth["rev"])
    assert approved.status_code == 200, approved.text
    xietu = next(o for o in body["outcomes"] if o["action"] == "created")
    record = api.get(f"/api/v1/facilities/{xietu['record_id']}").json()
    nearest = api.get("/api/v1/nearest", params={
        "lon": record["lon"], "lat": record["lat"], "layer": "community_health", "k": 1,
        "profile": "straight"}).json()
    assert nearest["results"][0]["facility"]["id"] == xietu["record_id"]

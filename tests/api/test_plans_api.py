"""``/api/v1/plans``: background job life cycle, answers, and refusals with the numbers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.cli import main

SMALL = {"candidates": ["service_centre", "training_site"], "n_new": 2, "max_minutes": 15,
         "time_limit_s": 30}  # fmt: skip


def wait_done(client: TestClient, url: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    seen = set()
    while True:
        response = client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.add(body["status"])
        assert body["status"] in ("queued", "running", "done", "failed")
        if body["status"] in ("done", "failed"):
            body["_seen"] = seen
            return body
        assert time.monotonic() < deadline, f"plan still {body['status']}: {body['progress']}"
        time.sleep(0.1)


def test_plan_job_lifecycle(client: TestClient) -> None:
    response = client.post("/api/v1/plans", json={**SMALL, "curve": [0, 1, 2, 3],
                                                  "include_demo": True})  # fmt: skip
    assert response.status_code == 202, response.text
    created = response.json()
    assert set(created) == {"id", "status", "links"}
    assert created["status"] == "queued"
    assert created["links"]["self"] == f"/api/v1/plans/{created['id']}"
    assert response.headers["location"] == created["links"]["self"]
    body = wait_done(client, created["links"]["self"])
    assert body["status"] == "done", body.get("error")
    assert body["created_at"] <= body["started_at"] <= body["finished_at"]
    assert body["progress"]["fraction"] == 1.0
    summary = body["summary"]
    assert summary["status"] == "optimal"
    assert summary["gap"] == 0.0
    assert summary["seconds"] >= 0
    assert summary["n_new"] == 2
    assert summary["workers_covered_after"] == (summary["workers_covered_before"]
                                                + summary["workers_newly_covered"])  # fmt: skip
    assert sum(d["newly_covered"] for d in body["districts"]) == summary["workers_newly_covered"]
    assert sum(d["new_sites"] for d in body["districts"]) == 2
    sites = body["sites"]
    assert sites["type"] == "FeatureCollection"
    assert len(sites["features"]) == 2
    for feature in sites["features"]:
        props = feature["properties"]
        assert props["layer"] in ("service_centre", "training_site")
        assert {"id", "name", "district", "workers_newly_covered"} <= set(props)
        lon, lat = feature["geometry"]["coordinates"]
        assert 120.8 < lon < 122.2
        assert 30.6 < lat < 31.9
    assert len(body["existing"]["features"]) == summary["n_existing"] > 0
    workplaces = body["workplaces"]["features"]
    assert len(workplaces) == summary["workplaces_newly_covered"]
    assert all(w["properties"]["minutes"] <= 15 for w in workplaces)
    assert sum(w["properties"]["workers"] for w in workplaces) == summary["workers_newly_covered"]
    curve = [p["workers_covered"] for p in body["curve"]]
    assert [p["n_new"] for p in body["curve"]] == [0, 1, 2, 3]
    assert curve == sorted(curve)
    assert curve[2] == summary["objective"]
    listed = client.get("/api/v1/plans").json()["plans"]
    assert created["id"] in [p["id"] for p in listed]


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        ({"n_new": 10, "district_min": 1}, "district minimums add up to 16 new sites > 10 new"),
        ({"n_new": 20, "district_min": 1, "budget": 100000},
         "budget 100000 < 300000, the cheapest cost of 20 new sites"),
        ({"n_new": 20, "n_upgrade": 50, "budget": 400000},
         "budget 400,000 < 500,000, the cost of 50 upgrades"),
        ({"layer": "wells"}, "unknown layer 'wells'"),
        ({"candidates": []}, "candidates is empty"),
        ({"candidates": ["service_centre"], "n_new": 16, "district_min": 1},
         "8 district(s) have no candidate site"),
        ({"candidates": ["service_centre"], "n_new": 9}, "9 new sites requested but only 8"),
        ({"n_new": -1}, "n_new"),
        ({"max_minutes": 0}, "max_minutes"),
        ({"model": "kmeans"}, "model"),
    ],
)  # fmt: skip
def test_bad_requests_are_refused_at_once(
    client: TestClient, body: dict[str, Any], pattern: str
) -> None:
    started = time.perf_counter()
    response = client.post("/api/v1/plans", json=body)
    assert response.status_code == 422, response.text
    assert pattern in response.json()["message"]
    assert time.perf_counter() - started < 10  # refused before any solving


def test_unknown_plan_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/plans/0123abc")
    assert response.status_code == 404
    assert response.json()["error"] == "job_not_found"


def test_cli_plan_on_the_shipped_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["plan", "--model", "mclp", "--layer", "health_point", "--candidates",
            "service_centre,training_site", "--new", "2", "--max-minutes", "15", "--shipped",
            "--time-limit", "30"]  # fmt: skip
    out = tmp_path / "plan.geojson"
    assert main([*base, "--curve", "0,2", "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["summary"]["status"] == "optimal"
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    roles = [f["properties"]["role"] for f in collection["features"]]
    assert roles.count("new") == 2
    assert roles.count("existing") == printed["summary"]["n_existing"]
    assert roles.count("newly_covered") == printed["summary"]["workplaces_newly_covered"]
    assert collection["summary"]["objective"] == printed["summary"]["objective"]
    assert [p["n_new"] for p in collection["curve"]] == [0, 2]
    report = tmp_path / "plan.html"
    assert main([*base, "--out", str(report)]) == 0
    text = capsys.readouterr().out
    assert "status optimal" in text
    page = report.read_text(encoding="utf-8")
    assert "<script src=" not in page
    assert "已证明最优 / proven optimal" in page
    assert main([*base, "--district-min", "1", "--json"]) == 2
    refused = json.loads(capsys.readouterr().out)
    assert refused["status"] == "infeasible"
    assert "have no candidate site" in refused["reason"]


@pytest.fixture(scope="module", autouse=True)
def _acting_as_staff(client: TestClient) -> Iterator[None]:
    """Every test here acts as staff (the job endpoints refuse anonymous callers)."""
    from api.deps import get_actor
    from layers.accounts.roles import Actor, Role

    client.app.dependency_overrides[get_actor] = lambda: Actor("test_admin", Role.ADMIN)  # type: ignore[attr-defined]
    yield
    client.app.dependency_overrides.pop(get_actor, None)  # type: ignore[attr-defined]

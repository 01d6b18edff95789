"""``include_demo`` of the medical gaps and plans; ``host_types`` of plans (API and CLI)."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.cli import main
from layers.registry.shipped import DEFAULT_DATA_DIR
from tests.api.test_plans_api import _acting_as_staff, wait_done  # noqa: F401 - autouse fixture

RELAY = {"candidates": ["relay_station"], "n_new": 3, "max_minutes": 15, "time_limit_s": 30}


def _host_type_of() -> dict[str, str]:
    path = DEFAULT_DATA_DIR / "facilities" / "relay_station.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return {r["id"]: r["host_type"] for r in map(json.loads, handle)}


def _plan(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/plans", json=body)
    assert response.status_code == 202, response.text
    done = wait_done(client, response.json()["links"]["self"])
    assert done["status"] == "done", done.get("error")
    return done


def test_medical_gaps_leave_demo_health_points_out_by_default(client: TestClient) -> None:
    params = {"limit": 1, "geometry": "point"}
    default = client.get("/api/v1/gaps/medical", params=params).json()["summary"]
    supply = {s["layer"]: s for s in default["supply"]["layers"]}
    assert default["supply"]["include_demo"] is False
    assert supply["health_point"] == {"layer": "health_point", "counted": 0,
                                      "demo_left_out": 152}  # fmt: skip
    assert supply["hospital"]["counted"] > 0
    assert supply["hospital"]["demo_left_out"] == 0
    assert default["supply"]["demo_left_out"] == 152
    assert default["supply"]["layers_with_demo_left_out"] == ["health_point"]
    demo = client.get("/api/v1/gaps/medical", params={**params, "include_demo": "true"}).json()
    counted = {s["layer"]: s for s in demo["summary"]["supply"]["layers"]}
    assert counted["health_point"]["counted"] == 152
    assert demo["summary"]["supply"]["demo_left_out"] == 0
    assert demo["summary"]["flagged"] < default["flagged"]
    bad = client.get("/api/v1/gaps/medical", params={"include_demo": "perhaps"})
    assert bad.status_code == 422
    assert "include_demo" in bad.text


def test_host_types_list_counts_and_default_flags(client: TestClient) -> None:
    response = client.get("/api/v1/plans/host-types", params={"layer": "health_point"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["candidates"] == ["relay_station", "service_centre", "rest_room",
                                  "fitness_station"]  # fmt: skip
    rows = {r["id"]: r for r in body["host_types"]}
    assert rows["toilet"]["default_allowed"] is False
    assert rows["toilet"]["count"] == 197 + 109  # relay stations and rest rooms in toilets
    assert (rows["toilet"]["name_zh"], rows["toilet"]["name_en"]) == ("公共厕所", "Public toilet")
    assert rows["bank"]["default_allowed"] is True
    assert rows["bank"]["count"] == 384
    only = client.get("/api/v1/plans/host-types",
                      params={"layer": "rest_room", "candidates": "relay_station"}).json()
    assert {r["id"]: r["default_allowed"] for r in only["host_types"]}["toilet"] is True
    for params in ({"layer": "wells"}, {"candidates": "relay_station,wells"}):
        refused = client.get("/api/v1/plans/host-types", params=params)
        assert refused.status_code == 422, refused.text
        assert "unknown layer 'wells'" in refused.json()["message"]


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [({"host_types": ["loo"]}, "unknown host type(s) 'loo'; valid host types:"),
     ({"host_types": []}, "host_types is empty"),
     ({"candidates": ["service_centre"], "host_types": ["toilet"]},
      "of the allowed host types (left out: union_office 8)")],
)  # fmt: skip
def test_bad_host_types_are_422(client: TestClient, extra: dict[str, Any], pattern: str) -> None:
    response = client.post("/api/v1/plans", json={**RELAY, **extra})
    assert response.status_code == 422, response.text
    assert pattern in response.json()["message"]


def test_plans_skip_toilets_and_demo_points_unless_asked(client: TestClient) -> None:
    kinds = _host_type_of()
    default = _plan(client, RELAY)
    s = default["summary"]
    assert s["candidates_left_out_by_host_type"] == {"toilet": 197}
    assert s["n_candidates"] == 1328 - 197
    assert s["n_existing"] == 0
    assert s["existing_demo_left_out"] == 152
    assert default["request"]["host_types"] is None
    chosen = [f["properties"]["id"] for f in default["sites"]["features"]]
    assert len(chosen) == 3
    assert all(kinds[i] != "toilet" for i in chosen)
    toilets = _plan(client, {**RELAY, "host_types": ["toilet"], "include_demo": True})
    t = toilets["summary"]
    assert t["n_candidates"] == 197
    assert t["n_existing"] == 152
    assert t["existing_demo_left_out"] == 0
    assert t["workers_covered_before"] > s["workers_covered_before"] == 0
    assert all(kinds[f["properties"]["id"]] == "toilet" for f in toilets["sites"]["features"])
    assert toilets["request"]["host_types"] == ["toilet"]
    assert toilets["request"]["include_demo"] is True


def test_cli_include_demo_and_host_types(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gaps", "medical", "--shipped", "--json", "--include-demo"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["summary"]["supply"]["include_demo"] is True
    assert main(["gaps", "medical", "--shipped", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["summary"]["supply"]["demo_left_out"] == 152
    assert "demonstration records left out: health_point 152" in captured.err
    base = ["plan", "--model", "mclp", "--layer", "health_point", "--candidates",
            "relay_station", "--new", "2", "--shipped", "--time-limit", "30", "--json"]  # fmt: skip
    assert main([*base, "--host-types", "bank,toilet", "--include-demo"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["summary"]["n_candidates"] == 384 + 197
    assert printed["summary"]["n_existing"] == 152
    assert main([*base, "--host-types", "loo"]) == 2
    refused = json.loads(capsys.readouterr().out)
    assert refused["status"] == "invalid"
    assert "unknown host type(s) 'loo'" in refused["reason"]

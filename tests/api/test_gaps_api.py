"""``/api/v1/gaps/*`` and ``servicemap gaps``: valid GeoJSON, fields, thresholds, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import shapely.geometry
from fastapi.testclient import TestClient

from api.cli import main

COMMON = ("id", "name", "district", "workers", "flagged", "score", "rank", "reason",
          "reason_zh", "reason_en", "method")  # fmt: skip


def assert_feature_collection(body: dict[str, Any]) -> None:
    """Structural GeoJSON checks (RFC 7946) plus parseable, valid geometries."""
    assert body["type"] == "FeatureCollection"
    assert isinstance(body["features"], list)
    ids = set()
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["id"], str)
        ids.add(feature["id"])
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon", "Point")
        geometry = shapely.geometry.shape(feature["geometry"])
        assert not geometry.is_empty
        lon, lat = geometry.representative_point().coords[0]
        assert 120.8 < lon < 122.2
        assert 30.6 < lat < 31.9
        assert isinstance(feature["properties"], dict)
    assert len(ids) == len(body["features"])  # stable, unique ids


def _get(client: TestClient, path: str, **params: object) -> dict[str, Any]:
    response = client.get(f"/api/v1/gaps/{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_medical_defaults(client: TestClient) -> None:
    body = _get(client, "medical", limit=300)
    assert_feature_collection(body)
    assert body["summary"]["max_minutes"] == 15
    assert body["summary"]["min_workers"] == 1000
    features = body["features"]
    assert [f["properties"]["rank"] for f in features] == list(range(1, 301))
    first = features[0]["properties"]
    for key in (*COMMON, "minutes_to_medical", "nearest_medical"):
        assert key in first
    assert first["flagged"] is True
    assert first["minutes_to_medical"] > 15
    assert first["workers"] >= 1000
    assert set(first["nearest_medical"]) == {"id", "name", "layer"}
    assert first["reason"]["zh"] == first["reason_zh"]
    assert "分钟" in first["reason_zh"]
    assert "min" in first["reason_en"]


def test_medical_threshold_monotone_and_flagged_only(client: TestClient) -> None:
    strict = _get(client, "medical", max_minutes=10, flagged_only=True, geometry="point")
    loose = _get(client, "medical", max_minutes=30, flagged_only=True, geometry="point")
    assert_feature_collection(strict)
    assert all(f["properties"]["flagged"] for f in strict["features"])
    assert {f["id"] for f in loose["features"]} <= {f["id"] for f in strict["features"]}
    assert loose["summary"]["flagged"] < strict["summary"]["flagged"]


def test_ids_are_stable_between_calls(client: TestClient) -> None:
    a = _get(client, "lunch", limit=50, geometry="point")
    b = _get(client, "lunch", limit=50, geometry="point")
    assert [f["id"] for f in a["features"]] == [f["id"] for f in b["features"]]


def test_lunch_defaults(client: TestClient) -> None:
    body = _get(client, "lunch", limit=100)
    assert_feature_collection(body)
    summary = body["summary"]
    assert summary["walk_minutes"] == 10
    assert len(summary["worst"]) == 10
    assert summary["plan_target"] == {"places": 10, "workers": 20000,
                                      "met_by_worst": summary["worst_workers_total"] >= 20000}
    p = body["features"][0]["properties"]
    for key in (*COMMON, "outlets_reachable", "supply_per_1000_workers"):
        assert key in p
    assert p["flagged"] is True
    assert p["outlets_reachable"] == 0 or p["supply_per_1000_workers"] < 1.0


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        ("medical", {"max_minutes": -1}, "max_minutes"),
        ("medical", {"max_minutes": "abc"}, "max_minutes"),
        ("medical", {"max_minutes": 500}, "max_minutes"),
        ("medical", {"min_workers": -5}, "min_workers"),
        ("medical", {"geometry": "hexagon"}, "geometry"),
        ("lunch", {"walk_minutes": 0}, "walk_minutes"),
        ("lunch", {"walk_minutes": 45}, "walk_minutes"),
        ("lunch", {"walk_minutes": "nan"}, "walk_minutes"),
        ("lunch", {"min_supply_per_1000": -1}, "min_supply_per_1000"),
        ("lunch", {"limit": 0}, "limit"),
    ],
)
def test_bad_parameters_are_422(client: TestClient, path: str, params: dict[str, object],
                                fragment: str) -> None:
    response = client.get(f"/api/v1/gaps/{path}", params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_request"
    assert fragment in body["message"]


@pytest.mark.parametrize("analysis", ["medical", "lunch"])
def test_cli_geojson_and_csv(tmp_path: Path, analysis: str, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / f"{analysis}.geojson"
    assert main(["gaps", analysis, "--shipped", "--flagged-only", "--out", str(out)]) == 0
    body = json.loads(out.read_text(encoding="utf-8"))
    assert_feature_collection(body)
    assert body["features"]
    assert all(f["properties"]["flagged"] for f in body["features"])
    table = tmp_path / f"{analysis}.csv"
    assert main(["gaps", analysis, "--shipped", "--out", str(table), "--min-workers", "5000"]) == 0
    with table.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == body["summary"]["workplaces"]
    assert rows[0]["rank"] == "1"
    flagged = [r for r in rows if r["flagged"] == "True"]
    assert flagged
    assert all(int(r["workers"]) >= 5000 for r in flagged)
    assert "flagged" in capsys.readouterr().out


def test_cli_refuses_an_unknown_format(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["gaps", "lunch", "--shipped", "--out", str(tmp_path / "x.xlsx")]) == 2
    assert ".geojson, .csv, .html" in capsys.readouterr().err

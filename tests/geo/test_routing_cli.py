"""``servicemap route --problem``: the same checks and drive times as ``POST /api/v1/routes``."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from geo.crs import from_wgs84

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "samples" / "checkup_week.json"
OUTSIDE = (120.30, 30.25)  # Hangzhou


@pytest.fixture(scope="module", autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A registry of the shipped data in a temporary state directory (never the repo's)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SERVICEMAP_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        mp.delenv("SERVICEMAP_DATABASE_URL", raising=False)
        yield


def _small() -> dict[str, Any]:
    """Fifteen bookings of the sample week on two days, two vehicles."""
    week = json.loads(SAMPLE.read_text(encoding="utf-8"))
    request = copy.deepcopy(week)
    request["days"] = 2
    request["vehicles"] = [dict(v, days=[0, 1]) for v in week["vehicles"][:2]]
    request["bookings"] = []
    for b in week["bookings"][:15]:
        if isinstance(b.get("slots"), list) and b["slots"] and isinstance(b["slots"][0], list):
            b = {k: v for k, v in b.items() if k != "slots"}
        request["bookings"].append(b)
    return request


def _route(tmp_path: Path, request: dict[str, Any] | Path, out: str, *extra: str) -> int:
    path = request if isinstance(request, Path) else tmp_path / "request.json"
    if not isinstance(request, Path):
        path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    argv = ["route", "--problem", str(path), "--time-limit", "2", "--out", str(tmp_path / out)]
    return main([*argv, *extra])


def test_sample_week_is_planned_on_network_drive_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _route(tmp_path, SAMPLE, "week.json") == 0
    plan = json.loads((tmp_path / "week.json").read_text(encoding="utf-8"))
    summary = plan["summary"]
    assert summary["feasible"] is True
    assert summary["violations"] == []
    assert "network" in summary["travel_times"]
    assert summary["legs_network"] > 0
    assert summary["bookings"] == 60
    served = sum(s["workers"] for r in plan["routes"] for s in r["stops"])
    assert served + sum(u["workers"] for u in plan["unassigned"]) == summary["total_workers"]
    assert plan["geojson"]["type"] == "FeatureCollection"
    assert {leg["method"] for r in plan["routes"] for leg in r["legs"]} <= {"network", "estimated"}
    assert "vehicle-days" in capsys.readouterr().out


def test_csv_and_printable_schedule(tmp_path: Path) -> None:
    request = _small()
    assert _route(tmp_path, request, "week.csv") == 0
    rows = (tmp_path / "week.csv").read_text(encoding="utf-8").splitlines()
    assert "eta" in rows[0]
    assert len(rows) > 1
    assert _route(tmp_path, request, "week.html") == 0
    html = (tmp_path / "week.html").read_text(encoding="utf-8")
    assert "<script" not in html
    assert request["vehicles"][0]["id"] in html


def test_gcj02_positions_and_default_depots(tmp_path: Path) -> None:
    request = _small()
    wgs = {b["id"]: (b["lon"], b["lat"]) for b in request["bookings"]}
    for b in request["bookings"]:
        b["lon"], b["lat"] = from_wgs84(b["lon"], b["lat"], "gcj02")
    request["crs"] = "gcj02"
    request.pop("depots")  # vehicles start at their district's union service centre
    assert {v["depot"] for v in request["vehicles"]} <= {"徐汇区", "浦东新区"}
    assert _route(tmp_path, request, "week.json") == 0
    plan = json.loads((tmp_path / "week.json").read_text(encoding="utf-8"))
    stops = [s for r in plan["routes"] for s in r["stops"]]
    assert stops
    for s in stops:
        lon, lat = wgs[s["booking"]]
        assert s["lon"] == pytest.approx(lon, abs=1e-5)
        assert s["lat"] == pytest.approx(lat, abs=1e-5)
    assert all("职工服务中心" in r["depot_name"] for r in plan["routes"])


def test_bad_request_is_refused_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = _small()
    request["bookings"][4].update(lon=OUTSIDE[0], lat=OUTSIDE[1])
    request["bookings"][7]["time_window"] = ["10:00", "9.45"]
    bid = request["bookings"][4]["id"]
    assert _route(tmp_path, request, "week.json") == 1
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert bid in err
    assert "outside the service area" in err
    assert "'9.45' is not a time HH:MM" in err
    assert not (tmp_path / "week.json").exists()
    # --lenient plans the rest and lists the booking as unreachable
    request["bookings"][7].pop("time_window")
    assert _route(tmp_path, request, "week.json", "--lenient") == 0
    plan = json.loads((tmp_path / "week.json").read_text(encoding="utf-8"))
    assert {u["booking"]: u["reason"] for u in plan["unassigned"]}[bid] == "unreachable"


def test_wrong_output_suffix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _route(tmp_path, SAMPLE, "week.pdf") == 2
    assert "--out must end in .json, .csv or .html" in capsys.readouterr().err

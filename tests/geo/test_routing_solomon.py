"""Solomon reader and the ``route --solomon`` path (data: bench/data/solomon, see README)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from api.cli import route as route_cli
from api.cli._process import seconds_since_process_start
from geo.routing.errors import InstanceFormatError
from geo.routing.feasibility import check_vrptw
from geo.routing.solomon import read_solomon
from geo.routing.vrptw import RoutePlan

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "solomon"
FILES = sorted(DATA.glob("*.txt"))


def test_data_copied_with_readme() -> None:
    assert len(FILES) == 21
    assert "Solomon" in (DATA / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_reader_parses_every_file(path: Path) -> None:
    inst = read_solomon(path)
    assert inst.name == path.stem
    assert inst.n_customers == 100
    assert (inst.n_vehicles, inst.capacity) == (25, 200)
    assert inst.demand[0] == 0
    assert inst.service_time[0] == 0
    assert np.all(inst.ready_time <= inst.due_date)
    problem = inst.to_problem()
    problem.validate()
    assert problem.n_clients == 100
    assert problem.vehicle_types[0].tw_late == inst.due_date[0]


def test_reader_gehring_homberger_layout(tmp_path: Path) -> None:
    rows = ["    0      70         70          0          0       1351          0"]
    rows += [
        f"  {i:5d}  {10 + i:6d}  {20 + 2 * i:6d}  {10:6d}  {100 * i:6d}  {100 * i + 200:6d}  90"
        for i in range(1, 201)
    ]
    text = (
        "C1_2_1\n\nVEHICLE\nNUMBER     CAPACITY\n  50          200\n\nCUSTOMER\n"
        "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME\n \n"
        + "\n".join(rows)
        + "\n"
    )
    path = tmp_path / "C1_2_1.TXT"
    path.write_text(text)
    inst = read_solomon(path)
    assert (inst.name, inst.n_customers, inst.n_vehicles) == ("C1_2_1", 200, 50)
    assert inst.xy[200].tolist() == [210.0, 420.0]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("X\n\nCUSTOMER\nCUST NO.\n 0 1 2 0 0 10 0\n", "no VEHICLE"),
        ("X\nNUMBER CAPACITY\n 2 10\n", "no CUSTOMER"),
        ("X\nNUMBER CAPACITY\n 2 10\nCUST NO.\n 0 1 2 0 0 10 0\n 1 1 b 1 0 10 0\n", "numbers"),
        ("X\nNUMBER CAPACITY\n 2 10\nCUST NO.\n 0 1 2 0 0 10 0\n 1 1 2 1 0\n", "7 columns"),
    ],
)
def test_reader_rejects_malformed(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InstanceFormatError, match=match) as info:
        read_solomon(path)
    assert info.value.status_code == 422


def test_c101_reproduces_best_known_and_is_feasible() -> None:
    record = route_cli.solomon_result(DATA / "C101.txt", time_limit_s=3.0, seed=0, n_workers=1)
    bks = json.loads((DATA / "BKS.json").read_text())["C101_distance"]["best_known_cost"]
    assert bks == pytest.approx(828.94)
    assert record["distance"] <= bks * 1.005
    assert record["unassigned"] == []
    assert sorted(c for r in record["routes"] for c in r) == list(range(1, 101))
    problem = read_solomon(DATA / "C101.txt").to_problem()
    plans = [RoutePlan(0, tuple(c - 1 for c in r)) for r in record["routes"]]
    assert check_vrptw(problem, plans) == []
    assert record["seconds"] < 3.5


def test_cli_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    route_cli.register(parser.add_subparsers())
    args = parser.parse_args(
        ["route", "--solomon", str(DATA / "C105.txt"), "--time-limit", "2", "--json"]
    )
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"distance", "vehicles", "unassigned", "seconds"}
    assert out["unassigned"] == []
    assert out["distance"] < 828.94 * 1.02
    assert out["seconds"] <= 2.5


def test_cli_refuses_two_sources(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    route_cli.register(parser.add_subparsers())
    args = parser.parse_args(["route", "--time-limit", "1"])
    assert args.func(args) == 2
    assert "exactly one" in capsys.readouterr().err


def test_command_from_the_shell_keeps_its_wall_clock_limit() -> None:
    """The interpreter's start-up and imports count against ``--time-limit`` too."""
    script = Path(sys.executable).with_name("servicemap")
    started = time.perf_counter()
    completed = subprocess.run(
        [str(script), "route", "--solomon", str(DATA / "R101.txt"), "--time-limit", "3",
         "--json"],
        capture_output=True, text=True, check=True, cwd=DATA,
    )  # fmt: skip
    wall = time.perf_counter() - started
    out = json.loads(completed.stdout)
    assert out["unassigned"] == []
    assert wall <= 3.0 + 0.15  # the exit itself is not ours to time exactly
    assert out["seconds"] >= 0.9 * wall - 0.3  # the start-up is in the reported seconds


def test_seconds_since_process_start_counts_from_the_start() -> None:
    fresh = subprocess.run(
        [sys.executable, "-c",
         "from api.cli._process import seconds_since_process_start as s; print(s())"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert 0.0 < float(fresh.stdout) < 5.0
    assert seconds_since_process_start() > float(fresh.stdout)  # this test process is older

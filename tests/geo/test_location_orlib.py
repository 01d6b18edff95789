"""OR-Library reader and the known optima of pmed1–pmed5."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from geo.location import (
    InvalidProblemError,
    LocationProblem,
    Status,
    read_orlib_pmedian,
    solve_pmedian,
)

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "pmed"


def _optimum(name: str) -> int:
    with (DATA / "optimal.csv").open() as handle:
        return {row["instance"]: int(row["optimal"]) for row in csv.DictReader(handle)}[name]


def test_reader_keeps_last_duplicate_edge(tmp_path: Path) -> None:
    path = tmp_path / "tiny.txt"
    path.write_text("4 5 1\n1 2 10\n2 3 5\n3 4 5\n2 1 3\n1 4 50\n")
    inst = read_orlib_pmedian(path)
    assert inst.p == 1
    assert inst.cost[0, 1] == 3  # the later "2 1 3" replaces "1 2 10"
    assert inst.cost[0, 3] == 13  # 1-2-3-4 beats the direct edge of 50
    assert np.allclose(inst.cost, inst.cost.T)


def test_reader_refuses_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("3 2 1\n1 2 4\n2 9 1\n")
    with pytest.raises(InvalidProblemError, match=r"1\.\.3"):
        read_orlib_pmedian(path)
    path.write_text("4 1 1\n1 2 4\n")
    with pytest.raises(InvalidProblemError, match="not connected"):
        read_orlib_pmedian(path)
    path.write_text("3 3 1\n1 2 4\n")
    with pytest.raises(InvalidProblemError, match="announces 3 edges"):
        read_orlib_pmedian(path)


def test_pmed1_duplicate_edges_present() -> None:
    inst = read_orlib_pmedian(DATA / "pmed1.txt")
    assert inst.n_vertices == 100
    assert len(inst.edges) == 198  # 200 lines, two repeated edges


@pytest.mark.parametrize("name", ["pmed1", "pmed2", "pmed3", "pmed4", "pmed5"])
def test_pmed_reaches_known_optimum(name: str) -> None:
    inst = read_orlib_pmedian(DATA / f"{name}.txt")
    result = solve_pmedian(LocationProblem(inst.cost), inst.p)
    assert result.status is Status.OPTIMAL
    assert result.objective == _optimum(name)
    assert len(result.new_sites) == inst.p

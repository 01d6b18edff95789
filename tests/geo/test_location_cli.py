"""``servicemap plan`` on standard instances (OR-Library file, CSV matrices)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from api.cli import plan

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "pmed"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    parser = argparse.ArgumentParser()
    plan.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plan", *argv])
    code = args.func(args)
    return code, json.loads(capsys.readouterr().out)


def test_orlib_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(["--model", "pmedian", "--orlib", str(DATA / "pmed1.txt"), "--json"], capsys)
    assert code == 0
    assert out["status"] == "optimal"
    assert out["objective"] == 5819
    assert out["gap"] == 0.0
    assert len(out["sites"]) == 5
    assert min(out["sites"]) >= 1  # 1-based vertex ids, like the file
    assert out["seconds"] >= 0


def test_cost_matrix_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(7)
    cost = rng.integers(0, 50, size=(12, 6))
    np.savetxt(tmp_path / "cost.csv", cost, delimiter=",", fmt="%d")
    (tmp_path / "w.csv").write_text("workers\n" + "\n".join(["2"] * 12) + "\n")
    base = ["--cost-matrix", str(tmp_path / "cost.csv"), "--weights", str(tmp_path / "w.csv")]
    code, out = _run([*base, "--p", "2", "--json"], capsys)
    assert code == 0
    expected = min(2 * cost[:, [a, b]].min(axis=1).sum() for a in range(6) for b in range(a + 1, 6))
    assert out["objective"] == expected
    code, out = _run([*base, "--model", "mclp", "--p", "1", "--cutoff", "10", "--json"], capsys)
    assert code == 0
    assert out["objective"] == max(2 * (cost[:, j] <= 10).sum() for j in range(6))
    code, out = _run([*base, "--model", "lscp", "--cutoff", "49", "--json"], capsys)
    assert code == 0
    assert out["status"] == "optimal"


def test_infeasible_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.savetxt(tmp_path / "cost.csv", np.ones((3, 2)), delimiter=",")
    code, out = _run(["--cost-matrix", str(tmp_path / "cost.csv"), "--p", "3", "--json"], capsys)
    assert code == 2
    assert out["status"] == "infeasible"
    assert "3 new sites requested but only 2" in out["reason"]

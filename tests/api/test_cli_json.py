"""Every ``--json`` command prints exactly one JSON document on stdout, nothing else.

Each command runs in a fresh subprocess (the way a script would pipe it), so solver banners
printed by native code on file descriptor 1 — HiGHS prints one the first time a process
creates a solver — would land in stdout and fail the parse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICEMAP = Path(sys.executable).with_name("servicemap")
SOLOMON = REPO / "bench" / "data" / "solomon" / "C101.txt"
PMED = REPO / "bench" / "data" / "pmed" / "pmed1.txt"
CHECKUP = REPO / "data" / "samples" / "checkup_week.json"
OSM = REPO / "tests" / "data" / "peoples_square.osm"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    state = tmp_path_factory.mktemp("cli_state")
    return {**os.environ, "SERVICEMAP_STATE_DIR": str(state),
            "SERVICEMAP_DATABASE_URL": f"sqlite:///{state / 'cli.db'}"}


@pytest.fixture(scope="module")
def cost_matrix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(11)
    path = tmp_path_factory.mktemp("matrix") / "costs.csv"
    np.savetxt(path, rng.uniform(1, 100, size=(60, 25)), delimiter=",", fmt="%.3f")
    return path


def _run_json(env: dict[str, str], *args: str, ok_codes: tuple[int, ...] = (0,)) -> object:
    done = subprocess.run([str(SERVICEMAP), *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300)  # fmt: skip
    assert done.returncode in ok_codes, done.stderr[-2000:]
    assert "HiGHS" not in done.stdout
    return json.loads(done.stdout)  # the whole of stdout: one document


def test_layers_json(env: dict[str, str]) -> None:
    rows = _run_json(env, "layers", "--json")
    assert {row["id"] for row in rows} >= {"relay_station", "community_health"}


def test_plan_orlib_json(env: dict[str, str]) -> None:
    out = _run_json(env, "plan", "--model", "pmedian", "--orlib", str(PMED), "--json")
    assert out["status"] == "optimal"
    assert out["objective"] == 5819


@pytest.mark.parametrize("model", ["mclp", "lscp", "pcenter"])
def test_plan_cost_matrix_json_runs_the_mip(env: dict[str, str], cost_matrix: Path,
                                            model: str) -> None:
    extra = ["--cutoff", "30"] if model in ("mclp", "lscp") else []
    if model != "lscp":
        extra += ["--p", "4"]
    out = _run_json(env, "plan", "--model", model, "--cost-matrix", str(cost_matrix), *extra,
                    "--json")
    assert out["status"] in ("optimal", "infeasible")


def test_route_solomon_json(env: dict[str, str]) -> None:
    out = _run_json(env, "route", "--solomon", str(SOLOMON), "--time-limit", "2", "--json")
    assert out["unassigned"] == []
    assert out["feasible"] is True


def test_route_problem_json(env: dict[str, str], tmp_path: Path) -> None:
    out = _run_json(env, "route", "--problem", str(CHECKUP), "--time-limit", "3", "--json",
                    ok_codes=(0, 1))
    assert "summary" in out
    csv_out = tmp_path / "plan.csv"
    with_file = _run_json(env, "route", "--problem", str(CHECKUP), "--time-limit", "2",
                          "--json", "--out", str(csv_out), ok_codes=(0, 1))
    assert "summary" in with_file
    assert csv_out.read_text(encoding="utf-8").count("\n") > 1


def test_gaps_json(env: dict[str, str]) -> None:
    out = _run_json(env, "gaps", "medical", "--shipped", "--flagged-only", "--json")
    assert out["type"] == "FeatureCollection"
    assert out["summary"]["flagged"] == len(out["features"])


def test_network_build_and_calibrate_json(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "ps_walk"
    built = _run_json(env, "network", "build", "--osm", str(OSM), "--profile", "walk",
                      "--out", str(folder), "--json")
    assert built["nodes"] > 100
    assert built["calibration"]["n_pairs"] > 0
    calibrated = _run_json(env, "network", "calibrate", "--network", str(folder),
                           "--origins", "20", "--json")
    assert calibrated["n_pairs"] > 0


def test_registry_import_json_and_exit_codes(env: dict[str, str], tmp_path: Path) -> None:
    from tests.layers.importing.forms import XUHUI_CSV, health_point_form, to_xlsx

    report = _run_json(env, "registry", "import", str(XUHUI_CSV), "--layer", "community_health",
                       "--crs", "bd09", "--json")
    assert set(report) == {"layer", "rows", "created", "updated", "unchanged", "skipped",
                           "errors", "warnings", "committed"}
    assert report["committed"] is True
    assert report["created"] + report["updated"] == 13
    again = _run_json(env, "registry", "import", str(XUHUI_CSV), "--layer", "community_health",
                      "--crs", "bd09", "--json")
    assert again["unchanged"] == 13
    form = tmp_path / "hp.xlsx"
    form.write_bytes(to_xlsx(health_point_form()))
    refused = _run_json(env, "registry", "import", str(form), "--layer", "health_point",
                        "--json", ok_codes=(1,))
    assert refused["committed"] is False
    assert {e["row"] for e in refused["errors"]} == {6, 7}
    assert all(e["message_zh"] and e["message_en"] for e in refused["errors"])
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert _run_json(env, "registry", "import", str(junk), "--layer", "health_point", "--json",
                     ok_codes=(1,))["errors"]
    usage = subprocess.run([str(SERVICEMAP), "registry", "import", str(junk), "--layer", "nope"],
                           capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr
    exported = subprocess.run([str(SERVICEMAP), "registry", "export", "--layer",
                               "community_health", "--format", "geojson", "--out", "-"],
                              capture_output=True, env=env, cwd=REPO, timeout=120, check=True)
    collection = json.loads(exported.stdout)
    assert {f["properties"]["name"] for f in collection["features"]} >= {
        "徐汇区斜土街道社区卫生服务中心"}


def test_backup_and_restore_json_agree(env: dict[str, str], tmp_path: Path) -> None:
    _run_json(env, "layers", "--json")  # a seeded store
    archive = tmp_path / "backup.db"
    backed = _run_json(env, "backup", "--out", str(archive), "--json")
    assert backed["registry_records"]["rows"] > 1000
    restored = _run_json(env, "restore", str(archive), "--json")
    assert restored == backed

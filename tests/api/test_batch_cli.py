"""``servicemap batch``: exit codes, usage errors and a stdout that is pure JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from api.cli import main
from layers.batch.areas import load_areas
from layers.registry.shipped import DEFAULT_DATA_DIR


def _areas_file(path: Path, *, sea: bool = False) -> Path:
    huangpu = load_areas("districts", DEFAULT_DATA_DIR, ["huangpu"])[0].geometry
    features = [{"type": "Feature", "properties": {"name": "外滩", "id": "bund"},
                 "geometry": shapely.geometry.mapping(huangpu)}]  # fmt: skip
    if sea:
        features.append({"type": "Feature", "properties": {"name": "sea"},
                         "geometry": shapely.geometry.mapping(shapely.box(123, 30, 123.1, 30.1))})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def test_json_stdout_is_pure_json_and_rerun_says_skip(tmp_path: Path, capfd) -> None:
    areas = _areas_file(tmp_path / "areas.geojson")
    argv = ["batch", "plan", "--areas", str(areas), "--new", "1", "--out", str(tmp_path / "o"),
            "--json"]  # fmt: skip
    assert main(argv) == 0
    out, err = capfd.readouterr()
    assert json.loads(out) == {"areas": ["bund"], "done": 1, "skipped": 0, "failed": [],
                               "seconds": json.loads(out)["seconds"]}  # fmt: skip
    assert "1/1 bund done" in err
    assert (tmp_path / "o" / "bund.parquet").exists()
    assert main(argv) == 0
    out, err = capfd.readouterr()
    assert json.loads(out)["skipped"] == 1
    assert json.loads(out)["done"] == 0
    assert "skip bund: bund.parquet exists" in err


def test_failing_area_exits_one_with_a_message(tmp_path: Path, capfd) -> None:
    areas = _areas_file(tmp_path / "areas.geojson", sea=True)
    code = main(["batch", "gaps", "--areas", str(areas), "--analysis", "medical",
                 "--out", str(tmp_path / "o"), "--json"])  # fmt: skip
    out, err = capfd.readouterr()
    summary = json.loads(out)
    assert code == 1
    assert summary["done"] == 1
    assert summary["failed"] == [{"area": "sea", "error": "area sea (sea): no workplace inside it"}]
    assert "area sea failed: area sea (sea): no workplace inside it" in err


@pytest.mark.parametrize(("extra", "message"), [
    (["--areas", "missing.geojson"], "--areas: no such file"),
    (["--areas", "districts", "--scheduler", "tcp://nowhere"], "serial, local or tcp://HOST:PORT"),
    (["--areas", "districts", "--only", "atlantis"], "--only: unknown area(s) atlantis"),
    (["--areas", "districts", "--max-minutes", "500"], "--max-minutes must be above 0"),
])  # fmt: skip
def test_usage_errors_exit_two(tmp_path: Path, capfd, extra: list[str], message: str) -> None:
    assert main(["batch", "gaps", "--out", str(tmp_path / "o"), *extra]) == 2
    out, err = capfd.readouterr()
    assert out == ""
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not a readable GeoJSON file"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},'
     ' "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}}]}',
     "neither a 'name' nor an 'id'"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
     '{"name": "p"}, "geometry": {"type": "Point", "coordinates": [121, 31]}}]}',
     "must be a non-empty Polygon or MultiPolygon"),
])  # fmt: skip
def test_invalid_areas_file_is_a_usage_error(tmp_path: Path, capfd, text: str,
                                             message: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(text, encoding="utf-8")
    assert main(["batch", "plan", "--areas", str(path), "--out", str(tmp_path / "o")]) == 2
    assert message in capfd.readouterr().err


def test_bad_workers_is_an_argparse_error(tmp_path: Path, capfd) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", "gaps", "--areas", "districts", "--out", str(tmp_path), "--workers", "0"])
    assert exit_info.value.code == 2
    assert "must be at least 1" in capfd.readouterr().err

"""Batch runs: per-area rows equal the city-wide analysis; serial equals a LocalCluster."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely

from layers.batch.areas import AreaError, load_areas
from layers.batch.runner import SchedulerError, check_scheduler, run_batch
from layers.batch.tasks import AreaTask, _city
from layers.gaps.service import MEDICAL_LAYERS
from layers.registry.shipped import DEFAULT_DATA_DIR

GAPS = {"analysis": "both", "max_minutes": 15.0, "walk_minutes": 10.0, "min_supply": 1.0,
        "min_workers": 1000.0, "layers": None}  # fmt: skip
PLAN = {"layer": "health_point", "n_new": 1, "max_minutes": 15.0, "time_limit": 30.0,
        "candidates": ["relay_station", "service_centre", "rest_room", "fitness_station"]}  # fmt: skip


def _tasks(kind: str, options: dict, only: list[str]) -> list[AreaTask]:
    areas = load_areas("districts", DEFAULT_DATA_DIR, only)
    return [AreaTask(kind, a.id, a.name, shapely.to_wkb(a.geometry), str(DEFAULT_DATA_DIR),
                     options) for a in areas]  # fmt: skip


def test_districts_are_the_sixteen_with_file_safe_ids() -> None:
    areas = load_areas("districts", DEFAULT_DATA_DIR)
    assert len(areas) == 16
    ids = {a.id for a in areas}
    assert {"huangpu", "jingan", "pudong"} <= ids
    assert [a.id for a in load_areas("districts", DEFAULT_DATA_DIR, ["静安区", "huangpu"])] == [
        "huangpu", "jingan"]
    with pytest.raises(AreaError, match="unknown area"):
        load_areas("districts", DEFAULT_DATA_DIR, ["atlantis"])


def test_area_rows_equal_the_citywide_analysis(tmp_path: Path) -> None:
    summary = run_batch(_tasks("gaps", GAPS, ["huangpu"]), tmp_path)
    assert summary.done == ["huangpu"]
    assert not summary.failed
    table = pq.read_table(tmp_path / "huangpu.parquet")
    city = _city(str(DEFAULT_DATA_DIR), MEDICAL_LAYERS).service
    medical, lunch = city.medical_gaps(), city.lunch_gaps()
    index = {w: i for i, w in enumerate(city.workplaces.id.tolist())}
    ids = table.column("id").to_pylist()
    assert ids == sorted(ids)
    assert len(ids) > 100
    rows = np.array([index[w] for w in ids])
    assert np.array_equal(table.column("medical_minutes").to_numpy(), medical.gaps.minutes[rows])
    assert np.array_equal(table.column("medical_flagged").to_numpy(), medical.gaps.flagged[rows])
    # 2SFCA over the area plus its competing demand gives the city-wide supply exactly
    assert np.array_equal(table.column("lunch_supply_per_1000").to_numpy(),
                          lunch.gaps.supply_per_1000[rows])  # fmt: skip
    assert np.array_equal(table.column("workers").to_numpy(), np.asarray(city.workers)[rows])
    ranks = table.column("medical_rank").to_numpy()
    assert sorted(ranks.tolist()) == list(range(1, len(ids) + 1))  # ranked within the area
    frame = gpd.read_parquet(tmp_path / "huangpu.parquet")  # valid GeoParquet, CRS84
    assert frame.crs.to_string() == "OGC:CRS84"
    assert frame.geometry.geom_type.isin(
        ["Polygon", "MultiPolygon"]).all()
    meta = json.loads(table.schema.metadata[b"servicemap"])
    assert meta["area"] == {"id": "huangpu", "name": "黄浦区"}
    assert meta["kind"] == "gaps"


def test_serial_equals_local_cluster_of_two_processes(tmp_path: Path) -> None:
    tasks = _tasks("gaps", GAPS, ["huangpu", "jingan"])
    plans = [AreaTask("plan", t.area_id, t.area_name, t.geometry_wkb, t.data_dir, PLAN)
             for t in tasks]  # fmt: skip
    for kind, batch in (("gaps", tasks), ("plan", plans)):
        serial = run_batch(batch, tmp_path / kind / "serial")
        assert serial.done == ["huangpu", "jingan"], serial.failed
    local_tasks = tasks + [AreaTask("plan", f"plan-{t.area_id}", t.area_name, t.geometry_wkb,
                                    t.data_dir, PLAN) for t in tasks]  # fmt: skip
    local = run_batch(local_tasks, tmp_path / "local", scheduler="local", workers=2)
    assert sorted(local.done) == ["huangpu", "jingan", "plan-huangpu", "plan-jingan"]
    for area in ("huangpu", "jingan"):
        a = pq.read_table(tmp_path / "gaps" / "serial" / f"{area}.parquet")
        b = pq.read_table(tmp_path / "local" / f"{area}.parquet")
        assert a.num_rows > 0
        assert a.equals(b, check_metadata=True)
        p = pq.read_table(tmp_path / "plan" / "serial" / f"{area}.parquet")
        q = pq.read_table(tmp_path / "local" / f"plan-{area}.parquet")
        assert p.num_rows == 1
        assert p.drop(["area_id"]).equals(q.drop(["area_id"]))
        summary = json.loads(p.schema.metadata[b"servicemap"])["summary"]
        assert summary["status"] == "optimal"
        assert summary["workers_newly_covered"] > 0
        assert summary == json.loads(q.schema.metadata[b"servicemap"])["summary"]


def test_rerun_skips_written_areas(tmp_path: Path) -> None:
    tasks = _tasks("gaps", {**GAPS, "analysis": "medical"}, ["huangpu"])
    first = run_batch(tasks, tmp_path)
    stamp = (tmp_path / "huangpu.parquet").stat().st_mtime_ns
    second = run_batch(tasks, tmp_path)
    assert first.done == ["huangpu"]
    assert second.done == []
    assert second.skipped == ["huangpu"]
    assert (tmp_path / "huangpu.parquet").stat().st_mtime_ns == stamp
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


def test_failing_area_is_reported_and_the_others_go_on(tmp_path: Path) -> None:
    sea = shapely.box(123.0, 30.0, 123.1, 30.1)  # the East China Sea: no workplace
    tasks = [*_tasks("gaps", GAPS, ["huangpu"]),
             AreaTask("gaps", "sea", "sea", shapely.to_wkb(sea), str(DEFAULT_DATA_DIR), GAPS),
             AreaTask("plan", "many", "many", _tasks("plan", PLAN, ["huangpu"])[0].geometry_wkb,
                      str(DEFAULT_DATA_DIR), {**PLAN, "n_new": 100_000})]  # fmt: skip
    summary = run_batch(tasks, tmp_path)
    assert summary.done == ["huangpu"]
    errors = {f["area"]: f["error"] for f in summary.failed}
    assert "no workplace inside it" in errors["sea"]
    assert "many" in errors
    assert "100000" in errors["many"].replace(",", "")
    assert not (tmp_path / "sea.parquet").exists()


def test_scheduler_addresses_are_checked() -> None:
    assert check_scheduler("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    for bad in ("tcp://host", "http://h:8786", "tcp://h:99999", "cluster"):
        with pytest.raises(SchedulerError, match="serial, local or tcp://HOST:PORT"):
            check_scheduler(bad)

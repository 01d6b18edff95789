"""Adding or removing one facility: incremental answers equal a full rerun, within 1 s."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from geo.coverage.incremental import CatchmentRows, IncrementalNearest, IncrementalTwoStep, Row
from geo.coverage.reach import Reach, ReachModel
from tests.geo._coverage_fixtures import CAL, street_network

N_WP, N_FAC = 400, 60


def _rows(reach: Reach, n: int) -> list[Row]:
    bounds = np.searchsorted(reach.facility, np.arange(n + 1))
    return [Row(reach.workplace[a:b], reach.time_s[a:b], reach.method[a:b])
            for a, b in itertools.pairwise(bounds)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    net, lons = street_network(tmp_path_factory.mktemp("inc"), n_nodes=41)
    rng = np.random.default_rng(42)
    lat0 = 31.2
    wp_lon = rng.uniform(lons[0] - 0.01, lons[-1] + 0.01, N_WP)
    wp_lat = lat0 + rng.uniform(-0.02, 0.02, N_WP)
    fac_lon = rng.uniform(lons[0] - 0.01, lons[-1] + 0.01, N_FAC)
    fac_lat = lat0 + rng.uniform(-0.02, 0.02, N_FAC)
    model = ReachModel(wp_lon, wp_lat, None, [net], CAL)
    return model, fac_lon, fac_lat, rng.integers(0, 3000, N_WP)


def _nearest(model: ReachModel, ids: list[str], lon: np.ndarray, lat: np.ndarray,
             cutoff: float) -> IncrementalNearest:
    rows = CatchmentRows(model.n_workplaces)
    for fid, x, y, row in zip(ids, lon, lat, _rows(model.reach(lon, lat, cutoff), len(ids)),
                              strict=True):
        rows.add(fid, x, y, row)
    return IncrementalNearest(rows, model.wp_lon, model.wp_lat, CAL.crow_speed_mps)


def _same_nearest(a: IncrementalNearest, b: IncrementalNearest) -> None:
    ka, kb = a.rows.keys(), b.rows.keys()
    ida = np.where(a.slot >= 0, ka[np.maximum(a.slot, 0)], "")
    idb = np.where(b.slot >= 0, kb[np.maximum(b.slot, 0)], "")
    assert ida.tolist() == idb.tolist()
    np.testing.assert_array_equal(a.time_s, b.time_s)
    np.testing.assert_array_equal(a.method, b.method)


@pytest.mark.parametrize("cutoff", [600.0, 3600.0])
def test_nearest_add_and_remove_equal_full_rerun(setup, cutoff: float) -> None:
    model, lon, lat, _ = setup
    ids = [f"clinic:{k:03d}" for k in range(N_FAC)]
    state = _nearest(model, ids[:-1], lon[:-1], lat[:-1], cutoff)
    started = time.perf_counter()
    row = model.reach(lon[-1:], lat[-1:], cutoff)
    changed = state.add(ids[-1], lon[-1], lat[-1], Row(row.workplace, row.time_s, row.method))
    assert time.perf_counter() - started <= 1.0
    full = _nearest(model, ids, lon, lat, cutoff)
    _same_nearest(state, full)
    assert changed.size > 0
    # remove a facility that is the nearest of several workplaces
    victim = ids[int(np.bincount(full.slot[full.slot >= 0]).argmax())]
    started = time.perf_counter()
    state.remove(victim)
    assert time.perf_counter() - started <= 1.0
    keep = [k for k, fid in enumerate(ids) if fid != victim]
    _same_nearest(state, _nearest(model, [ids[k] for k in keep], lon[keep], lat[keep], cutoff))


def test_removing_every_facility_in_reach_falls_back_to_the_estimate(setup) -> None:
    model, lon, lat, _ = setup
    ids = [f"clinic:{k:03d}" for k in range(N_FAC)]
    state = _nearest(model, ids, lon, lat, 300.0)
    for fid in ids[:-1]:
        state.remove(fid)
    assert (state.slot == state.rows.slot_of[ids[-1]]).all()
    assert np.isfinite(state.time_s).all()


def _two_step(model: ReachModel, ids: list[str], lon: np.ndarray, lat: np.ndarray,
              weights: np.ndarray, workers: np.ndarray) -> IncrementalTwoStep:
    rows = CatchmentRows(model.n_workplaces)
    for k, row in enumerate(_rows(model.reach(lon, lat, 600.0), len(ids))):
        rows.add(ids[k], lon[k], lat[k], row, weights[k])
    return IncrementalTwoStep(rows, workers)


def test_two_step_add_and_remove_equal_full_rerun(setup) -> None:
    model, lon, lat, workers = setup
    ids = [f"food:{k:03d}" for k in range(N_FAC)]
    weights = np.linspace(0.5, 3.0, N_FAC)
    state = _two_step(model, ids[:-1], lon[:-1], lat[:-1], weights[:-1], workers)
    row = model.reach(lon[-1:], lat[-1:], 600.0)
    started = time.perf_counter()
    touched = state.add(ids[-1], lon[-1], lat[-1], Row(row.workplace, row.time_s, row.method),
                        weights[-1])
    assert time.perf_counter() - started <= 1.0
    assert touched.tolist() == row.workplace.tolist()
    full = _two_step(model, ids, lon, lat, weights, workers)
    np.testing.assert_allclose(state.accessibility, full.accessibility, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(state.count, full.count)
    state.remove(ids[3])
    keep = [k for k in range(N_FAC) if k != 3]
    again = _two_step(model, [ids[k] for k in keep], lon[keep], lat[keep], weights[keep], workers)
    np.testing.assert_allclose(state.accessibility, again.accessibility, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(state.count, again.count)

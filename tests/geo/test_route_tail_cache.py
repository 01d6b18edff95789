"""Route tails are cached per network: a cached answer is the one built from scratch."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import geo.network.geometry as geometry
from geo.nearest import PointIndex
from geo.network.csr import load_network
from geo.network.estimate import in_coverage
from geo.network.nearest import FacilityIndex, build_facility_index, nearest

NETWORKS = Path(__file__).resolve().parents[2] / "data" / "networks"


@pytest.fixture(scope="module")
def index() -> FacilityIndex:
    net = load_network(NETWORKS / "central_walk")
    rng = np.random.default_rng(5)
    lon = rng.uniform(121.44, 121.51, 120)
    lat = rng.uniform(31.20, 31.26, 120)
    return build_facility_index(net, lon, lat)


def _points(index: FacilityIndex, n: int, seed: int) -> np.ndarray:
    net = index.net
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, net.n_nodes, 3 * n)
    pts = np.column_stack([net.node_lon[pick] + rng.uniform(-8e-4, 8e-4, 3 * n),
                           net.node_lat[pick] + rng.uniform(-8e-4, 8e-4, 3 * n)])
    return pts[in_coverage(net, pts[:, 0], pts[:, 1])][:n]


def _routes(index: FacilityIndex, pts: np.ndarray, k: int) -> list:
    return [nearest(index, float(x), float(y), k=k, with_route=True).routes for x, y in pts]


def test_cached_tails_give_the_routes_built_from_scratch(
    index: FacilityIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    pts = _points(index, 150, seed=9)
    first = _routes(index, pts, 5)  # fills the cache
    again = _routes(index, pts, 5)  # every tail now comes from it
    monkeypatch.setattr(geometry, "_tail_cache", lambda net: geometry._TailCache(0))
    fresh = _routes(index, pts, 5)  # nothing cached: each tail built anew
    assert sum(len(r[0]) for r in fresh) >= 5 * len(pts) * 0.9
    assert first == fresh
    assert again == fresh
    for per_query in fresh:
        for line in per_query[0]:
            assert all(a != b for a, b in itertools.pairwise(line))  # no repeats


def test_the_cache_stays_within_its_point_budget(index: FacilityIndex) -> None:
    cache = geometry._TailCache(max_points=50)
    for i in range(40):
        cache.put((i,), np.zeros((7, 2)))
    assert cache._points <= 50
    assert cache.get((39,)) is not None
    assert cache.get((0,)) is None
    cache.put(("big",), np.zeros((51, 2)))  # larger than the whole budget: not kept
    assert cache.get(("big",)) is None


def test_point_index_answers_a_float_point_like_an_array_point() -> None:
    rng = np.random.default_rng(2)
    index = PointIndex(rng.uniform(121.2, 121.8, 400), rng.uniform(30.9, 31.4, 400))
    for x, y in rng.uniform([121.2, 30.9], [121.8, 31.4], (60, 2)):
        for k in (1, 4, 500):
            d_one, i_one = index.query(float(x), float(y), k)
            d_arr, i_arr = index.query(np.array([x]), np.array([y]), k)
            assert i_one.shape == i_arr.shape == (1, min(k, 400))
            np.testing.assert_array_equal(i_one, i_arr)
            np.testing.assert_allclose(d_one, d_arr, rtol=0, atol=1e-6)

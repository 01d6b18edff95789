"""k > 1 nearest from the top-k labels: identical to the bounded search from the point."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from geo.network.csr import Network, load_network
from geo.network.estimate import in_coverage
from geo.network.nearest import FacilityIndex, _nearest_one_k, build_facility_index, nearest
from geo.network.single import _snap_inside
from geo.network.snap import access_cost, snap
from geo.network.topk import build_top_labels, nearest_from_labels

REPO = Path(__file__).resolve().parents[2]
NETWORKS = REPO / "data" / "networks"


def _relay_stations(net: Network) -> tuple[np.ndarray, np.ndarray]:
    """The shipped relay stations inside the network's coverage, plus two duplicates."""
    with gzip.open(REPO / "data" / "facilities" / "relay_station.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh]
    lon = np.array([r["lon"] for r in rows], dtype=float)
    lat = np.array([r["lat"] for r in rows], dtype=float)
    inside = in_coverage(net, lon, lat)
    lon, lat = lon[inside], lat[inside]
    return np.r_[lon, lon[:2]], np.r_[lat, lat[:2]]  # same places, different indexes: ties


@pytest.fixture(scope="module", params=["central_walk", "citywide_drive"])
def index(request: pytest.FixtureRequest) -> FacilityIndex:
    net = load_network(NETWORKS / request.param)
    lon, lat = _relay_stations(net)
    return build_facility_index(net, lon, lat, prepare=False)


def _queries(index: FacilityIndex, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points near streets (within coverage), some exactly at facilities' snapped positions."""
    net = index.net
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, net.n_nodes, n)
    lon = net.node_lon[pick] + rng.uniform(-1e-3, 1e-3, n)
    lat = net.node_lat[pick] + rng.uniform(-1e-3, 1e-3, n)
    at = rng.choice(np.flatnonzero(index.fac_snap.ok), n // 20, replace=False)
    lon[: at.size], lat[: at.size] = index.fac_snap.lon[at], index.fac_snap.lat[at]
    inside = in_coverage(net, lon, lat)
    return lon[inside], lat[inside]


def _legacy(
    index: FacilityIndex, lon: float, lat: float, k: int, max_cost_s: float
) -> tuple[list[int], list[float], list[float], list[list[list[float]]]]:
    """The bounded search from the point (the answer before the labels existed)."""
    q = snap(index.net, np.array([lon]), np.array([lat]))
    return _nearest_one_k(index, q, 0, k, max_cost_s, True, (lon, lat))


def test_labels_are_the_k_nearest_by_exhaustive_search(index: FacilityIndex) -> None:
    labels = index.top_labels
    net = index.net
    rng = np.random.default_rng(1)
    nodes = rng.choice(net.n_nodes, 40, replace=False)
    from scipy.sparse.csgraph import dijkstra

    dist = dijkstra(net.graph("time"), indices=nodes)
    f = index.fac_snap
    fwd, bwd = net.geo_fwd[f.geo], net.geo_bwd[f.geo]
    via_tail = dist[:, net.edge_src[fwd]] + f.fraction * net.time_s[fwd]
    back = np.where(bwd >= 0, (1 - f.fraction) * net.time_s[np.maximum(bwd, 0)], np.inf)
    via_head = dist[:, net.indices[fwd]] + back
    # door to door: plus the walk from the facility's street to the facility
    cost = np.where(f.ok, np.minimum(via_tail, via_head) + access_cost(f), np.inf)
    k = labels.k
    for row, v in enumerate(nodes.tolist()):
        best = np.sort(cost[row])[:k]
        got = labels.cost_s[v * k : v * k + k]
        n = int(labels.count[v])
        np.testing.assert_allclose(got[:n], best[:n], rtol=1e-9)
        assert n == min(k, int(np.isfinite(cost[row]).sum()))


def test_k_nearest_identical_to_the_bounded_search(index: FacilityIndex) -> None:
    """1,000+ points: k in {2, 5, 10}, with and without ``max_cost_s``, routes included."""
    lon, lat = _queries(index, 1080, seed=7)
    assert lon.size >= 1000
    rng = np.random.default_rng(8)
    from_labels = 0
    for i, (a, b) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
        k = (2, 5, 10)[i % 3]
        max_cost_s = float(rng.uniform(120, 900)) if i % 2 else np.inf
        got = nearest(index, a, b, k=k, with_route=True,
                      max_cost_s=None if np.isinf(max_cost_s) else max_cost_s)  # fmt: skip
        facs, durs, dists, routes = _legacy(index, a, b, k, max_cost_s)
        n = len(facs)
        assert got.facility[0, :n].tolist() == facs, (i, a, b, k)
        assert (got.facility[0, n:] == -1).all()
        np.testing.assert_allclose(got.duration_s[0, :n], durs, rtol=1e-9)
        np.testing.assert_allclose(got.distance_m[0, :n], dists, rtol=1e-9)
        assert np.isnan(got.duration_s[0, n:]).all()
        assert got.routes is not None
        assert got.routes[0] == routes, (i, a, b, k)
        assert got.status[0] == ("network" if n else "unreachable")
        g, t, snap_d = _snap_inside(index.net, a, b) or (-1, 0.0, 0.0)
        from_labels += g >= 0 and nearest_from_labels(index, g, t, snap_d, k, max_cost_s,
                                                      False) is not None  # fmt: skip
    assert from_labels >= 1000


def test_batched_k_nearest_equals_single_calls(index: FacilityIndex) -> None:
    lon, lat = _queries(index, 200, seed=9)
    batch = nearest(index, lon, lat, k=5, with_route=True, max_cost_s=1200)
    assert batch.routes is not None
    for i, (a, b) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
        one = nearest(index, a, b, k=5, with_route=True, max_cost_s=1200)
        assert one.facility[0].tolist() == batch.facility[i].tolist()
        np.testing.assert_array_equal(one.duration_s[0], batch.duration_s[i])
        assert one.routes is not None
        assert one.routes[0] == batch.routes[i]


def test_more_than_the_labels_falls_back_to_the_search(index: FacilityIndex) -> None:
    lon, lat = _queries(index, 40, seed=10)
    for a, b in zip(lon.tolist(), lat.tolist(), strict=True):
        got = nearest(index, a, b, k=12, with_route=True)
        facs, durs, _, routes = _legacy(index, a, b, 12, np.inf)
        assert got.facility[0, : len(facs)].tolist() == facs
        np.testing.assert_allclose(got.duration_s[0, : len(facs)], durs, rtol=1e-9)
        assert got.routes is not None
        assert got.routes[0] == routes


def test_small_label_count_and_unreachable() -> None:
    net = load_network(NETWORKS / "central_walk")
    lon, lat = _relay_stations(net)
    fac = snap(net, lon[:3], lat[:3])
    labels = build_top_labels(net, fac, k=4)
    assert labels.count.max() <= 3  # only three facilities: lists are never full
    index = build_facility_index(net, lon[:3], lat[:3], prepare=False)
    got = nearest(index, 121.4860, 31.2390, k=5, with_route=True)
    facs, _, _, routes = _legacy(index, 121.4860, 31.2390, 5, np.inf)
    assert got.facility[0, : len(facs)].tolist() == facs
    assert got.routes is not None
    assert got.routes[0] == routes
    none = nearest(index, 121.4860, 31.2390, k=5, max_cost_s=1.0)
    assert none.status[0] == "unreachable"
    assert (none.facility == -1).all()

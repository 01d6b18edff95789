"""Single-point fast path, snap grid, point-to-point routes and cached isochrone clusters."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely

from geo.network import Route, route
from geo.network.convert import to_networkx
from geo.network.csr import Network, load_network
from geo.network.errors import SnapTooFarError
from geo.network.grid import nearest_segment_scalar, snap_grid
from geo.network.isochrones import _stretches, reached_parts, reached_segments
from geo.network.nearest import build_facility_index, nearest
from geo.network.polygons import street_area
from geo.network.search import search_from
from geo.network.snap import (
    access_cost,
    arrive_costs,
    leave_costs,
    nearest_segments,
    snap,
    snap_one,
)

NETWORKS = Path(__file__).resolve().parents[2] / "data" / "networks"
BUND = (121.4860, 31.2390)
LUJIAZUI = (121.5030, 31.2380)


@pytest.fixture(scope="module", params=["central_walk", "central_drive"])
def net(request: pytest.FixtureRequest) -> Network:
    return load_network(NETWORKS / request.param)


def _points(net: Network, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points near streets, exact node positions (snapping ties) and a few far ones."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, net.n_nodes, n)
    lon = net.node_lon[pick] + rng.uniform(-1e-3, 1e-3, n)
    lat = net.node_lat[pick] + rng.uniform(-1e-3, 1e-3, n)
    nodes = rng.choice(net.n_nodes, n // 5, replace=False)
    far_lon = rng.uniform(net.node_lon.min(), net.node_lon.max(), n // 10)
    far_lat = rng.uniform(net.node_lat.min(), net.node_lat.max(), n // 10)
    return (np.r_[lon, net.node_lon[nodes], far_lon], np.r_[lat, net.node_lat[nodes], far_lat])


def test_snap_grid_equals_batched_snapping(net: Network) -> None:
    lon, lat = _points(net, 2000, seed=11)
    px, py = net.project(lon, lat)
    ref = nearest_segments(net, px, py)
    grid = snap_grid(net)
    answered = 0
    for i, (x, y) in enumerate(zip(px.tolist(), py.tolist(), strict=True)):
        found = nearest_segment_scalar(grid, x, y)
        if found is not None:
            assert int(found[0][5]) == ref[i]
            answered += 1
    assert answered >= 0.95 * len(px)


def test_single_query_equals_batch(net: Network) -> None:
    rng = np.random.default_rng(3)
    fac = rng.choice(net.n_nodes, 120, replace=False)
    f_lon = net.node_lon[fac] + rng.normal(0, 3e-4, fac.size)
    f_lat = net.node_lat[fac] + rng.normal(0, 3e-4, fac.size)
    index = build_facility_index(net, f_lon, f_lat)
    lon, lat = _points(net, 1000, seed=4)
    # facilities' own positions: same-piece answers
    lon, lat = np.r_[lon, f_lon[:30] + 1e-5], np.r_[lat, f_lat[:30]]
    batch = nearest(index, lon, lat, with_route=True, max_snap_m=300)
    assert batch.routes is not None
    statuses = set()
    for i in range(lon.size):
        one = nearest(index, float(lon[i]), float(lat[i]), with_route=True, max_snap_m=300)
        assert one.status[0] == batch.status[i]
        assert one.facility[0, 0] == batch.facility[i, 0]
        np.testing.assert_allclose(one.duration_s[0, 0], batch.duration_s[i, 0], rtol=1e-6)
        np.testing.assert_allclose(one.distance_m[0, 0], batch.distance_m[i, 0], rtol=1e-6)
        np.testing.assert_allclose(one.snap_distance_m[0], batch.snap_distance_m[i], rtol=1e-9)
        assert one.routes is not None
        assert one.routes[0] == batch.routes[i]
        statuses.add(str(one.status[0]))
    assert "network" in statuses
    assert statuses <= {"network", "unreachable", "snap_too_far", "out_of_coverage"}


def _nx_route_time(graph: nx.DiGraph, net: Network, o, d) -> float:  # type: ignore[no-untyped-def]
    """networkx Dijkstra with virtual origin/destination nodes joined by partial edges.

    The virtual edges carry the access legs (``leave_costs``/``arrive_costs`` include them);
    the direct edge along a shared piece adds both.
    """
    g = graph
    lt, at = leave_costs(net, o, "time"), arrive_costs(net, d, "time")
    for node, cost in ((lt.node_head[0], lt.cost_head[0]), (lt.node_tail[0], lt.cost_tail[0])):
        if node >= 0:
            g.add_edge("o", int(node), weight=float(cost))
    for node, cost in ((at.node_tail[0], at.cost_tail[0]), (at.node_head[0], at.cost_head[0])):
        if node >= 0:
            g.add_edge(int(node), "d", weight=float(cost))
    if int(o.geo[0]) == int(d.geo[0]):
        geo = int(o.geo[0])
        dt = float(d.fraction[0] - o.fraction[0])
        fwd, bwd = int(net.geo_fwd[geo]), int(net.geo_bwd[geo])
        access = float(access_cost(o)[0] + access_cost(d)[0])
        if dt >= 0:
            g.add_edge("o", "d", weight=dt * float(net.time_s[fwd]) + access)
        elif bwd >= 0:
            g.add_edge("o", "d", weight=-dt * float(net.time_s[bwd]) + access)
    try:
        return float(nx.dijkstra_path_length(g, "o", "d", weight="weight"))
    except nx.NetworkXNoPath:
        return float("inf")
    finally:
        g.remove_nodes_from(["o", "d"])


def test_route_equals_networkx(net: Network) -> None:
    graph = to_networkx(net, "time")
    rng = np.random.default_rng(21)
    o_lon, o_lat = _points(net, 60, seed=22)
    d_lon = o_lon + rng.normal(0, 4e-3, o_lon.size)
    d_lat = o_lat + rng.normal(0, 4e-3, o_lat.size)
    # same piece, both directions
    geo = int(np.flatnonzero(net.geo_bwd < 0)[0] if net.profile == "drive" else 0)
    offsets, lonlat = net.polylines
    a, b = lonlat[offsets[geo]], lonlat[offsets[geo + 1] - 1]
    p, q = a + 0.3 * (b - a), a + 0.7 * (b - a)
    o_lon, o_lat = np.r_[o_lon, p[0], q[0]], np.r_[o_lat, p[1], q[1]]
    d_lon, d_lat = np.r_[d_lon, q[0], p[0]], np.r_[d_lat, q[1], p[1]]
    checked = {"network": 0, "unreachable": 0}
    for i in range(o_lon.size):
        o = snap(net, o_lon[i], o_lat[i], max_snap_m=1e9)
        d = snap(net, d_lon[i], d_lat[i], max_snap_m=1e9)
        ref = _nx_route_time(graph, net, o, d)
        res = route(net, o_lon[i], o_lat[i], d_lon[i], d_lat[i], max_snap_m=1e9)
        assert isinstance(res, Route)
        checked[res.status] += 1
        if np.isfinite(ref):
            assert res.status == "network"
            assert res.duration_s == pytest.approx(ref, rel=1e-6, abs=1e-9)
            x, y = net.project(np.array(res.coords)[:, 0], np.array(res.coords)[:, 1])
            drawn = float(np.hypot(np.diff(x), np.diff(y)).sum())
            assert drawn == pytest.approx(res.distance_m, rel=0.02, abs=1.0)
            # door to door: from the origin itself to the destination itself
            assert res.coords[0] == pytest.approx([o_lon[i], o_lat[i]], abs=2e-7)
            assert res.coords[-1] == pytest.approx([d_lon[i], d_lat[i]], abs=2e-7)
            assert res.network_m == pytest.approx(
                res.distance_m - o.snap_distance_m[0] - d.snap_distance_m[0], abs=1e-6)
        else:
            assert res.status == "unreachable"
            assert np.isnan(res.duration_s)
            assert res.coords == []
    assert checked["network"] >= 50


def test_route_across_the_river_and_too_far() -> None:
    walk = load_network(NETWORKS / "central_walk")
    res = route(walk, *BUND, *LUJIAZUI)
    assert res.status == "unreachable"
    assert np.isnan(res.distance_m)
    with pytest.raises(SnapTooFarError, match="limit is 50 m"):
        route(walk, 121.4935, 31.2330, *BUND, max_snap_m=50)


@pytest.mark.parametrize("seed", [1, 2])
def test_cluster_polygons_equal_plain_union(seed: int) -> None:
    walk = load_network(NETWORKS / "central_walk")
    rng = np.random.default_rng(seed)
    node = int(rng.integers(0, walk.n_nodes))
    start = snap_one(walk, walk.node_lon[node], walk.node_lat[node])
    dist = search_from(walk, start, 0, limit=600).dist
    kw = {"shrink_m": 25.0, "start_geo": int(start.geo[0]), "start_t": float(start.fraction[0])}
    whole, partial = reached_parts(walk, dist, 600, **kw)
    assert whole.size > 50
    fast = street_area(walk, whole, _stretches(partial), np.empty((0, 2)), 25.0)
    plain = shapely.union_all(shapely.buffer(_stretches(reached_segments(walk, dist, 600, **kw)),
                                             25.0, quad_segs=3))  # fmt: skip
    # equal up to how the buffer arcs are approximated where stretches join
    assert shapely.symmetric_difference(fast, plain).area < 1e-4 * plain.area

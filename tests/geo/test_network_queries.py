"""Queries on the shipped central networks: exact paths, snapping, access, isochrones."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import connected_components

from geo.network.convert import to_networkx
from geo.network.csr import FLAG_TUNNEL, HIGHWAY_CLASSES, Network, load_network
from geo.network.errors import InvalidQueryError, SnapTooFarError
from geo.network.estimate import network_calibration
from geo.network.isochrones import isochrones, reached_segments
from geo.network.matrix import node_matrix, travel_matrix
from geo.network.nearest import build_facility_index, nearest
from geo.network.search import search_from
from geo.network.snap import snap, snap_one

NETWORKS = Path(__file__).resolve().parents[2] / "data" / "networks"
BUND = (121.4860, 31.2390)  # the Bund (Zhongshan East 1st Road), Puxi bank
LUJIAZUI = (121.5030, 31.2380)  # Pudong bank, opposite


@pytest.fixture(scope="module")
def walk() -> Network:
    return load_network(NETWORKS / "central_walk")


@pytest.fixture(scope="module")
def drive() -> Network:
    return load_network(NETWORKS / "central_drive")


@pytest.mark.parametrize("name", ["central_walk", "central_drive"])
@pytest.mark.parametrize("weight", ["length", "time"])
def test_shortest_paths_equal_networkx(name: str, weight: str) -> None:
    net = load_network(NETWORKS / name)
    graph = to_networkx(net, weight)
    rng = np.random.default_rng(2024)
    # sample inside the largest strongly connected component (walk: the two river banks
    # are separate components, and pairs across are checked elsewhere)
    _, label = connected_components(net.graph(weight), directed=True, connection="strong")
    big = np.flatnonzero(label == np.bincount(label).argmax())
    src = rng.choice(big, 60, replace=False)
    dst = rng.choice(big, 10, replace=False)
    ours = node_matrix(net, src, dst, weight)
    compared = 0
    for i, s in enumerate(src.tolist()):
        ref = nx.single_source_dijkstra_path_length(graph, s, weight="weight")
        for j, t in enumerate(dst.tolist()):
            if t in ref:
                assert ours[i, j] == pytest.approx(ref[t], rel=1e-6)
                compared += 1
            else:
                assert np.isinf(ours[i, j])
    assert compared == 600


def test_snap_beside_middle_of_long_edge_costs_access_plus_half_the_edge(walk: Network) -> None:
    both = np.flatnonzero(walk.geo_bwd >= 0)
    geo_len = walk.segments["geo_len"][both]
    straight = np.diff(walk.geo_offsets)[both] == 0
    g = int(both[straight][np.argmax(geo_len[straight])])
    e = int(walk.geo_fwd[g])
    u, _v = int(walk.edge_src[e]), int(walk.indices[e])
    # a point 15 m beside the middle of the edge, and a facility at its tail
    xy = walk.segments["xy"][walk.segments["offsets"][g] : walk.segments["offsets"][g + 1]]
    mid = xy.mean(axis=0)
    normal = np.array([-(xy[-1] - xy[0])[1], (xy[-1] - xy[0])[0]])
    px, py = mid + 15.0 * normal / np.linalg.norm(normal)
    lon, lat = walk.unproject(np.array([px]), np.array([py]))
    snapped = snap(walk, lon, lat)
    assert int(snapped.geo[0]) == g
    assert snapped.fraction[0] == pytest.approx(0.5, abs=1e-6)
    assert snapped.snap_distance_m[0] == pytest.approx(15.0, abs=0.01)
    index = build_facility_index(walk, walk.node_lon[[u]], walk.node_lat[[u]])
    res = nearest(index, lon, lat, with_route=True)
    # door to door: the 15 m walk to the street (at 1.2 m/s), then half the edge; the
    # facility stands on the node, so its own access leg is 0
    half = 15.0 / 1.2 + 0.5 * float(walk.time_s[int(walk.geo_bwd[g])])
    assert res.status[0] == "network"
    assert res.duration_s[0, 0] == pytest.approx(half, rel=1e-6)
    assert res.distance_m[0, 0] == pytest.approx(15.0 + 0.5 * float(walk.length_m[e]), rel=1e-5)
    assert res.network_m[0, 0] == pytest.approx(0.5 * float(walk.length_m[e]), rel=1e-5)
    np.testing.assert_allclose(res.access_m[0, 0], [15.0, 0.0], atol=0.01)
    route = np.array(res.routes[0][0])
    # from the point to the street, then straight back along the edge, not via the far node
    assert route.shape[0] == 3
    assert route[0] == pytest.approx([lon[0], lat[0]], abs=1e-7)
    assert route[-1] == pytest.approx([walk.node_lon[u], walk.node_lat[u]], abs=1e-7)
    # the same answer from the travel-time matrix
    tm = travel_matrix(walk, lon, lat, walk.node_lon[[u]], walk.node_lat[[u]])
    assert tm.values[0, 0] == pytest.approx(half, rel=1e-6)


def test_nearest_k1_matches_brute_force_and_k3(walk: Network) -> None:
    rng = np.random.default_rng(5)
    fac = rng.choice(walk.n_nodes, 40, replace=False)
    f_lon = walk.node_lon[fac] + rng.normal(0, 2e-4, fac.size)
    f_lat = walk.node_lat[fac] + rng.normal(0, 2e-4, fac.size)
    index = build_facility_index(walk, f_lon, f_lat)
    q = rng.choice(walk.n_nodes, 60, replace=False)
    q_lon = walk.node_lon[q] + rng.normal(0, 2e-4, q.size)
    q_lat = walk.node_lat[q] + rng.normal(0, 2e-4, q.size)
    res = nearest(index, q_lon, q_lat)
    brute = travel_matrix(walk, q_lon, q_lat, f_lon, f_lat).values
    best = brute.min(axis=1)
    reach = np.isfinite(best)
    assert reach.sum() >= 40
    assert np.allclose(res.duration_s[reach, 0], best[reach], rtol=1e-9)
    assert (res.status[~reach] == "unreachable").all()
    assert np.isnan(res.duration_s[~reach, 0]).all()
    assert (res.facility[~reach, 0] == -1).all()
    res3 = nearest(index, q_lon, q_lat, k=3)
    top3 = np.sort(brute, axis=1)[:, :3]
    fin = np.isfinite(top3)
    assert np.allclose(res3.duration_s[fin], top3[fin], rtol=1e-9)


def test_walk_network_has_no_road_tunnel_or_motorway(walk: Network) -> None:
    classes = {HIGHWAY_CLASSES[c] for c in np.unique(walk.edge_class).tolist()}
    assert not classes & {"motorway", "motorway_link", "trunk", "trunk_link"}
    foot = [
        HIGHWAY_CLASSES.index(c) for c in ("footway", "path", "pedestrian", "steps", "corridor")
    ]
    tunnel = (walk.edge_flags & FLAG_TUNNEL) > 0
    assert not (tunnel & ~np.isin(walk.edge_class, foot)).any()


def test_across_the_huangpu_unreachable_on_foot_but_not_by_car(
    walk: Network, drive: Network
) -> None:
    on_foot = travel_matrix(walk, *BUND, *LUJIAZUI)
    assert on_foot.origin_snap.ok.all()
    assert on_foot.destination_snap.ok.all()
    assert np.isinf(on_foot.values[0, 0])
    by_car = travel_matrix(drive, *BUND, *LUJIAZUI)
    assert 0 < by_car.values[0, 0] < 1800
    index = build_facility_index(walk, np.array([LUJIAZUI[0]]), np.array([LUJIAZUI[1]]))
    res = nearest(index, *BUND)
    assert res.status[0] == "unreachable"
    assert res.facility[0, 0] == -1
    assert np.isnan(res.duration_s[0, 0])


def test_out_of_coverage_is_estimated_or_reported(walk: Network) -> None:
    far = (121.80, 31.05)  # Pudong airport area, far outside the central box
    index = build_facility_index(walk, walk.node_lon[:5], walk.node_lat[:5])
    plain = nearest(index, *far)
    assert plain.status[0] == "out_of_coverage"
    assert plain.facility[0, 0] == -1
    calib = network_calibration(walk)
    assert calib is not None
    assert 1.0 < calib.detour_median < calib.detour_p90 < 3.0
    est = nearest(index, *far, calibration=calib)
    assert est.status[0] == "estimated"
    assert est.facility[0, 0] >= 0
    assert est.routes is None
    assert np.isnan(est.snap_distance_m[0])
    assert est.distance_m[0, 0] > 25_000


def test_snap_too_far_is_a_422(walk: Network) -> None:
    # inside the coverage box but in the middle of the river, 200 m from any street
    with pytest.raises(SnapTooFarError, match="limit is 50 m") as info:
        snap_one(walk, 121.4935, 31.2330, max_snap_m=50)
    assert info.value.status_code == 422
    with pytest.raises(InvalidQueryError):
        isochrones(walk, *BUND, minutes=[-5])


@pytest.mark.parametrize("minutes", [5, 10, 15])
def test_isochrone_contains_reached_nodes_and_no_node_beyond(walk: Network, minutes: int) -> None:
    buffer_m = 25.0
    iso = isochrones(walk, 121.4737, 31.2304, [minutes], buffer_m=buffer_m)[0]
    start = snap_one(walk, 121.4737, 31.2304)
    dist = search_from(walk, start, 0).dist
    limit = minutes * 60.0
    inside = shapely.contains_xy(iso.polygon, walk.node_lon, walk.node_lat)
    reached = dist <= limit
    assert reached.sum() >= 10
    assert inside[reached].all()
    segs = reached_segments(walk, dist, limit, start_geo=int(start.geo[0]),
                            start_t=float(start.fraction[0]))  # fmt: skip
    lines = shapely.multilinestrings(shapely.linestrings(segs))
    x, y = walk.project(walk.node_lon, walk.node_lat)
    beyond = np.flatnonzero(~reached & inside)
    # a node reached only beyond the limit is inside only where a reached street passes
    # within the buffer width of it (the polygon is "streets reachable in time, buffered")
    gap = shapely.distance(shapely.points(x[beyond], y[beyond]), lines)
    assert (gap <= buffer_m + 0.5).all()
    assert beyond.size < 0.25 * reached.sum()
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([x[reached], y[reached]])))
    assert iso.area_m2 < 0.9 * shapely.buffer(hull, buffer_m).area  # not a convex hull

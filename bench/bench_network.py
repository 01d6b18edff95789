"""Benchmark of the network engine; prints markdown tables.

1. In-process nearest facility (k=1, walk, central network) against the naive peer --
   ``osmnx.distance.nearest_nodes`` + networkx single-source Dijkstra from the query's node,
   minimum over the facilities' nodes -- on the same graph and the same queries; and
   batched throughput.
   Single calls (one point per call, the HTTP handler's case) and batched calls are
   reported separately, with their ratios to the peer.
2. Point-to-point routes (``route``) against networkx bidirectional Dijkstra.
3. 15-minute walking isochrone time (p50/p90/max over random starts).
4. Network load time, and the central walk build time from the ``.osm`` files.
5. Scaling: facility-index build, k=1 query throughput and memory on generated planar
   graphs up to 1 million nodes.

Usage::

    .venv/bin/python bench/bench_network.py [--osm-dir ../shared/data/osm] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import resource
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geo.network.convert import to_networkx  # noqa: E402
from geo.network.csr import Network, load_network  # noqa: E402
from geo.network.estimate import in_coverage  # noqa: E402
from geo.network.isochrones import isochrones  # noqa: E402
from geo.network.nearest import build_facility_index, nearest  # noqa: E402
from geo.network.prepare import prepare_network  # noqa: E402
from geo.network.route import route  # noqa: E402
from geo.network.snap import snap  # noqa: E402

NETWORKS = REPO / "data" / "networks"


def _facilities(net: Network, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, str]:
    path = REPO / "data" / "facilities" / "relay_station.jsonl.gz"
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh]
        lon = np.array([r["lon"] for r in rows], float)
        lat = np.array([r["lat"] for r in rows], float)
        inside = in_coverage(net, lon, lat)
        return lon[inside], lat[inside], f"relay_station.jsonl.gz ({inside.sum()} in coverage)"
    pick = rng.choice(net.n_nodes, 1300, replace=False)
    return net.node_lon[pick], net.node_lat[pick], "1,300 network nodes (seed 0)"


def _queries(net: Network, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points near the streets: random nodes moved by up to ~100 m."""
    pick = rng.integers(0, net.n_nodes, n)
    return (net.node_lon[pick] + rng.uniform(-1e-3, 1e-3, n),
            net.node_lat[pick] + rng.uniform(-1e-3, 1e-3, n))  # fmt: skip


def _peer_graph(net: Network) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for i in range(net.n_nodes):
        graph.add_node(i, x=float(net.node_lon[i]), y=float(net.node_lat[i]))
    graph.add_weighted_edges_from(
        zip(net.edge_src.tolist(), net.indices.tolist(), net.time_s.astype(float).tolist(),
            strict=True), weight="travel_time")  # fmt: skip
    return graph


def _single_times(fn, args: list[tuple[float, float]]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Seconds per call of ``fn(lon, lat)`` for each point."""
    out = np.empty(len(args))
    for i, (lon, lat) in enumerate(args):
        t0 = time.perf_counter()
        fn(lon, lat)
        out[i] = time.perf_counter() - t0
    return out


def bench_nearest(quick: bool) -> list[str]:
    rng = np.random.default_rng(0)
    net = load_network(NETWORKS / "central_walk")
    f_lon, f_lat, f_label = _facilities(net, rng)
    t0 = time.perf_counter()
    prepare_network(net)
    t_prepare = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = build_facility_index(net, f_lon, f_lat)
    t_index = time.perf_counter() - t0
    n_peer = 20 if quick else 100
    q_lon, q_lat = _queries(net, n_peer, rng)
    graph = _peer_graph(net)
    fac_nodes = set(ox.distance.nearest_nodes(graph, f_lon, f_lat).tolist())
    t0 = time.perf_counter()
    peer_cost = []
    for lon, lat in zip(q_lon, q_lat, strict=True):
        node = ox.distance.nearest_nodes(graph, lon, lat)
        dist = nx.single_source_dijkstra_path_length(graph, node, weight="travel_time")
        peer_cost.append(min((dist[f] for f in fac_nodes if f in dist), default=np.inf))
    t_peer = (time.perf_counter() - t0) / n_peer
    ours = nearest(index, q_lon, q_lat)
    agree = np.isfinite(ours.duration_s[:, 0]) == np.isfinite(peer_cost)
    # single queries: plain floats, one call each (the HTTP handler's case)
    n_single = 2000 if quick else 10_000
    s_lon, s_lat = _queries(net, n_single, rng)
    args = list(zip(s_lon.tolist(), s_lat.tolist(), strict=True))
    _single_times(lambda a, b: nearest(index, a, b), args[:200])  # warm
    single = _single_times(lambda a, b: nearest(index, a, b), args)
    routed = _single_times(lambda a, b: nearest(index, a, b, with_route=True), args[:1000])
    # identity with the batched path on the same points
    batch = nearest(index, s_lon, s_lat)
    same = 0
    for i, (a, b) in enumerate(args[:1000]):
        one = nearest(index, a, b)
        same += int(one.facility[0, 0] == batch.facility[i, 0]
                    and np.allclose(one.duration_s[0, 0], batch.duration_s[i, 0], rtol=1e-6,
                                    equal_nan=True))  # fmt: skip
    n_batch = 50_000
    b_lon, b_lat = _queries(net, n_batch, rng)
    t_batch = min(_timed(lambda: nearest(index, b_lon, b_lat)) for _ in range(3)) / n_batch
    t_single = float(single.mean())
    t_route = float(routed.mean())

    def row(label: str, t: float, extra: str = "") -> str:
        return f"| {label} | {t * 1e6:,.1f} µs{extra} | {t_peer / t:,.0f}× |"

    return [
        f"Central walk network: {net.n_nodes:,} nodes, {net.n_edges:,} edges; facilities: "
        f"{f_label}; network prepared (snap indexes, isochrone clusters) in "
        f"{t_prepare:.1f} s; facility index built in {t_index * 1e3:.0f} ms.",
        "",
        "| nearest k=1, walk | per query | speed-up vs peer |",
        "|---|---:|---:|",
        f"| naive peer (osmnx nearest_nodes + networkx Dijkstra), {n_peer} queries | "
        f"{t_peer * 1e3:.1f} ms | 1× |",
        row(
            f"engine, one call per point ({n_single:,} points), mean",
            t_single,
            f" (p50 {np.median(single) * 1e6:.1f}, p99 {np.percentile(single, 99) * 1e6:.1f})",
        ),
        row(
            "engine, one call per point, with route (1,000 points), mean",
            t_route,
            f" (p99 {np.percentile(routed, 99) * 1e6:.0f})",
        ),
        row(f"engine, batched ({n_batch:,} per call)", t_batch),
        "",
        f"**Single-query ratio {t_peer / t_single:,.0f}×, batched ratio "
        f"{t_peer / t_batch:,.0f}×**; batched throughput {1 / t_batch:,.0f} queries/s, "
        f"single-call throughput {1 / t_single:,.0f} queries/s on one core. "
        f"Single calls equal the batched answer on {same / 10:.1f} % of 1,000 points "
        "(same facility, duration within 1e-6). Reachability agrees with the peer on "
        f"{agree.mean():.0%} of the peer queries (the peer snaps to nodes, the engine to "
        "edges, so costs differ by the partial edges).",
    ]


def bench_route(quick: bool) -> list[str]:
    net = load_network(NETWORKS / "central_walk")
    prepare_network(net, isochrone_buffer_m=None)
    rng = np.random.default_rng(7)
    n = 30 if quick else 200
    o_lon, o_lat = _queries(net, n, rng)
    d_lon = o_lon + rng.normal(0, 8e-3, n)  # about 1 km away
    d_lat = o_lat + rng.normal(0, 8e-3, n)
    graph = to_networkx(net, "time")
    times, peer, settled = [], [], []
    for a, b, c, d in zip(o_lon, o_lat, d_lon, d_lat, strict=True):
        t0 = time.perf_counter()
        res = route(net, a, b, c, d, max_snap_m=1e9)
        times.append(time.perf_counter() - t0)
        settled.append(res.n_settled)
        t0 = time.perf_counter()
        o_node = int(snap(net, a, b).geo[0])
        d_node = int(snap(net, c, d).geo[0])
        with contextlib.suppress(nx.NetworkXNoPath):
            nx.bidirectional_dijkstra(graph, int(net.edge_src[net.geo_fwd[o_node]]),
                                      int(net.edge_src[net.geo_fwd[d_node]]))  # fmt: skip
        peer.append(time.perf_counter() - t0)
    t = np.array(times) * 1e3
    return [
        f"| point-to-point route, walk ({n} pairs ~1 km apart) | mean | p50 | p90 | max |",
        "|---|---:|---:|---:|---:|",
        f"| engine `route()` (snap both, bounded Dijkstra, geometry) | {t.mean():.2f} ms | "
        f"{np.median(t):.2f} ms | {np.percentile(t, 90):.2f} ms | {t.max():.2f} ms |",
        f"| networkx bidirectional Dijkstra, node to node | {np.mean(peer) * 1e3:.2f} ms | "
        f"{np.median(peer) * 1e3:.2f} ms | {np.percentile(peer, 90) * 1e3:.2f} ms | "
        f"{np.max(peer) * 1e3:.2f} ms |",
        "",
        f"Nodes settled per route: median {np.median(settled):,.0f} of {net.n_nodes:,}.",
    ]


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_isochrones(quick: bool) -> list[str]:
    net = load_network(NETWORKS / "central_walk")
    t0 = time.perf_counter()
    prepare_network(net)
    t_prepare = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    n = 20 if quick else 50
    lon, lat = _queries(net, n, rng)
    isochrones(net, lon[0], lat[0], [15])
    times = np.array([_timed(lambda a=a, b=b: isochrones(net, a, b, [15]))
                      for a, b in zip(lon, lat, strict=True)]) * 1e3  # fmt: skip
    three = np.array([_timed(lambda a=a, b=b: isochrones(net, a, b, [5, 10, 15]))
                      for a, b in zip(lon[:10], lat[:10], strict=True)]) * 1e3  # fmt: skip

    def row(label: str, t: np.ndarray) -> str:
        return (f"| {label} | {np.median(t):.0f} ms | {np.percentile(t, 90):.0f} ms "
                f"| {t.max():.0f} ms |")  # fmt: skip

    return [
        f"| isochrone (central walk, {n} random starts) | p50 | p90 | max |",
        "|---|---:|---:|---:|",
        row("15 min", times),
        row("5, 10, 15 min (10 starts)", three),
        "",
        f"Cluster unions prepared once per network in {t_prepare:.1f} s (`prepare_network`).",
    ]


def bench_build(osm_dir: Path | None) -> list[str]:
    lines = ["| network | load | build from source |", "|---|---:|---:|"]
    build_s = None
    if osm_dir is not None and (osm_dir / "central_100km2.osm").exists():
        from geo.network.build import build_network

        t0 = time.perf_counter()
        build_network([osm_dir / "central_100km2.osm", osm_dir / "lujiazui.osm"], "walk")
        build_s = time.perf_counter() - t0
    for name in sorted(p.name for p in NETWORKS.iterdir() if p.is_dir()):
        t = min(_timed(lambda n=name: load_network(NETWORKS / n)) for _ in range(3))
        size = sum(f.stat().st_size for f in (NETWORKS / name).iterdir()) / 1e6
        built = f"{build_s:.1f} s" if (name == "central_walk" and build_s) else "see meta.json"
        lines.append(f"| {name} ({size:.1f} MB) | {t * 1e3:.0f} ms | {built} |")
    return lines


def planar_network(n_side: int, rng: np.random.Generator) -> Network:
    """A jittered ``n_side`` x ``n_side`` street grid (80 m blocks, 10 % of streets removed)."""
    n = n_side * n_side
    ii, jj = np.divmod(np.arange(n), n_side)
    x = jj * 80.0 + rng.uniform(-15, 15, n)
    y = ii * 80.0 + rng.uniform(-15, 15, n)
    right = np.flatnonzero(jj < n_side - 1)
    up = np.flatnonzero(ii < n_side - 1)
    a = np.r_[right, up]
    b = np.r_[right + 1, up + n_side]
    keep = rng.random(a.size) > 0.1
    a, b = a[keep], b[keep]
    src, dst = np.r_[a, b], np.r_[b, a]
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    lon0, lat0 = 121.0, 31.0
    lon = lon0 + x / (111_320 * np.cos(np.radians(lat0)))
    lat = lat0 + y / 110_574
    length = np.hypot(x[src] - x[dst], y[src] - y[dst])
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    m = src.size
    key = src.astype(np.int64) * n + dst
    rev = np.searchsorted(key, dst.astype(np.int64) * n + src)
    fwd = np.flatnonzero(src < dst)
    edge_geo = np.empty(m, dtype=np.int32)
    edge_geo[fwd] = np.arange(fwd.size)
    edge_geo[rev[fwd]] = np.arange(fwd.size)
    return Network(
        name=f"grid{n_side}", profile="walk", indptr=indptr, indices=dst.astype(np.int32),
        length_m=length.astype(np.float32), time_s=(length / 1.2).astype(np.float32),
        edge_class=np.full(m, 11, np.uint8), edge_flags=np.zeros(m, np.uint8),
        edge_geo=edge_geo, node_lonlat_e7=np.column_stack([np.rint(lon * 1e7), np.rint(lat * 1e7)]).astype(np.int32),
        node_osm_id=np.arange(n, dtype=np.int64), geo_fwd=fwd.astype(np.int32),
        geo_bwd=rev[fwd].astype(np.int32), geo_offsets=np.zeros(fwd.size + 1, np.int64),
        geo_coords_e7=np.empty((0, 2), np.int32),
    )  # fmt: skip


def bench_scaling(quick: bool) -> list[str]:
    sides = [100, 316] if quick else [100, 316, 1000]
    lines = [
        "| nodes | directed edges | arrays on disk | facilities | facility index build "
        "| single-point grid build | k=1 batched (20,000 queries) | k=1 single call "
        "| peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for side in sides:
        rng = np.random.default_rng(side)
        net = planar_network(side, rng)
        n_fac = max(net.n_nodes // 500, 10)
        pick = rng.choice(net.n_nodes, n_fac, replace=False)
        t0 = time.perf_counter()
        index = build_facility_index(net, net.node_lon[pick], net.node_lat[pick], prepare=False)
        t_index = time.perf_counter() - t0
        t0 = time.perf_counter()
        index.prepare()
        t_grid = time.perf_counter() - t0
        q_lon, q_lat = _queries(net, 20_000, rng)
        t_q = min(_timed(lambda i=index, a=q_lon, b=q_lat: nearest(i, a, b)) for _ in range(2))
        args = list(zip(q_lon[:2000].tolist(), q_lat[:2000].tolist(), strict=True))
        single = _single_times(lambda a, b, i=index: nearest(i, a, b), args)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        lines.append(
            f"| {net.n_nodes:,} | {net.n_edges:,} | {net.nbytes() / 1e6:.1f} MB | {n_fac:,} | "
            f"{t_index:.2f} s | {t_grid:.1f} s | {20_000 / t_q:,.0f} q/s | "
            f"{single.mean() * 1e6:.0f} µs | {rss_mb:,.0f} MB |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--osm-dir",
        type=Path,
        default=REPO.parent / "shared" / "data" / "osm",
        help="folder with central_100km2.osm and lujiazui.osm (build timing)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller peer sample, no 1M graph")
    args = parser.parse_args()
    load_before = os.getloadavg()
    sections = [
        ("Nearest facility", bench_nearest(args.quick)),
        ("Point-to-point routes", bench_route(args.quick)),
        ("Isochrones", bench_isochrones(args.quick)),
        ("Load and build", bench_build(args.osm_dir if args.osm_dir.exists() else None)),
        ("Scaling (generated planar grids)", bench_scaling(args.quick)),
    ]
    load_after = os.getloadavg()
    print(
        f"Machine: {os.cpu_count()} cores; load average (1/5/15 min) "
        f"{'/'.join(f'{x:.1f}' for x in load_before)} before, "
        f"{'/'.join(f'{x:.1f}' for x in load_after)} after the run.\n"
    )
    for title, lines in sections:
        print(f"### {title}\n")
        print("\n".join(lines))
        print()


if __name__ == "__main__":
    main()

"""Door-to-door walking distances of the shipped central walk network against an osmnx oracle.

The engine answers ``nearest`` (k=1, relay stations, one call per point: the HTTP handler's
path) on ``data/networks/central_walk``; the oracle (``tests/geo/_door_oracle.py``) builds
its own osmnx graph from the OSM files the network was built from, snaps every point to the
nearest street *edge* (``osmnx.distance.nearest_edges``), splits the edge at the projection
and runs networkx Dijkstra for access + street + access. Query points are seeded uniform
random points of the central box inside the network's coverage. Prints a markdown report:
the share of points within 60 m or 5 %, and the median and p90 of the difference, for the
door-to-door ``distance_m`` and, for comparison, for its street part ``network_m`` alone.

Usage::

    .venv/bin/python bench/bench_door_to_door.py --osm ../shared/data/osm/central_100km2.osm \\
        --osm ../shared/data/osm/lujiazui.osm [--points 200] [--seed 7]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geo.network.csr import load_network  # noqa: E402
from geo.network.estimate import in_coverage  # noqa: E402
from geo.network.nearest import build_facility_index, nearest  # noqa: E402
from tests.geo import _door_oracle as oracle  # noqa: E402

CENTRAL_BOX = (121.43, 31.19, 121.52, 31.27)  # west, south, east, north


def _relay_stations() -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(REPO / "data" / "facilities" / "relay_station.jsonl.gz", "rt",
                   encoding="utf-8") as fh:  # fmt: skip
        rows = [json.loads(line) for line in fh]
    rows = [r for r in rows if r.get("lon") is not None and r.get("lat") is not None]
    return np.array([r["lon"] for r in rows], float), np.array([r["lat"] for r in rows], float)


def _points(net, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    west, south, east, north = CENTRAL_BOX
    lon, lat = rng.uniform(west, east, 4 * n), rng.uniform(south, north, 4 * n)
    inside = in_coverage(net, lon, lat)
    return lon[inside][:n], lat[inside][:n]


def _row(label: str, stats: dict[str, float]) -> str:
    return (f"| {label} | {stats['agree_share']:.1%} | {stats['shortfall_median_m']:+.1f} m | "
            f"{stats['shortfall_p90_m']:+.1f} m | {stats['abs_diff_median_m']:.1f} m | "
            f"{stats['abs_diff_p90_m']:.1f} m |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", type=Path, action="append", required=True,
                        help="an OSM file the network was built from (repeat for several)")
    parser.add_argument("--network", type=Path, default=REPO / "data" / "networks" / "central_walk")
    parser.add_argument("--points", type=int, default=200, help="query points (default 200)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    missing = [str(p) for p in args.osm if not p.is_file()]
    if missing:
        parser.error(f"no such OSM file: {', '.join(missing)}")
    load_before = os.getloadavg()
    net = load_network(args.network)
    f_lon, f_lat = _relay_stations()
    keep = in_coverage(net, f_lon, f_lat)
    f_lon, f_lat = f_lon[keep], f_lat[keep]
    index = build_facility_index(net, f_lon, f_lat)
    q_lon, q_lat = _points(net, args.points, args.seed)
    t0 = time.perf_counter()
    graph = oracle.oracle_graph(args.osm)
    t_graph = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref_m, ref_fac, ref_access = oracle.door_to_door_nearest(graph, q_lon, q_lat, f_lon, f_lat)
    t_oracle = time.perf_counter() - t0
    ours = np.full(q_lon.size, np.nan)
    street = np.full(q_lon.size, np.nan)
    fac = np.full(q_lon.size, -1)
    for i, (a, b) in enumerate(zip(q_lon.tolist(), q_lat.tolist(), strict=True)):
        res = nearest(index, a, b)
        if res.status[0] == "network":
            ours[i], street[i], fac[i] = res.distance_m[0, 0], res.network_m[0, 0], res.facility[0, 0]
    both = np.isfinite(ours) & np.isfinite(ref_m)
    door = oracle.agreement(ours[both], ref_m[both])
    part = oracle.agreement(street[both], ref_m[both])
    load_after = os.getloadavg()
    print(f"Machine: {os.cpu_count()} cores; load average (1/5/15 min) "
          f"{'/'.join(f'{x:.1f}' for x in load_before)} before, "
          f"{'/'.join(f'{x:.1f}' for x in load_after)} after.\n")  # fmt: skip
    print(f"Network {net.name}: {net.n_nodes:,} nodes; oracle graph from "
          f"{', '.join(p.name for p in args.osm)}: {graph.number_of_nodes():,} nodes "
          f"(unsimplified, built in {t_graph:.1f} s, {t_oracle:.1f} s for the queries); "
          f"{f_lon.size} relay stations in coverage; {q_lon.size} seeded points (seed "
          f"{args.seed}) in the central box, {int(both.sum())} answered by both; the points' "
          f"own access legs: median {np.median(ref_access[both]):.0f} m, "
          f"{np.mean(ref_access[both] > 30):.0%} over 30 m.\n")  # fmt: skip
    print("| engine figure vs oracle door-to-door walk (k=1) | within 60 m or 5 % | "
          "shortfall median | shortfall p90 | abs. diff. median | abs. diff. p90 |")
    print("|---|---:|---:|---:|---:|---:|")
    print(_row("`distance_m` (door to door)", door))
    print(_row("`network_m` (street part only)", part))
    print(f"\nShortfall = oracle − engine. Same facility as the oracle for "
          f"{np.mean(fac[both] == ref_fac[both]):.1%} of the points.")  # fmt: skip


if __name__ == "__main__":
    main()

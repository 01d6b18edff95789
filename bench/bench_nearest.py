"""Straight-line nearest: in-process queries/s and HTTP throughput on loopback.

Peer in the same run: a vectorised brute-force haversine scan (numpy) over the same layer,
the way a tool without a spatial index answers. Prints a markdown report.

Usage: ``python bench/bench_nearest.py [--seconds 10] [--connections 16] [--workers 2]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    REPO,
    loopback_server,
    machine_line,
    python_load,
    run_wrk,
    wrk_script_for_paths,
)

from geo.crs import haversine_m
from layers.registry.service import Registry
from layers.store import open_store

LAYER = "relay_station"


def query_points(n: int, seed: int = 42, box: tuple[float, float, float, float] = (
        121.25, 30.95, 121.75, 31.40)) -> np.ndarray:
    """Seeded random points in ``box`` (west, south, east, north) inside the service area."""
    import shapely
    from shapely.geometry import shape

    from layers.registry import shipped

    area = shape(shipped.load_geojson(REPO / "data", "service_area")["features"][0]["geometry"])
    rng = np.random.default_rng(seed)
    west, south, east, north = box
    points = np.column_stack([rng.uniform(west, east, 3 * n), rng.uniform(south, north, 3 * n)])
    inside = shapely.contains_xy(area, points[:, 0], points[:, 1])
    return points[inside][:n]


def in_process(n_queries: int) -> dict[str, float]:
    """Queries/s of the registry's indexed nearest vs the brute-force scan."""
    state = Path(tempfile.mkdtemp(prefix="servicemap-bench-"))
    try:
        store = open_store(f"sqlite:///{state / 'bench.db'}")
        registry = Registry(store, REPO / "data")
        registry.seed_from_shipped()
        facilities = registry.located(LAYER)
        lon = np.array([f.lon for f in facilities])
        lat = np.array([f.lat for f in facilities])
        points = query_points(n_queries)
        registry.nearest(*points[0], LAYER, k=5)  # build the index outside the timing

        start = time.perf_counter()
        for qlon, qlat in points:
            registry.nearest(float(qlon), float(qlat), LAYER, k=5)
        ours = n_queries / (time.perf_counter() - start)

        index = registry._layer_index(LAYER).index
        start = time.perf_counter()
        index.query(points[:, 0], points[:, 1], 5)
        batched = n_queries / (time.perf_counter() - start)

        n_peer = min(n_queries, 2000)
        start = time.perf_counter()
        for qlon, qlat in points[:n_peer]:
            distance = haversine_m(qlon, qlat, lon, lat)
            np.argpartition(distance, 5)[:5]
        peer = n_peer / (time.perf_counter() - start)
        store.close()
        return {"facilities": len(facilities), "ours_qps": ours, "batched_qps": batched,
                "peer_qps": peer}
    finally:
        shutil.rmtree(state, ignore_errors=True)


CENTRAL_BOX = (121.43, 31.19, 121.52, 31.27)  # inside the central walk network's coverage


def http(seconds: int, connections: int, workers: int) -> dict[str, dict]:
    """Throughput and latency of ``/healthz`` and GET /api/v1/nearest, one server, one run."""
    walk_points = query_points(2000, seed=7, box=CENTRAL_BOX)
    any_points = query_points(2000, seed=7, box=(121.25, 30.95, 121.75, 31.40))
    runs = {
        "healthz": ["/healthz"],
        "walk": [f"/api/v1/nearest?lon={x:.6f}&lat={y:.6f}&layer={LAYER}&k=5&profile=walk"
                 for x, y in walk_points],
        "straight": [f"/api/v1/nearest?lon={x:.6f}&lat={y:.6f}&layer={LAYER}&k=5"
                     "&profile=straight" for x, y in any_points],
    }
    out: dict[str, dict] = {}
    with loopback_server(workers=workers) as base:
        for name, paths in runs.items():
            if shutil.which("wrk"):
                tool = "wrk"
                run_wrk(wrk_script_for_paths(paths), base, 3, connections)  # warm-up
                result = run_wrk(wrk_script_for_paths(paths), base, seconds, connections)
            else:
                tool = "httpx-asyncio"
                python_load(base, paths, 3, connections)
                result = python_load(base, paths, seconds, connections)
            result["tool"] = tool
            result["rps"] = result["requests"] / result["seconds"]
            out[name] = result
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    local = in_process(args.queries)
    print(f"### Straight-line nearest (k=5, layer {LAYER}, {local['facilities']} facilities)\n")
    print(f"Machine: {machine_line()}\n")
    print("| measure | servicemap | peer: brute-force haversine scan | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| in-process queries/s (one at a time, with filters) | {local['ours_qps']:,.0f} | "
          f"{local['peer_qps']:,.0f} | {local['ours_qps'] / local['peer_qps']:.1f}× |")
    print(f"| in-process queries/s (batched KD-tree) | {local['batched_qps']:,.0f} | "
          f"{local['peer_qps']:,.0f} | {local['batched_qps'] / local['peer_qps']:.1f}× |")
    print()
    print(f"### HTTP `GET /api/v1/nearest` (k=5, {LAYER}) on loopback\n")
    print(f"{args.workers} uvicorn workers, {args.connections} connections, {args.seconds} s per "
          "run. `walk`: points inside the central walk network (network answers with routes); "
          "`straight`: points anywhere in the central and suburban districts. The same server's "
          "`/healthz` is the framework's own ceiling; the issue's bar is walk ≥ 0.5× and "
          "straight ≥ 0.7× of it.\n")
    print("| request | load tool | requests/s | × `/healthz` | p50 ms | p90 ms | p99 ms | errors "
          "| non-2xx |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    remote = http(args.seconds, args.connections, args.workers)
    ceiling = remote["healthz"]["rps"]
    for name, row in remote.items():
        label = "`/healthz`" if name == "healthz" else f"nearest `{name}`"
        print(f"| {label} | {row['tool']} | {row['rps']:,.0f} | {row['rps'] / ceiling:.2f}× | "
              f"{row['p50_ms']:.1f} | {row['p90_ms']:.1f} | {row['p99_ms']:.1f} | "
              f"{row['errors']} | {row['non2xx']} |", flush=True)

if __name__ == "__main__":
    main()

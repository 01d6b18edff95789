"""Open-model load on GET /api/v1/nearest (walk, k=5, with routes): constant arrival rate.

Starts ``servicemap serve --workers N`` on a loopback port with the shipped data, then sends
requests at a fixed rate for a fixed time with ``bench/loadgen/open_model.mjs`` (Node's own
http client, nothing to install): request i is due at ``t0 + i / rate`` and its latency is
counted from that intended time, so a stall is charged to every request that should have
gone out during it. Every request asks for a different seeded random point inside the
central walk network, so no answer is served twice from a cache.

Usage::

    python bench/bench_load.py                      # 1,000 req/s for 60 s, 2 workers
    python bench/bench_load.py --rate 500 --duration 20 --check

The bar (issue: load, measured honestly): p99 <= 50 ms and 0 errors. ``--check`` exits 1
when it is not met.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import REPO, loopback_server, machine_line
from bench_nearest import CENTRAL_BOX, LAYER, query_points

LOADGEN = REPO / "bench" / "loadgen" / "open_model.mjs"
P99_BAR_MS = 50.0


def run_open_model(base: str, paths: list[str], rate: float, duration: float,
                   connections: int, warmup: float) -> dict:
    """Run the Node open-model client against ``base``; return its JSON summary."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("bench_load needs Node.js (`node`) on PATH")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(paths) + "\n")
    try:
        output = subprocess.run(
            [node, str(LOADGEN), "--base", base, "--paths", handle.name, "--rate", str(rate),
             "--duration", str(duration), "--connections", str(connections),
             "--warmup", str(warmup)],
            capture_output=True, text=True, check=True, timeout=duration + warmup + 120,
        ).stdout
    finally:
        os.unlink(handle.name)
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds sent first, not counted")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64, help="open connections at most")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--check", action="store_true", help="exit 1 when the bar is not met")
    args = parser.parse_args()

    n_points = int(args.rate * (args.duration + args.warmup)) + 1
    points = query_points(n_points, seed=args.seed, box=CENTRAL_BOX)
    paths = [f"/api/v1/nearest?lon={x:.6f}&lat={y:.6f}&layer={LAYER}&k=5&profile=walk"
             for x, y in points]
    load_before = os.getloadavg()
    with loopback_server(workers=args.workers) as base:
        result = run_open_model(base, paths, args.rate, args.duration, args.connections,
                                args.warmup)
    load_after = os.getloadavg()
    met = result["p99_ms"] is not None and result["p99_ms"] <= P99_BAR_MS and (
        result["errors"] == 0 and result["ok"] == result["requests"])

    print(f"### Open-model load: `GET /api/v1/nearest` walk, k=5, with routes ({LAYER})\n")
    print(f"Machine: {machine_line()}; load average (1/5/15 min) "
          f"{'/'.join(f'{v:.1f}' for v in load_before)} before, "
          f"{'/'.join(f'{v:.1f}' for v in load_after)} after.\n")
    print(f"{args.workers} worker processes; {result['tool']}; constant arrival rate "
          f"{args.rate:,.0f} req/s for {args.duration:g} s after {args.warmup:g} s of warm-up at "
          f"the same rate; at most {args.connections} connections; latency from each "
          f"request's intended send time; {len(paths):,} distinct seeded points (seed "
          f"{args.seed}) in the central walk network.\n")
    print("| requests | achieved req/s | 2xx | errors | other status | p50 ms | p90 ms | "
          "p99 ms | p99.9 ms | max ms | bar: p99 ≤ 50 ms, 0 errors |")
    print("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|")
    others = {code: n for code, n in result["status"].items() if not code.startswith("2")}
    print(f"| {result['requests']:,} | {result['achieved_rps']:,.0f} | {result['ok']:,} | "
          f"{result['errors']} | {json.dumps(others) if others else '—'} | "
          f"{result['p50_ms']:.1f} | {result['p90_ms']:.1f} | {result['p99_ms']:.1f} | "
          f"{result['p999_ms']:.1f} | {result['max_ms']:.1f} | {'met' if met else 'NOT met'} |")
    print(f"\nLate sends (timer more than 1 ms behind schedule, still timed from the "
          f"schedule): {result['late_sends']:,}.")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())

"""``servicemap network``: build street networks from OSM files and calibrate estimates.

Examples::

    servicemap network build --osm central_100km2.osm --osm lujiazui.osm \\
        --profile walk --out data/networks/central_walk
    servicemap network build --osm shanghai-latest.osm.pbf --profile drive --out var/city
    servicemap network calibrate --network data/networks/central_walk
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

logger = logging.getLogger(__name__)

_BUILD_STEPS = 7


def register(subparsers: Any) -> None:
    """Add the ``network`` command and its ``build`` / ``calibrate`` sub-commands."""
    parser = subparsers.add_parser("network", help="build and calibrate street networks")
    sub = parser.add_subparsers(dest="network_command", required=True, metavar="ACTION")

    build = sub.add_parser("build", help="build a walk or drive network from OSM files")
    build.add_argument("--osm", action="append", required=True, type=Path, metavar="FILE",
                       help=".osm or .osm.pbf file; repeat to merge several")
    build.add_argument("--profile", choices=("walk", "drive"), required=True)
    build.add_argument("--out", required=True, type=Path, metavar="DIR",
                       help="output folder (.npy arrays, meta.json, coverage.geojson)")
    build.add_argument("--name", help="network name (default: the output folder name)")
    build.add_argument("--major-roads", type=Path, metavar="GEOJSON",
                       help="drive only: join citywide major-road links at shared nodes")
    build.add_argument("--min-component-nodes", type=int, default=10,
                       help="walk: drop components smaller than this (default 10)")
    build.add_argument("--coverage-buffer-m", type=float, default=300.0,
                       help="coverage polygon = streets buffered by this (default 300 m)")
    build.add_argument("--no-calibrate", action="store_true",
                       help="skip the detour-factor calibration")
    build.add_argument("--json", action="store_true",
                       help="print the build summary as JSON (nothing else on stdout)")
    build.set_defaults(func=run)

    cal = sub.add_parser("calibrate", help="measure detour ratios of a built network")
    cal.add_argument("--network", required=True, type=Path, metavar="DIR")
    cal.add_argument("--seed", type=int, default=42)
    cal.add_argument("--origins", type=int, default=200, help="random origin nodes")
    cal.add_argument("--per-origin", type=int, default=10, help="destinations per origin")
    cal.add_argument("--json", action="store_true", help="print the calibration as JSON only")
    cal.set_defaults(func=run)


def _build(args: argparse.Namespace) -> int:
    from geo.network.build import build_network
    from geo.network.csr import save_network
    from geo.network.estimate import calibrate

    started = time.perf_counter()
    steps = _BUILD_STEPS + (0 if args.no_calibrate else 1) + (1 if args.major_roads else 0)
    with tqdm(total=steps, desc="network build", unit="step", file=sys.stderr) as bar:

        def progress(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        net, report = build_network(
            args.osm, args.profile, name=args.name or args.out.name,
            major_roads=args.major_roads, min_component_nodes=args.min_component_nodes,
            coverage_buffer_m=args.coverage_buffer_m, progress=progress,
        )  # fmt: skip
        if not args.no_calibrate:
            progress("calibrating")
            net.meta["calibration"] = calibrate(net).as_dict()
        net.meta["build_seconds"] = round(time.perf_counter() - started, 1)
        save_network(net, args.out)
        bar.update(steps - bar.n)
    size = sum(p.stat().st_size for p in args.out.iterdir())
    summary = {
        "name": net.name, "profile": args.profile, "out": str(args.out),
        "nodes": net.n_nodes, "edges": net.n_edges, "size_bytes": size,
        "build_seconds": net.meta["build_seconds"],
        "dropped": {"ways_by_access_rules": report.ways_dropped_by_rule,
                    "nodes": report.nodes_dropped, "edges": report.edges_dropped,
                    "components": report.components_dropped},
        "major_roads": dict(report.major_roads or {}),
        "calibration": net.meta.get("calibration"),
    }  # fmt: skip
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    print(f"{net.name}: {net.n_nodes:,} nodes, {net.n_edges:,} edges, "
          f"{size / 1e6:.1f} MB in {args.out} ({net.meta['build_seconds']} s)")  # fmt: skip
    print(f"dropped: {report.ways_dropped_by_rule:,} ways by access rules, "
          f"{report.nodes_dropped:,} nodes / {report.edges_dropped:,} edges in "
          f"{report.components_dropped:,} disconnected components")  # fmt: skip
    if report.major_roads:
        print("major roads: " + ", ".join(f"{k} {v:,}" for k, v in report.major_roads.items()))
    if "calibration" in net.meta:
        cal = net.meta["calibration"]
        print(f"detour median {cal['detour_median']}, p90 {cal['detour_p90']}, "
              f"crow-fly speed {cal['crow_speed_mps']} m/s over {cal['n_pairs']} pairs")  # fmt: skip
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from geo.network.csr import load_network
    from geo.network.estimate import calibrate

    net = load_network(args.network)
    cal = calibrate(net, n_origins=args.origins, per_origin=args.per_origin, seed=args.seed)
    meta_path = args.network / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["calibration"] = cal.as_dict()
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(cal.as_dict(), indent=None if args.json else 2))
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch ``network build`` / ``network calibrate``."""
    if args.network_command == "build":
        return _build(args)
    return _calibrate(args)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    _parser = argparse.ArgumentParser(prog="servicemap")
    register(_parser.add_subparsers(dest="command", required=True))
    sys.exit(run(_parser.parse_args()))

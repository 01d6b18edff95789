"""``servicemap route``: plan check-up vehicle routes, or solve a Solomon VRPTW instance.

Examples::

    servicemap route --solomon bench/data/solomon/C101.txt --time-limit 10 --json
    servicemap route --problem week.json --time-limit 30 --out plan.html

With ``--solomon`` it prints ``{"distance": …, "vehicles": …, "unassigned": […],
"seconds": …}``: the unrounded Euclidean length of the routes, the number of routes, the
customers left out and the wall-clock seconds. With ``--problem`` it writes the plan as
JSON, CSV (one row per stop and per unassigned booking) or a printable HTML schedule,
chosen by the ``--out`` suffix.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def solomon_result(
    path: str | Path, time_limit_s: float = 10.0, seed: int = 0, n_workers: int | None = None
) -> dict:
    """Solve one Solomon/Gehring–Homberger file and return the CLI's JSON record.

    The time limit covers reading, solving and checking. The returned routes are checked
    by the independent checker; violations are listed (empty when feasible).
    """
    from geo.routing.feasibility import check_vrptw
    from geo.routing.solomon import read_solomon
    from geo.routing.vrptw import Scaling, solve_vrptw

    start = time.perf_counter()
    instance = read_solomon(path)
    problem = instance.to_problem()
    solution = solve_vrptw(
        problem,
        time_limit_s=max(0.2, time_limit_s - (time.perf_counter() - start) - 0.05),
        seed=seed,
        n_workers=n_workers,
        scaling=Scaling(distance=10_000, duration=10_000),
    )
    violations = check_vrptw(problem, solution.routes)
    unassigned = sorted(int(c) + 1 for c in solution.unassigned)  # Solomon customer numbers
    return {
        "instance": instance.name,
        "distance": solution.distance,
        "vehicles": solution.n_vehicles,
        "unassigned": unassigned,
        "seconds": round(time.perf_counter() - start, 3),
        "feasible": solution.feasible and not violations,
        "violations": violations,
        "routes": [[int(c) + 1 for c in r.clients] for r in solution.routes],
        "iterations": solution.iterations,
        "seed": seed,
    }


def _run_problem(args: argparse.Namespace) -> int:
    from geo.routing.checkup import solve_checkup
    from geo.routing.checkup_io import plan_to_csv, plan_to_dict, plan_to_html, problem_from_dict
    from geo.routing.errors import RoutingError

    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in (".json", ".csv", ".html", ".htm"):
        print(f"error: --out must end in .json, .csv or .html, got {out.name}", file=sys.stderr)
        return 2
    try:
        data = json.loads(Path(args.problem).read_text(encoding="utf-8"))
        problem, extras = problem_from_dict(data)
        plan = solve_checkup(
            problem,
            extras["duration_s"],
            extras["distance_m"],
            time_limit_s=args.time_limit,
            seed=args.seed,
            n_workers=args.workers,
            leg_method=extras["method"],
        )
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot read {args.problem}: {exc}", file=sys.stderr)
        return 2
    except RoutingError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    start_date = extras["start_date"]
    if out is None or out.suffix.lower() == ".json":
        text = json.dumps(plan_to_dict(plan, start_date), ensure_ascii=False, indent=1)
    elif out.suffix.lower() == ".csv":
        text = plan_to_csv(plan, start_date)
    else:
        text = plan_to_html(plan, problem, start_date)
    if out is None:
        print(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(
            f"{out}: {len(plan.routes)} vehicle-days, {plan.served_workers}/"
            f"{plan.total_workers} workers, {len(plan.unassigned)} unassigned, "
            f"{plan.runtime_s:.1f} s"
        )
    return 0


def run(args: argparse.Namespace) -> int:
    """Entry point of the ``route`` subcommand; returns the exit status."""
    if bool(args.solomon) == bool(args.problem):
        print("error: give exactly one of --solomon FILE or --problem FILE.json", file=sys.stderr)
        return 2
    if args.time_limit <= 0:
        print(f"error: --time-limit must be > 0, got {args.time_limit}", file=sys.stderr)
        return 2
    if args.problem:
        return _run_problem(args)
    from geo.routing.errors import RoutingError

    try:
        record = solomon_result(args.solomon, args.time_limit, args.seed, args.workers)
    except OSError as exc:
        print(f"error: cannot read {args.solomon}: {exc}", file=sys.stderr)
        return 2
    except RoutingError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    if args.json:
        keys = ("distance", "vehicles", "unassigned", "seconds")
        print(json.dumps({k: record[k] for k in keys} | {"feasible": record["feasible"]}))
    else:
        print(
            f"{record['instance']}: distance {record['distance']:.2f}, "
            f"{record['vehicles']} vehicles, {len(record['unassigned'])} unassigned, "
            f"{record['seconds']:.1f} s"
        )
    return 0 if record["feasible"] else 1


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``route`` subcommand to ``subparsers``."""
    p = subparsers.add_parser(
        "route",
        help="plan check-up vehicle routes, or solve a Solomon VRPTW instance",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--solomon", metavar="FILE", help="Solomon / Gehring–Homberger instance")
    src.add_argument("--problem", metavar="FILE.json", help="check-up request (JSON)")
    p.add_argument(
        "--time-limit",
        type=float,
        default=10.0,
        metavar="S",
        help="wall-clock budget in seconds (default 10)",
    )
    p.add_argument("--seed", type=int, default=0, help="search seed (default 0)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="search processes (default: up to 2, the CPUs available)",
    )
    p.add_argument("--json", action="store_true", help="print the Solomon result as JSON")
    p.add_argument("--out", metavar="FILE", help="plan output: .json, .csv or .html")
    p.set_defaults(func=run)
    return p

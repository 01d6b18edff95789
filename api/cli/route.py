"""``servicemap route``: plan check-up vehicle routes, or solve a Solomon VRPTW instance.

Examples::

    servicemap route --solomon bench/data/solomon/C101.txt --time-limit 10 --json
    servicemap route --problem week.json --time-limit 30 --out plan.html

With ``--solomon`` it prints ``{"distance": …, "vehicles": …, "unassigned": […],
"seconds": …}``: the unrounded Euclidean length of the routes, the number of routes, the
customers left out and the wall-clock seconds. With ``--problem`` the request goes through
the same checks and drive times as ``POST /api/v1/routes`` (positions in WGS84, GCJ-02 or
BD-09 per the request's ``crs``; the district union service centres as default depots;
drive times along the network where it covers both ends, the calibrated estimate
elsewhere; every problem of a refused request listed) and the plan is written as JSON (as
the API returns it), CSV (one row per stop and per unassigned booking) or a printable HTML
schedule, chosen by the ``--out`` suffix. The registry and the networks are those of the
configured service (``SERVICEMAP_*`` settings).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


#: Seconds kept back from a command's budget for writing the answer and exiting.
EXIT_MARGIN_S = 0.1


def solomon_result(
    path: str | Path,
    time_limit_s: float = 10.0,
    seed: int = 0,
    n_workers: int | None = None,
    spent_s: float = 0.0,
) -> dict:
    """Solve one Solomon/Gehring–Homberger file and return the CLI's JSON record.

    The time limit covers reading, solving and checking, and ``spent_s`` seconds already
    used before the call (the command's start-up), which are included in ``seconds``. The
    returned routes are checked by the independent checker; violations are listed (empty
    when feasible).
    """
    from geo.routing.feasibility import check_vrptw
    from geo.routing.solomon import read_solomon
    from geo.routing.vrptw import Scaling, solve_vrptw

    start = time.perf_counter()
    instance = read_solomon(path)
    problem = instance.to_problem()
    solution = solve_vrptw(
        problem,
        time_limit_s=max(0.2, time_limit_s - spent_s - (time.perf_counter() - start) - 0.05),
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
        "seconds": round(spent_s + time.perf_counter() - start, 3),
        "feasible": solution.feasible and not violations,
        "violations": violations,
        "routes": [[int(c) + 1 for c in r.clients] for r in solution.routes],
        "iterations": solution.iterations,
        "seed": seed,
    }


#: Job options of ``POST /api/v1/routes`` that may sit in a request file; not part of it.
_JOB_KEYS = ("time_limit_s", "seed", "strict", "demo", "description")


def _checkup_service(n_workers: int | None) -> tuple[Any, Any]:
    """The check-up service over the configured registry and drive networks (as the API)."""
    from api.settings import Settings
    from layers.checkups.service import CheckupService
    from layers.networks import NetworkService
    from layers.registry.service import Registry
    from layers.store import open_store

    settings = Settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.resolved_database_url())
    registry = Registry(store, settings.data_dir)
    registry.seed_from_shipped()
    networks = NetworkService(registry, settings.data_dir / "networks", settings.max_snap_m)
    return CheckupService(registry, networks, n_workers=n_workers), store


def _run_problem(args: argparse.Namespace) -> int:
    """Plan a check-up request exactly as ``POST /api/v1/routes`` does, and write it."""
    from geo.routing.errors import RoutingError
    from layers.errors import LayersError

    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in (".json", ".csv", ".html", ".htm"):
        print(f"error: --out must end in .json, .csv or .html, got {out.name}", file=sys.stderr)
        return 2
    try:
        data = json.loads(Path(args.problem).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot read {args.problem}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(data, dict):
        print(f"error: {args.problem} must hold a JSON object (the request)", file=sys.stderr)
        return 2
    strict = bool(data.get("strict", True)) and not args.lenient
    request = {k: v for k, v in data.items() if k not in _JOB_KEYS and v is not None}
    service, store = _checkup_service(args.workers)
    try:
        prepared = service.check(request, strict=strict)
        result = service.solve(prepared, time_limit_s=args.time_limit, seed=args.seed)
    except (LayersError, RoutingError) as exc:  # a refused request (every problem listed)
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        store.close()
    record = result.to_dict()
    if out is None or out.suffix.lower() == ".json":
        text = json.dumps(record, ensure_ascii=False, indent=1)
    elif out.suffix.lower() == ".csv":
        text = result.plan_csv()
    else:
        text = result.schedule_html()
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    plan = result.plan
    if args.json and out is not None and out.suffix.lower() != ".json":
        print(json.dumps(record, ensure_ascii=False, indent=1))
    if out is None:
        print(text)
    else:
        out.write_text(text, encoding="utf-8")
        share = record["summary"].get("network_share")
        legs = "" if share is None else f", {100 * share:.0f} % of legs on the network"
        print(
            f"{out}: {len(plan.routes)} vehicle-days, {plan.served_workers}/"
            f"{plan.total_workers} workers, {len(plan.unassigned)} unassigned{legs}, "
            f"{result.seconds:.1f} s", file=sys.stderr if args.json else sys.stdout,
        )
        if args.json and out.suffix.lower() == ".json":
            print(text)
    return 0 if not result.violations else 1


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
        spent = getattr(args, "startup_s", 0.0) + EXIT_MARGIN_S
        record = solomon_result(args.solomon, args.time_limit, args.seed, args.workers, spent)
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
    p.add_argument("--json", action="store_true",
                   help="print the result as JSON on stdout and nothing else (summaries go to stderr)")
    p.add_argument("--out", metavar="FILE", help="plan output: .json, .csv or .html")
    p.add_argument(
        "--lenient",
        action="store_true",
        help="plan around bookings outside Shanghai and packages no vehicle can do, listing "
        "them as unreachable / skill (default: refuse the request, as the API with strict)",
    )
    p.set_defaults(func=run)
    return p

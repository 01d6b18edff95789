"""``servicemap plan``: exact site planning (p-median, MCLP, LSCP, p-center).

Standard instances::

    servicemap plan --model pmedian --orlib bench/data/pmed/pmed1.txt --json
    servicemap plan --model pmedian --cost-matrix cost.csv --weights workers.csv --p 5 --json
    servicemap plan --model mclp --cost-matrix cost.csv --weights workers.csv --p 5 --cutoff 900
    servicemap plan --model lscp --cost-matrix cost.csv --cutoff 900 --json

``--json`` prints ``{"objective", "sites", "status", "gap", "seconds", ...}``. Site ids follow
the input: 1-based vertex ids for ``--orlib`` (as in the file), 0-based column indices for
``--cost-matrix``. An infeasible request prints ``"status": "infeasible"`` with the reason
and exits with code 2.

The Shanghai data (facility registries, workplaces and their estimated workers, walking
times; see ``docs/planning.md``)::

    servicemap plan --model mclp --layer health_point \
        --candidates relay_station,service_centre,rest_room,fitness_station \
        --new 20 --max-minutes 15 --district-min 1 --budget 300000 \
        --curve 16,20,25,30 --out plan.html

``--out`` takes ``.json`` (summary, tables, curve and GeoJSON), ``.geojson`` (one
FeatureCollection, ``role`` = new / upgrade / existing / newly_covered) or ``.html`` (a
self-contained report that works offline).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from geo.location import (
    LocationError,
    LocationProblem,
    LocationResult,
    SolveOptions,
    read_orlib_pmedian,
    solve_lscp,
    solve_mclp,
    solve_pcenter,
    solve_pmedian,
)

logger = logging.getLogger(__name__)

MODELS = ("pmedian", "mclp", "lscp", "pcenter")


class PlanCommandError(Exception):
    """A user error of the command line; printed without a traceback."""

    status_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``plan`` sub-command to an ``argparse`` subparsers object."""
    parser = subparsers.add_parser(
        "plan",
        help="choose new sites exactly (p-median, MCLP, LSCP, p-center)",
        description=(
            "Choose new facility sites by an exact MIP (HiGHS) and report whether the "
            "answer is proven optimal. Site ids in the output: 1-based vertex ids for "
            "--orlib (as in the file), 0-based column indices for --cost-matrix."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model", choices=MODELS, default="pmedian", help="location model")
    source = parser.add_argument_group("standard instances")
    source.add_argument(
        "--orlib", type=Path, help="OR-Library p-median file (first line 'n edges p')"
    )
    source.add_argument(
        "--cost-matrix",
        type=Path,
        help="CSV matrix: one row per demand point, one column per site (header optional)",
    )
    source.add_argument(
        "--weights", type=Path, help="CSV with one demand weight per row (header optional)"
    )
    parser.add_argument(
        "--p",
        "--new",
        dest="n_new_sites",
        type=int,
        help="number of new sites (default for --orlib: the file's p)",
    )
    parser.add_argument(
        "--cutoff", type=float, help="coverage cutoff for mclp/lscp, in the matrix's unit"
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        help="coverage cutoff in minutes (cost matrix in seconds; --cutoff = 60 x this)",
    )
    parser.add_argument(
        "--fixed",
        help="comma-separated existing sites that stay open (same ids as the output)",
    )
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    shanghai = parser.add_argument_group("Shanghai data (facility registries)")
    shanghai.add_argument("--layer", help="facility layer to plan, e.g. health_point")
    shanghai.add_argument("--candidates", help="comma-separated host layers for new sites")
    shanghai.add_argument("--district-min", type=int, help="minimum new sites per district")
    shanghai.add_argument("--district-max", type=int, help="maximum new sites per district")
    shanghai.add_argument("--budget", type=float, help="budget in yuan for the new sites")
    shanghai.add_argument("--out", type=Path, help="output file (.geojson, .html, .json)")
    shanghai.add_argument(
        "--curve", help="numbers of new sites for the coverage curve, e.g. 16,20,25,30"
    )
    shanghai.add_argument(
        "--upgrade", type=int, default=0, metavar="N", help="also upgrade N existing points"
    )
    shanghai.add_argument(
        "--upgrade-district-min", type=int, default=0, help="minimum upgrades per district"
    )
    shanghai.add_argument(
        "--horizon-minutes",
        type=float,
        help="pmedian/pcenter: longest walk stored, the cost of anything farther "
        "(default max(30, 2 x --max-minutes))",
    )
    shanghai.add_argument(
        "--host-types",
        help="comma-separated host types that may receive a new site, e.g. "
        "bank,community_centre (default: all but public toilets and fuel stations for "
        "health points); see GET /api/v1/plans/host-types",
    )
    shanghai.add_argument(
        "--include-demo",
        action="store_true",
        help="count demonstration records of --layer as existing sites",
    )
    shanghai.add_argument(
        "--shipped",
        action="store_true",
        help="use the shipped facility files instead of the registry store",
    )
    shanghai.add_argument("--data-dir", type=Path, default=None, help="shipped data directory")
    parser.set_defaults(func=run)
    return parser


def _read_matrix(path: Path) -> np.ndarray:
    try:
        return np.atleast_2d(np.loadtxt(path, delimiter=",", dtype=np.float64))
    except ValueError:
        try:
            return np.atleast_2d(np.loadtxt(path, delimiter=",", dtype=np.float64, skiprows=1))
        except ValueError as exc:
            msg = f"{path}: not a numeric CSV matrix ({exc})"
            raise PlanCommandError(msg) from exc


def _parse_ids(text: str | None, base: int, n_sites: int) -> np.ndarray:
    if not text:
        return np.zeros(0, dtype=np.int64)
    try:
        ids = np.array([int(part) for part in text.split(",") if part.strip()]) - base
    except ValueError as exc:
        msg = f"--fixed must be comma-separated integers, got {text!r}"
        raise PlanCommandError(msg) from exc
    if ids.size and (ids.min() < 0 or ids.max() >= n_sites):
        msg = f"--fixed ids must lie in {base}..{n_sites - 1 + base}"
        raise PlanCommandError(msg)
    return ids


def _load(args: argparse.Namespace) -> tuple[LocationProblem, int | None, int]:
    """Problem, default number of new sites and the id base for output."""
    if args.orlib is not None:
        inst = read_orlib_pmedian(args.orlib)
        fixed = _parse_ids(args.fixed, 1, inst.n_vertices)
        return LocationProblem(inst.cost, fixed_sites=fixed), inst.p, 1
    if args.cost_matrix is None:
        msg = "give --orlib FILE or --cost-matrix FILE (or --layer, for the Shanghai data)"
        raise PlanCommandError(msg)
    cost = _read_matrix(args.cost_matrix)
    weight = None
    if args.weights is not None:
        weight = _read_matrix(args.weights).ravel()
        if weight.size != cost.shape[0]:
            msg = f"--weights has {weight.size} values for {cost.shape[0]} matrix rows"
            raise PlanCommandError(msg)
    fixed = _parse_ids(args.fixed, 0, cost.shape[1])
    return LocationProblem(cost, demand_weight=weight, fixed_sites=fixed), None, 0


def _cutoff(args: argparse.Namespace) -> float:
    if args.cutoff is not None:
        return float(args.cutoff)
    if args.max_minutes is not None:
        return 60.0 * float(args.max_minutes)
    msg = f"--model {args.model} needs --cutoff (or --max-minutes)"
    raise PlanCommandError(msg)


def solve_from_args(args: argparse.Namespace) -> tuple[LocationResult, int]:
    """Solve the instance described by the parsed arguments; return the result and id base."""
    if args.layer is not None:
        msg = "planning on the facility registries (--layer) is not available in this build"
        raise PlanCommandError(msg)
    problem, default_p, base = _load(args)
    options = SolveOptions(time_limit_s=args.time_limit)
    n_new = args.n_new_sites if args.n_new_sites is not None else default_p
    if args.model != "lscp" and n_new is None:
        msg = f"--model {args.model} needs --p N (number of new sites)"
        raise PlanCommandError(msg)
    if args.model == "pmedian":
        return solve_pmedian(problem, int(n_new), options=options), base
    if args.model == "mclp":
        return solve_mclp(problem, int(n_new), _cutoff(args), options=options), base
    if args.model == "lscp":
        return solve_lscp(problem, _cutoff(args), options=options), base
    return solve_pcenter(problem, int(n_new), options=options), base


def run(args: argparse.Namespace) -> int:
    """Run ``servicemap plan``; print the result; return the exit code."""
    if args.layer is not None:
        return run_registry(args)
    try:
        result, base = solve_from_args(args)
    except (LocationError, PlanCommandError) as error:
        status = getattr(error, "status", "error")
        if args.json:
            print(json.dumps({"status": status, "reason": error.message}, ensure_ascii=False))
        else:
            print(f"servicemap plan: {status}: {error.message}", file=sys.stderr)
        return 2
    summary = result.to_dict(index_base=base)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"model     {summary['model']}")
        print(f"status    {summary['status']}")
        print(f"objective {summary['objective']}")
        if summary["gap"]:
            print(f"bound     {summary['bound']} (gap {summary['gap']:.4%})")
        print(f"sites     {' '.join(str(s) for s in summary['sites'])}")
        print(f"seconds   {summary['seconds']}")
    return 0


# --------------------------------------------------------------- Shanghai registries
OUT_FORMATS = (".json", ".geojson", ".html")


def request_from_args(args: argparse.Namespace) -> Any:
    """The :class:`layers.plans.service.PlanRequest` described by the registry options."""
    from layers.plans.service import DEFAULT_CANDIDATE_LAYERS, PlanRequest, parse_int_list

    candidates = DEFAULT_CANDIDATE_LAYERS
    if args.candidates is not None:
        candidates = tuple(x.strip() for x in args.candidates.split(",") if x.strip())
    return PlanRequest(
        model=args.model,
        layer=args.layer,
        candidates=candidates,
        n_new=args.n_new_sites,
        max_minutes=15.0 if args.max_minutes is None else float(args.max_minutes),
        district_min=args.district_min or 0,
        district_max=args.district_max,
        budget_yuan=args.budget,
        curve=parse_int_list(args.curve),
        n_upgrade=args.upgrade,
        upgrade_district_min=args.upgrade_district_min,
        horizon_minutes=args.horizon_minutes,
        time_limit_s=args.time_limit,
        host_types=None if args.host_types is None
        else tuple(x.strip() for x in args.host_types.split(",") if x.strip()),
        include_demo=args.include_demo,
    )


def write_plan(result: Any, path: Path, data_dir: Path) -> None:
    """Write a plan as ``.json``, ``.geojson`` or a self-contained ``.html`` report."""
    from datetime import datetime

    from api.cli.plan_report import render_plan_report
    from layers.registry import shipped

    collections = {
        "sites": result.sites_collection(),
        "existing": result.existing_collection(),
        "workplaces": result.workplaces_collection(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".geojson":
        text = json.dumps(result.geojson(), ensure_ascii=False)
    elif suffix == ".json":
        text = json.dumps({**result.to_dict(), **collections}, ensure_ascii=False)
    else:
        districts = shipped.load_geojson(data_dir, "districts")
        stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        text = render_plan_report(result.to_dict(), collections, districts, stamp)
    path.write_text(text, encoding="utf-8")


def _print_plan(result: Any) -> None:
    s = result.summary
    gap = "" if s["gap"] in (None, 0.0) else f" (gap {s['gap']:.4%}, bound {s['bound']})"
    print(f"model     {s['model']}  status {s['status']}{gap}")
    print(f"objective {s['objective']}  [{s['objective_unit']}]")
    print(f"seconds   solve {s['seconds']:.2f}, total {s['total_seconds']:.2f}")
    print(
        f"workers   covered {s['workers_covered_before']:,} -> {s['workers_covered_after']:,} "
        f"of {s['workers_total']:,} within {s['max_minutes']:g} min; newly covered "
        f"{s['workers_newly_covered']:,} in {s['workplaces_newly_covered']:,} workplaces"
    )
    if s.get("reason"):
        print(f"reason    {s['reason']}")
    left = ", ".join(f"{k} {v}" for k, v in s["candidates_left_out_by_host_type"].items())
    print(f"hosts     {s['n_candidates']:,} candidates"
          + (f"; left out by host type: {left}" if left else ""))
    if s["existing_demo_left_out"]:
        print(f"existing  {s['n_existing']} (demonstration records left out: "
              f"{s['existing_demo_left_out']}; --include-demo counts them)")
    print(f"new sites {s['n_new']} (¥{s['spent_yuan']:,.0f})")
    for site in result.sites:
        print(
            f"  {site['district'] or '—'}  {site['name']}  [{site['layer']}]  "
            f"+{site['workers_newly_covered']:,} workers"
        )
    if result.upgrades:
        print(f"upgrades  {len(result.upgrades)}: " + ", ".join(u["name"] for u in result.upgrades))
    print("district  new  newly covered")
    for row in result.districts:
        print(f"  {row['district']}  {row['new_sites']}  {row['newly_covered']:,}")
    for point in result.curve:
        value = "—" if point["workers_covered"] is None else f"{point['workers_covered']:,}"
        print(f"curve     {point['n_new']:>3} new sites: {value} ({point['status']})")


def run_registry(args: argparse.Namespace) -> int:
    """``servicemap plan --layer …``: plan on the facility registries and the workplaces."""
    from api.cli.gaps import _service as gap_service_from_args
    from layers.plans.service import PlanRequestError, PlanService

    def refuse(status: str, reason: str) -> int:
        if args.json:
            print(json.dumps({"status": status, "reason": reason}, ensure_ascii=False))
        else:
            print(f"servicemap plan: {status}: {reason}", file=sys.stderr)
        return 2

    if args.out is not None and args.out.suffix.lower() not in OUT_FORMATS:
        return refuse(
            "error", f"--out must end in {', '.join(OUT_FORMATS)} (got {args.out.name!r})"
        )
    try:
        request = request_from_args(args)
    except PlanRequestError as error:
        return refuse("invalid", error.message)
    gaps, store = gap_service_from_args(args)
    try:
        service = PlanService.from_gap_service(gaps)

        def progress(message: str, fraction: float | None = None) -> None:
            logger.info("plan: %s", message)

        try:
            result = service.solve(request, progress_cb=progress)
        except PlanRequestError as error:
            status = "infeasible" if error.code == "infeasible_plan" else "invalid"
            return refuse(status, error.message)
        if args.out is not None:
            write_plan(result, args.out, gaps.data_dir)
    finally:
        if store is not None:
            store.close()
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        _print_plan(result)
        if args.out is not None:
            print(f"wrote {args.out}")
    return 2 if result.status == "infeasible" else 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="servicemap")
    register(_parser.add_subparsers(dest="command", required=True))
    _args = _parser.parse_args()
    sys.exit(_args.func(_args))

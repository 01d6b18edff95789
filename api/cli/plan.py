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

The Shanghai-data options (``--layer``, ``--candidates``, ``--district-min``, ``--budget``,
``--out``) are accepted here and wired to the facility registries separately.
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


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="servicemap")
    register(_parser.add_subparsers(dest="command", required=True))
    _args = _parser.parse_args()
    sys.exit(_args.func(_args))

"""``servicemap batch``: one independent gaps or plan analysis per area, on dask if wanted.

Examples::

    servicemap batch gaps --areas districts --out out/gaps
    servicemap batch gaps --areas districts --only huangpu,jingan --analysis medical --out out/m
    servicemap batch plan --areas zones.geojson --new 3 --out out/plan --scheduler local
    servicemap batch gaps --areas districts --out out/gaps --scheduler tcp://10.0.0.5:8786

Every area writes ``DIR/<area-id>.parquet`` (GeoParquet 1.0); a rerun skips the areas whose
file exists. ``--json`` prints only ``{"areas", "done", "skipped", "failed"}`` on stdout.
Exit status 0 when every area succeeded or was skipped, 1 when any failed, 2 for a usage
error. See ``docs/batch.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import shapely

DEFAULT_CANDIDATES = "relay_station,service_centre,rest_room,fitness_station"


class BatchCommandError(Exception):
    """A usage error of the command; printed without a trace (exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: Any) -> None:
    """Add ``batch gaps`` and ``batch plan``."""
    parser = subparsers.add_parser(
        "batch", help="one gaps or plan analysis per district/area (serial or dask)",
        description="Run one independent analysis per area -- the 16 districts or the "
        "polygons of a GeoJSON file -- serially or as dask.distributed tasks, writing one "
        "GeoParquet file per area.",
    )
    sub = parser.add_subparsers(dest="batch_kind", required=True, metavar="KIND")
    gaps = sub.add_parser("gaps", help="medical and/or lunch gaps of the workplaces per area")
    gaps.add_argument("--analysis", choices=("medical", "lunch", "both"), default="both",
                      help="which gap analysis (default both)")
    gaps.add_argument("--max-minutes", type=float, default=15.0,
                      help="medical: acceptable walk in minutes (default 15)")
    gaps.add_argument("--layers", default=None, metavar="L1,L2",
                      help="medical layers (default health_point,community_health,hospital,"
                      "clinic)")
    gaps.add_argument("--walk-minutes", type=float, default=10.0,
                      help="lunch: walk in minutes (default 10)")
    gaps.add_argument("--min-supply", type=float, default=1.0,
                      help="lunch: flag below this many outlet-equivalents per 1,000 workers")
    gaps.add_argument("--min-workers", type=float, default=1000,
                      help="smallest workforce that can be flagged (default 1000)")
    plan = sub.add_parser("plan", help="an MCLP site plan per area")
    plan.add_argument("--new", dest="n_new", type=int, default=2,
                      help="new sites per area (default 2)")
    plan.add_argument("--max-minutes", type=float, default=15.0,
                      help="coverage walk in minutes (default 15)")
    plan.add_argument("--layer", default="health_point", help="planned layer")
    plan.add_argument("--candidates", default=DEFAULT_CANDIDATES,
                      help="comma-separated host layers for new sites (inside the area)")
    plan.add_argument("--time-limit", type=float, default=60.0,
                      help="seconds per area solve (default 60)")
    for p in (gaps, plan):
        p.add_argument("--areas", required=True, metavar="districts|FILE",
                       help="'districts' (the 16 shipped districts) or a GeoJSON file of "
                       "polygons with a 'name' or 'id' property")
        p.add_argument("--only", default=None, metavar="ID,ID",
                       help="only these areas (ids or names, comma-separated)")
        p.add_argument("--out", type=Path, required=True, metavar="DIR",
                       help="output folder: one <area-id>.parquet per area")
        p.add_argument("--scheduler", default="serial", metavar="serial|local|tcp://HOST:PORT",
                       help="serial loop (default), a local dask cluster, or an existing "
                       "dask scheduler")
        p.add_argument("--workers", type=_positive_int, default=2,
                       help="worker processes of --scheduler local (default 2)")
        p.add_argument("--json", action="store_true",
                       help="print only the JSON summary on stdout")
        p.add_argument("--data-dir", type=Path, default=None,
                       help="shipped data directory (the same path on every worker)")
        p.set_defaults(func=run)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    from geo.coverage import medical as medical_mod
    from layers.gaps.service import MAX_WALK_MINUTES, MEDICAL_HORIZON_MINUTES
    from layers.plans.service import MAX_MINUTES_LIMIT
    from layers.registry.catalog import LAYERS

    def check_layers(names: list[str], option: str) -> None:
        for name in names:
            if name not in LAYERS:
                raise BatchCommandError(f"{option}: unknown layer {name!r}; valid layers: "
                                        f"{', '.join(LAYERS)}")  # fmt: skip

    if args.batch_kind == "gaps":
        if not 0 < args.max_minutes <= MEDICAL_HORIZON_MINUTES:
            raise BatchCommandError(f"--max-minutes must be above 0 and at most "
                                    f"{MEDICAL_HORIZON_MINUTES:g}")  # fmt: skip
        if not 0 < args.walk_minutes <= MAX_WALK_MINUTES:
            raise BatchCommandError(f"--walk-minutes must be above 0 and at most "
                                    f"{MAX_WALK_MINUTES:g}")  # fmt: skip
        try:
            medical_mod.check_thresholds(args.max_minutes, args.min_workers)
        except Exception as error:
            raise BatchCommandError(getattr(error, "message", str(error))) from None
        if not args.min_supply >= 0:
            raise BatchCommandError("--min-supply must be 0 or more")
        layers = None
        if args.layers:
            layers = [x.strip() for x in args.layers.split(",") if x.strip()]
            check_layers(layers, "--layers")
        return {"analysis": args.analysis, "max_minutes": float(args.max_minutes),
                "walk_minutes": float(args.walk_minutes), "min_supply": float(args.min_supply),
                "min_workers": float(args.min_workers), "layers": layers}  # fmt: skip
    candidates = [x.strip() for x in args.candidates.split(",") if x.strip()]
    check_layers([args.layer, *candidates], "--layer/--candidates")
    if not candidates or args.layer in candidates:
        raise BatchCommandError("--candidates must name host layers other than --layer")
    if args.n_new < 1:
        raise BatchCommandError(f"--new must be at least 1, got {args.n_new}")
    if not 0 < args.max_minutes <= MAX_MINUTES_LIMIT:
        raise BatchCommandError(f"--max-minutes must be above 0 and at most {MAX_MINUTES_LIMIT:g}")
    if not args.time_limit > 0:
        raise BatchCommandError("--time-limit must be positive")
    return {"layer": args.layer, "candidates": candidates, "n_new": int(args.n_new),
            "max_minutes": float(args.max_minutes), "time_limit": float(args.time_limit)}  # fmt: skip


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send file descriptor 1 (solver banners, worker processes started meanwhile) to 2."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def run(args: argparse.Namespace) -> int:
    """Build one task per area, run them and print the summary."""
    from layers.batch.areas import AreaError, load_areas
    from layers.batch.runner import SchedulerError, check_scheduler, run_batch
    from layers.batch.tasks import AreaTask
    from layers.registry.shipped import DEFAULT_DATA_DIR, ShippedDataError

    if not getattr(args, "verbose", False):
        logging.getLogger("distributed").setLevel(logging.WARNING)
    try:
        scheduler = check_scheduler(args.scheduler)
    except SchedulerError as error:
        raise BatchCommandError(error.message) from None
    options = _options(args)
    data_dir = (args.data_dir or DEFAULT_DATA_DIR).resolve()
    only = args.only.split(",") if args.only else None
    try:
        areas = load_areas(args.areas, data_dir, only)
    except (AreaError, ShippedDataError) as error:
        raise BatchCommandError(error.message) from None
    if args.out.exists() and not args.out.is_dir():
        raise BatchCommandError(f"--out {args.out} exists and is not a folder")
    tasks = [AreaTask(args.batch_kind, a.id, a.name, shapely.to_wkb(a.geometry), str(data_dir),
                      options) for a in areas]  # fmt: skip
    print(f"batch {args.batch_kind}: {len(tasks)} area(s) -> {args.out} ({scheduler})",
          file=sys.stderr)  # fmt: skip
    redirect = _stdout_to_stderr() if args.json else contextlib.nullcontext()
    try:
        with redirect:
            summary = run_batch(tasks, args.out, scheduler=scheduler, workers=args.workers,
                                stream=sys.stderr)  # fmt: skip
    except SchedulerError as error:
        raise BatchCommandError(error.message) from None
    report = summary.to_dict()
    if args.json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        print(f"{report['done']} done, {report['skipped']} skipped, {len(report['failed'])} "
              f"failed of {len(tasks)} area(s) in {summary.seconds:.1f} s")  # fmt: skip
    for failure in summary.failed:
        print(f"servicemap batch: area {failure['area']} failed: {failure['error']}",
              file=sys.stderr)  # fmt: skip
    return 1 if summary.failed else 0

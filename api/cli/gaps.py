"""``servicemap gaps``: medically underserved workplaces and lunch difficulty, exported.

Examples::

    servicemap gaps medical --max-minutes 15 --min-workers 1000 --out medical.html
    servicemap gaps lunch --walk-minutes 10 --threshold 1 --out lunch.geojson
    servicemap gaps lunch --out lunch.csv --flagged-only

The format follows the suffix of ``--out``: ``.geojson`` (FeatureCollection), ``.csv``
(one row per workplace, UTF-8 with BOM so spreadsheet programs read the Chinese) or
``.html`` (a self-contained report that works offline).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

FORMATS = (".geojson", ".csv", ".html")


class GapsCommandError(Exception):
    """A user error of the command (bad suffix, bad threshold); printed without a trace."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def register(subparsers: Any) -> None:
    """Add the ``gaps`` command with its ``medical`` and ``lunch`` analyses."""
    parser = subparsers.add_parser(
        "gaps", help="medically underserved parks/buildings and lunch difficulty",
        description="Rank parks and buildings by medical access or lunch supply and export "
        "the result as GeoJSON, CSV or a self-contained HTML report.",
    )
    sub = parser.add_subparsers(dest="analysis", required=True, metavar="ANALYSIS")
    medical = sub.add_parser("medical", help="walking time to the nearest medical resource")
    medical.add_argument("--max-minutes", "--threshold", dest="max_minutes", type=float,
                         default=15.0, help="acceptable walk in minutes (default 15)")
    medical.add_argument("--layers", default=None, metavar="L1,L2",
                         help="medical layers (default health_point,community_health,"
                         "hospital,clinic)")
    medical.add_argument("--include-demo", action="store_true",
                         help="count demonstration records (demo health points) as medical "
                         "resources too (default: real records only)")
    lunch = sub.add_parser("lunch", help="food supply within a walk (2SFCA)")
    lunch.add_argument("--walk-minutes", type=float, default=10.0,
                       help="lunch walk in minutes (default 10)")
    lunch.add_argument("--threshold", "--min-supply", dest="min_supply", type=float,
                       default=1.0, help="flag below this many outlet-equivalents per 1,000 "
                       "workers (default 1)")
    for p in (medical, lunch):
        p.add_argument("--min-workers", type=float, default=1000,
                       help="smallest workforce that can be flagged (default 1000)")
        p.add_argument("--out", type=Path, metavar="FILE",
                       help="output file: .geojson, .csv or .html")
        p.add_argument("--json", action="store_true",
                       help="print the GeoJSON FeatureCollection on stdout (nothing else)")
        p.add_argument("--flagged-only", action="store_true", help="export flagged places only")
        p.add_argument("--shipped", action="store_true",
                       help="use the shipped facility files instead of the registry store")
        p.add_argument("--data-dir", type=Path, default=None, help="shipped data directory")
        p.set_defaults(func=run)


def _service(args: argparse.Namespace) -> tuple[Any, Any]:
    from layers.gaps.service import MEDICAL_LAYERS, GapService, RegistrySource, ShippedSource
    from layers.registry.shipped import DEFAULT_DATA_DIR

    layers = MEDICAL_LAYERS
    if getattr(args, "layers", None):
        layers = tuple(x.strip() for x in args.layers.split(",") if x.strip())
    if args.shipped:
        data_dir = args.data_dir or DEFAULT_DATA_DIR
        return GapService(ShippedSource(data_dir), data_dir, medical_layers=layers), None
    from api.settings import Settings
    from layers.registry.service import Registry
    from layers.store import open_store

    settings = Settings()
    data_dir = args.data_dir or settings.data_dir
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.resolved_database_url())
    registry = Registry(store, data_dir)
    registry.seed_from_shipped()
    return GapService(RegistrySource(registry), data_dir, medical_layers=layers), store


def _collection(args: argparse.Namespace, service: Any, geometry: str) -> dict[str, Any]:
    from layers.gaps.output import lunch_collection, medical_collection

    if args.analysis == "medical":
        result = service.medical_gaps(max_minutes=args.max_minutes, min_workers=args.min_workers,
                                      include_demo=args.include_demo)  # fmt: skip
        return medical_collection(service, result, flagged_only=args.flagged_only,
                                  geometry=geometry)  # fmt: skip
    result = service.lunch_gaps(walk_minutes=args.walk_minutes,
                                min_supply_per_1000=args.min_supply,
                                min_workers=args.min_workers)  # fmt: skip
    return lunch_collection(service, result, flagged_only=args.flagged_only, geometry=geometry)


def write_csv(collection: dict[str, Any], analysis: str, path: Path) -> None:
    """One row per feature, columns of :data:`layers.gaps.output.CSV_COLUMNS`."""
    from geo.spreadsheet import csv_text
    from layers.gaps.output import CSV_COLUMNS, flat_rows

    columns = CSV_COLUMNS[analysis]
    rows = ([row.get(k) for k in columns] for row in flat_rows(collection))
    path.write_text(csv_text(columns, rows, bom=True), encoding="utf-8")


def _points_for_unflagged(service: Any, collection: dict[str, Any]) -> None:
    wp = service.workplaces
    index = {wid: i for i, wid in enumerate(wp.id.tolist())}
    for feature in collection["features"]:
        if not feature["properties"]["flagged"]:
            i = index[feature["id"]]
            feature["geometry"] = {"type": "Point", "coordinates": [round(float(wp.lon[i]), 5),
                                                                    round(float(wp.lat[i]), 5)]}


def _write(args: argparse.Namespace, service: Any, collection: dict[str, Any], suffix: str) -> None:
    """Write ``collection`` to ``--out`` in the format its suffix names."""
    from api.cli.gaps_report import render_report
    from layers.registry import shipped

    args.out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".geojson":
        args.out.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    elif suffix == ".csv":
        write_csv(collection, args.analysis, args.out)
    else:
        _points_for_unflagged(service, collection)
        districts = shipped.load_geojson(service.data_dir, "districts")
        stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        args.out.write_text(render_report(collection, args.analysis, districts, stamp),
                            encoding="utf-8")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Compute the analysis and write ``--out`` (and/or print it with ``--json``)."""
    if args.out is None and not args.json:
        raise GapsCommandError("give --out FILE (.geojson, .csv or .html) or --json")
    suffix = ".geojson" if args.out is None else args.out.suffix.lower()
    if suffix not in FORMATS:
        raise GapsCommandError(f"--out must end in {', '.join(FORMATS)} (got {args.out.name!r})")
    started = time.perf_counter()
    service, store = _service(args)
    try:
        print(f"computing {args.analysis} gaps for the whole city …", file=sys.stderr)
        collection = _collection(args, service, "point" if suffix == ".csv" else "polygon")
        if args.json:
            sys.stdout.write(json.dumps(collection, ensure_ascii=False) + "\n")
        if args.out is not None:
            _write(args, service, collection, suffix)
    finally:
        if store is not None:
            store.close()
    s = collection["summary"]
    report = sys.stderr if args.json else sys.stdout
    wrote = f"; wrote {args.out}" if args.out is not None else ""
    print(f"{args.analysis}: {s['flagged']:,} of {s['workplaces']:,} parks/buildings flagged, "
          f"{s['workers_flagged']:,} workers{wrote} "
          f"({time.perf_counter() - started:.1f} s)", file=report)  # fmt: skip
    if args.analysis == "medical":
        supply = s["supply"]
        left = ", ".join(f"{x['layer']} {x['demo_left_out']}" for x in supply["layers"]
                         if x["demo_left_out"])  # fmt: skip
        note = (f"demonstration records left out: {left} (--include-demo counts them)"
                if left else "demonstration records counted" if supply["include_demo"]
                else "no demonstration record left out")  # fmt: skip
        print(note, file=report)
    if args.analysis == "lunch":
        print(f"the {len(s['worst'])} worst places: {s['worst_workers_total']:,} workers "
              f"(plan target: {s['plan_target']['places']} places, "
              f"{s['plan_target']['workers']:,} workers)", file=report)  # fmt: skip
    return 0

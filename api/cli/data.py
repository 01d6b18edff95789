"""``servicemap data build``: rebuild the shipped ``data/`` directory from the raw sources."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from layers.registry.shipped import DEFAULT_DATA_DIR

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``data`` command group (``data build``) to the CLI."""
    data = subparsers.add_parser("data", help="build the shipped data files")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    build = data_commands.add_parser(
        "build",
        help="rebuild data/ from the raw Shanghai sources",
        description=(
            "Read the raw sources (a directory laid out like ../shared/data: osm/, boundaries/, "
            "metro/, sites/, demand/) and write the compact files the product ships: facility "
            "layers, the demonstration registries, basemap layers, workplace polygons, "
            "employment tables and a manifest."
        ),
    )
    build.add_argument(
        "--source", required=True, type=Path, metavar="DIR", help="raw source directory"
    )
    build.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_DATA_DIR,
        metavar="DIR",
        help=f"output data directory (default: the repository's data/, {DEFAULT_DATA_DIR})",
    )
    build.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``data build`` and print a summary; returns the exit status."""
    from layers.build import BUILD_STEPS, SourceMissingError, build_data
    from layers.build.demo_rules import RULES as DEMO_RULES
    from layers.registry.catalog import LAYERS

    bar = tqdm(total=len(BUILD_STEPS), unit="step", desc="data build")
    seen: list[str] = []

    def progress(step: str) -> None:
        if seen:
            bar.update(1)
        seen.append(step)
        bar.set_description(f"data build: {step}")

    try:
        report = build_data(args.source, args.out, progress=progress)
    except SourceMissingError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bar.update(1)
    bar.set_description("data build: done")
    bar.close()

    print(f"wrote {args.out} in {report.elapsed_s:.1f} s, data version {report.data_version}")
    width = max(len(layer) for layer in LAYERS)
    print(f"{'layer'.ljust(width)}  records  located")
    for layer, count in report.counts.items():
        demo = "demo" if layer in DEMO_RULES else ""
        print(f"{layer.ljust(width)}  {count:7d}  {report.located[layer]:7d}  {demo}")
    dropped = {layer: n for layer, n in report.dropped_outside.items() if n}
    if dropped:
        print(f"left out (outside the service area): {dropped}")
    print(f"{len(report.files)} files, {report.total_bytes / 1e6:.2f} MB in total")
    return 0

"""The whole registry import: 5,000 rows read, checked, placed offline, matched, committed.

Generates the 5,000-row health-point form of ``bench_import.py`` (fixed seed, about 3 % of
rows with a mistake: the import runs with ``commit_valid``), then times
:class:`layers.registry.imports.ImportService` end to end on a fresh store — reading, cell
and row checks, offline geocoding of every row (the form has no coordinates), matching, the
district rule, and the commit (one transaction, one working copy and one audit line per
row) — and a re-import of the same file (every row unchanged, nothing written). Runs on the
embedded SQLite store and, with ``--postgis URL``, on PostGIS too. The issue's bar is
≤ 10 s for the first import. Prints a markdown report.

Usage: ``python bench/bench_registry_import.py [--rows 5000] [--postgis postgresql://…]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line
from bench_import import health_form_xlsx

from layers.accounts.roles import Actor, Role
from layers.registry import shipped
from layers.registry.geocoding import Geocoder
from layers.registry.imports import ImportOptions, ImportService
from layers.registry.service import Registry
from layers.registry.workflow import RegistryWorkflow
from layers.store import open_store

EDITOR = Actor("bench_editor", Role.EDITOR, "徐汇区")


def run(url: str, data: bytes) -> dict[str, float]:
    store = open_store(url)
    registry = Registry(store, shipped.DEFAULT_DATA_DIR)
    workflow = RegistryWorkflow(store, district_at=registry.district_at)
    service = ImportService(workflow, Geocoder(shipped.DEFAULT_DATA_DIR))
    service.geocoder.offline  # load the gazetteer before timing (once per process)  # noqa: B018
    options = ImportOptions("health_point", dry_run=False, commit_valid=True)
    started = time.perf_counter()
    first = service.run(EDITOR, data, "bench.xlsx", options)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    again = service.run(EDITOR, data, "bench.xlsx", options)
    again_s = time.perf_counter() - started
    store.close()
    return {"first_s": first_s, "again_s": again_s, "created": first.count("created"),
            "skipped": first.count("skipped"), "unchanged": again.count("unchanged"),
            "placed": sum(1 for o in first.outcomes if o.placement and o.placement["lon"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--postgis", help="a PostGIS database URL (a fresh schema is used)")
    args = parser.parse_args()
    data = health_form_xlsx(args.rows)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["SQLite"] = run(f"sqlite:///{Path(folder) / 'bench.db'}", data)
    if args.postgis:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgis, autocommit=True) as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
            try:
                sep = "&" if "?" in args.postgis else "?"
                url = f"{args.postgis}{sep}options=-csearch_path%3D{schema},public"
                results["PostGIS"] = run(url, data)
            finally:
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print(f"## Registry import, {args.rows:,} rows end to end\n")
    print(machine_line() + "\n")
    print("| store | first import (s) | rows created | skipped (errors) | placed by geocoding "
          "| re-import (s) | unchanged | bar ≤ 10 s |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, r in results.items():
        print(f"| {name} | {r['first_s']:.2f} | {r['created']:,} | {r['skipped']:,} | "
              f"{r['placed']:,} | {r['again_s']:.2f} | {r['unchanged']:,} | "
              f"{'met' if r['first_s'] <= 10 else 'NOT met'} |")


if __name__ == "__main__":
    main()

"""``servicemap registry``: import a union's spreadsheet, export a layer.

Examples::

    servicemap registry import 普陀区健康服务点申报表.xlsx --layer health_point --dry-run
    servicemap registry import xuhui_chc.csv --layer community_health --crs bd09 --json
    servicemap registry export --layer rest_room --format xlsx --out rest_rooms.xlsx

``import`` prints the report; with ``--json`` exactly ``{"layer", "rows", "created",
"updated", "unchanged", "skipped", "errors": [...], "warnings": [...], "committed"}`` on
stdout. Exit status: 0 when committed (or a clean dry run), 1 when the file has errors and
nothing was written, 2 for usage errors (a missing file, an unknown layer or CRS, a bad
mapping file). Both use the store named by ``SERVICEMAP_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

_CRS = ("wgs84", "gcj02", "bd09")


class RegistryCommandError(Exception):
    """A usage error of the command (exit 2), printed without a trace."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def register(subparsers: Any) -> None:
    """Add ``registry import`` and ``registry export``."""
    parser = subparsers.add_parser("registry", help="import registry spreadsheets, export layers",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = parser.add_subparsers(dest="registry_command", required=True, metavar="ACTION")
    imp = sub.add_parser("import", help="import a spreadsheet (.xlsx, .xls, .ods, .csv)")
    imp.add_argument("path", type=Path, metavar="PATH")
    imp.add_argument("--layer", required=True, help="registry layer, e.g. health_point")
    imp.add_argument("--crs", choices=_CRS, help="CRS of coordinate columns (default wgs84)")
    imp.add_argument("--mapping", type=Path, metavar="FILE",
                     help='JSON column mapping {"header or column letter": "field"}')
    imp.add_argument("--sheet", help="sheet name or 0-based index")
    imp.add_argument("--dry-run", action="store_true", help="check and report only")
    imp.add_argument("--commit-valid", action="store_true",
                     help="commit the valid rows even if others have errors (listed as skipped)")
    imp.add_argument("--submit", action="store_true", help="submit the records for review")
    imp.add_argument("--json", action="store_true", help="print the report as JSON only")
    imp.set_defaults(func=run_import)
    exp = sub.add_parser("export", help="export every record of a layer with its state")
    exp.add_argument("--layer", required=True)
    exp.add_argument("--format", required=True, choices=("geojson", "gpkg", "csv", "xlsx"))
    exp.add_argument("--out", required=True, help="output file, or - for stdout")
    exp.add_argument("--review", help="only these review states, e.g. approved,submitted")
    exp.add_argument("--include-deleted", action="store_true")
    exp.set_defaults(func=run_export)


def _services() -> tuple[Any, Any]:
    from api.settings import Settings
    from layers.registry.geocoding import Geocoder
    from layers.registry.imports import ImportService
    from layers.registry.service import Registry
    from layers.registry.workflow import RegistryWorkflow
    from layers.store import open_store

    settings = Settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.resolved_database_url())
    registry = Registry(store, settings.data_dir)
    registry.seed_from_shipped()
    workflow = RegistryWorkflow(store, district_at=registry.district_at,
                                on_published=registry.invalidate_layers)  # fmt: skip
    return ImportService(workflow, Geocoder(settings.data_dir, settings)), store


def run_import(args: argparse.Namespace) -> int:
    """Run ``registry import``; returns the exit status."""
    from layers.accounts.roles import SYSTEM
    from layers.errors import LayersError
    from layers.registry.catalog import LAYERS, LayerKind
    from layers.registry.importing import ImportFileError
    from layers.registry.imports import ImportOptions

    if args.layer not in LAYERS or LAYERS[args.layer].kind is not LayerKind.REGISTRY:
        valid = ", ".join(k for k, v in LAYERS.items() if v.kind is LayerKind.REGISTRY)
        raise RegistryCommandError(f"unknown registry layer {args.layer!r}; valid: {valid}")
    try:
        data = args.path.read_bytes()
    except OSError as exc:
        raise RegistryCommandError(f"cannot read {args.path}: {exc.strerror}") from None
    mapping = None
    if args.mapping is not None:
        try:
            mapping = json.loads(args.mapping.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RegistryCommandError(f"cannot read the mapping {args.mapping}: {exc}") from None
    sheet = int(args.sheet) if args.sheet and args.sheet.isdigit() else args.sheet
    options = ImportOptions(layer=args.layer, crs=args.crs, mapping=mapping, sheet=sheet,
                            dry_run=args.dry_run, commit_valid=args.commit_valid,
                            submit=args.submit)  # fmt: skip
    service, store = _services()
    try:
        report = service.run(SYSTEM, data, args.path.name, options)
    except ImportFileError as exc:
        return _refused_file(args, exc)
    except LayersError as exc:
        raise RegistryCommandError(exc.message) from None
    finally:
        store.close()
    summary = report.summary()
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        _print_report(report)
    clean = not report.errors
    return 0 if report.committed or (args.dry_run and clean) else 1


def _refused_file(args: argparse.Namespace, exc: Any) -> int:
    error = {"row": None, "column": None, "value": None, "message_zh": exc.message_zh,
             "message_en": exc.message_en}  # fmt: skip
    if args.json:
        print(json.dumps({"layer": args.layer, "rows": 0, "created": 0, "updated": 0,
                          "unchanged": 0, "skipped": 0, "errors": [error], "warnings": [],
                          "committed": False}, ensure_ascii=False))  # fmt: skip
    else:
        print(f"servicemap: the file cannot be imported: {exc.message_zh} / {exc.message_en}",
              file=sys.stderr)
    return 1


def _print_report(report: Any) -> None:
    s = report.summary()
    state = "committed" if report.committed else ("dry run" if report.dry_run else "NOT committed")
    print(f"{report.filename} → {s['layer']}: {s['rows']} rows, {s['created']} created, "
          f"{s['updated']} updated, {s['unchanged']} unchanged, {s['skipped']} skipped "
          f"({state})")  # fmt: skip
    for error in s["errors"]:
        where = f"row {error['row']}" if error["row"] is not None else "file"
        column = f", {error['column']}" if error.get("column") else ""
        value = f" [{error['value']}]" if error.get("value") else ""
        print(f"  error {where}{column}{value}: {error['message_zh']} / {error['message_en']}")
    for warning in s["warnings"][:50]:
        where = f"row {warning['row']}" if warning["row"] is not None else "file"
        print(f"  warning {where}: {warning['message_zh']} / {warning['message_en']}")


def run_export(args: argparse.Namespace) -> int:
    """Run ``registry export``."""
    from layers.accounts.roles import SYSTEM
    from layers.registry.catalog import LAYERS, LayerKind
    from layers.registry.exports import export_bytes
    from layers.registry.schema import ReviewState
    from layers.registry.workflow import all_records
    from layers.store.records import RecordQuery

    if args.layer not in LAYERS or LAYERS[args.layer].kind is not LayerKind.REGISTRY:
        raise RegistryCommandError(f"unknown registry layer {args.layer!r}")
    reviews = None
    if args.review:
        try:
            reviews = [ReviewState(v.strip()) for v in args.review.split(",") if v.strip()]
        except ValueError:
            raise RegistryCommandError(f"unknown review state in {args.review!r}") from None
    service, store = _services()
    try:
        records = all_records(service.workflow, SYSTEM, RecordQuery(
            layer=args.layer, reviews=reviews, include_deleted=args.include_deleted))  # fmt: skip
    finally:
        store.close()
    payload = export_bytes(args.layer, records, args.format)
    if args.out == "-":
        sys.stdout.buffer.write(payload)
        sys.stdout.flush()
    else:
        Path(args.out).write_bytes(payload)
        print(f"wrote {len(records)} records of {args.layer} to {args.out}", file=sys.stderr)
    return 0

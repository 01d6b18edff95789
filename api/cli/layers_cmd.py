"""``servicemap layers``: list the layers and their record counts."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``layers`` sub-command."""
    parser = subparsers.add_parser(
        "layers", help="list layers and record counts",
        description="List the facility layers with their record counts.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Open the configured store (seeding it if needed) and print every layer."""
    from api.settings import Settings
    from layers.registry.service import Registry
    from layers.store import open_store

    settings = Settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with open_store(settings.resolved_database_url()) as store:
        registry = Registry(store, settings.data_dir)
        registry.seed_from_shipped()
        summaries = registry.layer_summaries()
        rows = [
            {"id": s.info.id, "kind": s.info.kind.value, "count": s.count, "demo": s.demo,
             "name_zh": s.info.name_zh, "name_en": s.info.name_en}
            for s in summaries
        ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    width = max(len(r["id"]) for r in rows)
    for r in rows:
        demo = " (示例/demo)" if r["demo"] else ""
        print(f"{r['id']:<{width}}  {r['kind']:<8}  {r['count']:>6}  {r['name_zh']} / {r['name_en']}{demo}")
    return 0

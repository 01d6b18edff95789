"""``servicemap backup`` and ``servicemap restore``: copy the registry store and put it back.

Examples::

    servicemap backup --out backups/servicemap-2026-12-02.db      # SQLite, online
    servicemap backup --out backups/servicemap.dump               # PostGIS: pg_dump -Fc
    servicemap restore backups/servicemap-2026-12-02.db           # with the service stopped

Both print each table's row count and checksum (``--json``: as JSON only), so a restore
can be compared with the backup. They use the store named by ``SERVICEMAP_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``backup`` and ``restore``."""
    backup = subparsers.add_parser("backup", help="back up the registry store",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    backup.add_argument("--out", required=True, type=Path, metavar="FILE")
    backup.add_argument("--json", action="store_true", help="print the table checksums as JSON")
    backup.set_defaults(func=run_backup)
    restore = subparsers.add_parser("restore", help="restore the registry store from a backup")
    restore.add_argument("file", type=Path, metavar="FILE")
    restore.add_argument("--json", action="store_true", help="print the table checksums as JSON")
    restore.set_defaults(func=run_restore)


def _store() -> Any:
    from api.settings import Settings
    from layers.store import open_store

    settings = Settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return open_store(settings.resolved_database_url())


def _report(prints: dict[str, Any], as_json: bool, title: str) -> None:
    data = {table: {"rows": p.rows, "sha256": p.sha256} for table, p in prints.items()}
    if as_json:
        print(json.dumps(data))
        return
    print(title)
    for table, p in data.items():
        print(f"  {table:<18} {p['rows']:>9,} rows  {p['sha256'][:16]}")


def run_backup(args: argparse.Namespace) -> int:
    """Back up the configured store to ``--out``."""
    from layers.store.backup import backup, fingerprints

    store = _store()
    try:
        prints = fingerprints(store)
        backup(store, args.out)
    finally:
        store.close()
    _report(prints, args.json, f"backed up {store.backend} store to {args.out}")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    """Restore the configured store from ``FILE`` (stop the service first for SQLite)."""
    from layers.store.backup import fingerprints, restore

    store = _store()
    restore(store, args.file)
    store.close()
    fresh = _store()
    try:
        prints = fingerprints(fresh)
    finally:
        fresh.close()
    if not args.json:
        print("the service may be started again", file=sys.stderr)
    _report(prints, args.json, f"restored {fresh.backend} store from {args.file}")
    return 0

"""Backups of the registry store and their verification.

* SQLite: an online copy with the SQLite backup API (consistent while the server runs and
  writes; readers and the writer keep going), restored by copying the file into place while
  the service is stopped (the previous file is kept beside it as ``*.before-restore``).
* PostgreSQL/PostGIS: ``pg_dump --format=custom`` of the tables the service owns (in the
  connection's ``search_path`` schema), restored with ``pg_restore --clean --if-exists``
  into the same or another database.

:func:`fingerprints` gives, per table, its row count and a SHA-256 over its rows in key order
(a canonical text form, the same for both databases), so a restored store can be checked
against the one that was backed up.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layers.errors import StoreError

#: The tables of the service, with the columns that order their rows.
TABLES: dict[str, str] = {
    "facilities": "id",
    "registry_records": "id",
    "layer_versions": "layer",
    "store_meta": "key",
    "audit_log": "seq",
    "imports": "id",
    "import_uploads": "id",
    "users": "username",
    "user_sessions": "token_hash",
    "schema_migrations": "name",
    "jobs": "id",
    "rate_limits": "bucket, window_start",
}
#: Columns left out of the fingerprint: generated or database-specific.
_SKIP_COLUMNS = {"rid", "geom"}


@dataclass(frozen=True)
class TablePrint:
    """Row count and content hash of one table."""

    rows: int
    sha256: str


def _canonical(value: Any) -> Any:
    if isinstance(value, memoryview | bytes | bytearray):
        return hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return repr(round(value, 9))
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.dumps(json.loads(value), sort_keys=True, ensure_ascii=False)
        except ValueError:
            return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _table_print(conn: Any, table: str, order: str, columns: list[str]) -> TablePrint:
    keep = [c for c in columns if c not in _SKIP_COLUMNS]
    digest = hashlib.sha256()
    rows = 0
    for row in conn.execute(f"SELECT {', '.join(keep)} FROM {table} ORDER BY {order}"):
        digest.update(json.dumps([_canonical(v) for v in row], ensure_ascii=False,
                                 default=str).encode())  # fmt: skip
        rows += 1
    return TablePrint(rows, digest.hexdigest())


def fingerprints(store: Any) -> dict[str, TablePrint]:
    """Row count and content hash of every table of the service present in ``store``."""
    out: dict[str, TablePrint] = {}
    with store._transaction(write=False, snapshot=True) as conn:
        for table, order in TABLES.items():
            columns = _columns(conn, store.backend, table)
            if columns:
                if store.backend == "postgis" and order == "id":
                    order = 'id COLLATE "C"'
                out[table] = _table_print(conn, table, order, columns)
    return out


def _columns(conn: Any, backend: str, table: str) -> list[str]:
    if backend == "sqlite":
        return [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})").fetchall()]
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "AND table_schema = current_schema() ORDER BY ordinal_position", (table,),
    ).fetchall()  # fmt: skip
    return [str(r[0]) for r in rows]


def backup(store: Any, out: Path) -> Path:
    """Write a backup of ``store`` to ``out`` (an SQLite file, or a ``pg_dump`` archive).

    Raises
    ------
    StoreError
        When the copy fails (disk full, ``pg_dump`` missing or refused).
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if store.backend == "sqlite":
        if store.path in (":memory:", ""):
            raise StoreError("an in-memory store cannot be backed up")
        partial = out.with_name(out.name + ".partial")
        try:
            source = sqlite3.connect(store.path, timeout=store.timeout_s)
            target = sqlite3.connect(partial)
            with target:
                source.backup(target)
            target.close()
            source.close()
            os.replace(partial, out)
        except sqlite3.Error as exc:
            partial.unlink(missing_ok=True)
            raise StoreError(f"the SQLite backup failed: {exc}") from exc
        return out
    tables = [t for t in TABLES if _exists_pg(store, t)]
    command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
               *[f"--table={_qualified(store, t)}" for t in tables], f"--file={out}",
               "--dbname", store.url]  # fmt: skip
    _run(command, "pg_dump")
    return out


def restore(store: Any, archive: Path) -> None:
    """Replace the store's tables with a backup made by :func:`backup`.

    For SQLite the service must be stopped: the database file is swapped (the previous one
    is kept as ``<file>.before-restore``). For PostGIS the tables are dropped and
    recreated from the archive in one ``pg_restore --single-transaction``.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise StoreError(f"no backup at {archive}")
    if store.backend == "sqlite":
        check = sqlite3.connect(archive)
        try:
            result = check.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{archive} is not an SQLite backup: {exc}") from exc
        finally:
            check.close()
        if result != "ok":
            raise StoreError(f"the backup {archive} is damaged: {result}")
        store.close()
        target = Path(store.path)
        if target.exists():
            shutil.copy2(target, target.with_name(target.name + ".before-restore"))
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        staged = target.with_name(target.name + ".restoring")
        shutil.copy2(archive, staged)
        os.replace(staged, target)
        return
    command = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
               "--single-transaction", "--dbname", store.url, str(archive)]  # fmt: skip
    _run(command, "pg_restore")


def _exists_pg(store: Any, table: str) -> bool:
    with store._transaction(write=False) as conn:
        row = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
    return row is not None and row[0] is not None


def _qualified(store: Any, table: str) -> str:
    with store._transaction(write=False) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
    return f'"{schema}"."{table}"'


def _run(command: list[str], tool: str) -> None:
    if shutil.which(tool) is None:
        raise StoreError(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
        raise StoreError(f"{tool} failed: {message}")

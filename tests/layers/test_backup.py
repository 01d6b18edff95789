"""Backups and restores on both stores, verified by per-table row counts and checksums."""

from __future__ import annotations

import pytest

from layers.accounts.roles import Actor, Role
from layers.errors import StoreError
from layers.registry.workflow import RegistryWorkflow
from layers.store.backup import backup, fingerprints, restore
from tests.layers.test_store import make_facility, open_same, postgis_database  # noqa: F401

EDITOR = Actor("ed", Role.EDITOR, "黄浦区")
REVIEWER = Actor("rev", Role.REVIEWER)


def _fill(store) -> None:
    store.seed_registry_layer("relay_station", [make_facility(key=f"{i:04d}") for i in range(40)])
    store.replace_layer("hospital", [make_facility(layer="hospital", key="h1")])
    flow = RegistryWorkflow(store)
    created = flow.create(EDITOR, "relay_station", {"name": "新站", "district": "黄浦区",
                                                    "lon": 121.47, "lat": 31.23})
    flow.submit(EDITOR, [created.facility.id])
    flow.approve(REVIEWER, [created.facility.id])
    store.set_meta("data_version", "test")


def test_a_backup_restores_every_table_exactly(open_same, tmp_path) -> None:  # noqa: F811
    store = open_same()
    _fill(store)
    before = fingerprints(store)
    assert before["registry_records"].rows == 41
    assert before["audit_log"].rows >= 4
    archive = backup(store, tmp_path / "backup.bin")
    assert archive.stat().st_size > 0
    # the store moves on after the backup ...
    flow = RegistryWorkflow(store)
    flow.create(EDITOR, "relay_station", {"name": "备份后", "district": "黄浦区"})
    store.replace_layer("hospital", [])
    assert fingerprints(store) != before
    # ... and the restore puts back exactly what was backed up
    restore(store, archive)
    again = open_same()
    after = fingerprints(again)
    assert after == before


def test_restore_refuses_a_missing_or_damaged_file(tmp_path) -> None:
    from layers.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "s.db")
    store.init_schema()
    with pytest.raises(StoreError, match="no backup"):
        restore(store, tmp_path / "missing.db")
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"SQLite format 3\x00" + bytes(500))
    with pytest.raises(StoreError):
        restore(store, damaged)
    assert fingerprints(store)["schema_migrations"].rows > 0  # the store is untouched

"""Schema migrations on both stores: a database of the first layout is upgraded in place,
its records keep their content and get approved working copies; migrations run once."""

from __future__ import annotations

import sqlite3

import psycopg

from layers.registry.schema import ReviewState
from layers.store.migration_steps import MIGRATIONS
from layers.store.postgis import _SCHEMA as PG_V1_SCHEMA
from layers.store.postgis import PostGISStore
from layers.store.sqlite import _SCHEMA as SQLITE_V1_SCHEMA
from layers.store.sqlite import SQLiteStore, _split_statements
from tests.layers.test_store import make_facility, postgis_database  # noqa: F401

V1_RECORDS = [make_facility(key="0001"), make_facility(key="0002", district="静安区"),
              make_facility(layer="hospital", key="h1")]


def _names(rows: list) -> list[str]:
    return [str(row[0]) for row in rows]


def test_a_first_layout_sqlite_file_is_upgraded_in_place(tmp_path) -> None:
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    for statement in _split_statements(SQLITE_V1_SCHEMA):
        conn.execute(statement)
    for f in V1_RECORDS:
        conn.execute("INSERT INTO facilities (id, layer, district, status, lon, lat, record) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (f.id, f.layer, f.district, str(f.status), f.lon, f.lat,
                      f.model_dump_json(exclude={"registry_no", "review"})))
    conn.execute("INSERT INTO store_meta VALUES ('store.schema_version', '1')")
    conn.commit()
    conn.close()
    store = SQLiteStore(path)
    store.init_schema()
    assert store.get(V1_RECORDS[0].id) == V1_RECORDS[0]
    working = store.get_record(V1_RECORDS[1].id)
    assert working.published
    assert working.facility.review is ReviewState.APPROVED
    assert store.get_record("hospital:h1") is None  # context layers have no working copy
    store.init_schema()  # a second start applies nothing again
    with store._transaction(write=False) as conn:
        names = _names(conn.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall())
    assert names == [m.name for m in MIGRATIONS]
    store.close()


def test_a_first_layout_postgis_schema_is_upgraded_in_place(postgis_database) -> None:  # noqa: F811
    schema = postgis_database.new_schema()
    conninfo = postgis_database.conninfo(schema)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in PG_V1_SCHEMA:
            conn.execute(statement)
        for f in V1_RECORDS:
            conn.execute("INSERT INTO facilities (id, layer, district, status, lon, lat, record) "
                         "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)",
                         (f.id, f.layer, f.district, str(f.status), f.lon, f.lat,
                          f.model_dump_json(exclude={"registry_no", "review"})))
    stores = [PostGISStore(conninfo), PostGISStore(conninfo)]
    import threading

    threads = [threading.Thread(target=s.init_schema) for s in stores]  # two processes start
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store = stores[0]
    assert store.get(V1_RECORDS[0].id) == V1_RECORDS[0]
    assert store.get_record(V1_RECORDS[0].id).published
    with psycopg.connect(conninfo) as conn:
        names = _names(conn.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall())
    assert names == [m.name for m in MIGRATIONS]
    for s in stores:
        s.close()
    postgis_database.drop_schema(schema)

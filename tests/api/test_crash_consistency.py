"""kill -9 in the middle of imports and edits: every acknowledged write survives, no import
is half applied, and the store's integrity holds — on SQLite and on PostGIS.

Each cycle starts the real server (``servicemap serve``) in a subprocess, runs writers
against it (record creations and edits with ``If-Match``, and committed imports of small
generated spreadsheets), kills the server with SIGKILL at a random moment and checks the
store directly before the next cycle. Only answers the server sent back (2xx) count as
acknowledged.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from layers.store import open_store
from tests.layers.importing.forms import Grid, to_xlsx
from tests.layers.test_store import postgis_database  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
SECRET = "crash-test-signing-key-0123456789abcdef"
PASSWORD = "crash test password"
CYCLES = 20
PUTUO = (121.3950, 31.2490)


@dataclass
class Acknowledged:
    """What the server confirmed."""

    records: dict[str, tuple[int, str | None]] = field(default_factory=dict)  # id -> (version, phone)
    imports: dict[str, set[str]] = field(default_factory=dict)  # import id -> record ids
    lock: threading.Lock = field(default_factory=threading.Lock)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=REPO, env=env, input=stdin,
                   capture_output=True, text=True, check=True, timeout=300)


def _start(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "1",
         "--log-level", "warning"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.1)


def _form(tag: str, rows: int = 12) -> bytes:
    header = ["名称", "区", "地址", "经度", "纬度", "电话"]
    body = [[f"崩溃测试{tag}号站{i}", "普陀区", f"金沙江路{1000 + i}号{tag}",
             PUTUO[0] + 0.0001 * i, PUTUO[1], "13812345678"] for i in range(rows)]
    return to_xlsx(Grid([header, *body]))


def _writer_edits(base: str, token: str, acked: Acknowledged, stop: threading.Event,
                  seed: int) -> None:  # fmt: skip
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        while not stop.is_set():
            try:
                made = client.post("/api/v1/layers/relay_station/facilities", json={
                    "name": f"编辑测试站{uuid.uuid4().hex[:8]}", "district": "普陀区",
                    "lon": PUTUO[0] + rng.uniform(-0.01, 0.01), "lat": PUTUO[1]})
                if made.status_code != 201:
                    continue
                rid = made.json()["record"]["id"]
                with acked.lock:
                    acked.records[rid] = (1, None)
                etag = made.headers["etag"]
                for _ in range(rng.randint(1, 4)):
                    phone = f"1381234{rng.randint(0, 9999):04d}"
                    edited = client.patch(f"/api/v1/facilities/{rid}", json={"phone": phone},
                                          headers={"If-Match": etag})
                    if edited.status_code != 200:
                        break
                    etag = edited.headers["etag"]
                    with acked.lock:
                        acked.records[rid] = (edited.json()["version"], phone)
            except httpx.HTTPError:
                return  # the server is gone


def _writer_imports(base: str, token: str, acked: Acknowledged, stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        while not stop.is_set():
            tag = uuid.uuid4().hex[:6]
            try:
                answer = client.post("/api/v1/imports", files={"file": (
                    f"{tag}.xlsx", _form(tag), "application/octet-stream")},
                    data={"layer": "relay_station", "dry_run": "false", "crs": "wgs84"})
            except httpx.HTTPError:
                return
            if answer.status_code == 200 and answer.json()["committed"]:
                body = answer.json()
                with acked.lock:
                    # a row may also update a record of an earlier import (a near-identical
                    # name beside it is merged): both write one audit line
                    acked.imports[body["import_id"]] = {o["record_id"] for o in body["outcomes"]
                                                        if o["action"] in ("created", "updated")}  # fmt: skip


def _check(url: str, acked: Acknowledged) -> None:
    store = open_store(url)
    try:
        with store._transaction(write=False) as conn:
            if store.backend == "sqlite":
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            audit = conn.execute(
                "SELECT import_id, count(*) FROM audit_log WHERE import_id IS NOT NULL "
                "GROUP BY import_id").fetchall()  # fmt: skip
            logged = {str(r[0]) for r in conn.execute("SELECT id FROM imports").fetchall()}
        lines = {str(r[0]): int(r[1]) for r in audit}
        assert set(lines) == logged, "an import left audit lines without its log, or back"
        for import_id, ids in acked.imports.items():
            assert import_id in logged, f"acknowledged import {import_id} is missing"
            assert lines[import_id] == len(ids)
            for rid in ids:
                assert store.get_record(rid) is not None, f"{rid} of {import_id} is missing"
        for import_id in logged:  # no half import: every row of a logged import is there
            report = store.get_import(import_id).report
            assert lines[import_id] == report["created"] + report["updated"]
        for rid, (version, phone) in acked.records.items():
            found = store.get_record(rid)
            assert found is not None, f"acknowledged record {rid} is missing"
            assert found.version >= version
            if found.version == version:
                assert found.facility.phone == phone
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def test_kill_9_during_imports_and_edits_loses_nothing(backend, tmp_path, request) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'crash.db'}"
    else:
        database = request.getfixturevalue("postgis_database")
        schema = database.new_schema()
        url = f"{database.url}?options=-csearch_path%3D{schema},public"
    env = {**os.environ, "SERVICEMAP_DATABASE_URL": url, "SERVICEMAP_STATE_DIR": str(tmp_path),
           "SERVICEMAP_WARM_UP": "false", "SERVICEMAP_SECRET_KEY": SECRET,
           "SERVICEMAP_ARGON2_TIME_COST": "1", "SERVICEMAP_ARGON2_MEMORY_KIB": "8192"}
    _cli(env, "users", "add", "crash_editor", "--role", "editor", "--district", "普陀区",
         "--password-stdin", stdin=PASSWORD + "\n")
    acked = Acknowledged()
    rng = random.Random(20)
    for cycle in range(CYCLES):
        process, base = _start(env)
        try:
            token = httpx.post(f"{base}/api/v1/auth/token", timeout=30, data={
                "username": "crash_editor", "password": PASSWORD}).json()["access_token"]
            stop = threading.Event()
            writers = [threading.Thread(target=_writer_edits, args=(base, token, acked, stop, s))
                       for s in range(2)]
            writers.append(threading.Thread(target=_writer_imports,
                                            args=(base, token, acked, stop)))
            for writer in writers:
                writer.start()
            time.sleep(rng.uniform(0.5, 3.5))  # imports take 0.5-2 s: some die mid-way
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        stop.set()
        for writer in writers:
            writer.join(timeout=60)
        _check(url, acked)
        assert cycle == CYCLES - 1 or process.returncode == -signal.SIGKILL
    assert len(acked.records) > CYCLES  # the writers really wrote
    assert acked.imports, "no import was acknowledged: the test did not test imports"

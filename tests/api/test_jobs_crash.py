"""The durability bar: submit plan and route jobs to a real server (``servicemap serve
--workers 2``); ``kill -9`` the worker process running a job (the server stays up), then
``kill -9`` the whole server while one job runs and others wait and restart it, twice;
every accepted job reaches a final state and none is lost. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from layers.store import open_store
from tests.api.test_plans_api import SMALL
from tests.layers.test_store import PostGISDatabase, postgis_database  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parents[2]
FINAL = ("done", "failed", "cancelled")
START_TIMEOUT_S = 120.0
LEASE_S = 2


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``servicemap serve`` in its own process group, so ``kill -9`` reaches every worker."""

    def __init__(self, database_url: str, state_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = state_dir / "server.log"
        self.env = {
            **os.environ,
            "SERVICEMAP_DATABASE_URL": database_url,
            "SERVICEMAP_STATE_DIR": str(state_dir),
            "SERVICEMAP_WARM_UP": "false",
            "SERVICEMAP_JOB_CONCURRENCY": "1",
            "SERVICEMAP_JOB_LEASE_S": str(LEASE_S),
            "SERVICEMAP_JOB_POLL_S": "0.2",
            "SERVICEMAP_SECRET_KEY": "jobs-crash-test-signing-key-0123456789",
            "SERVICEMAP_ARGON2_TIME_COST": "1",
            "SERVICEMAP_ARGON2_MEMORY_KIB": "8192",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.token: str | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port",
                 str(self.port), "--workers", "2", "--log-level", "warning"],
                cwd=REPO, env=self.env, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
            try:
                if self.call("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        if self.token is None:  # jobs need staff: one admin account, created once
            subprocess.run([sys.executable, "-m", "api.cli", "users", "add", "jobs_admin",
                            "--role", "admin", "--password-stdin"], cwd=REPO, env=self.env,
                           input="jobs crash password\n", text=True, check=True,
                           capture_output=True)  # fmt: skip
            form = b"username=jobs_admin&password=jobs+crash+password"
            request = urllib.request.Request(f"{self.base}/api/v1/auth/token", data=form,
                                             method="POST")  # fmt: skip
            with urllib.request.urlopen(request, timeout=30) as answer:
                self.token = json.loads(answer.read())["access_token"]

    def kill_9(self) -> None:
        """SIGKILL to the server and all its workers (and their solver processes)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def worker_pid(self, job_id: str) -> int:
        """The process id of the worker holding the job's lease (``host:pid:token``)."""
        store = open_store(self.env["SERVICEMAP_DATABASE_URL"])
        try:
            with store.sql_transaction(write=False) as conn:  # type: ignore[attr-defined]
                row = conn.execute(
                    f"SELECT lease_owner FROM jobs WHERE id = {store.placeholder}",  # type: ignore[attr-defined]
                    (job_id,),
                ).fetchone()
        finally:
            store.close()
        assert row is not None, f"job {job_id} is not stored"
        assert row[0], f"job {job_id} has no lease"
        return int(str(row[0]).split(":")[1])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:  # fmt: skip
        data = None if body is None else json.dumps(body).encode()
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json",
                                                  **auth, **(headers or {})})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store for a server of the test: SQLite in ``tmp_path`` or a new PostGIS schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'servicemap.db'}"
    database: PostGISDatabase = request.getfixturevalue("postgis_database")
    schema = database.new_schema()
    joiner = "&" if "?" in database.url else "?"
    return f"{database.url}{joiner}options=-csearch_path%3D{schema},public"


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    running = Server(database_url(request, tmp_path), tmp_path)
    yield running
    running.stop()


def route_request(sample: dict[str, Any], first: int, n: int, time_limit_s: float) -> dict:
    request = {k: sample[k] for k in ("slots", "depots", "packages", "start_date")}
    request["days"] = 1
    request["vehicles"] = [dict(v, days=[0]) for v in sample["vehicles"][:1]]
    request["bookings"] = [dict(b, slots=["AM", "PM"])
                           for b in sample["bookings"][first:first + n]]  # fmt: skip
    request["time_limit_s"] = time_limit_s
    return request


def statuses(server: Server, accepted: dict[str, str]) -> dict[str, dict[str, Any]]:
    out = {}
    for job_id, kind in accepted.items():
        code, body = server.call("GET", f"/api/v1/{kind}s/{job_id}")
        assert code == 200, f"job {job_id} lost: {code} {body}"
        out[job_id] = body
    return out


def wait_until(server: Server, accepted: dict[str, str], condition: Any,
               timeout_s: float) -> dict[str, dict[str, Any]]:  # fmt: skip
    deadline = time.monotonic() + timeout_s
    while True:
        seen = statuses(server, accepted)
        if condition(seen):
            return seen
        assert time.monotonic() < deadline, {i: (b["status"], b["progress"]) for i, b in seen.items()}
        time.sleep(0.2)


def _runs_since(seen: dict[str, dict[str, Any]], since: datetime) -> list[str]:
    """Jobs running in a run that started after ``since`` (not a stale lease)."""
    return [i for i, b in seen.items() if b["status"] == "running"
            and datetime.fromisoformat(b["started_at"]) >= since]  # fmt: skip


def test_kill_9_and_restart_loses_no_job(server: Server) -> None:
    started = time.monotonic()
    server.start()
    print(f"first start (seeding the store): {time.monotonic() - started:.1f} s")
    code, sample = server.call("GET", "/api/v1/routes/sample")
    assert code == 200
    submissions = [
        ("route", route_request(sample, 0, 8, 3), "r-1"),
        ("plan", SMALL, "p-1"),
        ("route", route_request(sample, 8, 6, 2), "r-2"),
        ("plan", {**SMALL, "n_new": 3}, "p-2"),
        ("route", route_request(sample, 14, 4, 1), "r-3"),
    ]
    accepted: dict[str, str] = {}
    keys: dict[str, tuple[str, Any, str]] = {}
    for kind, body, key in submissions:
        code, created = server.call("POST", f"/api/v1/{kind}s", body, {"Idempotency-Key": key})
        assert code == 202, created
        accepted[created["id"]] = kind
        keys[created["id"]] = (kind, body, key)
    killed: list[str] = []
    since = datetime.now(UTC) - timedelta(seconds=1)
    # first only the worker process running a job: the server stays up (uvicorn starts a
    # new worker) and the job's lease expires; the other worker runs it again
    seen = wait_until(server, accepted,
                      lambda s: any(b["status"] == "running" for b in s.values()), 90)  # fmt: skip
    victim = next(i for i, b in seen.items() if b["status"] == "running")
    os.kill(server.worker_pid(victim), signal.SIGKILL)
    again = wait_until(server, {victim: accepted[victim]},
                       lambda s: s[victim]["attempts"] >= 2 or s[victim]["status"] in FINAL,
                       30)  # fmt: skip
    assert again[victim]["attempts"] >= 2, again
    killed.append(victim)
    for _cycle in range(2):
        # a job running in *this* server (not a stale lease left by the killed one)
        seen = wait_until(server, accepted, partial(_runs_since, since=since), 90)
        running = _runs_since(seen, since)
        waiting = [i for i, b in seen.items() if b["status"] == "queued"]
        assert waiting, "every job had already started: nothing was queued at the kill"
        server.kill_9()
        killed += running
        since = datetime.now(UTC)
        server.start()
        for job_id in running:  # the kill left it running with a lease nobody renews
            assert server.call("GET", f"/api/v1/{accepted[job_id]}s/{job_id}")[1]["status"] in (
                "running", "queued")  # fmt: skip
        # the same Idempotency-Key after the restart still names the same job
        kind, body, key = keys[running[0]]
        code, again = server.call("POST", f"/api/v1/{kind}s", body, {"Idempotency-Key": key})
        assert (code, again["id"]) == (202, running[0])
    final = wait_until(server, accepted,
                       lambda s: all(b["status"] in FINAL for b in s.values()), 240)  # fmt: skip
    for body in final.values():
        assert body["status"] in ("done", "failed"), body
        if body["status"] == "failed":
            assert body["error"], body
    assert all(final[i]["attempts"] >= 2 for i in killed), {i: final[i]["attempts"] for i in killed}
    assert [b["status"] for b in final.values()].count("done") >= len(final) - 1
    code, listed = server.call("GET", "/api/v1/plans")
    assert {p["id"] for p in listed["plans"]} >= {i for i, k in accepted.items() if k == "plan"}
    print(f"crash test: {len(accepted)} jobs, kills of {killed}, "
          f"{time.monotonic() - started:.1f} s")

"""An approved edit reaches ``/api/v1/nearest`` of every worker process within 1 s.

``servicemap serve --workers 2`` on SQLite and on PostgreSQL: a record is created, submitted
and approved through the API. The draft must never show up; from 1 s after the approval is
answered, every nearest answer must list it. The answers come from both worker processes:
each query opens its own connection, 16 at a time, and the two workers accept from one
listening socket (the test checks that the server runs two).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.api.test_jobs_crash import Server, database_url
from tests.layers.test_store import postgis_database  # noqa: F401 (fixture)

POINT = {"lon": 121.3951, "lat": 31.2491}  # 普陀区, beside the Jinshajiang Road stations


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    running = Server(database_url(request, tmp_path), tmp_path)
    running.start()
    yield running
    running.stop()


def _nearest(server: Server) -> list[str]:
    """The ids of the 3 nearest relay stations, over a connection of its own."""
    url = (f"{server.base}/api/v1/nearest?lon={POINT['lon']}&lat={POINT['lat']}"
           "&layer=relay_station&k=3&profile=straight")
    request = urllib.request.Request(url, headers={"Connection": "close"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return [r["facility"]["id"] for r in json.loads(answer.read())["results"]]


def _burst(server: Server, n: int) -> list[list[str]]:
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(lambda _: _nearest(server), range(n)))


def _worker_pids(server: Server) -> list[int]:
    assert server.process is not None
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    return [pid for pid in pids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _wait_for_two_started_workers(server: Server) -> None:
    """Both worker processes exist and have finished starting (their CPU time stands still)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        pids = _worker_pids(server)
        if len(pids) == 2:
            before = [_cpu_ticks(pid) for pid in pids]
            time.sleep(1.0)
            if [_cpu_ticks(pid) for pid in pids] == before:
                return
        else:
            time.sleep(0.5)
    raise AssertionError(f"two started worker processes expected, found {_worker_pids(server)}")


def test_an_approved_edit_is_seen_by_every_worker_within_a_second(server: Server) -> None:
    _wait_for_two_started_workers(server)
    before = _burst(server, 32)  # both workers answer once and build their indexes
    created_status, created = server.call("POST", "/api/v1/layers/relay_station/facilities", {
        "name": "接力站·两个进程", "district": "普陀区", "address": "金沙江路1759号",
        "services": ["water"], **POINT})  # fmt: skip
    assert created_status == 201, created
    rid = created["record"]["id"]
    assert server.call("POST", "/api/v1/review/submit", {"ids": [rid]})[0] == 200
    drafts = _burst(server, 32)
    assert all(rid not in ids for ids in before + drafts)  # unpublished: nobody sees it
    status, _ = server.call("POST", "/api/v1/review/approve", {"ids": [rid], "comment": "ok"})
    assert status == 200
    approved_at = time.monotonic()
    first_seen = None
    while first_seen is None and time.monotonic() - approved_at < 3.0:
        if _nearest(server)[0] == rid:
            first_seen = time.monotonic() - approved_at
    assert first_seen is not None, "not seen within 3 s of the approval"
    assert first_seen <= 1.0, first_seen
    wait = 1.0 - (time.monotonic() - approved_at)
    if wait > 0:
        time.sleep(wait)
    after = _burst(server, 64)
    missing = sum(ids[0] != rid for ids in after)
    assert missing == 0, f"{missing} of {len(after)} answers 1 s after the approval lack it"

"""Cold start under load: many first requests while the start-up warm-up is still running.

Every lazily built structure (snap grids, facility indexes, top-k labels, isochrone
clusters, layer indexes, the service-area geometry) is then asked for by the warm-up thread
and by dozens of request threads at the same moment. The real server is started in a
fresh process each time (``servicemap serve`` on a free loopback port, a temporary SQLite
store seeded once and reused), the burst is fired as soon as it listens, and the test
asserts the process survived, every answer is 200 and every answer equals the one given
to the same request once ``/readyz`` says the warm-up is over.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from api.settings import REPO_ROOT
from layers.registry.catalog import REGISTRY_LAYERS
from layers.registry.service import Registry
from layers.store import open_store

#: Fresh server processes started (each one cold).
COLD_STARTS = 5
#: Longest wait for a process to listen, and for its warm-up to finish (seconds).
START_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 120.0

#: Central Shanghai query points (WGS84): People's Square, Jing'an Temple, Lujiazui.
PEOPLES_SQUARE = (121.4737, 31.2304)
JINGAN_TEMPLE = (121.4455, 31.2235)
LUJIAZUI = (121.5020, 31.2397)


def _requests() -> list[tuple[str, str, dict[str, Any] | None]]:
    """The burst: ``(method, path, JSON body)``; at least 48 first requests."""
    out: list[tuple[str, str, dict[str, Any] | None]] = []
    for layer in REGISTRY_LAYERS:
        for profile in ("walk", "drive", "straight"):
            for lon, lat in (PEOPLES_SQUARE, JINGAN_TEMPLE):
                out.append(("GET", f"/api/v1/nearest?lon={lon}&lat={lat}&layer={layer}"
                                   f"&profile={profile}", None))  # fmt: skip
        lon, lat = LUJIAZUI
        out.append(("GET", f"/api/v1/nearest?lon={lon}&lat={lat}&layer={layer}&k=1", None))
    for lon, lat in (PEOPLES_SQUARE, JINGAN_TEMPLE, LUJIAZUI):
        for profile in ("walk", "drive"):
            out.append(("GET", f"/api/v1/isochrones?lon={lon}&lat={lat}&profile={profile}"
                               f"&minutes={'5,10' if profile == 'walk' else '5'}", None))  # fmt: skip
    out.append(("GET", "/api/v1/layers/health_point/service-area?minutes=5", None))
    points = [list(PEOPLES_SQUARE), list(JINGAN_TEMPLE), list(LUJIAZUI)]
    out.append(("POST", "/api/v1/matrix", {"origins": points, "destinations": points}))
    return out


REQUESTS = _requests()
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(base: str, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError as error:  # the server went away
        return 0, repr(error)


def _status(base: str, path: str) -> int | None:
    try:
        with urllib.request.urlopen(base + path, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None


@pytest.fixture(scope="module")
def seeded_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A state folder whose SQLite store is seeded from the shipped data (once)."""
    state = tmp_path_factory.mktemp("cold-start")
    url = f"sqlite:///{state / 'registry.db'}"
    registry = Registry(open_store(url), REPO_ROOT / "data")
    registry.seed_from_shipped()
    registry.store.close()
    yield {"SERVICEMAP_STATE_DIR": str(state), "SERVICEMAP_DATABASE_URL": url}
    shutil.rmtree(state, ignore_errors=True)


def _cold_start(env: dict[str, str]) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).with_name("servicemap")), "serve", "--host",
               "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning"]  # fmt: skip
    if not Path(command[0]).exists():
        command[:1] = [sys.executable, "-m", "api.cli"]
    environment = {**os.environ, **env, "PYTHONFAULTHANDLER": "1",  # tracebacks on a crash
                   # every area computed at once and afresh: the burst is about the lazy
                   # structures, not the anonymous gate (tests/api/test_areas_api.py), and
                   # the warm answers must be recomputed, not the cold ones from the cache
                   "SERVICEMAP_ANON_AREA_CONCURRENCY": "64", "SERVICEMAP_AREA_CACHE_ENTRIES": "0"}  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        _burst_and_compare(process, base)
    except AssertionError as failure:
        stderr = _stop(process)
        raise AssertionError(f"{failure}\n--- server stderr (tail) ---\n{stderr[-4000:]}") from None
    stderr = _stop(process)
    assert "Fatal Python error" not in stderr, stderr[-4000:]


def _stop(process: subprocess.Popen[bytes]) -> str:
    """Stop the server; its standard error."""
    process.terminate()
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return stderr.decode(errors="replace")


def _burst_and_compare(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while _status(base, "/healthz") != 200:
        assert process.poll() is None, "the server exited during start-up"
        assert time.monotonic() < deadline, "the server did not listen in time"
        time.sleep(0.02)
    # the warm-up thread has just started: fire the whole burst at once
    assert _status(base, "/readyz") == 503, "the warm-up finished before the burst"
    barrier = threading.Barrier(len(REQUESTS))

    def fire(item: tuple[str, str, dict[str, Any] | None]) -> tuple[int, Any]:
        barrier.wait()
        return _call(base, *item)

    with ThreadPoolExecutor(len(REQUESTS)) as pool:
        cold = list(pool.map(fire, REQUESTS))
    assert process.poll() is None, f"the server died under the cold burst ({process.poll()})"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while _status(base, "/readyz") != 200:
        assert process.poll() is None, "the server died during its warm-up"
        assert time.monotonic() < deadline, "the warm-up did not finish in time"
        time.sleep(0.1)
    for (method, path, body), (status, answer) in zip(REQUESTS, cold, strict=True):
        assert status == 200, f"{method} {path}: {status} {answer}"
        assert _call(base, method, path, body) == (200, answer), f"{method} {path} changed"
    assert process.poll() is None


def test_the_burst_is_large_enough() -> None:
    nearest = [path for _, path, _ in REQUESTS if path.startswith("/api/v1/nearest")]
    assert len(REQUESTS) >= 48
    for layer in REGISTRY_LAYERS:
        for profile in ("walk", "drive", "straight"):
            assert any(f"layer={layer}&profile={profile}" in path for path in nearest)


@pytest.mark.parametrize("attempt", range(COLD_STARTS))
def test_cold_start_under_a_burst_of_first_requests(
    seeded_state: dict[str, str], attempt: int
) -> None:
    _cold_start(seeded_state)

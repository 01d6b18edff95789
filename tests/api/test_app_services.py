"""``app_service``: each lazily created service is built once, and names build in parallel."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

from starlette.datastructures import State

from api.deps import app_service

THREADS = 16


def test_each_service_built_once_and_one_build_never_blocks_another() -> None:
    request: Any = SimpleNamespace(app=SimpleNamespace(state=State()))
    calls: list[str] = []
    b_started = threading.Event()

    def build(name: str) -> object:
        calls.append(name)
        if name == "a":  # "a" can only finish once "b" has started
            assert b_started.wait(10), "building b waited for the build of a"
        else:
            b_started.set()
        time.sleep(0.02)
        return object()

    barrier = threading.Barrier(THREADS)

    def ask(i: int) -> tuple[str, object]:
        name = "a" if i % 2 else "b"
        barrier.wait()
        return name, app_service(request, name, lambda: build(name))

    with ThreadPoolExecutor(THREADS) as pool:
        got = list(pool.map(ask, range(THREADS)))
    assert sorted(calls) == ["a", "b"]
    for name in "ab":
        services = {id(service) for n, service in got if n == name}
        assert services == {id(getattr(request.app.state, name))}


def test_a_service_may_be_built_from_another() -> None:
    request: Any = SimpleNamespace(app=SimpleNamespace(state=State()))
    inner = app_service(request, "outer", lambda: ("outer", app_service(request, "inner", object)))
    assert inner[1] is request.app.state.inner
    assert app_service(request, "outer", object) is inner

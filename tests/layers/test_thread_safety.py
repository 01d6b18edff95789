"""The services' lazily built values are built once per key when many threads ask at once.

Each test asks a *fresh* service from ``THREADS`` threads released together by a barrier,
counts the calls of the real builder and compares the answers with serial ones.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import layers.gaps.service as gaps_module
import layers.networks as networks_module
import layers.registry.service as registry_module
from layers.gaps.service import GapService, ShippedSource
from layers.networks import NetworkService
from layers.plans.service import PlanService
from layers.registry.catalog import LAYERS, REGISTRY_LAYERS
from layers.registry.service import Registry
from layers.store import open_store

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
THREADS = 16
PEOPLES_SQUARE = (121.4737, 31.2304)


def _together(n: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _counting(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> Counter[Any]:
    """Replace ``owner.name`` by a slower wrapper counting calls by their arguments."""
    calls: Counter[Any] = Counter()
    real = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[tuple(a for a in args if isinstance(a, str | None))] += 1
        time.sleep(0.01)  # widen the window in which a second build could start
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seeded") / "registry.db"
    with open_store(f"sqlite:///{path}") as store:
        Registry(store, DATA).seed_from_shipped()
    return path


@pytest.fixture
def registry(seeded_db: Path, tmp_path: Path) -> Iterator[Registry]:
    """A fresh registry (nothing indexed yet) on a copy of the seeded store."""
    copy = tmp_path / "registry.db"
    shutil.copyfile(seeded_db, copy)
    store = open_store(f"sqlite:///{copy}")
    yield Registry(store, DATA)
    store.close()


def test_layer_indexes_and_serving_lists_built_once(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = _counting(monkeypatch, registry, "_build_index")
    lists = _counting(monkeypatch, registry_module, "_serving_list")
    layers = list(REGISTRY_LAYERS)
    got = _together(THREADS, lambda i: registry.serving(layers[i % len(layers)],
                                                        "water" if i % 3 == 0 else None))
    assert set(builds) == {(layer,) for layer in layers}
    assert max(builds.values()) == 1
    assert max(lists.values()) == 1
    for i, (version, facilities) in enumerate(got):
        layer = layers[i % len(layers)]
        service = "water" if i % 3 == 0 else None
        again = registry.serving(layer, service)
        assert again[0] == version
        if service is None or service in LAYERS[layer].services:
            assert again[1] is facilities  # the one cached list
            assert sorted(f.id for f in facilities) == sorted(
                f.id for f in registry.located(layer) if f.serving
                and (service is None or service in f.services)
            )


def test_invalidation_rebuilds_once(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    registry.located("relay_station")
    builds = _counting(monkeypatch, registry, "_build_index")
    registry.invalidate("relay_station")
    got = _together(THREADS, lambda _: registry.located("relay_station"))
    assert builds == {("relay_station",): 1}
    assert len({id(g) for g in got}) == 1


def test_service_area_prepared_once_and_queried_safely(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _counting(monkeypatch, registry_module, "SharedPrepared")
    rng = np.random.default_rng(7)
    lon = rng.uniform(120.8, 122.2, THREADS * 20)
    lat = rng.uniform(30.6, 31.9, THREADS * 20)
    got = _together(THREADS, lambda i: [registry.in_service_area(x, y) for x, y in
                                        zip(lon[i::THREADS], lat[i::THREADS], strict=True)])
    assert sum(made.values()) == 1
    serial = Registry(registry.store, DATA)
    for i, answers in enumerate(got):
        assert answers == [serial.in_service_area(x, y) for x, y in
                           zip(lon[i::THREADS], lat[i::THREADS], strict=True)]  # fmt: skip
    assert any(a for answers in got for a in answers)
    assert not all(a for answers in got for a in answers)


def test_network_service_loads_each_network_and_builds_each_index_once(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = _counting(monkeypatch, networks_module, "load_network")
    indexes = _counting(monkeypatch, networks_module, "build_facility_index")
    components = _counting(monkeypatch, networks_module, "connected_components")
    service = NetworkService(registry, DATA / "networks")
    layers = ["relay_station", "health_point"]

    def ask(i: int) -> tuple[Any, ...]:
        answer = service.nearest(*PEOPLES_SQUARE, layers[i % 2], profile="walk",
                                 k=1 if i % 4 < 2 else 3)  # fmt: skip
        return tuple((h.facility.id, h.duration_s, h.distance_m, h.method, h.route)
                     for h in answer.hits)  # fmt: skip

    got = _together(THREADS, ask)
    assert sum(loads.values()) == 1
    assert sum(indexes.values()) == len(layers)
    assert sum(components.values()) == 1
    serial = NetworkService(registry, DATA / "networks")
    for i, hits in enumerate(got):
        answer = serial.nearest(*PEOPLES_SQUARE, layers[i % 2], profile="walk",
                                k=1 if i % 4 < 2 else 3)  # fmt: skip
        assert hits == tuple((h.facility.id, h.duration_s, h.distance_m, h.method, h.route)
                             for h in answer.hits)  # fmt: skip
        assert hits


def test_gap_and_plan_inputs_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    workplaces = _counting(monkeypatch, gaps_module, "load_workplaces")
    facilities = _counting(monkeypatch, gaps_module.shipped, "iter_facilities")
    service = GapService(ShippedSource(DATA), DATA)
    demand_calls: list[int] = []

    def demand() -> object:
        demand_calls.append(1)
        time.sleep(0.01)
        return service.workplaces

    plans = PlanService(service.source, demand)  # type: ignore[arg-type]
    got = _together(THREADS, lambda i: (service.workplaces, plans.demand,
                                        service.source.facilities("health_point")))
    assert sum(workplaces.values()) == 1
    assert sum(facilities.values()) == 1
    assert len(demand_calls) == 1
    for column in zip(*got, strict=True):
        assert len({id(v) for v in column}) == 1
    assert len(got[0][0]) > 1000

"""Lazily built engine structures are built once per key when many threads ask at once.

Every test starts ``THREADS`` threads behind a barrier on a *fresh* (cold) object, counts
the calls of the real builder (wrapped with a counter) and compares the answers with the
ones computed serially on another fresh object.
"""

from __future__ import annotations

import gc
import gzip
import json
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from geo._once import OnceMap, freeze_arrays, once_per_object, once_property
from geo._prepared import SharedPrepared
from geo.network.csr import Network, load_network
from geo.network.estimate import in_coverage
from geo.network.isochrones import isochrones
from geo.network.nearest import build_facility_index, nearest
from geo.network.polygons import CLUSTER_SIZES, PieceClusters, piece_clusters, prepare_clusters

grid_module = import_module("geo.network.grid")
nearest_module = import_module("geo.network.nearest")  # the package exports a function so named

REPO = Path(__file__).resolve().parents[2]
CENTRAL_WALK = REPO / "data" / "networks" / "central_walk"
THREADS = 16


def _together(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` for ``i < n`` on ``n`` threads released at the same moment."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _counting(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str, delay_s: float = 0.01
) -> Counter[Any]:
    """Replace ``owner.name`` by a wrapper counting its calls (``delay_s`` longer each)."""
    calls: Counter[Any] = Counter()
    real = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], PieceClusters):  # key: (clusters object, level, cluster)
            calls[(id(args[0]), *args[1:])] += 1
        else:
            calls["call"] += 1
        time.sleep(delay_s)  # widen the window in which a second build could start
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def _relay_stations(net: Network) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(REPO / "data" / "facilities" / "relay_station.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh]
    lon = np.array([r["lon"] for r in rows], dtype=float)
    lat = np.array([r["lat"] for r in rows], dtype=float)
    inside = in_coverage(net, lon, lat)
    return lon[inside], lat[inside]


def _query_points(net: Network, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    node = rng.choice(net.n_nodes, size=n, replace=False)
    return (net.node_lon[node] + rng.normal(0, 2e-4, n),
            net.node_lat[node] + rng.normal(0, 2e-4, n))  # fmt: skip


# --------------------------------------------------------------------------- the helpers
def test_once_map_builds_each_key_once_and_keys_in_parallel() -> None:
    cache: OnceMap[str, object] = OnceMap()
    calls: Counter[str] = Counter()
    other_started = threading.Event()

    def build(key: str) -> object:
        calls[key] += 1
        if key == "a":  # "a" finishes only once "b" has started: builds must not serialise
            assert other_started.wait(10), "the build of b waited for the build of a"
        else:
            other_started.set()
        time.sleep(0.02)
        return object()

    keys = ["a" if i % 2 else "b" for i in range(THREADS)]
    got = _together(THREADS, lambda i: cache.get(keys[i], lambda: build(keys[i])))
    assert calls == {"a": 1, "b": 1}
    for key in "ab":
        assert len({id(v) for v, k in zip(got, keys, strict=True) if k == key}) == 1
    assert cache.peek("a") is got[keys.index("a")]


def test_once_map_does_not_cache_failures_and_rebuilds_invalid_values_once() -> None:
    cache: OnceMap[str, int] = OnceMap()
    with pytest.raises(ZeroDivisionError):
        cache.get("k", lambda: 1 // 0)
    assert "k" not in cache
    assert cache.get("k", lambda: 1) == 1
    calls: list[int] = []

    def build() -> int:
        calls.append(1)
        time.sleep(0.02)
        return 2

    got = _together(THREADS, lambda _: cache.get("k", build, valid=lambda v: v == 2))
    assert got == [2] * THREADS
    assert len(calls) == 1


def test_once_map_discard_waits_for_the_build_under_way() -> None:
    cache: OnceMap[str, str] = OnceMap()
    building = threading.Event()

    def slow() -> str:
        building.set()
        time.sleep(0.2)
        return "old"

    worker = threading.Thread(target=cache.get, args=("k", slow))
    worker.start()
    assert building.wait(5)
    cache.discard("k")  # must not return before the build stored its value
    worker.join()
    assert "k" not in cache


_FROZEN_CALLS: list[int] = []


@dataclass(frozen=True, eq=False)
class _Frozen:
    seed: int

    @once_property
    def value(self) -> list[int]:
        _FROZEN_CALLS.append(self.seed)
        time.sleep(0.02)
        return [self.seed]


def test_once_property_computes_once_per_instance_on_a_frozen_dataclass() -> None:
    a, b = _Frozen(1), _Frozen(2)
    got = _together(THREADS, lambda i: (a if i % 2 else b).value)
    assert sorted(_FROZEN_CALLS) == [1, 2]
    assert {id(v) for v in got[1::2]} == {id(a.value)}
    assert {id(v) for v in got[0::2]} == {id(b.value)}
    assert a.value == [1]
    assert set(vars(a)) == {"seed", "value"}  # the per-instance lock is gone afterwards


def test_once_per_object_keys_on_object_and_arguments_and_dies_with_the_object() -> None:
    calls: Counter[tuple[int, float]] = Counter()

    class Owner:
        pass

    @once_per_object
    def derived(owner: Owner, width: float) -> tuple[Owner, float]:
        calls[(id(owner), width)] += 1
        time.sleep(0.01)
        return owner, width  # a value may refer back to its object

    first, second = Owner(), Owner()
    owners = [first, second]
    got = _together(THREADS, lambda i: derived(owners[i % 2], float(i % 4 // 2)))
    assert sorted(calls.values()) == [1, 1, 1, 1]
    assert all(g[0] is owners[i % 2] for i, g in enumerate(got))
    dead = weakref.ref(first)
    owners.clear()
    del first, got
    gc.collect()
    assert dead() is None


def test_freeze_arrays_makes_nested_arrays_read_only() -> None:
    value = {"a": np.zeros(3), "b": (np.ones(2), [np.arange(3)])}
    freeze_arrays(value)
    for array in (value["a"], value["b"][0], value["b"][1][0]):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 5


def test_shared_prepared_copies_and_answers_like_shapely_from_many_threads() -> None:
    net = load_network(CENTRAL_WALK)
    coverage = net.coverage
    assert coverage is not None
    shared = SharedPrepared(coverage)
    assert not shapely.is_prepared(coverage)  # the caller's geometry is left alone
    lon, lat = _query_points(net, 400, seed=3)
    lon[::2] += 0.3  # half of them well east of the central coverage
    cells = shapely.buffer(shapely.points(lon, lat), 0.002)
    expected_xy = shapely.contains_xy(coverage, lon, lat)
    expected_cells = shapely.contains(coverage, cells)
    assert 0 < expected_xy.sum() < lon.size
    got = _together(THREADS, lambda i: (shared.contains_xy(lon, lat) if i % 2
                                        else shared.contains(cells)))  # fmt: skip
    for i, answer in enumerate(got):
        np.testing.assert_array_equal(answer, expected_xy if i % 2 else expected_cells)


# ------------------------------------------------------------------------ the structures
def test_network_derived_arrays_are_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch, Network, "project")  # segments projects once per build
    net = load_network(CENTRAL_WALK)
    got = _together(THREADS, lambda i: (net.segments, net.polylines, net.vertex_cum_m,
                                        net.graph("time"), net.reverse_graph("length")))
    assert calls["call"] == 1
    for column in zip(*got, strict=True):
        assert len({id(v) for v in column}) == 1
    assert not net.segments["x0"].flags.writeable


def test_snap_grid_is_built_once_while_coverage_is_queried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting(monkeypatch, grid_module, "build_snap_grid")
    net = load_network(CENTRAL_WALK)
    lon, lat = _query_points(net, 200, seed=1)

    def work(i: int) -> object:
        if i % 4 == 3:  # the coverage polygon is queried while grid builds test cells
            return in_coverage(net, lon, lat)
        return grid_module.snap_grid(net)

    got = _together(THREADS, work)
    assert calls["call"] == 1
    grids = [g for i, g in enumerate(got) if i % 4 != 3]
    assert len({id(g) for g in grids}) == 1
    serial = grid_module.build_snap_grid(load_network(CENTRAL_WALK))
    for level, expected in zip(grids[0].levels, serial.levels, strict=True):
        np.testing.assert_array_equal(level.cell_span, expected.cell_span)
        np.testing.assert_array_equal(level.cand, expected.cand)
    np.testing.assert_array_equal(grids[0].table, serial.table)
    expected_inside = in_coverage(load_network(CENTRAL_WALK), lon, lat)
    for i in range(3, THREADS, 4):
        np.testing.assert_array_equal(got[i], expected_inside)


def test_facility_index_and_top_labels_built_once_under_concurrent_queries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grids = _counting(monkeypatch, grid_module, "build_snap_grid")
    labels = _counting(monkeypatch, nearest_module, "build_top_labels")
    net = load_network(CENTRAL_WALK)
    fac_lon, fac_lat = _relay_stations(net)
    index = build_facility_index(net, fac_lon, fac_lat, prepare=False)  # everything cold
    lon, lat = _query_points(net, THREADS, seed=2)

    def query(i: int) -> tuple[Any, ...]:
        k = 1 if i % 2 else 4  # k = 1 uses the snap grid, k > 1 the top-k labels
        r = nearest(index, lon[i : i + 1], lat[i : i + 1], k=k, with_route=True)
        return (r.status.tolist(), r.facility.tolist(), r.duration_s.tolist(),
                r.distance_m.tolist(), r.routes)  # fmt: skip

    got = _together(THREADS, query)
    top = _together(THREADS, lambda _: index.top_labels)
    assert grids["call"] == 1
    assert labels["call"] == 1
    assert len({id(t) for t in top}) == 1
    assert not top[0].cost_s.flags.writeable
    assert not index.cost_s.flags.writeable
    fresh = load_network(CENTRAL_WALK)
    serial_index = build_facility_index(fresh, fac_lon, fac_lat, prepare=False)
    for i in range(THREADS):
        r = nearest(serial_index, lon[i : i + 1], lat[i : i + 1], k=1 if i % 2 else 4,
                    with_route=True)  # fmt: skip
        assert got[i] == (r.status.tolist(), r.facility.tolist(), r.duration_s.tolist(),
                          r.distance_m.tolist(), r.routes)  # fmt: skip
    np.testing.assert_array_equal(top[0].facility, serial_index.top_labels.facility)


def test_isochrone_clusters_are_unioned_once_per_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unions = _counting(monkeypatch, PieceClusters, "_union", delay_s=0.0)  # thousands
    net = load_network(CENTRAL_WALK)
    centre = (121.4737, 31.2304)

    def work(i: int) -> object:
        if i % 2:
            return isochrones(net, *centre, [5, 10])
        return prepare_clusters(net, 25.0)

    got = _together(THREADS, work)
    top = len(CLUSTER_SIZES) - 1
    n_top = -(-net.n_geo // CLUSTER_SIZES[top])
    assert max(unions.values()) == 1  # no cluster unioned twice
    assert {owner for owner, _, _ in unions} == {id(piece_clusters(net, 25.0))}
    assert sum(1 for _, level, _ in unions if level == top) == n_top
    assert len({id(got[i]) for i in range(0, THREADS, 2)}) == 1
    assert got[0] is piece_clusters(net, 25.0)
    serial = isochrones(load_network(CENTRAL_WALK), *centre, [5, 10])
    for i in range(1, THREADS, 2):
        for area, expected in zip(got[i], serial, strict=True):
            assert area.n_nodes == expected.n_nodes
            assert area.area_m2 == pytest.approx(expected.area_m2, rel=1e-9)
            assert shapely.equals(area.polygon, expected.polygon)
    fresh = piece_clusters(load_network(CENTRAL_WALK), 25.0)
    assert shapely.equals(fresh.polygon(top, 0), got[0].polygon(top, 0))


def test_no_unguarded_lazy_cache_left_in_the_code() -> None:
    """The helpers replace functools' caches everywhere (they are not single-flight)."""
    offenders = []
    for package in ("geo", "layers", "api"):
        for path in sorted((REPO / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for pattern in ("lru_cache", "cached_property", "functools.cache", "@cache\n",
                            "shapely.prepare(", "prepared.prep("):  # fmt: skip
                if pattern in text and path.name not in ("_once.py", "_prepared.py"):
                    offenders.append(f"{path.relative_to(REPO)}: {pattern.strip()}")
    assert offenders == []

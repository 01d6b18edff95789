"""One storage test-suite, run against every registry-store backend.

The ``store`` fixture is parametrised over SQLite (a file in a fresh temporary directory)
and PostGIS (a fresh schema in the test database). The PostGIS cases need a running server:
``make test`` installs and starts one (scripts/ensure-services.sh); when it is unreachable
they fail with that advice instead of being skipped.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from layers.errors import InvalidFacilityError, LayersError, StoreError
from layers.registry.hours import HoursRule, OpeningHours
from layers.registry.schema import Facility, FacilityStatus, LocationPrecision
from layers.store import BBox, FacilityQuery, FacilityStore, open_store
from layers.store.postgis import PostGISStore
from layers.store.sqlite import SQLiteStore, _query_sql

TEST_DATABASE_URL_ENV = "SERVICEMAP_TEST_DATABASE_URL"
DEFAULT_TEST_DATABASE_URL = "postgresql://servicemap_test@127.0.0.1:5432/servicemap_test"
SHANGHAI = ZoneInfo("Asia/Shanghai")
UPDATED_AT = datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=SHANGHAI)
DISTRICTS = ("黄浦区", "静安区", "浦东新区")
STATUSES = tuple(FacilityStatus)

StoreFactory = Callable[[], FacilityStore]


# -- fixtures -----------------------------------------------------------------------------


@dataclass
class PostGISDatabase:
    """The test database, this session's schema and a prefix for extra schemas."""

    url: str
    admin: psycopg.Connection
    prefix: str
    counter: itertools.count
    schema: str = ""

    def empty_session_schema(self) -> str:
        """The session schema with its rows deleted (much cheaper than new tables per test)."""
        if not self.schema:
            self.schema = self.new_schema()
        for table in ("facilities", "layer_versions", "store_meta", "registry_records",
                      "import_uploads", "audit_log", "imports", "users", "user_sessions", "jobs",
                      "rate_limits"):
            name = f'"{self.schema}".{table}'
            if self.admin.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0]:
                self.admin.execute(f"DELETE FROM {name}")
        return self.schema

    def new_schema(self) -> str:
        schema = f"{self.prefix}_{next(self.counter)}"
        self.admin.execute(f'CREATE SCHEMA "{schema}"')
        return schema

    def drop_schema(self, schema: str) -> None:
        self.admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def conninfo(self, schema: str) -> str:
        # no fsync per commit: the tests need isolation and atomicity, not durability
        options = f"-c search_path={schema},public -c synchronous_commit=off"
        return make_conninfo(self.url, options=options)


@pytest.fixture(scope="session")
def postgis_database() -> Iterator[PostGISDatabase]:
    """Connect to the PostGIS test database; fail (never skip) when it is not there."""
    url = os.environ.get(TEST_DATABASE_URL_ENV, DEFAULT_TEST_DATABASE_URL)
    advice = (
        "run `make test`, which installs and starts PostgreSQL + PostGIS "
        f"(scripts/ensure-services.sh), or point {TEST_DATABASE_URL_ENV} at a database "
        "with PostGIS"
    )
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        failure = f"PostGIS storage tests cannot reach {url}: {exc}\n{advice}"
    else:
        failure = ""
    if failure:
        pytest.fail(failure, pytrace=False)
    admin.execute("SET synchronous_commit = off")
    if admin.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone() is None:
        admin.close()
        pytest.fail(f"PostGIS is not enabled in {url}; {advice}", pytrace=False)
    prefix = f"smtest_{uuid.uuid4().hex[:10]}"
    database = PostGISDatabase(url=url, admin=admin, prefix=prefix, counter=itertools.count())
    yield database
    leftovers = admin.execute(
        "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
    ).fetchall()
    for (schema,) in leftovers:
        database.drop_schema(schema)
    admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def open_same(request: pytest.FixtureRequest, tmp_path) -> Iterator[StoreFactory]:
    """A factory opening (another) store on the same fresh database, schema initialised."""
    opened: list[FacilityStore] = []
    if request.param == "sqlite":
        path = tmp_path / "data" / "registry" / "facilities.db"

        def connect() -> FacilityStore:
            return SQLiteStore(path)

    else:
        database: PostGISDatabase = request.getfixturevalue("postgis_database")
        conninfo = database.conninfo(database.empty_session_schema())

        def connect() -> FacilityStore:
            return PostGISStore(conninfo)

    def factory() -> FacilityStore:
        store = connect()
        store.init_schema()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(open_same: StoreFactory) -> FacilityStore:
    """A fresh, empty store of each backend."""
    return open_same()


# -- record factories ---------------------------------------------------------------------


def make_facility(layer: str = "relay_station", key: str = "0001", **fields: object) -> Facility:
    """A valid facility with a located point in Huangpu unless ``fields`` say otherwise."""
    values: dict[str, object] = {
        "id": f"{layer}:{key}",
        "layer": layer,
        "name": f"测试站点 {key}",
        "district": "黄浦区",
        "lon": 121.4705745,
        "lat": 31.2346189,
        "source": "storage test",
        "updated_at": UPDATED_AT,
    }
    values.update(fields)
    return Facility(**values)


def unlocated(layer: str = "training_site", key: str = "unknown-1") -> Facility:
    """A facility whose position is unknown: listed, never drawn."""
    return make_facility(
        layer,
        key,
        lon=None,
        lat=None,
        location_precision=LocationPrecision.UNKNOWN,
        address="上海市某区某路100号（位置待核实）",
        phone="021-5555 0101",
    )


def full_record() -> Facility:
    """A facility with every field set, awkward characters and a nested ``extra``."""
    return Facility(
        id="health_point:hp-001.A_b",
        layer="health_point",
        name='静安 <img src=x onerror=alert(1)> 健康服务点 "A&B"',
        name_en="Jing'an health point",
        district="静安区",
        address="上海市静安区南京西路1号 5F\n(东门)",
        lon=121.4587123456789,
        lat=31.2291987654321,
        location_precision=LocationPrecision.HOST_SITE,
        uncertainty_m=35.5,
        host_type="party_mass_centre",
        hours=OpeningHours(
            rules=[
                HoursRule(days=["Mo", "Tu", "We", "Th", "Fr"], opens="11:30", closes="13:30"),
                HoursRule(days=["Sa"], opens="22:00", closes="02:00"),
            ],
            note="午间义诊",
        ),
        services=["consultation", "tcm", "lectures"],
        phone="021-6255 0000 转 12",
        status=FacilityStatus.UPGRADED,
        capacity=30,
        area_m2=85.25,
        source="storage test; 2023 plan",
        demo=True,
        updated_at=UPDATED_AT,
        extra={"osm_id": "node/123", "evidence": ["a", "b"], "nested": {"x": 1.5, "y": None}},
    )


def grid_facilities(n: int, seed: int = 7) -> list[Facility]:
    """``n`` seeded facilities over two layers, three districts and every status."""
    rng = random.Random(seed)
    facilities = []
    for index in range(n):
        layer = "relay_station" if index % 3 else "health_point"
        facilities.append(
            make_facility(
                layer,
                f"{index:04d}",
                district=DISTRICTS[index % len(DISTRICTS)],
                status=STATUSES[index % len(STATUSES)],
                lon=round(rng.uniform(121.2, 121.8), 7),
                lat=round(rng.uniform(30.9, 31.5), 7),
            )
        )
    return facilities


def snapshot(store: FacilityStore, layers: Iterable[str]) -> tuple[object, ...]:
    """Everything observable about ``layers``: counts, versions and full records."""
    layers = tuple(layers)
    return (
        store.counts(),
        {layer: store.layer_version(layer) for layer in layers},
        {layer: [f.model_dump() for f in store.all_in_layer(layer)] for layer in layers},
    )


def ids(facilities: Iterable[Facility]) -> list[str]:
    return [facility.id for facility in facilities]


# -- round trips --------------------------------------------------------------------------


def test_every_field_round_trips(store: FacilityStore) -> None:
    original = full_record()
    assert store.upsert_many([original]) == 1
    loaded = store.get(original.id)
    assert loaded == original
    assert loaded.model_dump() == original.model_dump()
    assert (loaded.lon, loaded.lat) == (121.4587123456789, 31.2291987654321)
    assert loaded.updated_at == UPDATED_AT
    assert loaded.updated_at.utcoffset() == timedelta(hours=8)
    assert loaded.hours is not None
    assert loaded.hours.is_open(datetime(2024, 5, 5, 1, 30, tzinfo=SHANGHAI))  # Sa 22-02
    assert loaded.services == ["consultation", "tcm", "lectures"]
    assert store.get("health_point:missing") is None


def test_unknown_location_is_listed_but_never_in_a_bbox(store: FacilityStore) -> None:
    site = unlocated()
    store.upsert_many([site, make_facility("training_site", "located")])
    loaded = store.get(site.id)
    assert loaded == site
    assert (loaded.lon, loaded.lat) == (None, None)
    assert loaded.location_precision is LocationPrecision.UNKNOWN
    assert ids(store.all_in_layer("training_site")) == [
        "training_site:located",
        "training_site:unknown-1",
    ]
    world = store.query(FacilityQuery(layer="training_site", bbox=BBox(-180, -90, 180, 90)))
    assert ids(world.items) == ["training_site:located"]
    assert world.total == 1


def test_upsert_replaces_by_id_and_moves_the_point(store: FacilityStore) -> None:
    inside = BBox(121.4, 31.2, 121.5, 31.3)
    store.upsert_many([make_facility(key="a", lon=121.45, lat=31.25)])
    assert store.query(FacilityQuery(bbox=inside)).total == 1

    moved = make_facility(key="a", name="新名称", lon=121.6, lat=31.1, status="yellow_card")
    assert store.upsert_many([moved]) == 1
    assert store.get(moved.id) == moved
    assert store.counts() == {"relay_station": 1}
    assert store.query(FacilityQuery(bbox=inside)).total == 0
    assert ids(store.query(FacilityQuery(bbox=BBox(121.55, 31.0, 121.65, 31.15))).items) == [
        moved.id
    ]

    lost = make_facility(key="a", lon=None, lat=None, location_precision=LocationPrecision.UNKNOWN)
    store.upsert_many([lost])
    assert store.query(FacilityQuery(bbox=BBox(-180, -90, 180, 90))).total == 0
    assert store.get(lost.id) == lost


def test_upsert_counts_records_and_accepts_a_generator(store: FacilityStore) -> None:
    batch = grid_facilities(30)
    assert store.upsert_many(facility for facility in batch) == 30
    assert store.counts() == {"health_point": 10, "relay_station": 20}
    assert store.upsert_many([]) == 0
    assert store.counts() == {"health_point": 10, "relay_station": 20}


def test_replace_layer_touches_only_that_layer(store: FacilityStore) -> None:
    store.upsert_many(grid_facilities(30))
    health_before = store.all_in_layer("health_point")
    replacement = [make_facility(key=f"new-{index}") for index in range(5)]
    assert store.replace_layer("relay_station", iter(replacement)) == 5
    assert store.all_in_layer("relay_station") == replacement
    assert store.all_in_layer("health_point") == health_before
    assert store.counts() == {"health_point": 10, "relay_station": 5}
    assert store.replace_layer("relay_station", []) == 0
    assert store.counts() == {"health_point": 10}
    assert store.query(FacilityQuery(layer="relay_station")).total == 0


def test_replace_layer_refuses_a_record_of_another_layer(store: FacilityStore) -> None:
    store.upsert_many(grid_facilities(12))
    before = snapshot(store, ["relay_station", "health_point"])
    mixed = [make_facility(key="x1"), make_facility("health_point", "intruder")]
    with pytest.raises(InvalidFacilityError, match="belongs to layer 'health_point'"):
        store.replace_layer("relay_station", mixed)
    assert snapshot(store, ["relay_station", "health_point"]) == before


def test_delete(store: FacilityStore) -> None:
    store.upsert_many([make_facility(key="a"), make_facility(key="b")])
    version = store.layer_version("relay_station")
    assert store.delete("relay_station:a") is True
    assert store.get("relay_station:a") is None
    assert store.layer_version("relay_station") != version
    assert ids(store.query(FacilityQuery(bbox=BBox(121, 31, 122, 32))).items) == ["relay_station:b"]
    version = store.layer_version("relay_station")
    assert store.delete("relay_station:a") is False
    assert store.delete("relay_station:never") is False
    assert store.layer_version("relay_station") == version
    assert store.counts() == {"relay_station": 1}


# -- queries ------------------------------------------------------------------------------


FILTERS: list[dict[str, object]] = [
    {},
    {"layer": "relay_station"},
    {"layer": "health_point", "district": "静安区"},
    {"district": "浦东新区"},
    {"statuses": [FacilityStatus.ACTIVE]},
    {"statuses": [FacilityStatus.NEW, FacilityStatus.RED_CARD], "layer": "relay_station"},
    {"statuses": list(STATUSES), "district": "黄浦区"},
    {"bbox": BBox(121.3, 31.0, 121.6, 31.3)},
    {"bbox": BBox(121.5, 31.1, 121.8, 31.5), "layer": "health_point", "district": "黄浦区"},
    {"bbox": BBox(121.0, 30.0, 121.1, 30.1)},
    {"layer": "rest_room"},
]


def _matches(facility: Facility, filters: dict[str, object]) -> bool:
    """The brute-force oracle for a listing."""
    if "layer" in filters and facility.layer != filters["layer"]:
        return False
    if "district" in filters and facility.district != filters["district"]:
        return False
    if "statuses" in filters and facility.status not in filters["statuses"]:  # type: ignore[operator]
        return False
    box = filters.get("bbox")
    if isinstance(box, BBox):
        if facility.lon is None or facility.lat is None:
            return False
        return box.west <= facility.lon <= box.east and box.south <= facility.lat <= box.north
    return True


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(map(str, f)) or "none")
def test_query_filters_match_brute_force(store: FacilityStore, filters: dict) -> None:
    facilities = [*grid_facilities(90), unlocated("relay_station", "nowhere")]
    store.upsert_many(facilities)
    expected = sorted(f.id for f in facilities if _matches(f, filters))
    page = store.query(FacilityQuery(limit=1000, **filters))
    assert ids(page.items) == expected
    assert page.total == len(expected)


def test_bbox_includes_edges_and_corners_exactly(store: FacilityStore) -> None:
    west, south, east, north = 121.4, 31.2, 121.5, 31.3
    middle_lon, middle_lat = 121.45, 31.25
    inside = {
        "w": (west, middle_lat),
        "e": (east, middle_lat),
        "s": (middle_lon, south),
        "n": (middle_lon, north),
        "sw": (west, south),
        "ne": (east, north),
        "nw": (west, north),
        "se": (east, south),
        "mid": (middle_lon, middle_lat),
    }
    # one ulp outside: the R*Tree's 32-bit boxes cannot tell these apart, the exact check can
    outside = {
        "w-out": (math.nextafter(west, -math.inf), middle_lat),
        "e-out": (math.nextafter(east, math.inf), middle_lat),
        "s-out": (middle_lon, math.nextafter(south, -math.inf)),
        "n-out": (middle_lon, math.nextafter(north, math.inf)),
        "far": (121.9, 31.9),
    }
    store.upsert_many(
        make_facility(key=key, lon=lon, lat=lat)
        for key, (lon, lat) in {**inside, **outside}.items()
    )
    page = store.query(FacilityQuery(bbox=BBox(west, south, east, north)))
    assert ids(page.items) == sorted(f"relay_station:{key}" for key in inside)
    assert page.total == len(inside)
    point_box = store.query(FacilityQuery(bbox=BBox(west, south, west, south)))
    assert ids(point_box.items) == ["relay_station:sw"]


def test_bbox_matches_brute_force_on_random_boxes(store: FacilityStore) -> None:
    facilities = grid_facilities(400, seed=11)
    store.upsert_many(facilities)
    rng = random.Random(3)
    for _ in range(25):
        lon_a, lon_b = sorted(rng.uniform(121.1, 121.9) for _ in range(2))
        lat_a, lat_b = sorted(rng.uniform(30.8, 31.6) for _ in range(2))
        box = BBox(lon_a, lat_a, lon_b, lat_b)
        expected = sorted(f.id for f in facilities if _matches(f, {"bbox": box}))
        page = store.query(FacilityQuery(bbox=box, limit=10, offset=3))
        assert page.total == len(expected)
        assert ids(page.items) == expected[3:13]


def test_limit_offset_and_total(store: FacilityStore) -> None:
    store.upsert_many(make_facility(key=f"{index:02d}") for index in range(25))
    expected = [f"relay_station:{index:02d}" for index in range(25)]
    pages = [store.query(FacilityQuery(limit=10, offset=offset)) for offset in (0, 10, 20)]
    assert [page.total for page in pages] == [25, 25, 25]
    assert [len(page.items) for page in pages] == [10, 10, 5]
    assert [facility.id for page in pages for facility in page.items] == expected
    beyond = store.query(FacilityQuery(limit=10, offset=40))
    assert (beyond.items, beyond.total) == ([], 25)
    empty = store.query(FacilityQuery(limit=0))
    assert (empty.items, empty.total) == ([], 25)


def test_results_are_ordered_by_id_bytewise(store: FacilityStore) -> None:
    keys = ["b", "B", "a", "A", "a-1", "a.1", "a_1", "a1", "Z9", "-x", "_x", ".x"]
    store.upsert_many(make_facility(key=key) for key in keys)
    expected = sorted(f"relay_station:{key}" for key in keys)  # code-point order
    assert ids(store.query(FacilityQuery(limit=100)).items) == expected
    assert ids(store.all_in_layer("relay_station")) == expected


def test_empty_status_list_matches_nothing(store: FacilityStore) -> None:
    store.upsert_many(grid_facilities(10))
    page = store.query(FacilityQuery(statuses=[]))
    assert (page.items, page.total) == ([], 0)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (FacilityQuery(limit=-1), "limit and offset must be between 0 and 2"),
        (FacilityQuery(offset=2**63), "offset=9223372036854775808"),
        (FacilityQuery(offset=-5), "offset=-5"),
        (FacilityQuery(bbox=BBox(121.5, 31.0, 121.4, 31.3)), "west <= east"),
        (FacilityQuery(bbox=BBox(121.4, 31.3, 121.5, 31.2)), "south <= north"),
        (FacilityQuery(bbox=BBox(math.nan, 31.0, 121.5, 31.3)), "finite"),
    ],
)
def test_bad_query_arguments_are_refused(
    store: FacilityStore, query: FacilityQuery, message: str
) -> None:
    with pytest.raises(LayersError, match=message) as caught:
        store.query(query)
    assert caught.value.status_code == 400


def test_counts(store: FacilityStore) -> None:
    assert store.counts() == {}
    store.upsert_many([*grid_facilities(7), unlocated()])
    assert store.counts() == {"health_point": 3, "relay_station": 4, "training_site": 1}


# -- versions and metadata ----------------------------------------------------------------


def test_layer_version_changes_on_every_write_and_only_for_that_layer(
    store: FacilityStore,
) -> None:
    def versions() -> tuple[int, int]:
        return store.layer_version("relay_station"), store.layer_version("health_point")

    assert versions() == (0, 0)
    store.upsert_many([make_facility(key="a")])
    relay_1, health_1 = versions()
    assert relay_1 != 0
    assert health_1 == 0

    store.upsert_many([make_facility(key="a", name="改名")])
    relay_2, health_2 = versions()
    assert relay_2 not in (0, relay_1)
    assert health_2 == health_1

    store.upsert_many([make_facility("health_point", "h")])
    relay_3, health_3 = versions()
    assert relay_3 == relay_2
    assert health_3 != health_2

    store.replace_layer("health_point", [])
    relay_4, health_4 = versions()
    assert relay_4 == relay_3
    assert health_4 not in (health_2, health_3)

    store.delete("relay_station:a")
    relay_5, health_5 = versions()
    assert relay_5 not in (relay_1, relay_2, relay_3)
    assert health_5 == health_4

    # reads, metadata and no-op writes leave versions alone
    store.query(FacilityQuery())
    store.get("relay_station:a")
    store.all_in_layer("relay_station")
    store.set_meta("data_version", "x")
    store.delete("relay_station:missing")
    store.upsert_many([])
    assert versions() == (relay_5, health_5)


def test_meta(store: FacilityStore) -> None:
    assert store.get_meta("data_version") is None
    store.set_meta("data_version", "2024-05-01")
    assert store.get_meta("data_version") == "2024-05-01"
    store.set_meta("data_version", "2024-06-01 数据")
    assert store.get_meta("data_version") == "2024-06-01 数据"
    store.set_meta("empty", "")
    assert store.get_meta("empty") == ""
    assert store.get_meta("store.schema_version") == "1"


# -- atomicity ----------------------------------------------------------------------------


class SourceFailedError(RuntimeError):
    """Raised by a record source half-way through a batch."""


def _unserialisable(index: int) -> Facility:
    return make_facility(key=f"{index:04d}", extra={"handle": object()})


def _half_located(index: int) -> Facility:
    valid = make_facility(key=f"{index:04d}")
    fields = {**dict(valid), "lat": None}
    return Facility.model_construct(**fields)


def _raising(index: int) -> Facility:
    raise SourceFailedError(f"source failed at record {index}")


FAILURES = {
    "unserialisable": (_unserialisable, InvalidFacilityError),
    "half-located": (_half_located, InvalidFacilityError),
    "source-raises": (_raising, SourceFailedError),
}


def _failing_batch(fail: Callable[[int], Facility], size: int = 1000) -> Iterator[Facility]:
    """``size`` records whose 500th one fails; the first 100 overwrite existing records."""
    for index in range(size):
        if index == 499:
            yield fail(index)
        else:
            yield make_facility(key=f"{index:04d}", name=f"batch {index}", lon=121.0 + index / 1e4)


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("operation", ["upsert_many", "replace_layer"])
def test_a_failing_batch_leaves_the_store_unchanged(
    store: FacilityStore, failure: str, operation: str
) -> None:
    store.upsert_many(make_facility(key=f"{index:04d}", name="kept") for index in range(100))
    store.upsert_many(grid_facilities(9))
    store.set_meta("data_version", "before")
    layers = ["relay_station", "health_point"]
    before = snapshot(store, layers)
    fail, error = FAILURES[failure]
    if operation == "upsert_many":
        with pytest.raises(error):
            store.upsert_many(_failing_batch(fail))
    else:
        with pytest.raises(error):
            store.replace_layer("relay_station", _failing_batch(fail))
    assert snapshot(store, layers) == before
    assert store.get("relay_station:0000").name == "kept"
    assert store.get("relay_station:0498") is None
    assert store.get_meta("data_version") == "before"
    # the store still works after the failure
    assert store.upsert_many([make_facility(key="after")]) == 1


def test_an_invalid_record_names_itself(store: FacilityStore) -> None:
    with pytest.raises(InvalidFacilityError, match=r"'relay_station:0499'.*lat=None") as caught:
        store.upsert_many([_half_located(499)])
    assert caught.value.status_code == 422
    with pytest.raises(InvalidFacilityError, match="cannot be serialised"):
        store.upsert_many([_unserialisable(3)])
    assert store.counts() == {}


# -- threads, persistence, lifecycle ------------------------------------------------------


def _run_threads(workers: list[Callable[[], None]]) -> None:
    """Run ``workers`` in threads started together; re-raise the first failure."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(workers))

    def run(worker: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=10)
            worker()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    if errors:
        raise errors[0]


def check_concurrent_reads_and_a_writer(store: FacilityStore) -> None:
    facilities = grid_facilities(120, seed=5)
    store.upsert_many(facilities)
    box = BBox(121.3, 31.0, 121.6, 31.3)
    expected_box = sorted(f.id for f in facilities if _matches(f, {"bbox": box}))
    expected_relay = sorted(f.id for f in facilities if f.layer == "relay_station")
    by_id = {f.id: f for f in facilities}

    def reader(seed: int) -> Callable[[], None]:
        def work() -> None:
            rng = random.Random(seed)
            for _ in range(15):
                facility = rng.choice(facilities)
                assert store.get(facility.id) == by_id[facility.id]
                page = store.query(FacilityQuery(bbox=box, limit=1000))
                assert ids(page.items) == expected_box
                assert ids(store.all_in_layer("relay_station")) == expected_relay

        return work

    def writer() -> None:
        for index in range(20):
            # outside the readers' box and layer, so their answers must not change
            store.upsert_many([make_facility("rest_room", f"w{index:02d}", lon=121.9, lat=31.9)])

    _run_threads([reader(seed) for seed in range(6)] + [writer])
    assert store.counts()["rest_room"] == 20
    assert store.layer_version("rest_room") == 20


def test_concurrent_reads_from_threads(store: FacilityStore) -> None:
    check_concurrent_reads_and_a_writer(store)


def test_concurrent_writers_from_threads(store: FacilityStore) -> None:
    def writer(worker: int) -> Callable[[], None]:
        def work() -> None:
            for index in range(10):
                store.upsert_many([make_facility(key=f"t{worker}-{index}")])

        return work

    _run_threads([writer(worker) for worker in range(4)])
    assert store.counts() == {"relay_station": 40}
    assert store.layer_version("relay_station") == 40


def test_data_persists_across_reopening(open_same: StoreFactory) -> None:
    first = open_same()
    first.upsert_many([full_record(), unlocated()])
    first.set_meta("data_version", "v1")
    version = first.layer_version("health_point")
    first.close()

    second = open_same()  # init_schema again on existing tables
    assert second.get(full_record().id) == full_record()
    assert second.get(unlocated().id) == unlocated()
    assert second.get_meta("data_version") == "v1"
    assert second.layer_version("health_point") == version
    assert second.counts() == {"health_point": 1, "training_site": 1}


def test_writes_are_visible_to_another_store_on_the_same_database(
    open_same: StoreFactory,
) -> None:
    writer, reader = open_same(), open_same()
    assert reader.layer_version("relay_station") == 0
    writer.upsert_many([make_facility(key="shared")])
    assert reader.get("relay_station:shared") == make_facility(key="shared")
    assert reader.layer_version("relay_station") == writer.layer_version("relay_station") != 0


def test_a_closed_store_refuses_work(store: FacilityStore) -> None:
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.get("relay_station:a")


# -- SQLite specifics ---------------------------------------------------------------------


def test_sqlite_in_memory_round_trip_and_threads() -> None:
    with SQLiteStore(":memory:") as store:
        store.init_schema()
        store.upsert_many([full_record()])
        assert store.get(full_record().id) == full_record()
    with SQLiteStore(":memory:") as threaded:
        threaded.init_schema()
        check_concurrent_reads_and_a_writer(threaded)


def test_sqlite_file_uses_wal_and_creates_parent_directories(tmp_path) -> None:
    path = tmp_path / "a" / "b" / "registry.db"
    store = open_store(f"sqlite:///{path}")
    assert isinstance(store, SQLiteStore)
    store.upsert_many([make_facility()])
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("SELECT count(*) FROM facilities_rtree").fetchone()[0] == 1
    store.close()


def test_sqlite_bbox_query_is_driven_by_the_rtree(tmp_path) -> None:
    store = SQLiteStore(tmp_path / "registry.db")
    store.init_schema()
    source, where, params = _query_sql(
        FacilityQuery(layer="relay_station", bbox=BBox(121.4, 31.2, 121.5, 31.3))
    )
    with sqlite3.connect(tmp_path / "registry.db") as raw:
        plan = raw.execute(f"EXPLAIN QUERY PLAN SELECT f.id FROM {source} WHERE {where}", params)
        steps = [row[3] for row in plan]
    store.close()
    assert steps[0].startswith("SCAN r VIRTUAL TABLE INDEX"), steps


def test_sqlite_unusable_path_is_a_store_error(tmp_path) -> None:
    (tmp_path / "taken").write_text("a file where a directory should be")
    with pytest.raises(StoreError, match="data directory"):
        SQLiteStore(tmp_path / "taken" / "registry.db")
    directory = tmp_path / "is_a_directory.db"
    directory.mkdir()
    with pytest.raises(StoreError, match="cannot open the SQLite database"):
        SQLiteStore(directory).init_schema()


def test_open_store_refuses_unknown_schemes() -> None:
    with pytest.raises(StoreError, match="unsupported database URL 'mysql'"):
        open_store("mysql://root@localhost/servicemap")


# -- PostGIS specifics --------------------------------------------------------------------


@pytest.fixture
def postgis_schema(postgis_database: PostGISDatabase) -> Iterator[str]:
    schema = postgis_database.new_schema()
    yield schema
    postgis_database.drop_schema(schema)


@pytest.mark.postgis
def test_postgis_open_store_by_url_and_gist_index(
    postgis_database: PostGISDatabase, postgis_schema: str
) -> None:
    separator = "&" if "?" in postgis_database.url else "?"
    url = f"{postgis_database.url}{separator}options=-csearch_path%3D{postgis_schema},public"
    store = open_store(url)
    assert isinstance(store, PostGISStore)
    store.upsert_many(grid_facilities(50))
    assert "password" not in repr(store)
    store.close()
    admin = postgis_database.admin
    index = admin.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
        (postgis_schema, "facilities_geom_gist"),
    ).fetchone()
    assert index is not None
    assert "USING gist (geom)" in index[0]
    geometry_type = admin.execute(
        "SELECT type, srid FROM geometry_columns WHERE f_table_schema = %s", (postgis_schema,)
    ).fetchone()
    assert geometry_type == ("POINT", 4326)
    # ids sort bytewise (as in SQLite) whatever the database's default collation is
    collation = admin.execute(
        "SELECT collation_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = 'facilities' AND column_name = 'id'",
        (postgis_schema,),
    ).fetchone()
    assert collation == ("C",)


@pytest.mark.postgis
def test_postgis_bbox_query_uses_the_gist_index(
    postgis_database: PostGISDatabase, postgis_schema: str
) -> None:
    from layers.store.postgis import _query_sql as pg_query_sql

    store = PostGISStore(postgis_database.conninfo(postgis_schema))
    store.init_schema()
    store.upsert_many(grid_facilities(200))
    store.close()
    where, params = pg_query_sql(FacilityQuery(bbox=BBox(121.4, 31.2, 121.5, 31.3)))
    with psycopg.connect(postgis_database.conninfo(postgis_schema)) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(f"EXPLAIN SELECT id FROM facilities WHERE {where}", params).fetchall()
    assert "facilities_geom_gist" in "\n".join(row[0] for row in plan)


@pytest.mark.postgis
def test_postgis_recovers_from_dropped_connections(
    postgis_database: PostGISDatabase, postgis_schema: str
) -> None:
    store = PostGISStore(postgis_database.conninfo(postgis_schema))
    store.init_schema()
    store.upsert_many([make_facility(key="a")])
    pids = [conn.info.backend_pid for conn in store._idle]
    assert pids
    for pid in pids:
        postgis_database.admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert store.get("relay_station:a") == make_facility(key="a")  # read retried
    for conn in store._idle:
        postgis_database.admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    assert store.upsert_many([make_facility(key="b")]) == 1  # pooled connection pinged
    assert store.counts() == {"relay_station": 2}
    store.close()


@pytest.mark.postgis
def test_postgis_unreachable_server_says_what_to_do() -> None:
    # port 1 on loopback: nothing listens there, the connection is refused at once
    with pytest.raises(StoreError, match="make test") as caught:
        PostGISStore("postgresql://nobody:secret@127.0.0.1:1/nothing", connect_timeout_s=2)
    assert caught.value.status_code == 503
    assert "nobody@127.0.0.1:1/nothing" in caught.value.message
    assert "secret" not in caught.value.message


@pytest.mark.postgis
def test_postgis_missing_extension_says_what_to_install(
    postgis_database: PostGISDatabase,
) -> None:
    class NoPostGIS:
        """A connection to a server where PostGIS is neither enabled nor installed."""

        def execute(self, sql: str, params: object = None) -> NoPostGIS:
            return self

        def fetchone(self) -> None:
            return None

    store = PostGISStore(postgis_database.url)
    with pytest.raises(StoreError, match="apt-get install postgresql-<major>-postgis-3"):
        store._ensure_postgis(NoPostGIS())  # type: ignore[arg-type]
    store.close()

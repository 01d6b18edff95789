"""The anonymous rate limit: 429 with Retry-After, window reset on a fake clock, staff not
limited, one count shared by two applications on one PostGIS store, exact under threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.ratelimit import client_key
from layers.ratelimit import (
    MemoryRateLimiter,
    Rate,
    RateLimiter,
    StoreRateLimiter,
    bucket,
    parse_rate,
)
from layers.store.postgis import PostGISStore
from layers.store.sqlite import SQLiteStore
from tests.api._auth import bearer, client_for, make_app, token
from tests.layers.test_store import PostGISDatabase, postgis_database  # noqa: F401 (fixture)

T0 = 1_699_999_200.0  # a window start of every window length below (a multiple of 3600)


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limited_client(state: Path, clock: FakeClock, rate: str = "3/minute", **settings) -> TestClient:
    app = make_app(state, anon_rate_limit=rate, **settings)
    app.state.rate_limiter.clock = clock
    return client_for(app)


def test_rates_parse_and_junk_is_refused() -> None:
    assert parse_rate("600/minute") == Rate(600, 60)
    assert parse_rate("10/second") == Rate(10, 1)
    assert parse_rate("5000 / hours") == Rate(5000, 3600)
    assert parse_rate("100/30s") == Rate(100, 30)
    assert parse_rate("0") is None
    assert parse_rate("") is None
    assert parse_rate("0/minute") is None
    for junk in ("600", "600 per minute", "10/fortnight", "-1/minute", "5/0s"):
        with pytest.raises(ValueError, match="rate limit"):
            parse_rate(junk)


def test_a_bad_rate_setting_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not understood"):
        make_app(tmp_path, staff=False, anon_rate_limit="lots")


def test_client_keys_group_ipv6_by_64_and_unwrap_mapped_ipv4() -> None:
    def key(host: str) -> str:
        return client_key({"client": (host, 1234)})

    assert key("203.0.113.7") == "203.0.113.7"
    assert key("2001:db8:1:2:aaaa::1") == key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert key("2001:db8:1:3::1") != key("2001:db8:1:2::1")
    assert key("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_key({"client": None}) == "unknown"


def test_over_the_limit_answers_429_with_retry_after_until_the_window_ends(tmp_path: Path) -> None:
    clock = FakeClock(T0 + 15.2)  # 44.8 s left in the minute
    with limited_client(tmp_path, clock) as client:
        for _ in range(3):
            assert client.get("/api/v1/layers").status_code == 200
        refused = client.get("/api/v1/layers")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "45"
        assert refused.headers["content-type"] == "application/json"
        body = refused.json()
        assert body["error"] == "rate_limited"
        assert "at most 3 per minute" in body["message"]
        assert body["retry_after_s"] == 45
        # the security headers and the request id still come with the refusal
        assert refused.headers["x-content-type-options"] == "nosniff"
        assert refused.headers["x-request-id"]
        assert "Retry-After" in refused.headers["access-control-expose-headers"]
        assert client.get("/api/v1/districts").status_code == 429  # per client, not per route
        clock.now = T0 + 59.9
        assert client.get("/api/v1/layers").headers["retry-after"] == "1"
        clock.now = T0 + 60.0  # the next window
        for _ in range(3):
            assert client.get("/api/v1/layers").status_code == 200
        assert client.get("/api/v1/layers").status_code == 429


def test_static_pages_and_probes_are_not_counted(tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html><title>map</title>", encoding="utf-8")
    clock = FakeClock()
    with limited_client(tmp_path, clock, rate="1/minute", static_dir=static,
                        metrics_allow="*") as client:  # fmt: skip
        for _ in range(5):
            for path in ("/healthz", "/readyz", "/metrics", "/", "/index.html"):
                assert client.get(path).status_code == 200, path
        preflight = client.options("/api/v1/layers", headers={
            "Origin": "https://example.org", "Access-Control-Request-Method": "GET"})  # fmt: skip
        assert preflight.status_code == 204
        assert client.get("/api/v1/layers").status_code == 200  # the one of this window
        assert client.get("/api/v1/layers").status_code == 429


def test_staff_are_not_limited_but_made_up_credentials_are(tmp_path: Path) -> None:
    clock = FakeClock()
    with limited_client(tmp_path, clock, rate="2/minute") as client:
        access = token(client, "plan")  # the login itself counts as an anonymous request
        for _ in range(10):
            me = client.get("/api/v1/auth/me", headers=bearer(access))
            assert me.status_code == 200
            assert me.json()["username"] == "plan"
            assert client.get("/api/v1/layers", headers=bearer(access)).status_code == 200
        # a staff session cookie passes too
        login = client.post("/api/v1/auth/login", json={"username": "ed",
                                                       "password": "staff password 1"})  # fmt: skip
        assert login.status_code == 200, login.text
        assert client.get("/api/v1/layers").status_code == 200  # the cookie rides along
        client.cookies.clear()
        # anonymous: the two of the window were the two logins
        assert client.get("/api/v1/layers").status_code == 429
        for junk in ({"Authorization": "Bearer not-a-token"},
                     {"Cookie": "servicemap_session=made-up"}):  # fmt: skip
            assert client.get("/api/v1/layers", headers=junk).status_code == 429


def test_without_a_limit_nothing_is_refused(tmp_path: Path) -> None:
    app = make_app(tmp_path, staff=False)
    assert app.state.rate_limiter is None
    with client_for(app) as client:
        assert all(client.get("/api/v1/layers").status_code == 200 for _ in range(20))


# -- shared counts -------------------------------------------------------------------------


@pytest.fixture
def postgis_url(postgis_database: PostGISDatabase) -> Iterator[str]:  # noqa: F811
    schema = postgis_database.new_schema()
    joiner = "&" if "?" in postgis_database.url else "?"
    yield f"{postgis_database.url}{joiner}options=-csearch_path%3D{schema},public"
    postgis_database.drop_schema(schema)


@pytest.mark.postgis
def test_two_applications_on_one_postgis_store_share_the_count(
    tmp_path: Path, postgis_url: str
) -> None:
    clock = FakeClock()
    apps = [make_app(tmp_path / name, staff=False, database_url=postgis_url,
                     anon_rate_limit="5/minute") for name in ("a", "b")]  # fmt: skip
    for app in apps:
        assert isinstance(app.state.rate_limiter, StoreRateLimiter)
        app.state.rate_limiter.clock = clock
    with client_for(apps[0]) as first, client_for(apps[1]) as second:
        answers = [client.get("/api/v1/layers").status_code
                   for client in (first, second, first, second, first, second, first)]  # fmt: skip
        assert answers == [200, 200, 200, 200, 200, 429, 429]
        clock.now += 60  # both see the new window
        assert second.get("/api/v1/layers").status_code == 200
        assert first.get("/api/v1/layers").status_code == 200


def _limiter(kind: str, rate: Rate, tmp_path: Path, request: pytest.FixtureRequest,
             clock: FakeClock) -> tuple[RateLimiter, list]:  # fmt: skip
    if kind == "memory":
        return MemoryRateLimiter(rate, clock), []
    if kind == "sqlite":
        store = SQLiteStore(tmp_path / "limits.db")
    else:
        url = request.getfixturevalue("postgis_url")
        store = PostGISStore(url, max_connections=8)
    store.init_schema()
    return StoreRateLimiter(rate, store, clock), [store]


@pytest.mark.parametrize("kind", ["memory", "sqlite",
                                  pytest.param("postgis", marks=pytest.mark.postgis)])  # fmt: skip
def test_exactly_the_limit_is_allowed_under_concurrency(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    clock = FakeClock()
    limiter, stores = _limiter(kind, Rate(25, 60), tmp_path, request, clock)
    threads_n, hits_each = 16, 5  # 80 hits, 25 allowed
    barrier = threading.Barrier(threads_n)
    allowed: list[bool] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        for _ in range(hits_each):
            decision = limiter.hit("198.51.100.9")
            with lock:
                allowed.append(decision.allowed)

    threads = [threading.Thread(target=run) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == threads_n * hits_each
    assert sum(allowed) == 25
    assert limiter.hit("198.51.100.10").allowed  # another client has its own count
    for store in stores:
        with store.sql_transaction(write=False) as conn:
            rows = conn.execute("SELECT bucket, window_start, hits FROM rate_limits "
                                "ORDER BY hits DESC").fetchall()  # fmt: skip
        # hashed, never the address; the refused hits of this process stop at the database
        assert rows[0][0] == bucket("198.51.100.9")
        assert "198.51.100" not in rows[0][0]
        assert rows[0][1] == int(T0)
        assert rows[0][2] >= 26
        store.close()


def test_the_store_limiter_deletes_old_windows_and_lets_requests_through_on_errors(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "limits.db")
    store.init_schema()
    limiter = StoreRateLimiter(Rate(1, 60), store, clock)
    assert limiter.hit("a").allowed
    assert not limiter.hit("a").allowed
    clock.now += 120  # two windows on: the old one is deleted by the first hit
    assert limiter.hit("b").allowed
    with store.sql_transaction(write=False) as conn:
        windows = {row[0] for row in conn.execute("SELECT window_start FROM rate_limits")}
    assert windows == {int(T0) + 120}
    store.close()  # the store is gone: fail open, never 500
    assert limiter.hit("b").allowed

"""Plan and route jobs over HTTP: Idempotency-Key, DELETE, 429 + Retry-After, and each
caller seeing only their own (or their district's) jobs, 404 for the others."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.deps import get_actor
from layers.accounts.roles import Actor, Role
from layers.jobs import JobLimits, JobQueue
from tests.api.test_plans_api import SMALL

ALICE = Actor("alice", Role.CHECKUP_STAFF, "黄浦区")
BOB = Actor("bob", Role.CHECKUP_STAFF, "静安区")
CAROL = Actor("carol", Role.PLANNER, "黄浦区")
DAVE = Actor("dave", Role.CHECKUP_STAFF, "黄浦区")
ADMIN = Actor("root", Role.ADMIN)


@pytest.fixture
def acting(client: TestClient) -> Iterator[Any]:
    """``acting(actor)`` makes the following requests come from ``actor``."""
    app: Any = client.app

    def act(actor: Actor) -> TestClient:
        app.dependency_overrides[get_actor] = lambda: actor
        return client

    yield act
    app.dependency_overrides.pop(get_actor, None)


def route_request(client: TestClient, n_bookings: int = 4, time_limit_s: float = 1) -> dict:
    week = client.get("/api/v1/routes/sample").json()
    request = {k: week[k] for k in ("slots", "depots", "packages", "start_date")}
    request["days"] = 1
    request["vehicles"] = [dict(v, days=[0]) for v in week["vehicles"][:1]]
    request["bookings"] = [dict(b, slots=["AM", "PM"]) for b in week["bookings"][:n_bookings]]
    request["time_limit_s"] = time_limit_s
    return request


def wait_final(client: TestClient, url: str, timeout_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(url).json()
        if body["status"] in ("done", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def test_idempotency_key_returns_the_same_plan(acting: Any) -> None:
    client = acting(CAROL)
    headers = {"Idempotency-Key": "plan-2026-12-carol"}
    first = client.post("/api/v1/plans", json=SMALL, headers=headers)
    again = client.post("/api/v1/plans", json=SMALL, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    other = client.post("/api/v1/plans", json={**SMALL, "n_new": 3}, headers=headers)
    assert other.status_code == 409
    assert other.json()["error"] == "idempotency_key_reused"
    body = wait_final(client, first.json()["links"]["self"])
    assert body["status"] == "done", body
    assert body["summary"]["n_new"] == 2
    # the key still names the finished job
    assert client.post("/api/v1/plans", json=SMALL, headers=headers).json()["id"] == body["id"]
    blank = client.post("/api/v1/plans", json=SMALL, headers={"Idempotency-Key": ""})
    assert blank.status_code == 422


def test_jobs_are_visible_to_their_owner_district_and_admins_only(acting: Any) -> None:
    client = acting(ALICE)
    created = client.post("/api/v1/routes", json=route_request(client))
    assert created.status_code == 202, created.text
    job = created.json()
    links = job["links"]
    assert wait_final(client, links["self"])["status"] == "done"
    for url in (links["self"], links["schedule"], links["csv"]):
        assert client.get(url).status_code == 200
    mine = {r["id"] for r in client.get("/api/v1/routes").json()["routes"]}
    assert job["id"] in mine
    bob = acting(BOB)
    for url in (links["self"], links["schedule"], links["csv"]):
        answer = bob.get(url)
        assert answer.status_code == 404, url
        assert answer.json()["error"] == "job_not_found"
    assert bob.delete(links["self"]).status_code == 404
    assert job["id"] not in {r["id"] for r in bob.get("/api/v1/routes").json()["routes"]}
    assert bob.get("/api/v1/plans/" + job["id"]).status_code == 403  # check-up staff plan nothing
    carol = acting(CAROL)  # a planner of alice's district: check-up plans are not hers to read
    assert carol.get(links["self"]).status_code == 403
    dave = acting(DAVE)  # check-up staff of alice's district
    assert dave.get(links["self"]).status_code == 200
    admin = acting(ADMIN)
    assert job["id"] in {r["id"] for r in admin.get("/api/v1/routes").json()["routes"]}
    alice = acting(ALICE)
    assert alice.delete(links["self"]).status_code == 204  # a finished job is deleted
    assert alice.get(links["self"]).status_code == 404


@pytest.fixture
def tight_queue(client: TestClient) -> Iterator[None]:
    """Submissions go through a queue allowing 2 queued jobs per user (same database)."""
    app: Any = client.app
    usual = app.state.jobs  # (monkeypatch would delete the attribute of starlette's State)
    app.state.jobs = JobQueue(app.state.registry.store,
                              JobLimits(concurrency=1, max_queued_per_owner=2))  # fmt: skip
    yield
    app.state.jobs = usual


@pytest.mark.usefixtures("tight_queue")
def test_delete_cancels_queued_and_running_jobs_and_429_when_full(acting: Any) -> None:
    client = acting(BOB)
    running = client.post("/api/v1/routes", json=route_request(client, time_limit_s=20)).json()
    deadline = time.monotonic() + 60
    # cancel once the search runs (it reports progress every 50 ms; the drive times
    # before it report none and take longer while the server warms up)
    while "searching" not in client.get(running["links"]["self"]).json()["progress"]["message"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    queued = [client.post("/api/v1/routes", json=route_request(client, n_bookings=k)).json()
              for k in (2, 3)]  # fmt: skip
    refused = client.post("/api/v1/routes", json=route_request(client, n_bookings=1))
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "job_queue_full"
    assert int(refused.headers["retry-after"]) >= 1
    assert "you have 2 jobs waiting" in refused.json()["message"]
    cancelled = client.delete(queued[0]["links"]["self"])
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    late = client.post("/api/v1/routes", json=route_request(client, n_bookings=1))
    assert late.status_code == 202
    for job in (queued[1], late.json()):  # nothing may start once the running job stops
        assert client.delete(job["links"]["self"]).json()["status"] == "cancelled"
    stopping = client.delete(running["links"]["self"])
    assert stopping.status_code == 202
    assert stopping.json()["cancel_requested"] is True
    started = time.monotonic()
    final = wait_final(client, running["links"]["self"])
    assert final["status"] == "cancelled"
    assert time.monotonic() - started < 10  # stopped well before its 20 s limit
    # its search processes (children of this process, which runs the worker) are gone too
    assert [p.pid for p in multiprocessing.active_children()] == []
    assert client.get(running["links"]["csv"]).json()["error"] == "plan_cancelled"
    assert wait_final(client, queued[0]["links"]["self"])["status"] == "cancelled"

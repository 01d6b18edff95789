"""Durable jobs on both stores: submission, idempotency, bounds, access, cancel, progress
seen from another store object, leases, retries after a dead process, retention."""

# ruff: noqa: F811  (the store fixtures are imported from test_store and then requested)

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from layers.accounts.roles import Actor, Role
from layers.errors import LayersError
from layers.jobs import (
    Job,
    JobConflictError,
    JobKinds,
    JobLimits,
    JobNotFoundError,
    JobQueue,
    JobQueueFullError,
    JobRequestError,
    JobScope,
    JobStatus,
    JobWorker,
    ProgressCallback,
)
from layers.store import FacilityStore
from tests.layers.test_store import open_same, postgis_database  # noqa: F401 (fixtures)

ALICE = Actor("alice", Role.PLANNER, "黄浦区")
BOB = Actor("bob", Role.PLANNER, "静安区")
CAROL = Actor("carol", Role.CHECKUP_STAFF, "黄浦区")  # alice's district
CITY = Actor("city-planner", Role.PLANNER)  # no district: own jobs only
REVIEWER = Actor("rita", Role.REVIEWER)
FAST = JobLimits(concurrency=1, lease_s=1.5, poll_s=0.05, max_queued=6, max_queued_per_owner=4)


class FakeClock:
    """A clock the test moves by hand (leases and retention without waiting)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def store(open_same: Callable[[], FacilityStore]) -> FacilityStore:
    return open_same()


@pytest.fixture
def workers() -> Iterator[list[JobWorker]]:
    started: list[JobWorker] = []
    yield started
    for worker in started:
        worker.shutdown(wait_s=2)


def start_worker(queue: JobQueue, kinds: JobKinds, workers: list[JobWorker]) -> JobWorker:
    worker = JobWorker(queue, kinds)
    worker.start()
    workers.append(worker)
    return worker


def wait_for(queue: JobQueue, job_id: str, done: Callable[[Job], bool],
             timeout_s: float = 15.0) -> Job:  # fmt: skip
    deadline = time.monotonic() + timeout_s
    scope = JobScope("test", everything=True)
    while True:
        job = queue.get(job_id, scope, with_result=True)
        if done(job):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job.status}: {job.message}"
        time.sleep(0.02)


def add(request: dict[str, Any], progress: ProgressCallback) -> dict[str, Any]:
    progress("adding", 0.5)
    return {"sum": request["a"] + request["b"]}


def kinds_with(**functions: Callable[..., Any]) -> JobKinds:
    kinds = JobKinds()
    for name, function in functions.items():
        kinds.register(name, function)
    return kinds


# -- submission, results, failures ------------------------------------------------------


def test_a_job_runs_from_its_json_request_and_keeps_its_result(
    store: FacilityStore, workers: list[JobWorker]
) -> None:
    queue = JobQueue(store, FAST)
    job, created = queue.submit("add", {"a": 2, "b": 3}, ALICE)
    assert created
    assert job.status is JobStatus.QUEUED
    assert (job.owner, job.owner_district, job.attempts) == ("alice", "黄浦区", 0)
    start_worker(queue, kinds_with(add=add), workers)
    done = wait_for(queue, job.id, lambda j: j.finished)
    assert done.status is JobStatus.DONE
    assert done.result == {"sum": 5}
    assert done.attempts == 1
    assert done.fraction == 1.0
    assert done.created_at <= done.started_at <= done.finished_at
    body = done.to_dict()
    assert body["status"] == "done"
    assert "result" not in body
    assert "request" not in body


def test_failures_keep_a_safe_message_and_status(
    store: FacilityStore, workers: list[JobWorker]
) -> None:
    def refuse(request: Any, progress: ProgressCallback) -> None:
        error = LayersError("capacity 120 < demand 340")
        error.status_code = 422
        raise error

    def crash(request: Any, progress: ProgressCallback) -> None:
        raise ZeroDivisionError("secret internals")

    queue = JobQueue(store, FAST)
    start_worker(queue, kinds_with(refuse=refuse, crash=crash, add=add), workers)
    refused = wait_for(queue, queue.submit("refuse", {}, ALICE)[0].id, lambda j: j.finished)
    assert (refused.status, refused.error, refused.error_status) == (
        JobStatus.FAILED, "capacity 120 < demand 340", 422)  # fmt: skip
    crashed = wait_for(queue, queue.submit("crash", {}, ALICE)[0].id, lambda j: j.finished)
    assert crashed.status is JobStatus.FAILED
    assert crashed.error_status == 500
    assert "secret" not in (crashed.error or "")
    # the worker lives on
    assert wait_for(queue, queue.submit("add", {"a": 1, "b": 1}, ALICE)[0].id,
                    lambda j: j.finished).result == {"sum": 2}  # fmt: skip


def test_idempotency_key_returns_the_same_job(store: FacilityStore) -> None:
    queue = JobQueue(store, FAST)
    first, created = queue.submit("add", {"a": 1, "b": 2}, ALICE, idempotency_key="k-1")
    again, created_again = queue.submit("add", {"b": 2, "a": 1}, ALICE, idempotency_key="k-1")
    assert created
    assert not created_again
    assert again.id == first.id
    with pytest.raises(JobConflictError, match="'k-1' was already used for a different"):
        queue.submit("add", {"a": 1, "b": 3}, ALICE, idempotency_key="k-1")
    others, created_other = queue.submit("add", {"a": 1, "b": 2}, BOB, idempotency_key="k-1")
    assert created_other
    assert others.id != first.id  # keys are per owner
    unkeyed = {queue.submit("add", {"a": 1, "b": 2}, ALICE)[0].id for _ in range(2)}
    assert len(unkeyed) == 2  # without a key every submission is a new job
    assert len(queue.list(JobScope.of(ALICE))) == 3


def test_queue_bounds_answer_429_with_retry_after(store: FacilityStore) -> None:
    queue = JobQueue(store, FAST)  # no worker: everything stays queued
    for k in range(4):
        queue.submit("add", {"a": k, "b": 0}, ALICE)
    with pytest.raises(JobQueueFullError, match="you have 4 jobs waiting") as own:
        queue.submit("add", {"a": 9, "b": 0}, ALICE)
    assert own.value.status_code == 429
    assert 1 <= own.value.retry_after_s <= 600
    queue.submit("add", {"a": 1, "b": 0}, BOB)
    queue.submit("add", {"a": 2, "b": 0}, BOB)
    with pytest.raises(JobQueueFullError, match="6 jobs are waiting") as full:
        queue.submit("add", {"a": 3, "b": 0}, CITY)
    assert full.value.retry_after_s >= 1
    # a replay of an accepted submission is never refused
    keyed = JobQueue(store, JobLimits(max_queued=7, max_queued_per_owner=5))
    job, _ = keyed.submit("add", {"a": 5}, ALICE, idempotency_key="late")
    assert keyed.submit("add", {"a": 5}, ALICE, idempotency_key="late")[0].id == job.id


def test_callers_see_their_own_their_districts_or_every_job(store: FacilityStore) -> None:
    queue = JobQueue(store, JobLimits(max_queued=50, max_queued_per_owner=10))
    alices = queue.submit("route", {"n": 1}, ALICE)[0]
    bobs = queue.submit("route", {"n": 2}, BOB)[0]
    citys = queue.submit("plan", {"n": 3}, CITY)[0]

    def listed(actor: Actor, kind: str | None = None) -> set[str]:
        return {j.id for j in queue.list(JobScope.of(actor), kind=kind)}

    assert listed(ALICE) == {alices.id}
    assert listed(BOB) == {bobs.id}
    assert listed(CAROL) == {alices.id}  # same district
    assert listed(CITY) == {citys.id}
    assert listed(REVIEWER) == {alices.id, bobs.id, citys.id}
    assert listed(REVIEWER, kind="plan") == {citys.id}
    assert queue.get(alices.id, JobScope.of(CAROL)).id == alices.id
    for actor, job in ((BOB, alices), (ALICE, bobs), (CITY, bobs), (ALICE, citys)):
        with pytest.raises(JobNotFoundError):
            queue.get(job.id, JobScope.of(actor))
        with pytest.raises(JobNotFoundError):
            queue.cancel(job.id, JobScope.of(actor))
    with pytest.raises(JobNotFoundError):  # right owner, wrong kind: not found either
        queue.get(alices.id, JobScope.of(ALICE), kind="plan")
    assert queue.get(bobs.id, JobScope.of(BOB)).status is JobStatus.QUEUED  # untouched


# -- cancel ----------------------------------------------------------------------------


def test_cancel_queued_running_and_finished(
    store: FacilityStore, workers: list[JobWorker]
) -> None:
    gate = threading.Event()
    ran: list[Any] = []

    def slow(request: Any, progress: ProgressCallback) -> str:
        ran.append(request)
        progress("waiting for the gate", 0.1)
        while not gate.wait(0.05):
            progress("still waiting", 0.2)
        return "finished"

    queue = JobQueue(store, FAST)
    scope = JobScope.of(ALICE)
    running = queue.submit("slow", {"n": 1}, ALICE)[0]
    queued = queue.submit("slow", {"n": 2}, ALICE)[0]
    start_worker(queue, kinds_with(slow=slow), workers)
    wait_for(queue, running.id, lambda j: j.status is JobStatus.RUNNING)
    cancelled = queue.cancel(queued.id, scope)
    assert cancelled is not None
    assert cancelled.status is JobStatus.CANCELLED
    asked = queue.cancel(running.id, scope)
    assert asked is not None
    assert asked.status is JobStatus.RUNNING
    assert asked.cancel_requested
    stopped = wait_for(queue, running.id, lambda j: j.finished)
    assert stopped.status is JobStatus.CANCELLED
    assert stopped.error == "cancelled while it ran"
    time.sleep(0.3)  # the worker is free: a cancelled queued job must still not run
    assert ran == [{"n": 1}]
    assert queue.get(queued.id, scope).status is JobStatus.CANCELLED
    assert queue.cancel(queued.id, scope) is None  # a finished job is deleted
    with pytest.raises(JobNotFoundError):
        queue.get(queued.id, scope)


# -- several processes on one database ---------------------------------------------------


def test_progress_is_visible_from_another_store_object(
    open_same: Callable[[], FacilityStore], workers: list[JobWorker]
) -> None:
    gate = threading.Event()

    def reports(request: Any, progress: ProgressCallback) -> str:
        progress("step 1 of 2", 0.5)
        gate.wait(10)
        return "ok"

    here = JobQueue(open_same(), FAST)
    elsewhere = JobQueue(open_same(), FAST)  # as another server process would open it
    job = here.submit("reports", {}, ALICE)[0]
    start_worker(here, kinds_with(reports=reports), workers)
    seen = wait_for(elsewhere, job.id, lambda j: j.message == "step 1 of 2")
    assert seen.status is JobStatus.RUNNING
    assert seen.fraction == 0.5
    # a cancel asked through the other process reaches the running job too
    assert elsewhere.cancel(job.id, JobScope.of(ALICE)).cancel_requested  # type: ignore[union-attr]
    gate.set()
    final = wait_for(elsewhere, job.id, lambda j: j.finished)
    assert final.status in (JobStatus.CANCELLED, JobStatus.DONE)  # it may finish first
    # a second process's worker serves the same queue: concurrency is store-wide
    second = JobQueue(open_same(), FAST)
    ids = [here.submit("add", {"a": k, "b": 1}, BOB)[0].id for k in range(3)]
    start_worker(second, kinds_with(add=add), workers)
    results = [wait_for(elsewhere, i, lambda j: j.finished).result for i in ids]
    assert results == [{"sum": 1}, {"sum": 2}, {"sum": 3}]


def test_running_jobs_are_bounded_over_all_processes(
    open_same: Callable[[], FacilityStore],
) -> None:
    limits = JobLimits(concurrency=1, lease_s=30)
    one, two = JobQueue(open_same(), limits), JobQueue(open_same(), limits)
    for k in range(2):
        one.submit("add", {"a": k}, ALICE)
    taken = one.claim("process-1", ["add"])
    assert taken is not None
    assert taken.request == {"a": 0}
    assert two.claim("process-2", ["add"]) is None  # one job with a live lease: full
    assert two.claim("process-2", ["other"]) is None
    assert one.finish(taken.id, "process-1", JobStatus.DONE, result={"ok": True})
    second = two.claim("process-2", ["add"])
    assert second is not None
    assert second.request == {"a": 1}


def test_a_dead_process_job_is_retried_then_failed_after_its_attempts(
    store: FacilityStore,
) -> None:
    clock = FakeClock()
    queue = JobQueue(store, JobLimits(concurrency=2, lease_s=10, max_attempts=2), clock=clock)
    job = queue.submit("add", {"a": 1}, ALICE)[0]
    first = queue.claim("dead-1", ["add"])
    assert first is not None
    assert first.attempts == 1
    clock.advance(9)
    assert queue.recover_expired() == (0, 0)  # the lease still holds
    assert queue.renew("dead-1") == {job.id: False}  # renewed: 10 s from now
    clock.advance(11)  # nobody renews any more: the process died
    assert queue.recover_expired() == (1, 0)
    again = queue.get(job.id, JobScope.of(ALICE))
    assert again.status is JobStatus.QUEUED
    assert "stopped" in again.message
    # the dead process's late writes are refused (fenced by the lease)
    assert queue.progress(job.id, "dead-1", "late", 0.9) is None
    assert not queue.finish(job.id, "dead-1", JobStatus.DONE, result={"stale": True})
    second = queue.claim("dead-2", ["add"])
    assert second is not None
    assert second.attempts == 2
    clock.advance(11)
    assert queue.recover_expired() == (0, 1)
    failed = queue.get(job.id, JobScope.of(ALICE), with_result=True)
    assert failed.status is JobStatus.FAILED
    assert failed.error_status == 500
    assert "interrupted 2 time(s)" in (failed.error or "")
    assert failed.result is None


def test_shutdown_gives_running_jobs_back_without_counting_an_attempt(
    store: FacilityStore,
) -> None:
    started = threading.Event()

    def long(request: Any, progress: ProgressCallback) -> str:
        started.set()
        for _ in range(400):
            progress("working", 0.5)
            time.sleep(0.01)
        return "too late"

    queue = JobQueue(store, FAST)
    job = queue.submit("long", {}, ALICE)[0]
    worker = JobWorker(queue, kinds_with(long=long))
    worker.start()
    assert started.wait(10)
    worker.shutdown(wait_s=3)
    back = queue.get(job.id, JobScope.of(ALICE))
    assert back.status is JobStatus.QUEUED
    assert back.attempts == 0
    assert "server stopped" in back.message


# -- retention ---------------------------------------------------------------------------


def test_finished_jobs_are_kept_for_the_retention_period_only(store: FacilityStore) -> None:
    clock = FakeClock()
    day = 86400.0
    queue = JobQueue(store, JobLimits(concurrency=2, retention_s=7 * day, max_queued=4,
                                      max_queued_per_owner=3), clock=clock)  # fmt: skip
    mine = queue.submit("add", {"a": 1}, ALICE)[0]
    claimed = queue.claim("w", ["add"])
    assert claimed is not None
    assert queue.finish(mine.id, "w", JobStatus.DONE, result={"sum": 1})
    waiting = queue.submit("add", {"a": 2}, ALICE)[0]
    # a flood of other users' submissions never evicts a finished result
    for k in range(3):
        queue.submit("add", {"a": k}, Actor(f"flooder-{k}", Role.PLANNER))
    for _ in range(5):
        with pytest.raises(JobQueueFullError):
            queue.submit("add", {"a": 9}, Actor("flooder-9", Role.PLANNER))
    clock.advance(6.9 * day)
    assert queue.purge_finished() == 0
    assert queue.get(mine.id, JobScope.of(ALICE), with_result=True).result == {"sum": 1}
    clock.advance(0.2 * day)
    assert queue.purge_finished() == 1
    with pytest.raises(JobNotFoundError):
        queue.get(mine.id, JobScope.of(ALICE))
    clock.advance(30 * day)
    queue.purge_finished()
    assert queue.get(waiting.id, JobScope.of(ALICE)).status is JobStatus.QUEUED  # never purged


def test_limits_and_requests_are_checked(store: FacilityStore) -> None:
    with pytest.raises(ValueError, match="concurrency must be between 1 and"):
        JobLimits(concurrency=0)
    with pytest.raises(ValueError, match="lease_s must be positive"):
        JobLimits(lease_s=0)
    with pytest.raises(JobRequestError, match="not plain JSON"):
        JobQueue(store).submit("add", {"a": float("nan")}, ALICE)
    with pytest.raises(TypeError, match="keeps no jobs"):
        JobQueue(object())
    kinds = kinds_with(add=add)
    with pytest.raises(ValueError, match="already registered"):
        kinds.register("add", lambda r, p: None)

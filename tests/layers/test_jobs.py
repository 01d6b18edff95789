"""The background job runner: life cycle, progress, failures, bounded storage, threads."""

from __future__ import annotations

import threading

import pytest

from layers.errors import LayersError
from layers.jobs.runner import (
    JobNotFoundError,
    JobQueueFullError,
    JobRunner,
    JobStatus,
    ProgressCallback,
)


def add(a: int, b: int, progress_cb: ProgressCallback) -> int:
    progress_cb("adding", 0.5)
    return a + b


def test_job_lifecycle_and_progress() -> None:
    runner = JobRunner(workers=1)
    gate = threading.Event()
    seen: list[str] = []

    def slow(progress_cb: ProgressCallback) -> str:
        progress_cb("waiting for the gate", 0.25)
        seen.append("started")
        gate.wait(5)
        return "finished"

    job = runner.submit(slow, kind="plan")
    assert job.status is JobStatus.QUEUED
    assert job.created_at is not None
    queued_behind = runner.submit(add, 1, 2, kind="plan")
    for _ in range(200):
        if runner.get(job.id).message == "waiting for the gate":
            break
        threading.Event().wait(0.01)
    running = runner.get(job.id)
    assert running.status is JobStatus.RUNNING
    assert running.fraction == 0.25
    assert runner.get(queued_behind.id).status is JobStatus.QUEUED  # one worker
    gate.set()
    done = runner.wait(job.id, timeout_s=5)
    assert done.status is JobStatus.DONE
    assert done.result == "finished"
    assert done.finished_at is not None
    assert done.started_at is not None
    assert done.finished_at >= done.started_at
    assert runner.wait(queued_behind.id, timeout_s=5).result == 3
    body = done.to_dict()
    assert body["status"] == "done"
    assert body["progress"]["fraction"] == 1.0
    assert "result" not in body
    runner.shutdown(wait_s=1)


def test_failures_keep_a_safe_message_and_status() -> None:
    runner = JobRunner()

    def refuse(progress_cb: ProgressCallback) -> None:
        error = LayersError("capacity 120 < demand 340")
        error.status_code = 422
        raise error

    def crash(progress_cb: ProgressCallback) -> None:
        raise ZeroDivisionError("secret internals")

    refused = runner.wait(runner.submit(refuse).id, timeout_s=5)
    assert refused.status is JobStatus.FAILED
    assert refused.error == "capacity 120 < demand 340"
    assert refused.error_status == 422
    crashed = runner.wait(runner.submit(crash).id, timeout_s=5)
    assert crashed.status is JobStatus.FAILED
    assert "secret" not in (crashed.error or "")
    assert crashed.error_status == 500
    # the worker survives failures
    assert runner.wait(runner.submit(add, 2, 2).id, timeout_s=5).result == 4


def test_storage_is_bounded_and_kinds_are_separate() -> None:
    runner = JobRunner(workers=1, max_jobs=3)
    ids = [runner.submit(add, k, 0, kind="route").id for k in range(3)]
    for job_id in ids:
        runner.wait(job_id, timeout_s=5)
    newest = runner.submit(add, 9, 0, kind="plan")
    runner.wait(newest.id, timeout_s=5)
    kept = [j.id for j in runner.jobs()]
    assert len(kept) == 3
    assert ids[0] not in kept  # the oldest finished job was forgotten
    with pytest.raises(JobNotFoundError):
        runner.get(ids[0])
    with pytest.raises(JobNotFoundError):
        runner.get(newest.id, kind="route")
    assert runner.get(newest.id, kind="plan").result == 9
    assert [j.id for j in runner.jobs(kind="plan")] == [newest.id]


def test_full_queue_is_refused() -> None:
    runner = JobRunner(workers=1, max_jobs=2)
    gate = threading.Event()

    def wait(progress_cb: ProgressCallback) -> None:
        gate.wait(5)

    runner.submit(wait)
    runner.submit(wait)
    with pytest.raises(JobQueueFullError, match="2 jobs are queued or running") as info:
        runner.submit(wait)
    assert info.value.status_code == 503
    gate.set()


def test_concurrent_submits_get_unique_ids() -> None:
    runner = JobRunner(workers=2, max_jobs=500)
    ids: list[str] = []
    lock = threading.Lock()

    def submit_many() -> None:
        for k in range(50):
            job = runner.submit(add, k, 1)
            with lock:
                ids.append(job.id)

    threads = [threading.Thread(target=submit_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 200
    results = sorted(runner.wait(i, timeout_s=10).result for i in ids)
    assert results == sorted([k + 1 for k in range(50)] * 4)

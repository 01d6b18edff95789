"""The job worker of one server process: claims queued jobs, runs them, keeps their leases.

Each process that serves the API (every ``servicemap serve --workers N`` process) runs one
:class:`JobWorker`: ``slots`` threads that claim jobs from the store and run the function
registered for their kind, and one maintenance thread that renews the leases of the jobs
this process runs (every ``lease_s / 3``), passes cancel requests made in other processes
on to them, queues again the jobs of processes that died (expired leases) and deletes
finished jobs older than the retention period.

A job function is ``fn(request, progress) -> result``: ``request`` is the JSON stored at
submission (the function must be able to run from it alone, since a retry runs it again
in another process), ``progress(message, fraction)`` stores progress and raises
:class:`~layers.jobs.model.JobCancelledError` when the job should stop (cancelled, lease
lost, process stopping), and the JSON-serialisable ``result`` is stored. An exception with
a ``message`` attribute (the project's errors) fails the job with that message and its
``status_code``; any other exception fails it with a generic message and is logged.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from layers.errors import StoreError
from layers.jobs.model import Job, JobCancelledError, JobStatus, ProgressCallback
from layers.jobs.queue import JobQueue

logger = logging.getLogger(__name__)

JobFunction = Callable[[Any, ProgressCallback], Any]

#: Shortest time between two stored progress reports of one job (solvers report often).
PROGRESS_INTERVAL_S = 0.5
#: How often the finished jobs past the retention period are looked for.
PURGE_INTERVAL_S = 60.0
#: Why a running job is asked to stop.
CANCELLED, SHUTDOWN, LOST = "cancelled", "shutdown", "lost"


class JobKinds:
    """The registry of job kinds: name → function (plans, routes; imports later)."""

    def __init__(self) -> None:
        self._functions: dict[str, JobFunction] = {}

    def register(self, kind: str, function: JobFunction) -> None:
        """Run ``function`` for jobs of ``kind`` (one function per kind)."""
        if kind in self._functions and self._functions[kind] is not function:
            message = f"job kind {kind!r} is already registered"
            raise ValueError(message)
        self._functions[kind] = function

    def function(self, kind: str) -> JobFunction | None:
        """The function of ``kind``, or ``None``."""
        return self._functions.get(kind)

    def names(self) -> tuple[str, ...]:
        """Registered kinds, sorted."""
        return tuple(sorted(self._functions))


@dataclass
class _Running:
    job: Job
    stop_reason: str | None = None
    last_write: float = field(default=-1e9)


class JobWorker:
    """Runs the jobs of one process (see the module docstring).

    Parameters
    ----------
    queue
        The job table.
    kinds
        The functions of the kinds this process runs.
    slots
        Jobs this process runs at once (default: ``queue.limits.concurrency``; the
        store-wide bound applies on top).
    """

    def __init__(self, queue: JobQueue, kinds: JobKinds, slots: int | None = None) -> None:
        self.queue = queue
        self.kinds = kinds
        self.slots = max(1, int(slots or queue.limits.concurrency))
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        """Start the slot threads and the maintenance thread (idempotent)."""
        with self._lock:
            if self._threads:
                return
            for k in range(self.slots):
                self._threads.append(threading.Thread(target=self._slot, daemon=True,
                                                      name=f"job-slot-{k + 1}"))  # fmt: skip
            self._threads.append(threading.Thread(target=self._maintain, daemon=True,
                                                  name="job-maintenance"))  # fmt: skip
            for thread in self._threads:
                thread.start()
        logger.info("job worker %s started: %d slot(s), kinds %s", self.worker_id, self.slots,
                    ", ".join(self.kinds.names()))  # fmt: skip

    def wake(self) -> None:
        """Look for queued jobs now (after a submission in this process)."""
        self._wake.set()

    def shutdown(self, wait_s: float = 2.0) -> None:
        """Stop claiming; ask running jobs to stop and give them back to the queue.

        Jobs that stop within ``wait_s`` (at their next progress report) and those that do
        not are both released: they are queued again without counting an attempt, and a
        late result from a thread still running here is refused by the lease fence.
        """
        self._stop.set()
        self._wake.set()
        with self._lock:
            for state in self._running.values():
                state.stop_reason = state.stop_reason or SHUTDOWN
            threads = list(self._threads)
        deadline = time.monotonic() + wait_s
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            left = list(self._running)
        for job_id in left:
            try:
                if self.queue.release(job_id, self.worker_id):
                    logger.info("job %s given back to the queue at shutdown", job_id)
            except StoreError as error:  # its lease expires and it is retried anyway
                logger.warning("job %s not released at shutdown: %s", job_id, error.message)

    def alive(self) -> bool:
        """Whether the worker was started, is not stopping, and all its threads run."""
        with self._lock:
            threads = list(self._threads)
        return bool(threads) and not self._stop.is_set() and all(t.is_alive() for t in threads)

    def running(self) -> list[str]:
        """Ids of the jobs running in this process."""
        with self._lock:
            return list(self._running)

    def request_stop(self, job_id: str) -> None:
        """Ask a job running in this process to stop at its next progress report."""
        with self._lock:
            state = self._running.get(job_id)
            if state is not None:
                state.stop_reason = state.stop_reason or CANCELLED

    # ------------------------------------------------------------------ threads
    def _slot(self) -> None:
        while not self._stop.is_set():
            try:
                job = self.queue.claim(self.worker_id, self.kinds.names())
            except StoreError as error:
                logger.warning("job worker: cannot claim jobs: %s", error.message)
                job = None
            if job is None:
                self._wake.wait(self.queue.limits.poll_s)
                self._wake.clear()
                continue
            self._execute(job)

    def _maintain(self) -> None:
        interval = self.queue.limits.lease_s / 3.0
        next_purge = 0.0
        while not self._stop.wait(interval):
            try:
                held = self.queue.renew(self.worker_id)
                with self._lock:
                    for job_id, state in self._running.items():
                        if job_id not in held:
                            state.stop_reason = state.stop_reason or LOST
                        elif held[job_id]:
                            state.stop_reason = state.stop_reason or CANCELLED
                requeued, _ = self.queue.recover_expired()
                if requeued:
                    self._wake.set()
                if time.monotonic() >= next_purge:
                    self.queue.purge_finished()
                    next_purge = time.monotonic() + PURGE_INTERVAL_S
            except StoreError as error:
                logger.warning("job worker maintenance failed: %s", error.message)

    # ------------------------------------------------------------------ one job
    def _progress_for(self, state: _Running) -> ProgressCallback:
        job_id = state.job.id

        def progress(message: str, fraction: float | None = None) -> None:
            if state.stop_reason is not None:
                raise JobCancelledError(state.stop_reason)
            now = time.monotonic()
            final = fraction is not None and fraction >= 1.0
            if now - state.last_write < PROGRESS_INTERVAL_S and not final:
                return
            state.last_write = now
            try:
                cancel = self.queue.progress(job_id, self.worker_id, message, fraction)
            except StoreError as error:  # a progress report is not worth failing the job
                logger.warning("job %s: progress not stored: %s", job_id, error.message)
                return
            if cancel is None:
                state.stop_reason = LOST
            elif cancel:
                state.stop_reason = state.stop_reason or CANCELLED
            if state.stop_reason is not None:
                raise JobCancelledError(state.stop_reason)

        return progress

    def _execute(self, job: Job) -> None:
        state = _Running(job)
        with self._lock:
            self._running[job.id] = state
            if self._stop.is_set():
                state.stop_reason = SHUTDOWN
        try:
            self._run(state)
        finally:
            with self._lock:
                self._running.pop(job.id, None)

    def _run(self, state: _Running) -> None:
        job = state.job
        function = self.kinds.function(job.kind)
        if function is None:  # claimed only kinds we know; kept for safety
            self._record(job, JobStatus.FAILED, error=f"unknown job kind {job.kind!r}",
                         error_status=500)  # fmt: skip
            return
        try:
            if state.stop_reason is not None:
                raise JobCancelledError(state.stop_reason)
            result = function(job.request, self._progress_for(state))
        except JobCancelledError as stop:
            if stop.reason == CANCELLED:
                self._record(job, JobStatus.CANCELLED, error="cancelled while it ran")
            elif stop.reason == SHUTDOWN:
                self.queue.release(job.id, self.worker_id)
            else:
                logger.warning("job %s: lease lost, another process runs it now", job.id)
            return
        except Exception as error:  # the job fails; the worker lives on
            message = getattr(error, "message", None)
            status = getattr(error, "status_code", 500)
            if not isinstance(message, str):
                message = "internal error while running the job"
                logger.exception("job %s failed", job.id)
            else:
                logger.warning("job %s failed: %s", job.id, message)
            self._record(job, JobStatus.FAILED, error=message, error_status=int(status))
            return
        try:
            self._record(job, JobStatus.DONE, result=result)
        except (TypeError, ValueError):
            logger.exception("job %s: its result is not JSON", job.id)
            self._record(job, JobStatus.FAILED, error="internal error while storing the result",
                         error_status=500)  # fmt: skip

    def _record(self, job: Job, status: JobStatus, **fields: Any) -> None:
        """Store the end of a run, retrying a few times if the store is briefly away (if it
        stays away the lease expires and the job runs again)."""
        for attempt in range(3):
            try:
                if self.queue.finish(job.id, self.worker_id, status, **fields):
                    logger.info("job %s %s", job.id, status)
                return
            except StoreError as error:
                logger.warning("job %s: end not stored (try %d): %s", job.id, attempt + 1,
                               error.message)  # fmt: skip
                time.sleep(1.0)

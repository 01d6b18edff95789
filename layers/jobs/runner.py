"""A small in-process job runner: long solves in background threads, polled by id.

Site planning (``POST /api/v1/plans``) and vehicle routing (``POST /api/v1/routes``) take
seconds to minutes; the API answers at once with a job id and the client polls. The runner
keeps a bounded number of jobs in memory (oldest finished jobs are forgotten first), runs
at most ``workers`` of them at a time on daemon threads (a server can exit while a solve is
running) and is safe to call from any thread.

Usage::

    runner = JobRunner(workers=1, max_jobs=100)
    job = runner.submit(solve, request, kind="plan")     # solve(request, progress_cb=...)
    runner.get(job.id).status                             # queued / running / done / failed

The submitted function receives a keyword argument ``progress_cb(message, fraction=None)``
to report progress; its return value becomes the job's ``result``. An exception marks the
job ``failed`` with a user-safe message (the exception's ``message`` attribute if it has
one, so errors carrying a ``status_code`` keep it) and is logged.
"""

from __future__ import annotations

import enum
import itertools
import logging
import queue
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from layers.errors import LayersError

logger = logging.getLogger(__name__)

#: Default number of jobs kept (queued, running and finished together).
DEFAULT_MAX_JOBS = 100


class ProgressCallback(Protocol):
    """What a job function calls to report progress."""

    def __call__(self, message: str, fraction: float | None = None) -> None: ...


class JobStatus(enum.StrEnum):
    """Life cycle of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobQueueFullError(LayersError):
    """Every stored job is still queued or running; nothing can be forgotten to make room."""

    status_code = 503
    code = "job_queue_full"


class JobNotFoundError(LayersError):
    """No job with this id (never existed, another kind, or forgotten)."""

    status_code = 404
    code = "job_not_found"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job with id {job_id!r} (finished jobs are kept for a while only)")


@dataclass(frozen=True)
class Job:
    """A snapshot of one job (the runner hands out copies, never live objects).

    Attributes
    ----------
    id
        Opaque id (URL-safe).
    kind
        What the job does (``"plan"``, ``"route"``); lets each API see only its own jobs.
    status
        :class:`JobStatus`.
    message
        The last progress message.
    fraction
        The last progress fraction in [0, 1], or ``None`` when unknown.
    created_at, started_at, finished_at
        UTC times; ``None`` until reached.
    result
        The function's return value once ``done``.
    error
        User-safe message once ``failed``.
    error_status
        The failing exception's ``status_code`` (500 when it has none).
    """

    id: str
    kind: str
    status: JobStatus
    message: str = ""
    fraction: float | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: Any = None
    error: str | None = None
    error_status: int | None = None

    @property
    def finished(self) -> bool:
        """Whether the job is done or failed."""
        return self.status in (JobStatus.DONE, JobStatus.FAILED)

    @property
    def seconds(self) -> float | None:
        """Running time so far (or in total once finished), ``None`` while queued."""
        if self.started_at is None:
            return None
        end = self.finished_at or datetime.now(UTC)
        return (end - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready status (without ``result``, which each API formats itself)."""

        def _iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat(timespec="milliseconds")

        seconds = self.seconds
        return {
            "id": self.id,
            "kind": self.kind,
            "status": str(self.status),
            "progress": {"message": self.message, "fraction": self.fraction},
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "seconds": None if seconds is None else round(seconds, 3),
            "error": self.error,
        }


@dataclass
class _Entry:
    job: Job
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class JobRunner:
    """Runs submitted functions on background threads and keeps their status by id.

    Parameters
    ----------
    workers
        Jobs run at the same time (each on its own daemon thread).
    max_jobs
        Jobs kept in memory. When full, the oldest finished job is forgotten; when every
        kept job is unfinished, :meth:`submit` raises :class:`JobQueueFullError`.
    """

    def __init__(self, workers: int = 1, max_jobs: int = DEFAULT_MAX_JOBS) -> None:
        if workers < 1 or max_jobs < 1:
            message = f"workers and max_jobs must be at least 1 (got {workers}, {max_jobs})"
            raise ValueError(message)
        self.workers = int(workers)
        self.max_jobs = int(max_jobs)
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, _Entry] = OrderedDict()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._counter = itertools.count(1)
        self._closed = False

    # ------------------------------------------------------------------ public API
    def submit(self, fn: Callable[..., Any], *args: Any, kind: str = "job", **kwargs: Any) -> Job:
        """Queue ``fn(*args, progress_cb=..., **kwargs)``; return the queued job.

        Raises
        ------
        JobQueueFullError
            When ``max_jobs`` jobs are queued or running.
        RuntimeError
            After :meth:`shutdown`.
        """
        with self._lock:
            if self._closed:
                message = "the job runner is shut down"
                raise RuntimeError(message)
            self._make_room()
            job_id = f"{next(self._counter):x}{secrets.token_hex(6)}"
            job = Job(id=job_id, kind=kind, status=JobStatus.QUEUED, message="queued")
            self._jobs[job_id] = _Entry(job, fn, args, kwargs)
            self._start_threads()
        self._queue.put(job_id)
        logger.info("job %s (%s) queued", job_id, kind)
        return job

    def get(self, job_id: str, kind: str | None = None) -> Job:
        """The current snapshot of a job.

        Raises
        ------
        JobNotFoundError
            For an unknown or forgotten id, or a job of another ``kind``.
        """
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None or (kind is not None and entry.job.kind != kind):
                raise JobNotFoundError(job_id)
            return entry.job

    def jobs(self, kind: str | None = None) -> list[Job]:
        """Snapshots of the kept jobs, oldest first."""
        with self._lock:
            return [e.job for e in self._jobs.values() if kind is None or e.job.kind == kind]

    def wait(self, job_id: str, timeout_s: float | None = None, poll_s: float = 0.02) -> Job:
        """Block until the job finishes (or ``timeout_s`` passes); return its snapshot."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            job = self.get(job_id)
            if job.finished or (deadline is not None and time.monotonic() >= deadline):
                return job
            time.sleep(poll_s)

    def shutdown(self, wait_s: float = 0.0) -> None:
        """Stop accepting jobs; let idle threads exit (running jobs finish on their own)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        deadline = time.monotonic() + wait_s
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ internals
    def _make_room(self) -> None:
        """Forget the oldest finished jobs until a new one fits (caller holds the lock)."""
        while len(self._jobs) >= self.max_jobs:
            oldest = next((k for k, e in self._jobs.items() if e.job.finished), None)
            if oldest is None:
                message = (
                    f"{len(self._jobs)} jobs are queued or running (at most {self.max_jobs} "
                    "are kept); try again when one has finished"
                )
                raise JobQueueFullError(message)
            del self._jobs[oldest]

    def _start_threads(self) -> None:
        while len(self._threads) < self.workers:
            thread = threading.Thread(
                target=self._work, name=f"job-worker-{len(self._threads) + 1}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is not None:
                entry.job = replace(entry.job, **changes)

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            with self._lock:
                entry = self._jobs.get(job_id)
            if entry is None:  # forgotten before it ran (cannot happen while queued)
                continue
            self._run(job_id, entry)

    def _run(self, job_id: str, entry: _Entry) -> None:
        self._update(job_id, status=JobStatus.RUNNING, started_at=datetime.now(UTC),
                     message="running")  # fmt: skip

        def progress_cb(message: str, fraction: float | None = None) -> None:
            value = None if fraction is None else min(1.0, max(0.0, float(fraction)))
            self._update(job_id, message=str(message), fraction=value)

        try:
            result = entry.fn(*entry.args, progress_cb=progress_cb, **entry.kwargs)
        except Exception as error:  # the job fails; the worker thread lives on
            message = getattr(error, "message", None)
            status = getattr(error, "status_code", 500)
            if not isinstance(message, str):
                message = "internal error while running the job"
                logger.exception("job %s failed", job_id)
            else:
                logger.warning("job %s failed: %s", job_id, message)
            self._update(job_id, status=JobStatus.FAILED, finished_at=datetime.now(UTC),
                         error=message, error_status=int(status), message="failed")  # fmt: skip
            entry.args, entry.kwargs = (), {}
            return
        self._update(job_id, status=JobStatus.DONE, finished_at=datetime.now(UTC),
                     result=result, fraction=1.0, message="done")  # fmt: skip
        entry.args, entry.kwargs = (), {}
        logger.info("job %s done", job_id)

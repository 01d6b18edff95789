"""What a job is: its status, its snapshot, its limits and its errors."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from layers.errors import LayersError


class ProgressCallback(Protocol):
    """What a job function calls to report progress (and to learn it should stop)."""

    def __call__(self, message: str, fraction: float | None = None) -> None: ...


class JobStatus(enum.StrEnum):
    """Life cycle of a job: queued → running → done / failed / cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})


class JobNotFoundError(LayersError):
    """No job with this id that the caller may see (never existed, another kind, another
    owner, or removed after the retention period): the answer never reveals which."""

    status_code = 404
    code = "job_not_found"

    def __init__(self, job_id: str) -> None:
        super().__init__(
            f"no job with id {job_id!r} (finished jobs are kept for a limited time only)"
        )


class JobQueueFullError(LayersError):
    """Too many jobs are waiting (the caller's own, or everyone's); try again later."""

    status_code = 429
    code = "job_queue_full"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = int(retry_after_s)


class JobConflictError(LayersError):
    """An ``Idempotency-Key`` already used by this caller for a different request."""

    status_code = 409
    code = "idempotency_key_reused"


class JobRequestError(LayersError):
    """A job request that cannot be stored as JSON."""

    status_code = 422
    code = "invalid_job_request"


class JobCancelledError(Exception):
    """Raised inside a job function (by its progress callback) when it should stop.

    ``reason`` says why: the job was cancelled, or this process is shutting down (the job
    then goes back to the queue), or the process lost the job's lease (another process
    owns it now).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def default_concurrency() -> int:
    """Jobs running at once by default: half the cores (a route solve uses two), at least 1."""
    return max(1, (os.cpu_count() or 1) // 2)


@dataclass(frozen=True)
class JobLimits:
    """Bounds and timings of the job queue (``SERVICEMAP_JOB_*`` settings).

    Attributes
    ----------
    concurrency
        Jobs running at once over all processes on the database (each process also runs
        at most this many); at most the number of cores.
    max_queued
        Queued jobs over all callers; a submission beyond it gets ``429``.
    max_queued_per_owner
        Queued jobs of one caller; a submission beyond it gets ``429``.
    retention_s
        Finished jobs (and their results and requests) are deleted this long after they
        finished; never earlier, whatever others submit.
    lease_s
        A running job's lease; the worker renews it every ``lease_s / 3``. A job whose
        lease expired (its process died) is queued again.
    max_attempts
        Runs of one job; a job interrupted this many times fails with a message saying so.
    poll_s
        How often an idle worker looks for queued jobs of other processes.
    """

    concurrency: int = 1
    max_queued: int = 100
    max_queued_per_owner: int = 10
    retention_s: float = 7 * 86400.0
    lease_s: float = 30.0
    max_attempts: int = 3
    poll_s: float = 0.5

    def __post_init__(self) -> None:
        cores = os.cpu_count() or 1
        checks = {
            "concurrency": (self.concurrency, 1, cores),
            "max_queued": (self.max_queued, 1, None),
            "max_queued_per_owner": (self.max_queued_per_owner, 1, None),
            "max_attempts": (self.max_attempts, 1, None),
        }
        for name, (value, low, high) in checks.items():
            if value < low or (high is not None and value > high):
                bound = f"between {low} and {high} (the cores)" if high else f"at least {low}"
                message = f"job {name} must be {bound}, got {value}"
                raise ValueError(message)
        for name in ("retention_s", "lease_s", "poll_s"):
            if getattr(self, name) <= 0:
                message = f"job {name} must be positive, got {getattr(self, name)}"
                raise ValueError(message)


def _utc(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _iso(seconds: float | None) -> str | None:
    value = _utc(seconds)
    return None if value is None else value.isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Job:
    """A snapshot of one job as stored (never a live object).

    Times are seconds since the epoch (UTC), ``None`` until reached.

    Attributes
    ----------
    id
        Opaque URL-safe id.
    kind
        What the job does (``"plan"``, ``"route"``); each API sees only its own kind.
    owner, owner_district
        Username and district of the submitter (for listings and access).
    status
        :class:`JobStatus`.
    message, fraction
        The last progress report (fraction in [0, 1] or ``None``).
    attempts, max_attempts
        Runs started so far and the most allowed.
    cancel_requested
        A cancel was asked while the job ran; it stops at its next progress report.
    created_at, started_at, finished_at
        Submission, start of the latest run, end.
    error, error_status
        User-safe message and HTTP status once failed (or why it was cancelled).
    request
        The JSON request the job runs from.
    result
        The JSON result once done (loaded only when asked for).
    """

    id: str
    kind: str
    owner: str
    owner_district: str | None
    status: JobStatus
    message: str
    fraction: float | None
    attempts: int
    max_attempts: int
    cancel_requested: bool
    created_at: float
    started_at: float | None
    finished_at: float | None
    error: str | None
    error_status: int | None
    request: Any = None
    result: Any = None

    @property
    def finished(self) -> bool:
        """Whether the job is done, failed or cancelled."""
        return self.status in FINISHED

    @property
    def seconds(self) -> float | None:
        """Running time of the latest run so far (or in total once finished)."""
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else datetime.now(UTC).timestamp()
        return max(0.0, end - self.started_at)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready status (without request and result, which each API presents)."""
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
            "attempts": self.attempts,
            "cancel_requested": self.cancel_requested,
            "error": self.error,
        }

"""The job table: submit, read, list, cancel, and the worker's claim / lease / finish.

Every state change is one short transaction on the store's ``jobs`` table (migration
``0004_jobs``), so any process on the same database sees the same jobs, progress and
results. Claims are serialised per database (SQLite: the write lock of ``BEGIN
IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock, then ``SELECT … FOR UPDATE
SKIP LOCKED``), which keeps the store-wide bound on running jobs exact.

A running job holds a **lease** (``lease_owner``, ``lease_expires_at``) that its worker
renews; every write a worker makes for a job is fenced by the lease (``WHERE lease_owner
= ?``), so a process that lost a job (its lease expired and another process took the job)
can neither report progress for it nor overwrite its result.

Times are seconds since the epoch (UTC) from the application's clock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from layers.accounts.roles import Actor, Role
from layers.jobs.model import (
    Job,
    JobConflictError,
    JobLimits,
    JobNotFoundError,
    JobQueueFullError,
    JobRequestError,
    JobStatus,
)

logger = logging.getLogger(__name__)

#: Most jobs one listing returns (the newest).
MAX_LISTED = 200
#: Roles that see every job.
_SEE_ALL = frozenset({Role.REVIEWER, Role.ADMIN})
#: Transaction-scoped advisory lock serialising submissions and claims on PostgreSQL.
_PG_LOCK = "SELECT pg_advisory_xact_lock(hashtext('servicemap.jobs'))"

_COLUMNS = (
    "id, kind, owner, owner_district, status, message, fraction, attempts, max_attempts, "
    "cancel_requested, created_at, started_at, finished_at, error, error_status"
)


@dataclass(frozen=True)
class JobScope:
    """Which jobs a caller may see: their own, their district's, or every job.

    Attributes
    ----------
    owner
        The caller's username (always sees their own jobs).
    district
        District staff also see the jobs submitted by anyone of their district.
    everything
        Reviewers and administrators see every job.
    """

    owner: str
    district: str | None = None
    everything: bool = False

    @classmethod
    def of(cls, actor: Actor) -> JobScope:
        """The scope of an actor: reviewers and admins everything, others own + district."""
        if actor.role in _SEE_ALL:
            return cls(actor.username, actor.district, everything=True)
        return cls(actor.username, actor.district)

    def sees(self, job: Job) -> bool:
        """Whether the caller may see ``job``."""
        if self.everything or job.owner == self.owner:
            return True
        return self.district is not None and job.owner_district == self.district

    def where(self, p: str) -> tuple[str, list[Any]]:
        """SQL condition and parameters selecting the visible jobs."""
        if self.everything:
            return "1 = 1", []
        if self.district is None:
            return f"owner = {p}", [self.owner]
        return f"(owner = {p} OR owner_district = {p})", [self.owner, self.district]


def request_digest(request: Any) -> str:
    """SHA-256 of a request's canonical JSON (keys sorted): equal requests, equal digests."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _loads(value: Any) -> Any:
    if value is None or not isinstance(value, str | bytes):
        return value
    return json.loads(value)


class JobQueue:
    """Durable jobs in a SQL store (SQLite or PostgreSQL).

    Parameters
    ----------
    store
        A store of :mod:`layers.store` with ``sql_transaction`` (both SQL backends).
    limits
        Bounds and timings (see :class:`JobLimits`).
    clock
        Seconds since the epoch (tests pass a fake clock).
    """

    def __init__(
        self, store: Any, limits: JobLimits | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        if not hasattr(store, "sql_transaction"):
            message = f"{type(store).__name__} keeps no jobs: use a SQLite or PostGIS store"
            raise TypeError(message)
        self.store = store
        self.limits = limits or JobLimits()
        self.clock = clock
        self.dialect = store.dialect
        self._postgres = self.dialect.name == "postgres"
        self._p = self.dialect.placeholder

    # ------------------------------------------------------------------ helpers
    def _sql(self, statement: str) -> str:
        """A statement written with ``?`` placeholders in the driver's style."""
        return statement.replace("?", self._p)

    @contextmanager
    def _write(self, *, serialised: bool = False) -> Iterator[Any]:
        with self.store.sql_transaction(write=True) as conn:
            if serialised and self._postgres:
                conn.execute(_PG_LOCK)
            yield conn

    def _row_to_job(self, row: Sequence[Any], request: Any = None, result: Any = None) -> Job:
        (job_id, kind, owner, district, status, message, fraction, attempts, max_attempts,
         cancel, created, started, finished, error, error_status) = row[:15]  # fmt: skip
        return Job(
            id=str(job_id), kind=str(kind), owner=str(owner),
            owner_district=None if district is None else str(district),
            status=JobStatus(status), message=str(message or ""),
            fraction=None if fraction is None else float(fraction),
            attempts=int(attempts), max_attempts=int(max_attempts),
            cancel_requested=bool(cancel), created_at=float(created),
            started_at=None if started is None else float(started),
            finished_at=None if finished is None else float(finished),
            error=None if error is None else str(error),
            error_status=None if error_status is None else int(error_status),
            request=request, result=result,
        )  # fmt: skip

    def _select(self, conn: Any, where: str, params: Sequence[Any]) -> Job | None:
        row = conn.execute(self._sql(f"SELECT {_COLUMNS} FROM jobs WHERE {where}"),
                           tuple(params)).fetchone()  # fmt: skip
        return None if row is None else self._row_to_job(row)

    # ------------------------------------------------------------------ callers
    def submit(
        self,
        kind: str,
        request: Any,
        owner: Actor,
        idempotency_key: str | None = None,
    ) -> tuple[Job, bool]:
        """Queue a job; return it and whether it is new.

        Parameters
        ----------
        kind
            A registered job kind (``"plan"``, ``"route"``).
        request
            JSON-serialisable input: the job runs from it alone (also when retried).
        owner
            Who submits (username and district are stored with the job).
        idempotency_key
            The same key from the same owner for the same kind returns the job submitted
            first (while it is kept) instead of queueing another.

        Raises
        ------
        JobRequestError
            The request is not plain JSON (NaN, infinities, other objects) (422).
        JobConflictError
            The key was used by this owner for a different request (409).
        JobQueueFullError
            The owner's or the global bound on queued jobs is reached (429, with
            ``retry_after_s``).
        """
        try:
            request_text = _dumps(request)
        except (TypeError, ValueError) as error:
            raise JobRequestError(f"the job request is not plain JSON: {error}") from None
        digest = request_digest(request)
        now = self.clock()
        limits = self.limits
        with self._write(serialised=True) as conn:
            if idempotency_key is not None:
                existing = conn.execute(
                    self._sql(f"SELECT {_COLUMNS}, request_sha256 FROM jobs "
                              "WHERE owner = ? AND kind = ? AND idempotency_key = ?"),
                    (owner.username, kind, idempotency_key),
                ).fetchone()  # fmt: skip
                if existing is not None:
                    if existing[15] != digest:
                        message = (f"Idempotency-Key {idempotency_key!r} was already used for "
                                   "a different request; use a new key for a new request")  # fmt: skip
                        raise JobConflictError(message)
                    return self._row_to_job(existing), False
            queued_total, queued_own = conn.execute(
                self._sql("SELECT count(*), coalesce(sum(CASE WHEN owner = ? THEN 1 ELSE 0 END), 0) "
                          "FROM jobs WHERE status = 'queued'"), (owner.username,),
            ).fetchone()  # fmt: skip
            if queued_own >= limits.max_queued_per_owner:
                message = (f"you have {queued_own} jobs waiting (at most "
                           f"{limits.max_queued_per_owner} per user); try again when one has "
                           "started, or cancel one")  # fmt: skip
                raise JobQueueFullError(message, self._retry_after_s(conn))
            if queued_total >= limits.max_queued:
                message = (f"{queued_total} jobs are waiting (at most {limits.max_queued}); "
                           "try again later")  # fmt: skip
                raise JobQueueFullError(message, self._retry_after_s(conn))
            job_id = secrets.token_urlsafe(12)
            conn.execute(
                self._sql(
                    "INSERT INTO jobs (id, kind, owner, owner_district, idempotency_key, "
                    "request_sha256, request, status, message, attempts, max_attempts, "
                    "cancel_requested, created_at) VALUES (?, ?, ?, ?, ?, ?, "
                    f"{self.dialect.json_param}, 'queued', 'queued', 0, ?, ?, ?)"
                ),
                (job_id, kind, owner.username, owner.district, idempotency_key, digest,
                 request_text, limits.max_attempts, False, now),
            )  # fmt: skip
            job = self._select(conn, "id = ?", (job_id,))
        assert job is not None
        logger.info("job %s (%s) queued by %s", job_id, kind, owner.username)
        return job, True

    def _retry_after_s(self, conn: Any) -> int:
        """Seconds until a queued place is likely free: the recent mean run time / slots."""
        rows = conn.execute(
            "SELECT finished_at - started_at FROM jobs WHERE status = 'done' "
            "AND started_at IS NOT NULL ORDER BY finished_at DESC LIMIT 20"
        ).fetchall()
        mean_s = sum(float(r[0]) for r in rows) / len(rows) if rows else 30.0
        return int(min(600, max(1, math.ceil(mean_s / self.limits.concurrency))))

    def get(
        self, job_id: str, scope: JobScope, kind: str | None = None, *, with_result: bool = False
    ) -> Job:
        """A job the caller may see, optionally with its result.

        Raises
        ------
        JobNotFoundError
            Unknown id, another kind, or a job the caller may not see (404 in every case).
        """
        result_col = ", result" if with_result else ""
        with self.store.sql_transaction(write=False) as conn:
            row = conn.execute(self._sql(f"SELECT {_COLUMNS}{result_col} FROM jobs WHERE id = ?"),
                               (job_id,)).fetchone()  # fmt: skip
        if row is None:
            raise JobNotFoundError(job_id)
        job = self._row_to_job(row, result=_loads(row[15]) if with_result else None)
        if (kind is not None and job.kind != kind) or not scope.sees(job):
            raise JobNotFoundError(job_id)
        return job

    def depth(self) -> dict[tuple[str, str], int]:
        """Queued and running jobs of the whole store by ``(kind, status)`` (readiness and
        metrics; one indexed count)."""
        with self.store.sql_transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT kind, status, count(*) FROM jobs WHERE status IN ('queued', 'running') "
                "GROUP BY kind, status"
            ).fetchall()
        return {(str(kind), str(status)): int(count) for kind, status, count in rows}

    def list(self, scope: JobScope, kind: str | None = None, limit: int = MAX_LISTED) -> list[Job]:
        """The newest jobs the caller may see (at most ``limit``), oldest first."""
        where, params = scope.where(self._p)
        if kind is not None:
            where += f" AND kind = {self._p}"
            params.append(kind)
        with self.store.sql_transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE {where} "
                f"ORDER BY created_at DESC, id DESC LIMIT {int(limit)}", tuple(params),
            ).fetchall()  # fmt: skip
        return [self._row_to_job(row) for row in reversed(rows)]

    def cancel(self, job_id: str, scope: JobScope, kind: str | None = None) -> Job | None:
        """Cancel a job: a queued one never runs, a running one stops at its next progress
        report; a finished job is deleted with its result (``None`` is returned).

        Raises
        ------
        JobNotFoundError
            As :meth:`get`.
        """
        job = self.get(job_id, scope, kind)
        now = self.clock()
        with self._write() as conn:
            if job.finished:
                conn.execute(self._sql("DELETE FROM jobs WHERE id = ?"), (job_id,))
                logger.info("job %s deleted by %s", job_id, scope.owner)
                return None
            conn.execute(
                self._sql("UPDATE jobs SET status = 'cancelled', finished_at = ?, "
                          "message = 'cancelled', error = ?, lease_owner = NULL, "
                          "lease_expires_at = NULL WHERE id = ? AND status = 'queued'"),
                (now, f"cancelled by {scope.owner} before it started", job_id),
            )  # fmt: skip
            conn.execute(
                self._sql("UPDATE jobs SET cancel_requested = ? WHERE id = ? AND status = 'running'"),
                (True, job_id),
            )  # fmt: skip
            current = self._select(conn, "id = ?", (job_id,))
        logger.info("job %s cancel asked by %s", job_id, scope.owner)
        return current

    # ------------------------------------------------------------------ workers
    def claim(self, worker_id: str, kinds: Sequence[str]) -> Job | None:
        """Take the oldest queued job of ``kinds`` under a lease, or ``None``.

        Nothing is taken while ``limits.concurrency`` jobs with a live lease run on the
        database. The job's ``attempts`` grows by one; its ``request`` is loaded.
        """
        if not kinds:
            return None
        now = self.clock()
        marks = ", ".join([self._p] * len(kinds))
        lock = " FOR UPDATE SKIP LOCKED" if self._postgres else ""
        with self._write(serialised=True) as conn:
            running = conn.execute(
                self._sql("SELECT count(*) FROM jobs WHERE status = 'running' "
                          "AND lease_expires_at >= ?"), (now,),
            ).fetchone()[0]  # fmt: skip
            if running >= self.limits.concurrency:
                return None
            row = conn.execute(
                f"SELECT id, {self.dialect.json_out('request')} FROM jobs "
                f"WHERE status = 'queued' AND kind IN ({marks}) "
                f"ORDER BY created_at, id LIMIT 1{lock}", tuple(kinds),
            ).fetchone()  # fmt: skip
            if row is None:
                return None
            job_id, request = str(row[0]), _loads(row[1])
            conn.execute(
                self._sql("UPDATE jobs SET status = 'running', attempts = attempts + 1, "
                          "started_at = ?, finished_at = NULL, lease_owner = ?, "
                          "lease_expires_at = ?, message = 'running', fraction = NULL "
                          "WHERE id = ?"),
                (now, worker_id, now + self.limits.lease_s, job_id),
            )  # fmt: skip
            row = conn.execute(self._sql(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?"),
                               (job_id,)).fetchone()  # fmt: skip
        job = self._row_to_job(row, request=request)
        logger.info("job %s (%s) attempt %d/%d taken by %s", job.id, job.kind, job.attempts,
                    job.max_attempts, worker_id)  # fmt: skip
        return job

    def renew(self, worker_id: str) -> dict[str, bool]:
        """Extend the leases this worker holds; return ``{job id: cancel requested}``."""
        now = self.clock()
        with self._write() as conn:
            conn.execute(
                self._sql("UPDATE jobs SET lease_expires_at = ? "
                          "WHERE lease_owner = ? AND status = 'running'"),
                (now + self.limits.lease_s, worker_id),
            )  # fmt: skip
            rows = conn.execute(
                self._sql("SELECT id, cancel_requested FROM jobs "
                          "WHERE lease_owner = ? AND status = 'running'"), (worker_id,),
            ).fetchall()  # fmt: skip
        return {str(job_id): bool(cancel) for job_id, cancel in rows}

    def progress(
        self, job_id: str, worker_id: str, message: str, fraction: float | None
    ) -> bool | None:
        """Store a progress report; return whether a cancel was asked (``None``: the lease
        was lost, the job belongs to another process now or was removed)."""
        value = None if fraction is None else min(1.0, max(0.0, float(fraction)))
        with self._write() as conn:
            row = conn.execute(
                self._sql("UPDATE jobs SET message = ?, fraction = ? WHERE id = ? "
                          "AND lease_owner = ? AND status = 'running' RETURNING cancel_requested"),
                (str(message)[:500], value, job_id, worker_id),
            ).fetchone()  # fmt: skip
        return None if row is None else bool(row[0])

    def finish(
        self,
        job_id: str,
        worker_id: str,
        status: JobStatus,
        *,
        result: Any = None,
        error: str | None = None,
        error_status: int | None = None,
    ) -> bool:
        """Record the end of a run (done with its JSON result, failed, or cancelled);
        ``False`` when this worker no longer holds the job (nothing is written)."""
        now = self.clock()
        message = {"done": "done", "failed": "failed", "cancelled": "cancelled"}[str(status)]
        fraction_sql = ", fraction = 1.0" if status is JobStatus.DONE else ""
        with self._write() as conn:
            row = conn.execute(
                self._sql(f"UPDATE jobs SET status = ?, finished_at = ?, message = ?{fraction_sql}, "
                          "result = ?, error = ?, error_status = ?, lease_owner = NULL, "
                          "lease_expires_at = NULL WHERE id = ? AND lease_owner = ? "
                          "AND status = 'running' RETURNING id"),
                (str(status), now, message, None if result is None else _dumps(result), error,
                 error_status, job_id, worker_id),
            ).fetchone()  # fmt: skip
        if row is None:
            logger.warning("job %s: %s by %s not recorded, the lease was lost", job_id,
                           status, worker_id)  # fmt: skip
        return row is not None

    def release(self, job_id: str, worker_id: str) -> bool:
        """Give a running job back to the queue (this process is stopping); the run does not
        count as an attempt."""
        with self._write() as conn:
            row = conn.execute(
                self._sql("UPDATE jobs SET status = 'queued', attempts = attempts - 1, "
                          "lease_owner = NULL, lease_expires_at = NULL, "
                          "message = 'queued again: the server stopped while it ran' "
                          "WHERE id = ? AND lease_owner = ? AND status = 'running' RETURNING id"),
                (job_id, worker_id),
            ).fetchone()  # fmt: skip
        return row is not None

    def recover_expired(self) -> tuple[int, int]:
        """Queue again the running jobs whose lease expired (their process died); fail
        those that used up their attempts; finish as cancelled those asked to stop.

        Returns
        -------
        (queued again, failed)
        """
        now = self.clock()
        expired = "status = 'running' AND lease_expires_at < ?"
        clear = "lease_owner = NULL, lease_expires_at = NULL"
        with self._write(serialised=True) as conn:
            conn.execute(
                self._sql(f"UPDATE jobs SET status = 'cancelled', finished_at = ?, {clear}, "
                          f"message = 'cancelled' WHERE {expired} AND cancel_requested"),
                (now, now),
            )  # fmt: skip
            failed = conn.execute(
                self._sql(f"UPDATE jobs SET status = 'failed', finished_at = ?, {clear}, "
                          "message = 'failed', error_status = 500, error = 'the job was "
                          "interrupted ' || attempts || ' time(s): the server process running "
                          "it stopped each time (crash, restart or out of memory); it is not "
                          f"run again' WHERE {expired} AND attempts >= max_attempts RETURNING id"),
                (now, now),
            ).fetchall()  # fmt: skip
            queued = conn.execute(
                self._sql(f"UPDATE jobs SET status = 'queued', {clear}, message = 'queued "
                          "again: the server process running it stopped' "
                          f"WHERE {expired} RETURNING id"),
                (now,),
            ).fetchall()  # fmt: skip
        for (job_id,) in queued:
            logger.warning("job %s: its process stopped while running it; queued again", job_id)
        for (job_id,) in failed:
            logger.error("job %s: interrupted too often; failed", job_id)
        return len(queued), len(failed)

    def purge_finished(self) -> int:
        """Delete jobs that finished more than ``limits.retention_s`` ago; return how many."""
        cutoff = self.clock() - self.limits.retention_s
        with self._write() as conn:
            rows = conn.execute(
                self._sql("DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ? "
                          "RETURNING id"), (cutoff,),
            ).fetchall()  # fmt: skip
        if rows:
            logger.info("removed %d jobs finished before the retention period", len(rows))
        return len(rows)

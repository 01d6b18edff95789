"""Durable background jobs (site plans, check-up routes, later long imports).

A job is a row of the store's ``jobs`` table (:mod:`layers.jobs.queue`): who submitted it,
its kind, the JSON request it runs from, its status, progress, result and lease. Any
process on the same database answers status requests; the worker of each server process
(:mod:`layers.jobs.worker`) claims queued jobs under a lease that it renews while they run,
so a job whose process died (``kill -9``, a crash, a lost machine) is queued again when its
lease expires and runs again (at least once, a bounded number of attempts). See
``docs/jobs.md``.
"""

from layers.jobs.model import (
    Job,
    JobCancelledError,
    JobConflictError,
    JobLimits,
    JobNotFoundError,
    JobQueueFullError,
    JobRequestError,
    JobStatus,
    ProgressCallback,
)
from layers.jobs.queue import JobQueue, JobScope
from layers.jobs.worker import JobKinds, JobWorker

__all__ = [
    "Job",
    "JobCancelledError",
    "JobConflictError",
    "JobKinds",
    "JobLimits",
    "JobNotFoundError",
    "JobQueue",
    "JobQueueFullError",
    "JobRequestError",
    "JobScope",
    "JobStatus",
    "JobWorker",
    "ProgressCallback",
]

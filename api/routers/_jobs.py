"""The JSON of background jobs, shared by the plan and check-up route endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from api.deps import job_runner
from layers.jobs.runner import Job, JobStatus

Links = Callable[[Request, str], dict[str, str]]


def job_body(request: Request, job: Job, links: Links) -> dict[str, Any]:
    """A job's status, progress and times with its links (and ``error_status`` if failed)."""
    body = job.to_dict()
    body.pop("kind", None)
    body["links"] = links(request, job.id)
    if job.status is JobStatus.FAILED:
        body["error_status"] = job.error_status
    return body


def job_list(request: Request, kind: str, links: Links) -> list[dict[str, Any]]:
    """The jobs of ``kind`` kept in memory (newest last): id, status, creation time, links."""
    return [{"id": job.id, "status": str(job.status), "created_at": job.to_dict()["created_at"],
             "links": links(request, job.id)} for job in job_runner(request).jobs(kind=kind)]  # fmt: skip

"""What the plan and check-up route endpoints share: submitting, reading, listing and
cancelling durable jobs, and their JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse, Response

from api.deps import job_queue, job_worker
from api.schemas import ErrorOut
from layers.accounts.roles import Actor
from layers.jobs import Job, JobScope, JobStatus

Links = Callable[[Request, str], dict[str, str]]

#: What every job endpoint may answer before it looks at the job.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Not logged in (or credentials that do not verify)"},
    403: {"model": ErrorOut, "description": "A role that may not use these jobs (or a session "
          "write without its CSRF header)"},
}  # fmt: skip
#: The answers of cancelling or deleting a job besides 200 (a queued job cancelled).
CANCEL_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "The job runs: it is asked to stop (`cancel_requested` true)"},
    204: {"description": "A finished job, deleted with its result"},
    404: {"model": ErrorOut},
    **AUTH_ERRORS,
}

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200,
           description="Any unique string (e.g. a UUID): sending the same key again with "
           "the same request returns the job created first instead of starting another"),
]  # fmt: skip


def job_body(request: Request, job: Job, links: Links) -> dict[str, Any]:
    """A job's status, progress and times with its links (and ``error_status`` if failed)."""
    body = job.to_dict()
    body.pop("kind", None)
    body["links"] = links(request, job.id)
    if job.status is JobStatus.FAILED:
        body["error_status"] = job.error_status
    return body


def submit(
    request: Request,
    kind: str,
    job_request: Any,
    actor: Actor,
    idempotency_key: str | None,
    links: Links,
) -> JSONResponse:
    """Queue a job (or find the one of this ``Idempotency-Key``); answer ``202``."""
    job, created = job_queue(request).submit(kind, job_request, actor, idempotency_key)
    worker = job_worker(request)
    if created and worker is not None:
        worker.wake()
    urls = links(request, job.id)
    headers = {"Location": urls["self"]}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(status_code=202, headers=headers,
                        content={"id": job.id, "status": str(job.status), "links": urls})  # fmt: skip


def job_list(request: Request, scope: JobScope, kind: str, links: Links) -> list[dict[str, Any]]:
    """The caller's visible jobs of ``kind`` (newest last): id, status, times, links."""
    jobs = job_queue(request).list(scope, kind=kind)
    return [{"id": job.id, "status": str(job.status), "created_at": job.to_dict()["created_at"],
             "finished_at": job.to_dict()["finished_at"], "owner": job.owner,
             "links": links(request, job.id)} for job in jobs]  # fmt: skip


def cancel(request: Request, scope: JobScope, kind: str, job_id: str, links: Links) -> Response:
    """Cancel a queued or running job, or delete a finished one (``204``)."""
    worker = job_worker(request)
    job = job_queue(request).cancel(job_id, scope, kind)
    if job is None:
        return Response(status_code=204)
    if job.status is JobStatus.RUNNING and worker is not None:
        worker.request_stop(job.id)  # at once when it runs in this process
    status_code = 202 if job.status is JobStatus.RUNNING else 200
    return JSONResponse(status_code=status_code, content=job_body(request, job, links))

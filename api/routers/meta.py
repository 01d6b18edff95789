"""Liveness, readiness and metrics."""

from __future__ import annotations

import ipaddress
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.errors import error_body
from api.observability import Metrics, client_host
from api.settings import metrics_networks
from layers.errors import LayersError

router = APIRouter(tags=["meta"])
logger = logging.getLogger(__name__)


@router.get("/healthz", summary="Liveness check")
async def healthz() -> dict[str, str]:
    """Answers `{"status": "ok"}` while the service runs."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness check")
def readyz(request: Request) -> JSONResponse:
    """200 `{"status": "ready", …}` when this process can serve: the registry store answers
    a query, the job worker runs (`disabled` in an API-only process,
    `SERVICEMAP_JOB_WORKER=false`) and the start-up warm-up has finished; 503 with the
    `status` and a `reason` otherwise.

    The store check counts the queued and running jobs (`jobs`). Requests are served during
    the warm-up too, only slower (`warming_up`); `unavailable` means the store does not
    answer or the job worker stopped. With several worker processes each answers for itself.
    """
    state = request.app.state
    try:
        depth = state.jobs.depth()
    except LayersError as error:  # the store's message names its host: logged, not shown
        logger.warning("readiness: the store does not answer: %s", getattr(error, "message", error))
        return JSONResponse({"status": "unavailable", "store": "unreachable",
                             "reason": "the registry store does not answer"}, status_code=503)  # fmt: skip
    jobs = {"queued": 0, "running": 0}
    for (_, status), count in depth.items():
        jobs[status] = jobs.get(status, 0) + count
    worker = getattr(state, "job_worker", None)
    if not state.settings.job_worker:  # an API-only process: another one runs the jobs
        worker_state = "disabled"
    else:
        worker_state = "running" if worker is not None and worker.alive() else "stopped"
    body = {"store": "ok", "jobs": jobs, "job_worker": worker_state}
    if worker_state == "stopped":
        return JSONResponse({"status": "unavailable", **body,
                             "reason": "the job worker of this process is not running"},
                            status_code=503)  # fmt: skip
    if not state.warm_up_done.is_set():
        return JSONResponse({"status": "warming_up", **body,
                             "reason": "the start-up warm-up is still running"}, status_code=503)  # fmt: skip
    return JSONResponse({"status": "ready", **body})


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """The service's metrics in the Prometheus text format, for clients of the networks in
    `SERVICEMAP_METRICS_ALLOW` (403 for others, 404 when metrics are turned off)."""
    state = request.app.state
    registry: Metrics | None = getattr(state, "metrics", None)
    if registry is None or not state.settings.metrics_enabled:
        return JSONResponse(error_body("not_found", "metrics are turned off"), status_code=404)
    networks = metrics_networks(state.settings.metrics_allow)
    if networks is not None and not _allowed(client_host(request.scope), networks):
        message = "metrics are only served to the networks in SERVICEMAP_METRICS_ALLOW"
        return JSONResponse(error_body("forbidden", message), status_code=403)
    content, content_type = registry.render()
    return Response(content, media_type=content_type)


def _allowed(host: str | None, networks: tuple) -> bool:
    try:
        address = ipaddress.ip_address((host or "").split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in networks)

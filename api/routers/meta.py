"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["meta"])


@router.get("/healthz", summary="Liveness check")
def healthz() -> dict[str, str]:
    """Answers `{"status": "ok"}` while the service runs."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness check")
def readyz(request: Request) -> JSONResponse:
    """200 `{"status": "ready"}` once the start-up warm-up has finished, 503 before.

    Requests are served during the warm-up too; they may only be slower (the first
    network queries then build the indexes themselves). A load balancer or a benchmark
    waits for 200 before sending full traffic. With several worker processes each answers
    for itself.
    """
    warm = request.app.state.warm_up_done
    if warm.is_set():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "warming_up"}, status_code=503)

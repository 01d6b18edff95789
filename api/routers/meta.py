"""Liveness."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["meta"])


@router.get("/healthz", summary="Liveness check")
def healthz() -> dict[str, str]:
    """Answers `{"status": "ok"}` while the service runs."""
    return {"status": "ok"}

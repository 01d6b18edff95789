"""One place that maps errors to JSON responses: ``{"error": code, "message": text}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo.errors import GeoError
from layers.errors import LayersError

logger = logging.getLogger(__name__)


class RequestError(Exception):
    """A request the API refuses after parsing it (a malformed bbox, an unknown service)."""

    def __init__(self, message: str, status_code: int = 422, code: str = "invalid_request",
                 **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.details = details


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    """The JSON body of every error response."""
    return {"error": code, "message": message, **details}


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(item) for item in error.get("loc", ()) if item not in ("query", "body", "path"))
        given = error.get("input")
        text = error.get("msg", "invalid value")
        if error.get("type") == "missing":
            parts.append(f"{location}: required parameter is missing")
        elif given is not None and not isinstance(given, dict | list):
            parts.append(f"{location}: {text} (got {given!r})")
        else:
            parts.append(f"{location}: {text}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content=error_body("invalid_request", _describe_validation(exc)),
        )

    @app.exception_handler(RequestError)
    async def _request(_: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code, content=error_body(exc.code, exc.message, **exc.details)
        )

    @app.exception_handler(GeoError)
    async def _geo(_: Request, exc: GeoError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content=error_body(exc.code, exc.message))

    @app.exception_handler(LayersError)
    async def _layers(_: Request, exc: LayersError) -> JSONResponse:
        details: dict[str, Any] = {}
        valid = getattr(exc, "valid", None)
        if valid is not None:
            details["valid"] = list(valid)
        retry_after_s = getattr(exc, "retry_after_s", None)
        headers = None if retry_after_s is None else {"Retry-After": str(int(retry_after_s))}
        if retry_after_s is not None:
            details["retry_after_s"] = int(retry_after_s)
        return JSONResponse(
            status_code=exc.status_code, headers=headers,
            content=error_body(exc.code, exc.message, **details),
        )  # fmt: skip

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "http_error"
        return JSONResponse(
            status_code=exc.status_code, content=error_body(code, str(exc.detail))
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            status_code=500, content=error_body("internal_error", "internal server error")
        )

"""One place that maps errors to JSON responses: ``{"error": code, "message": text}``.

The one exception is a page a browser asks for that does not exist: a request outside
``/api/`` whose ``Accept`` header prefers ``text/html`` gets the site's HTML "page not found"
page (``static/not-found.html``) with status 404, so a mistyped link shows a page with a way back
to the map instead of a JSON body. API clients, and every path under ``/api/``, keep JSON.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
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


#: Longest message of an error answer (a message never carries a large input back).
MAX_MESSAGE_CHARS = 2000


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    """The JSON body of every error response (the message cut to ``MAX_MESSAGE_CHARS``)."""
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return {"error": code, "message": message, **details}


#: Longest excerpt of a user's input quoted back in an error message.
EXCERPT_CHARS = 60


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters: errors never echo large inputs."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text):,} characters)"


_FALLBACK_404_HTML = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>页面不存在</title>'
    '</head><body><h1>页面不存在</h1><p lang="en">Page not found.</p>'
    '<p><a href="/">职工服务地图</a></p></body></html>'
)


def _html_quality(accept: str) -> tuple[float, float]:
    """The q-values of ``text/html`` and of JSON in an ``Accept`` header (0 when absent)."""
    html = json = 0.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.strip().lower()
        if media in ("text/html", "application/xhtml+xml"):
            html = max(html, q)
        elif media in ("application/json", "application/geo+json"):
            json = max(json, q)
    return html, json


def wants_html(request: Request) -> bool:
    """Whether a request outside the API prefers an HTML page to JSON (a browser)."""
    if request.url.path.startswith("/api/"):
        return False
    html, json = _html_quality(request.headers.get("accept", ""))
    return html > 0 and html >= json


def not_found_page(request: Request) -> Response:
    """The HTML "page not found" page (``not-found.html`` of the static directory), status 404."""
    settings = getattr(request.app.state, "settings", None)
    page = settings.static_dir / "not-found.html" if settings is not None else None
    try:
        content = page.read_text(encoding="utf-8") if page is not None else _FALLBACK_404_HTML
    except OSError:
        content = _FALLBACK_404_HTML
    return HTMLResponse(content, status_code=404)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    errors = exc.errors()
    for error in errors[:10]:
        location = ".".join(str(item) for item in error.get("loc", ()) if item not in ("query", "body", "path"))
        given = error.get("input")
        text = error.get("msg", "invalid value")
        if error.get("type") == "missing":
            parts.append(f"{location}: required parameter is missing")
        elif given is not None and not isinstance(given, dict | list):
            parts.append(f"{location}: {text} (got {excerpt(given)})")
        else:
            parts.append(f"{location}: {text}")
    if len(errors) > 10:
        parts.append(f"and {len(errors) - 10} more")
    return "; ".join(parts)[:2000] or "invalid request"


#: The detail of FastAPI's 400 for a request body it could not decode.
FASTAPI_BODY_ERROR = "There was an error parsing the body"


def allowed_methods(request: Request, starlette_allow: str | None) -> list[str]:
    """Every method the API serves at the request's path (the ``Allow`` of a 405).

    Starlette's own 405 names only the methods of one route whose path matched (and the
    static files mounted at ``/`` answer 405 with none), so a client would be told that
    methods the API documents do not exist. The methods are those the OpenAPI document
    lists for the most concrete path templates that match; Starlette's for other paths.
    """
    matches = [(params, documented) for pattern, params, documented in _path_methods(request.app)
               if pattern.fullmatch(request.url.path)]  # fmt: skip
    # as OpenAPI matches paths: a concrete path before a templated one (/routes/sample is
    # not the job "sample" of /routes/{route_id})
    fewest = min((params for params, _ in matches), default=0)
    methods = {m for params, documented in matches if params == fewest for m in documented}
    if not methods:  # a path the OpenAPI does not describe (/docs, the static files)
        methods = {m.strip().upper() for m in (starlette_allow or "").split(",") if m.strip()}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _documented_methods(request: Request) -> set[str]:
    """The methods the OpenAPI documents for the request's path (empty: not an API path)."""
    methods = {m for pattern, _, documented in _path_methods(request.app)
               if pattern.fullmatch(request.url.path) for m in documented}  # fmt: skip
    if "GET" in methods:
        methods.add("HEAD")
    return methods


def _path_methods(app: Any) -> list[tuple[re.Pattern[str], int, set[str]]]:
    """Each operation of ``app``'s OpenAPI as a path pattern, its number of path parameters
    and its method (built once per app); a parameter with an ``enum`` matches its values."""
    cached: list[tuple[re.Pattern[str], int, set[str]]] | None = getattr(
        app.state, "path_methods", None)  # fmt: skip
    if cached is None:
        cached = []
        for path, operations in app.openapi().get("paths", {}).items():
            for method, operation in operations.items():
                enums = {p["name"]: p["schema"]["enum"] for p in operation.get("parameters", [])
                         if p.get("in") == "path" and "enum" in p.get("schema", {})}  # fmt: skip
                parts = []
                for part in re.split(r"(\{[^}]+\})", path):
                    if part.startswith("{"):
                        values = enums.get(part[1:-1])
                        parts.append("(?:" + "|".join(re.escape(str(v)) for v in values) + ")"
                                     if values else "[^/]+")  # fmt: skip
                    else:
                        parts.append(re.escape(part))
                cached.append((re.compile("".join(parts)), path.count("{"), {method.upper()}))
        app.state.path_methods = cached
    return cached


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
            status_code=exc.status_code, content=error_body(exc.code, exc.message, **exc.details),
            headers=getattr(exc, "headers", None),
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
        for name in ("message_zh", "message_en"):  # bilingual errors (registry imports)
            if isinstance(getattr(exc, name, None), str):
                details[name] = getattr(exc, name)[:MAX_MESSAGE_CHARS]
        cells = getattr(exc, "cells", None)
        if cells:
            details["cells"] = list(cells)[:50]
        headers = dict(getattr(exc, "headers", None) or {})  # WWW-Authenticate …
        retry_after_s = getattr(exc, "retry_after_s", None)
        if retry_after_s is not None:
            headers["Retry-After"] = str(int(retry_after_s))
            details["retry_after_s"] = int(retry_after_s)
        return JSONResponse(
            status_code=exc.status_code, headers=headers or None,
            content=error_body(exc.code, exc.message, **details),
        )  # fmt: skip

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and request.url.path.startswith("/api/"):
            # an API path asked with a method it does not serve: the static files mounted
            # at "/" answered 404 for it, but the path exists, so this is a 405
            documented = _documented_methods(request)
            if documented and request.method.upper() not in documented:
                allowed = allowed_methods(request, None)
                return JSONResponse(status_code=405, content=error_body(
                    "http_error", f"{request.method} is not allowed here; use "
                    f"{', '.join(allowed)}"), headers={"Allow": ", ".join(allowed)})  # fmt: skip
        if exc.status_code == 404 and wants_html(request):
            return not_found_page(request)
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 400 and exc.detail == FASTAPI_BODY_ERROR:
            # FastAPI's answer to a body it cannot decode (not UTF-8, a broken form): a
            # refusal of the input like any other, with the documented 422
            return JSONResponse(status_code=422, content=error_body(
                "invalid_request", "the request body could not be read: send it as the "
                "operation documents (UTF-8 JSON, or the form fields it names)"))  # fmt: skip
        if exc.status_code == 405:
            allowed = allowed_methods(request, headers.get("Allow"))
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        code = "not_found" if exc.status_code == 404 else "http_error"
        return JSONResponse(
            status_code=exc.status_code, content=error_body(code, str(exc.detail)),
            headers=headers or None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            status_code=500, content=error_body("internal_error", "internal server error")
        )

"""The OpenAPI document as the API really answers: every error is the JSON ``ErrorOut``.

FastAPI documents two things the service does not do, corrected here once for every route
instead of in each one:

* a ``422`` as its own ``HTTPValidationError`` (``{"detail": [...]}``), while
  :func:`api.errors.install_error_handlers` answers every refusal, validation included, as
  ``{"error": code, "message": text}``;
* the error responses of a route that answers another media type (the printable HTML
  schedule, GeoJSON, CSV) under that media type, while errors are always
  ``application/json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.schemas import ErrorOut

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")


def fix_error_responses(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every 4xx/5xx response documented as ``application/json``
    :class:`~api.schemas.ErrorOut` (changed in place and returned)."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorOut", ErrorOut.model_json_schema())
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if not (status.isdigit() and int(status) >= 400):
                    continue
                content = response.get("content")
                schema = ERROR_REF
                if content:  # keep a route's own, richer error model (e.g. an import report)
                    own = [media.get("schema") for media in content.values()]
                    if own and own[0] and own[0] != {"$ref": "#/components/schemas/HTTPValidationError"}:
                        schema = own[0]
                response["content"] = {"application/json": {"schema": schema}}
    for name in _FASTAPI_ERROR_SCHEMAS:
        components.pop(name, None)
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve ``app``'s OpenAPI document with :func:`fix_error_responses` applied."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, summary=app.summary,
                description=app.description, routes=app.routes,
            )  # fmt: skip
            app.openapi_schema = fix_error_responses(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

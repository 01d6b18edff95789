"""The OpenAPI 3.0 definition of the OGC API part of the service (``/ogc/openapi``)."""

from __future__ import annotations

from typing import Any

from api.ogc.crs import SUPPORTED
from layers.registry.catalog import DISTRICTS, LAYERS
from layers.registry.schema import FacilityStatus

#: Largest and default page size of ``/items``.
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100


def _param(name: str, description: str, schema: dict[str, Any], *, where: str = "query",
           required: bool = False, explode: bool | None = None) -> dict[str, Any]:  # fmt: skip
    param: dict[str, Any] = {"name": name, "in": where, "description": description,
                             "required": required, "schema": schema}  # fmt: skip
    if where == "query":
        param["style"] = "form"
        param["explode"] = False if explode is None else explode
    return param


_PARAMETERS: dict[str, dict[str, Any]] = {
    "f": _param("f", "The format of the answer (otherwise from the Accept header).",
                {"type": "string", "enum": ["json", "html", "gpkg", "csv", "xlsx"]}),
    "featureId": _param("featureId", "A facility id, e.g. training_site:01.",
                        {"type": "string"}, where="path", required=True),
    "bbox": _param("bbox", "minx,miny,maxx,maxy in bbox-crs (default CRS84 longitude/latitude).",
                   {"type": "array", "minItems": 4, "maxItems": 6,
                    "items": {"type": "number"}}),
    "bbox-crs": _param("bbox-crs", "The CRS of bbox.",
                       {"type": "string", "format": "uri", "enum": list(SUPPORTED)}),
    "crs": _param("crs", "The CRS of the answer's coordinates.",
                  {"type": "string", "format": "uri", "enum": list(SUPPORTED)}),
    "limit": _param("limit", "Features per page.",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                     "default": DEFAULT_LIMIT}),
    "offset": _param("offset", "Features to skip (the next/prev links carry it).",
                     {"type": "integer", "minimum": 0, "default": 0}),
    "datetime": _param("datetime", "An instant or interval (RFC 3339, '..' for open ends) "
                       "matched against the record's last update (updated_at).",
                       {"type": "string"}),
    "filter": _param("filter", "A CQL2 filter (text or JSON, see filter-lang).",
                     {"type": "string"}),
    "filter-lang": _param("filter-lang", "The language of filter.",
                          {"type": "string", "enum": ["cql2-text", "cql2-json"],
                           "default": "cql2-text"}),
    "filter-crs": _param("filter-crs", "The CRS of the filter's geometry literals.",
                         {"type": "string", "format": "uri", "enum": list(SUPPORTED)}),
    "district": _param("district", "Only facilities of this district.",
                       {"type": "string", "enum": list(DISTRICTS)}),
    "status": _param("status", "Only facilities with one of these statuses (comma-separated).",
                     {"type": "array", "items": {"type": "string",
                                                 "enum": [s.value for s in FacilityStatus]}}),
}  # fmt: skip

_ERROR = {"description": "Bad request (malformed or unknown parameter, bad filter)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/error"}}}}
_NOT_FOUND = {"description": "No such collection or feature",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/error"}}}}


def _refs(*names: str) -> list[dict[str, str]]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


def _ok(description: str, *media: str) -> dict[str, Any]:
    return {"description": description,
            "content": {m: {"schema": {"type": "object"}} for m in media}}  # fmt: skip


def _collection_paths(layer: str, plain: tuple[str, ...],
                      items_media: tuple[str, ...]) -> dict[str, Any]:  # fmt: skip
    """The paths of one collection, spelt out (as the standard's second example does), so a
    client reads each collection's parameters without expanding a template."""
    url = f"/collections/{layer}"
    return {
        url: {"get": {
            "operationId": f"describeCollection_{layer}", "summary": f"The layer {layer}",
            "parameters": _refs("f"), "responses": {"200": _ok("Collection", *plain)}}},
        f"{url}/queryables": {"get": {
            "operationId": f"getQueryables_{layer}",
            "summary": f"Properties a filter on {layer} may name", "parameters": _refs("f"),
            "responses": {"200": _ok("JSON Schema", "application/schema+json", "text/html")}}},
        f"{url}/items": {"get": {
            "operationId": f"getFeatures_{layer}",
            "summary": f"The published, located facilities of {layer}",
            "parameters": _refs("f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime",
                                "filter", "filter-lang", "filter-crs", "district", "status"),
            "responses": {"200": _ok("Features", *items_media), "400": _ERROR}}},
        f"{url}/items/{{featureId}}": {"get": {
            "operationId": f"getFeature_{layer}", "summary": f"One facility of {layer}",
            "parameters": _refs("featureId", "f", "crs"),
            "responses": {"200": _ok("Feature", "application/geo+json", "text/html"),
                          "400": _ERROR, "404": _NOT_FOUND}}},
    }  # fmt: skip


def openapi_document(base: str) -> dict[str, Any]:
    """The OpenAPI 3.0.3 document, with ``base`` (the ``/ogc`` URL) as its server."""
    plain = ("application/json", "text/html")
    items_media = ("application/geo+json", "text/html", "application/geopackage+sqlite3",
                   "text/csv",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")  # fmt: skip
    paths: dict[str, Any] = {
        "/": {"get": {"operationId": "getLandingPage", "summary": "Landing page",
                      "parameters": _refs("f"), "responses": {"200": _ok("Links", *plain)}}},
        "/conformance": {"get": {"operationId": "getConformance",
                                 "summary": "Conformance classes", "parameters": _refs("f"),
                                 "responses": {"200": _ok("Conformance", *plain)}}},
        "/collections": {"get": {"operationId": "getCollections",
                                 "summary": "Every registry and context layer",
                                 "parameters": _refs("f"),
                                 "responses": {"200": _ok("Collections", *plain)}}},
    }  # fmt: skip
    for layer in LAYERS:
        paths.update(_collection_paths(layer, plain, items_media))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "servicemap OGC API - Features",
            "version": "1.0.0",
            "description": "Published trade-union facilities of Shanghai and the "
                           "OpenStreetMap context layers, one collection per layer.",
            "license": {"name": "MIT"},
        },
        "servers": [{"url": base}],
        "paths": paths,
        "components": {
            "parameters": _PARAMETERS,
            "schemas": {"error": {"type": "object", "required": ["error", "message"],
                                  "properties": {"error": {"type": "string"},
                                                 "message": {"type": "string"}}}},
        },
    }  # fmt: skip

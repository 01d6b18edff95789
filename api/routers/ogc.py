"""OGC API - Features (Parts 1, 2 and 3) under ``/ogc``: every layer is a collection.

Only published records are served: the ``facilities`` table of the store holds exactly the
public copies (drafts, returned and submitted working copies live in ``registry_records``).
Query parameters are parsed by :mod:`api.ogc.params` (400 for anything wrong), filters are
compiled to SQL by :mod:`layers.store.cql`, and the answer's format is negotiated by
:mod:`api.ogc.formats` (JSON/GeoJSON, HTML, GeoPackage, CSV, XLSX). See docs/ogc.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import RegistryDep
from api.errors import RequestError
from api.ogc import formats, html
from api.ogc.crs import CRS84, SUPPORTED, header_value, parse_crs
from api.ogc.formats import GEOJSON, HTML, JSON, MEDIA_TYPES, OPENAPI, TITLES
from api.ogc.openapi import openapi_document
from api.ogc.params import ITEM_PARAMETERS, PLAIN_PARAMETERS, check_known, parse_items
from layers.registry.catalog import LAYERS, LayerInfo, get_layer
from layers.registry.service import Registry
from layers.store.cql import QUERYABLES, QueryableType

router = APIRouter(prefix="/ogc", tags=["ogc"], include_in_schema=False)

_F1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
_F2 = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/"
_F3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
CONFORMANCE = [
    _F1 + "core", _F1 + "oas30", _F1 + "html", _F1 + "geojson", _F2 + "crs",
    _F3 + "queryables", _F3 + "queryables-query-parameters", _F3 + "filter",
    _F3 + "features-filter", _CQL2 + "cql2-text", _CQL2 + "cql2-json", _CQL2 + "basic-cql2",
    _CQL2 + "advanced-comparison-operators", _CQL2 + "basic-spatial-functions",
    _CQL2 + "basic-spatial-functions-plus",
]  # fmt: skip


#: Every resource answers HEAD as GET without the body (clients probe the Link header).
READ_METHODS = ["GET", "HEAD"]
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


def link_header(links: list[dict[str, Any]]) -> str:
    """The links as an HTTP ``Link`` header (RFC 8288): target, ``rel`` and ``type``.

    Titles stay in the body (they may hold commas and non-ASCII text); the hrefs are
    percent-encoded, so they hold no comma, semicolon or angle bracket.
    """
    return ", ".join(f'<{link["href"]}>; rel="{link["rel"]}"; type="{link["type"]}"'
                     for link in links)  # fmt: skip


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _self_links(url: str, fmt: str, offered: tuple[str, ...], json_media: str,
                extra: dict[str, str] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """``self`` and ``alternate`` links of a resource in each offered format."""
    links = []
    for other in offered:
        media = json_media if other == JSON else MEDIA_TYPES[other]
        params = {**(extra or {}), "f": other}
        links.append({"href": f"{url}?{urlencode(params)}",
                      "rel": "self" if other == fmt else "alternate", "type": media,
                      "title": f"This document as {TITLES[other]}"})  # fmt: skip
    return links


def _answer(fmt: str, document: dict[str, Any], render: Any, base: str,
            media: str = "application/json", headers: dict[str, str] | None = None) -> Response:  # fmt: skip
    if fmt == HTML:
        return HTMLResponse(render(document, base), headers=headers)
    return JSONResponse(document, media_type=media, headers=headers)


# -- landing page, conformance, API definition ------------------------------------------


@router.api_route("", methods=READ_METHODS)
@router.api_route("/", methods=READ_METHODS)
def landing_page(request: Request) -> Response:
    """The landing page with its links (self, service-desc, service-doc, conformance, data)."""
    check_known(request.query_params, PLAIN_PARAMETERS)
    fmt = formats.negotiate(request, formats.RESOURCE_FORMATS)
    base = _base(request)
    links = _self_links(base, fmt, formats.RESOURCE_FORMATS, "application/json")
    links += [
        {"href": f"{base}/openapi", "rel": "service-desc", "type": OPENAPI,
         "title": "The API definition (OpenAPI 3.0)"},
        {"href": f"{base}/openapi?f=html", "rel": "service-doc", "type": "text/html",
         "title": "The API documentation"},
        {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json",
         "title": "Conformance classes"},
        {"href": f"{base}/collections", "rel": "data", "type": "application/json",
         "title": "The collections (layers)"},
    ]  # fmt: skip
    document = {
        "title": "servicemap – Shanghai trade-union worker facilities",
        "description": "OGC API - Features: every registry and context layer of the service "
                       "map as a collection of published facilities.",
        "links": links,
    }
    return _answer(fmt, document, html.landing, base)


@router.api_route("/conformance", methods=READ_METHODS)
def conformance(request: Request) -> Response:
    """The conformance classes this API implements."""
    check_known(request.query_params, PLAIN_PARAMETERS)
    fmt = formats.negotiate(request, formats.RESOURCE_FORMATS)
    return _answer(fmt, {"conformsTo": CONFORMANCE}, html.conformance, _base(request))


@router.api_route("/openapi", methods=READ_METHODS)
def openapi(request: Request) -> Response:
    """The OpenAPI 3.0 definition of ``/ogc`` (HTML with ``f=html``)."""
    check_known(request.query_params, PLAIN_PARAMETERS)
    fmt = formats.negotiate(request, formats.RESOURCE_FORMATS)
    base = _base(request)
    return _answer(fmt, openapi_document(base), html.api_definition, base, media=OPENAPI)


# -- collections -----------------------------------------------------------------------


def _collection(info: LayerInfo, registry: Registry, base: str, fmt: str,
                published: int) -> dict[str, Any]:  # fmt: skip
    """The collection of a layer; ``published`` is the number of its published records."""
    url = f"{base}/collections/{info.id}"
    located = registry.located(info.id)
    unlocated = published - len(located)
    if located:
        lons = [f.lon for f in located]
        lats = [f.lat for f in located]
        spatial = [min(lons), min(lats), max(lons), max(lats)]  # type: ignore[type-var]
        times = [f.updated_at for f in located]
        temporal = [min(times).isoformat(), max(times).isoformat()]
    else:
        spatial, temporal = [120.85, 30.67, 122.2, 31.88], [None, None]  # Shanghai
    links = _self_links(url, fmt, formats.RESOURCE_FORMATS, "application/json")
    links += [
        {"href": f"{url}/items?f=json", "rel": "items", "type": GEOJSON,
         "title": f"{info.name_en} as GeoJSON"},
        {"href": f"{url}/items?f=html", "rel": "items", "type": "text/html",
         "title": f"{info.name_en} as HTML"},
        *({"href": f"{url}/items?f={other}", "rel": "items", "type": MEDIA_TYPES[other],
           "title": f"{info.name_en} as {TITLES[other]}"}
          for other in (formats.GPKG, formats.CSV, formats.XLSX)),
        {"href": f"{url}/queryables", "rel": QUERYABLES_REL,
         "type": "application/schema+json", "title": "Properties a filter may name"},
    ]  # fmt: skip
    description = f"{info.description_zh} {info.description_en} ({info.kind.value} layer)"
    if unlocated:
        records = "record has" if unlocated == 1 else "records have"
        description += (f" {unlocated} published {records} no known position yet and "
                        "are not features of this collection; the servicemap API lists them "
                        "(related link).")  # fmt: skip
        links.append({"href": f"{base.removesuffix('/ogc')}/api/v1/layers/{info.id}/features",
                      "rel": "related", "type": GEOJSON,
                      "title": f"Every published record of {info.name_en}, with and without a "
                               "position (servicemap API)"})  # fmt: skip
    return {
        "id": info.id,
        "title": f"{info.name_zh} {info.name_en}",
        "description": description,
        "links": links,
        "extent": {"spatial": {"bbox": [spatial], "crs": CRS84},
                   "temporal": {"interval": [temporal],
                                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}},
        "itemType": "feature",
        "crs": list(SUPPORTED),
        "storageCrs": CRS84,
    }  # fmt: skip


@router.api_route("/collections", methods=READ_METHODS)
def collections(request: Request, registry: RegistryDep) -> Response:
    """Every layer (registries first, then context layers) as a collection."""
    check_known(request.query_params, PLAIN_PARAMETERS)
    fmt = formats.negotiate(request, formats.RESOURCE_FORMATS)
    base = _base(request)
    counts = registry.store.counts()
    document = {
        "links": _self_links(f"{base}/collections", fmt, formats.RESOURCE_FORMATS,
                             "application/json"),
        "collections": [_collection(info, registry, base, JSON, counts.get(info.id, 0))
                        for info in LAYERS.values()],
        "crs": list(SUPPORTED),
    }  # fmt: skip
    return _answer(fmt, document, html.collections, base)


@router.api_route("/collections/{layer}", methods=READ_METHODS)
def collection(layer: str, request: Request, registry: RegistryDep) -> Response:
    """One layer's collection description (extent, CRSs, links to its items)."""
    info = get_layer(layer)
    check_known(request.query_params, PLAIN_PARAMETERS)
    fmt = formats.negotiate(request, formats.RESOURCE_FORMATS)
    base = _base(request)
    published = registry.store.counts().get(info.id, 0)
    return _answer(fmt, _collection(info, registry, base, fmt, published), html.collection, base)


_JSON_SCHEMA_TYPES = {
    QueryableType.STRING: {"type": "string"}, QueryableType.INTEGER: {"type": "integer"},
    QueryableType.NUMBER: {"type": "number"}, QueryableType.BOOLEAN: {"type": "boolean"},
    QueryableType.TIMESTAMP: {"type": "string", "format": "date-time"},
    QueryableType.DATE: {"type": "string", "format": "date"},
    QueryableType.GEOMETRY: {"format": "geometry-point"},
}  # fmt: skip


@router.api_route("/collections/{layer}/queryables", methods=READ_METHODS)
def queryables(layer: str, request: Request) -> Response:
    """The properties a ``filter`` may name, as a JSON Schema."""
    info = get_layer(layer)
    check_known(request.query_params, PLAIN_PARAMETERS)
    fmt = formats.negotiate(request, formats.RESOURCE_FORMATS)
    base = _base(request)
    properties = {}
    for q in QUERYABLES.values():
        spec: dict[str, Any] = {"title": q.title, **_JSON_SCHEMA_TYPES[q.type]}
        if q.enum:
            spec["enum"] = list(q.enum)
        properties[q.name] = spec
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{info.id}/queryables",
        "type": "object",
        "title": f"Queryables of {info.name_en}",
        "properties": properties,
        "additionalProperties": False,
    }
    return _answer(fmt, document, html.queryables, base, media="application/schema+json")


# -- features --------------------------------------------------------------------------


def _page_links(request: Request, fmt: str, offset: int, limit: int, returned: int,
                total: int) -> list[dict[str, Any]]:  # fmt: skip
    url = str(request.url).split("?", 1)[0]
    params = {k: v for k, v in request.query_params.items() if k not in ("f", "offset")}
    links = _self_links(url, fmt, formats.ITEMS_FORMATS, GEOJSON,
                        extra={**params, "offset": str(offset)} if offset else params)
    links.append({"href": f"{url.rsplit('/', 1)[0]}/queryables", "rel": QUERYABLES_REL,
                  "type": "application/schema+json", "title": "Properties a filter may name"})  # fmt: skip
    media = GEOJSON if fmt == JSON else MEDIA_TYPES[fmt]
    for rel, at in (("next", offset + limit), ("prev", max(0, offset - limit))):
        if (rel == "next" and offset + returned < total) or (rel == "prev" and offset > 0):
            query = urlencode({**params, "offset": str(at), "f": fmt})
            links.append({"href": f"{url}?{query}", "rel": rel, "type": media,
                          "title": "Next page" if rel == "next" else "Previous page"})  # fmt: skip
    return links


@router.api_route("/collections/{layer}/items", methods=READ_METHODS)
def items(layer: str, request: Request, registry: RegistryDep) -> Response:
    """A page of a layer's published, located facilities, filtered (bbox, datetime, district, status,
    CQL2 ``filter``) and in the negotiated format and ``crs``."""
    info = get_layer(layer)
    parsed = parse_items(layer, request.query_params)
    fmt = formats.negotiate(request, formats.ITEMS_FORMATS)
    page = registry.features(parsed.query)
    crs = parsed.crs
    query = parsed.query
    links = _page_links(request, fmt, query.offset, query.limit, len(page.items), page.total)
    headers = {"Content-Crs": header_value(crs), "Link": link_header(links)}
    if fmt == formats.CSV:
        return Response(formats.csv_bytes(page.items, crs), media_type="text/csv; charset=utf-8",
                        headers={**headers, "Content-Disposition": _attachment(layer, "csv")})
    if fmt == formats.XLSX:
        return Response(formats.xlsx_bytes(layer, page.items, crs), media_type=MEDIA_TYPES[fmt],
                        headers={**headers, "Content-Disposition": _attachment(layer, "xlsx")})
    if fmt == formats.GPKG:
        return Response(formats.gpkg_bytes(layer, page.items, crs), media_type=MEDIA_TYPES[fmt],
                        headers={**headers, "Content-Disposition": _attachment(layer, "gpkg")})
    document = {
        "type": "FeatureCollection",
        "features": [formats.feature(f, crs) for f in page.items],
        "numberMatched": page.total,
        "numberReturned": len(page.items),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    }
    if fmt == HTML:
        return HTMLResponse(html.items(f"{info.name_zh} {info.name_en}", document,
                                       _base(request)), headers=headers)  # fmt: skip
    return JSONResponse(document, media_type=GEOJSON, headers=headers)


def _attachment(layer: str, extension: str) -> str:
    return f'attachment; filename="{layer}.{extension}"'


@router.api_route("/collections/{layer}/items/{feature_id:path}", methods=READ_METHODS)
def item(layer: str, feature_id: str, request: Request, registry: RegistryDep) -> Response:
    """One published facility of the layer."""
    get_layer(layer)
    check_known(request.query_params, ITEM_PARAMETERS)
    crs = parse_crs(request.query_params["crs"]) if "crs" in request.query_params else CRS84
    fmt = formats.negotiate(request, formats.ITEM_FORMATS)
    found = registry.store.get(feature_id) if len(feature_id) <= 200 else None
    if found is None or found.layer != layer:
        raise RequestError(f"no published feature {feature_id[:80]!r} in collection {layer!r}",
                           status_code=404, code="not_found")  # fmt: skip
    if not found.located:
        raise RequestError(f"{feature_id[:80]!r} has no known position yet, so it is not a "
                           f"feature of collection {layer!r}; /api/v1/facilities/"
                           f"{quote(feature_id, safe=':')} has the record",
                           status_code=404, code="not_found")  # fmt: skip
    base = _base(request)
    url = f"{base}/collections/{layer}/items/{quote(feature_id, safe=':')}"
    document = formats.feature(found, crs)
    document["links"] = [
        *_self_links(url, fmt, formats.ITEM_FORMATS, GEOJSON),
        {"href": f"{base}/collections/{layer}", "rel": "collection", "type": "application/json",
         "title": "The collection"},
    ]  # fmt: skip
    headers = {"Content-Crs": header_value(crs), "Link": link_header(document["links"])}
    return _answer(fmt, document, html.item, base, media=GEOJSON, headers=headers)


__all__ = ["CONFORMANCE", "router"]

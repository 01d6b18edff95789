"""The query parameters of ``/ogc/collections/{layer}/items``, parsed into a store query.

Every parameter is checked here so a bad one is a 400 with a message (never a 500 or a
silently ignored value): unknown names, malformed ``bbox``, ``limit`` out of range, an
unknown CRS, a bad ``datetime`` or a filter that does not parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pygeofilter import ast
from shapely.geometry import mapping
from starlette.datastructures import QueryParams

from api.errors import RequestError
from api.ogc.crs import CRS84, bbox_in_crs84, geometry_to_crs84, parse_bbox_values, parse_crs
from api.ogc.openapi import DEFAULT_LIMIT, MAX_LIMIT
from layers.registry.catalog import DISTRICTS
from layers.registry.schema import FacilityStatus
from layers.store import BBox, FacilityQuery
from layers.store.cql import CQLFilter, parse_filter

ITEMS_PARAMETERS = frozenset({"f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime",
                              "filter", "filter-lang", "filter-crs", "district", "status"})  # fmt: skip
ITEM_PARAMETERS = frozenset({"f", "crs"})
PLAIN_PARAMETERS = frozenset({"f"})
_HALF_MS = timedelta(microseconds=500)
#: The features of a collection are its published records with a known position (see
#: docs/ogc.md, "Records without a position"); compiled into the store's query.
LOCATED = CQLFilter(ast.IsNull(ast.Attribute("geometry"), not_=True))


def _bad(message: str) -> RequestError:
    return RequestError(message, status_code=400)


def check_known(params: QueryParams, known: frozenset[str]) -> None:
    """Refuse unknown and repeated parameters (400)."""
    unknown = sorted({name for name in params if name not in known})
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise _bad(f"unknown query parameter {shown}; valid: {', '.join(sorted(known))}")
    for name in params:
        if len(params.getlist(name)) > 1:
            raise _bad(f"query parameter {name!r} is given more than once")


def _integer(params: QueryParams, name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _bad(f"{name} must be an integer (got {text[:40]!r})") from None
    if not low <= value <= high:
        raise _bad(f"{name} must be between {low} and {high:,} (got {value})")
    return value


@dataclass(frozen=True)
class ItemsRequest:
    """A parsed items request."""

    query: FacilityQuery
    crs: str


def parse_items(layer: str, params: QueryParams) -> ItemsRequest:
    """The store query and output CRS of an items request.

    Raises
    ------
    RequestError, FilterError
        (400) For any bad parameter.
    """
    check_known(params, ITEMS_PARAMETERS)
    limit = _integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _integer(params, "offset", 0, 0, 2**62)
    crs = parse_crs(params["crs"], "crs") if "crs" in params else CRS84
    filters: list[CQLFilter] = [LOCATED]
    box = None
    if "bbox" in params:
        bbox_crs = parse_crs(params["bbox-crs"], "bbox-crs") if "bbox-crs" in params else CRS84
        envelope, outline = bbox_in_crs84(parse_bbox_values(params["bbox"]), bbox_crs)
        box = BBox(*envelope)
        if outline is not None:  # a projected box is curved in longitude/latitude
            filters.append(CQLFilter(ast.GeometryIntersects(
                ast.Attribute("geometry"), _geometry_node(mapping(outline)))))  # fmt: skip
    elif "bbox-crs" in params:
        raise _bad("bbox-crs needs a bbox")
    district = params.get("district")
    if district is not None and district not in DISTRICTS:
        raise _bad(f"unknown district {district[:40]!r}; valid: {', '.join(DISTRICTS)}")
    statuses = None
    if "status" in params:
        try:
            statuses = [FacilityStatus(s.strip()) for s in params["status"].split(",") if s.strip()]
        except ValueError:
            valid = ", ".join(s.value for s in FacilityStatus)
            raise _bad(f"unknown status in {params['status'][:60]!r}; valid: {valid}") from None
    if "datetime" in params:
        filters.append(CQLFilter(datetime_node(params["datetime"])))
    if "filter" in params:
        lang = params.get("filter-lang", "cql2-text")
        parsed = parse_filter(params["filter"], lang)
        source = parse_crs(params["filter-crs"], "filter-crs") if "filter-crs" in params else CRS84
        filters.append(CQLFilter(parsed.node, geometry_to_crs84(source)))
    elif "filter-lang" in params or "filter-crs" in params:
        raise _bad("filter-lang and filter-crs need a filter")
    query = FacilityQuery(layer=layer, bbox=box, district=district, statuses=statuses,
                          limit=limit, offset=offset, filters=tuple(filters))  # fmt: skip
    return ItemsRequest(query, crs)


def _geometry_node(geometry: dict[str, object]) -> object:
    from pygeofilter.values import Geometry

    return Geometry(geometry)


def _instant(text: str, *, end: bool) -> datetime | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:  # a date: its whole day (UTC)
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(), tzinfo=UTC)
            return start + timedelta(days=1, microseconds=-1) if end else start
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(
            f"datetime {text[:40]!r} is not an RFC 3339 date-time (e.g. 2024-05-01T00:00:00Z), "
            "a date, or an interval start/end with '..' for an open end"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def datetime_node(value: str) -> object:
    """The filter of a ``datetime`` parameter on the records' last update (``updated_at``).

    Raises
    ------
    RequestError
        (400) For a malformed instant or interval, or one whose end is before its start.
    """
    attribute = ast.Attribute("updated_at")
    if "/" not in value:
        if value.strip() == "..":
            raise _bad("datetime '..' needs an interval: start/end")
        start = _instant(value, end=False)
        stop = _instant(value, end=True) if len(value.strip()) == 10 else start
        if start == stop and start is not None:  # an instant, to the database's millisecond
            start, stop = start - _HALF_MS, start + _HALF_MS
        return ast.And(ast.GreaterEqual(attribute, start), ast.LessEqual(attribute, stop))
    first, _, second = value.partition("/")
    start, stop = _instant(first, end=False), _instant(second, end=True)
    if start is not None and stop is not None and stop < start:
        raise _bad(f"datetime interval {value[:80]!r} ends before it starts")
    parts: list[object] = []
    if start is not None:
        parts.append(ast.GreaterEqual(attribute, start))
    if stop is not None:
        parts.append(ast.LessEqual(attribute, stop))
    if not parts:
        return ast.Include(False)  # ../.. : every record
    return parts[0] if len(parts) == 1 else ast.And(parts[0], parts[1])

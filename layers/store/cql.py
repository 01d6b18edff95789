"""CQL2 filters (OGC API - Features Part 3) compiled to SQL for both store backends.

A filter is parsed by ``pygeofilter`` (CQL2 text or CQL2 JSON) into its AST, and the AST is
compiled here into a parameterised ``WHERE`` fragment in the dialect of the store that runs
it, so the database does the filtering (never Python after fetching everything):

* scalar properties are either indexed columns (``id``, ``district``, ``status``) or fields
  of the stored JSON record (``json_extract`` in SQLite, ``record->>`` with a cast in
  PostgreSQL);
* spatial predicates on the facility point become ``ST_Intersects`` & co. in PostGIS; in
  SQLite an R*Tree window on the literal's envelope narrows the rows and a small SQL
  function (:func:`register_sqlite_functions`, GEOS through shapely) decides exactly.

Supported: Basic CQL2 (comparisons, ``AND``/``OR``/``NOT``, ``IS NULL``), ``LIKE``,
``BETWEEN``, ``IN``, and the spatial functions ``S_INTERSECTS``, ``S_DISJOINT``,
``S_WITHIN``, ``S_CONTAINS`` and ``S_EQUALS`` with a geometry literal (WKT/GeoJSON or
``BBOX``). Anything else is refused with a :class:`FilterError` (400) naming it.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import shapely
from pygeofilter import ast, values
from shapely.geometry import Point, box, shape
from shapely.geometry.base import BaseGeometry

from geo._prepared import SharedPrepared
from layers.errors import LayersError
from layers.registry.catalog import DISTRICTS
from layers.registry.schema import FacilityStatus, LocationPrecision

#: Longest filter accepted (characters of text or JSON).
MAX_FILTER_CHARS = 20_000
#: Deepest nesting of a filter expression.
MAX_DEPTH = 60


class FilterError(LayersError):
    """A filter that cannot be parsed or is not supported (400, with the reason)."""

    status_code = 400
    code = "invalid_filter"


class QueryableType(StrEnum):
    """The JSON Schema type of a queryable."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    DATE = "date"
    GEOMETRY = "geometry"


@dataclass(frozen=True)
class Queryable:
    """A property a filter may name.

    Attributes
    ----------
    name
        The name in filters (and the feature property).
    type
        Its type; literals compared with it must have that type.
    title
        Human-readable description.
    column
        The indexed column that holds it, or ``None`` for a field of the JSON record.
    enum
        The allowed values, when it has a fixed vocabulary.
    """

    name: str
    type: QueryableType
    title: str
    column: str | None = None
    enum: tuple[str, ...] | None = None


_Q = QueryableType
QUERYABLES: dict[str, Queryable] = {
    q.name: q
    for q in (
        Queryable("geometry", _Q.GEOMETRY, "The facility's position (a point)"),
        Queryable("id", _Q.STRING, "Facility id, e.g. training_site:01", column="id"),
        Queryable("district", _Q.STRING, "District (区)", column="district", enum=DISTRICTS),
        Queryable("status", _Q.STRING, "Life-cycle status", column="status",
                  enum=tuple(s.value for s in FacilityStatus)),
        Queryable("name", _Q.STRING, "Name (Chinese)"),
        Queryable("name_en", _Q.STRING, "Name (English)"),
        Queryable("address", _Q.STRING, "Street address"),
        Queryable("host_type", _Q.STRING, "Kind of host (park, building, …)"),
        Queryable("phone", _Q.STRING, "Public telephone number"),
        Queryable("source", _Q.STRING, "Where the record comes from"),
        Queryable("registry_no", _Q.STRING, "The union's registry number (统一编号)"),
        Queryable("park_name", _Q.STRING, "Park or building (所在园区（楼宇）)"),
        Queryable("location_precision", _Q.STRING, "How the position was obtained",
                  enum=tuple(p.value for p in LocationPrecision)),
        Queryable("capacity", _Q.INTEGER, "People served at once"),
        Queryable("n_firms", _Q.INTEGER, "Firms served (企业数)"),
        Queryable("n_workers", _Q.INTEGER, "Workers served (职工数)"),
        Queryable("area_m2", _Q.NUMBER, "Floor area in square metres"),
        Queryable("uncertainty_m", _Q.NUMBER, "Position uncertainty in metres"),
        Queryable("demo", _Q.BOOLEAN, "Whether the record is demonstration data"),
        Queryable("updated_at", _Q.TIMESTAMP, "Last update of the record"),
        Queryable("last_verified", _Q.DATE, "Date the record was last confirmed"),
    )
}  # fmt: skip

GeometryTransform = Callable[[BaseGeometry], BaseGeometry]


@dataclass(frozen=True)
class CQLFilter:
    """A parsed filter with the CRS conversion of its geometry literals.

    Attributes
    ----------
    node
        The pygeofilter AST.
    to_crs84
        Converts a geometry literal to longitude/latitude (``None``: it already is).
    """

    node: Any
    to_crs84: GeometryTransform | None = field(default=None, compare=False)


def parse_filter(text: str, lang: str = "cql2-text") -> CQLFilter:
    """Parse a CQL2 filter.

    Parameters
    ----------
    text
        The filter as given in the request (for ``cql2-json``, the JSON text).
    lang
        ``cql2-text`` or ``cql2-json``.

    Raises
    ------
    FilterError
        When the filter is too long, malformed, or in another language.
    """
    if len(text) > MAX_FILTER_CHARS:
        raise FilterError(f"the filter is longer than {MAX_FILTER_CHARS:,} characters")
    if not text.strip():
        raise FilterError("the filter is empty")
    try:
        if lang == "cql2-text":
            from pygeofilter.parsers.cql2_text import parse as parse_text

            node = parse_text(text)
        elif lang == "cql2-json":
            from pygeofilter.parsers.cql2_json import parse as parse_json

            try:
                document = json.loads(text)
            except ValueError as exc:
                raise FilterError(f"the filter is not valid JSON: {exc}") from None
            if not isinstance(document, dict | bool):
                raise FilterError("a CQL2 JSON filter must be a JSON object")
            node = parse_json(_bbox_as_polygon(document))
        else:
            raise FilterError(f"unknown filter-lang {lang[:40]!r}; valid: cql2-text, cql2-json")
    except FilterError:
        raise
    except RecursionError:
        raise FilterError("the filter is nested too deeply") from None
    except Exception as exc:  # lark and the JSON parser raise many kinds; all mean "malformed"
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise FilterError(f"the {lang} filter cannot be parsed: {reason}") from None
    return CQLFilter(node)


def _bbox_as_polygon(document: Any) -> Any:
    """Replace CQL2 JSON ``{"bbox": [...]}`` literals by GeoJSON polygons.

    pygeofilter 0.4 reads ``[minx, miny, maxx, maxy]`` into its envelope in the wrong
    order; a polygon reaches the compiler intact.
    """
    if isinstance(document, list):
        return [_bbox_as_polygon(item) for item in document]
    if not isinstance(document, dict):
        return document
    numbers = document.get("bbox")
    if len(document) == 1 and isinstance(numbers, list) and len(numbers) in (4, 6):
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
            raise FilterError("a bbox literal must be 4 or 6 numbers")
        if len(numbers) == 6:
            numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
        return {"type": "Polygon", "coordinates": [list(box(*numbers).exterior.coords)]}
    return {key: _bbox_as_polygon(value) for key, value in document.items()}


@dataclass
class _Context:
    dialect: str  # "sqlite" or "postgres"
    alias: str  # column prefix, e.g. "f."
    to_crs84: GeometryTransform | None
    params: list[object] = field(default_factory=list)

    @property
    def p(self) -> str:
        return "?" if self.dialect == "sqlite" else "%s"

    def bind(self, value: object) -> str:
        self.params.append(value)
        return self.p


def compile_filter(
    cql: CQLFilter, dialect: str, alias: str = ""
) -> tuple[str, list[object]]:
    """A ``WHERE`` fragment and its parameters for a filter.

    Parameters
    ----------
    cql
        The parsed filter.
    dialect
        ``sqlite`` or ``postgres``.
    alias
        Prefix of the ``facilities`` columns in the query (``"f."`` or ``""``).

    Raises
    ------
    FilterError
        When the filter names an unknown property, compares values of different types or
        uses a construct this service does not support.
    """
    context = _Context(dialect, alias, cql.to_crs84)
    sql = _compile(cql.node, context, 0)
    return sql, context.params


# -- the compiler ------------------------------------------------------------------------

_COMPARISON = {
    ast.ComparisonOp.EQ: "=", ast.ComparisonOp.NE: "<>", ast.ComparisonOp.LT: "<",
    ast.ComparisonOp.LE: "<=", ast.ComparisonOp.GT: ">", ast.ComparisonOp.GE: ">=",
}  # fmt: skip
_SWAPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

_SPATIAL = {
    ast.SpatialComparisonOp.INTERSECTS: "intersects",
    ast.SpatialComparisonOp.DISJOINT: "disjoint",
    ast.SpatialComparisonOp.WITHIN: "within",
    ast.SpatialComparisonOp.CONTAINS: "contains",
    ast.SpatialComparisonOp.EQUALS: "equals",
}
_SPATIAL_SWAPPED = {"within": "contains", "contains": "within"}
_POSTGIS = {"intersects": "ST_Intersects", "disjoint": "ST_Disjoint", "within": "ST_Within",
            "contains": "ST_Contains", "equals": "ST_Equals"}  # fmt: skip


def _compile(node: Any, ctx: _Context, depth: int) -> str:
    if depth > MAX_DEPTH:
        raise FilterError(f"the filter is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, bool):
        return "1 = 1" if node else "1 = 0"
    if isinstance(node, ast.Include):
        return "1 = 0" if node.not_ else "1 = 1"
    if isinstance(node, ast.And | ast.Or):
        word = "AND" if isinstance(node, ast.And) else "OR"
        return f"({_compile(node.lhs, ctx, depth + 1)} {word} {_compile(node.rhs, ctx, depth + 1)})"
    if isinstance(node, ast.Not):
        return f"(NOT {_compile(node.sub_node, ctx, depth + 1)})"
    if isinstance(node, ast.Comparison):
        return _comparison(node, ctx)
    if isinstance(node, ast.Between):
        q = _queryable(node.lhs, "BETWEEN")
        low, high = _literal(q, node.low, ctx), _literal(q, node.high, ctx)
        return f"({_expr(q, ctx)} {'NOT ' if node.not_ else ''}BETWEEN {low} AND {high})"
    if isinstance(node, ast.In):
        q = _queryable(node.lhs, "IN")
        if not node.sub_nodes:
            raise FilterError("IN needs at least one value")
        items = ", ".join(_literal(q, item, ctx) for item in node.sub_nodes)
        return f"({_expr(q, ctx)} {'NOT ' if node.not_ else ''}IN ({items}))"
    if isinstance(node, ast.IsNull):
        q = _queryable(node.lhs, "IS NULL")
        target = f"{ctx.alias}lon" if q.type is _Q.GEOMETRY else _expr(q, ctx)
        return f"({target} IS {'NOT ' if node.not_ else ''}NULL)"
    if isinstance(node, ast.Like):
        return _like(node, ctx)
    if isinstance(node, ast.SpatialComparisonPredicate):
        return _spatial(node, ctx)
    if isinstance(node, ast.BBox):
        _queryable(node.lhs, "BBOX", geometry=True)
        envelope = box(node.minx, node.miny, node.maxx, node.maxy)
        return _spatial_sql("intersects", _checked_geometry(envelope, ctx), ctx)
    raise FilterError(f"{_describe(node)} is not supported by this service's filters")


def _describe(node: Any) -> str:
    if isinstance(node, ast.Function):
        return f"the function {node.name}()"
    if isinstance(node, ast.Arithmetic):
        return "arithmetic"
    if isinstance(node, ast.TemporalPredicate):
        return "the temporal operator " + node.op.name
    if isinstance(node, ast.ArrayPredicate):
        return "the array operator " + node.op.name
    if isinstance(node, ast.Node):
        return type(node).__name__
    return f"the value {node!r}"[:80]


def _queryable(node: Any, where: str, *, geometry: bool = False) -> Queryable:
    if not isinstance(node, ast.Attribute):
        raise FilterError(f"{where} needs a property on its left, got {_describe(node)}")
    q = QUERYABLES.get(str(node.name))
    if q is None:
        raise FilterError(
            f"unknown property {str(node.name)[:60]!r} in the filter; queryables: "
            + ", ".join(QUERYABLES)
        )
    if geometry and q.type is not _Q.GEOMETRY:
        raise FilterError(f"{where} needs the geometry property, got {q.name!r}")
    if not geometry and q.type is _Q.GEOMETRY and where != "IS NULL":
        raise FilterError(f"{where} cannot be applied to the geometry; use S_INTERSECTS & co.")
    return q


def _expr(q: Queryable, ctx: _Context) -> str:
    """The SQL expression of a scalar queryable, typed for comparisons."""
    if q.column is not None:
        column = f"{ctx.alias}{q.column}"
        return column if ctx.dialect == "sqlite" else f'{column} COLLATE "C"'
    if ctx.dialect == "sqlite":
        value = f"json_extract({ctx.alias}record, '$.{q.name}')"
        return f"julianday({value})" if q.type is _Q.TIMESTAMP else value
    text = f"({ctx.alias}record->>'{q.name}')"
    cast = {_Q.INTEGER: "bigint", _Q.NUMBER: "double precision", _Q.BOOLEAN: "boolean",
            _Q.TIMESTAMP: "timestamptz", _Q.DATE: "date"}.get(q.type)  # fmt: skip
    return f'{text} COLLATE "C"' if cast is None else f"{text}::{cast}"


def _literal(q: Queryable, value: Any, ctx: _Context) -> str:
    """A bound parameter for ``value`` after checking it suits ``q``."""
    if isinstance(value, ast.Node):
        raise FilterError(f"compare {q.name!r} with a literal value, not {_describe(value)}")
    kind = q.type
    if kind is _Q.STRING and isinstance(value, str):
        return ctx.bind(value)
    if kind in (_Q.INTEGER, _Q.NUMBER) and isinstance(value, int | float) and not isinstance(
        value, bool
    ):
        if not math.isfinite(value):
            raise FilterError(f"{q.name!r} cannot be compared with {value!r}")
        return ctx.bind(value)
    if kind is _Q.BOOLEAN and isinstance(value, bool):
        return ctx.bind(int(value) if ctx.dialect == "sqlite" else value)
    if kind is _Q.TIMESTAMP and isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        if ctx.dialect == "sqlite":  # julian day number, as julianday() gives the column
            return ctx.bind(moment.timestamp() / 86400.0 + 2440587.5)
        return ctx.bind(moment)
    if kind is _Q.DATE and isinstance(value, date) and not isinstance(value, datetime):
        return ctx.bind(value.isoformat() if ctx.dialect == "sqlite" else value)
    shown = {_Q.TIMESTAMP: "a TIMESTAMP('…') literal", _Q.DATE: "a DATE('…') literal"}.get(
        kind, f"a {kind.value} literal"
    )
    raise FilterError(
        f"property {q.name!r} is of type {kind.value}: compare it with {shown}, "
        f"not {str(value)[:60]!r}"
    )


def _comparison(node: ast.Comparison, ctx: _Context) -> str:
    op = _COMPARISON[node.op]
    lhs, rhs = node.lhs, node.rhs
    if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
        lhs, rhs, op = rhs, lhs, _SWAPPED[op]
    q = _queryable(lhs, f"the comparison {op}")
    if isinstance(rhs, ast.Attribute):
        other = _queryable(rhs, f"the comparison {op}")
        if other.type is not q.type:
            raise FilterError(f"{q.name!r} ({q.type}) and {other.name!r} ({other.type}) "
                              "cannot be compared")  # fmt: skip
        return f"({_expr(q, ctx)} {op} {_expr(other, ctx)})"
    return f"({_expr(q, ctx)} {op} {_literal(q, rhs, ctx)})"


def _like(node: ast.Like, ctx: _Context) -> str:
    q = _queryable(node.lhs, "LIKE")
    if q.type is not _Q.STRING or not isinstance(node.pattern, str):
        raise FilterError(f"LIKE needs a string property and a string pattern ({q.name!r})")
    not_ = "NOT " if node.not_ else ""
    # CQL2: % any run, _ one character, \ escapes
    pieces: list[tuple[str, str]] = []  # (kind, char): kind "lit", "any" or "one"
    chars = iter(node.pattern)
    for char in chars:
        if char == "\\":
            pieces.append(("lit", next(chars, "\\")))
        elif char == "%":
            pieces.append(("any", ""))
        elif char == "_":
            pieces.append(("one", ""))
        else:
            pieces.append(("lit", char))
    expr = _expr(q, ctx)
    if ctx.dialect == "sqlite":  # GLOB is case-sensitive, as CQL2's LIKE is
        glob = "".join("*" if k == "any" else "?" if k == "one"
                       else f"[{c}]" if c in "*?[]" else c for k, c in pieces)  # fmt: skip
        if node.nocase:
            return f"(lower({expr}) {not_}GLOB lower({ctx.bind(glob)}))"
        return f"({expr} {not_}GLOB {ctx.bind(glob)})"
    like = "".join("%" if k == "any" else "_" if k == "one"
                   else "\\" + c if c in "%_\\" else c for k, c in pieces)  # fmt: skip
    return f"({expr} {not_}{'ILIKE' if node.nocase else 'LIKE'} {ctx.bind(like)})"


def _spatial(node: ast.SpatialComparisonPredicate, ctx: _Context) -> str:
    op = _SPATIAL.get(node.op)
    if op is None:
        raise FilterError(f"the spatial operator S_{node.op.name} is not supported; use "
                          "S_INTERSECTS, S_DISJOINT, S_WITHIN, S_CONTAINS or S_EQUALS")  # fmt: skip
    lhs, rhs = node.lhs, node.rhs
    if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
        lhs, rhs, op = rhs, lhs, _SPATIAL_SWAPPED.get(op, op)
    _queryable(lhs, f"S_{op.upper()}", geometry=True)
    return _spatial_sql(op, _checked_geometry(_geometry_literal(rhs), ctx), ctx)


def _geometry_literal(value: Any) -> BaseGeometry:
    try:
        if isinstance(value, values.Envelope):
            return box(value.x1, value.y1, value.x2, value.y2)
        if isinstance(value, ast.Function) and value.name.lower() == "bbox":
            numbers = [float(v) for v in value.arguments]
            if len(numbers) == 6:  # 3D box: drop the heights
                numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
            if len(numbers) != 4:
                raise FilterError("BBOX needs 4 (or 6) numbers")
            return box(*numbers)
        if isinstance(value, values.Geometry):
            return shape(value.geometry)
        if isinstance(value, dict) and "type" in value:
            return shape(value)
    except FilterError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError,
            shapely.errors.ShapelyError) as exc:  # fmt: skip
        raise FilterError(f"the geometry literal is malformed: {exc}"[:300]) from None
    raise FilterError(f"a spatial operator needs a geometry literal, got {_describe(value)}")


def _checked_geometry(geometry: BaseGeometry, ctx: _Context) -> BaseGeometry:
    if ctx.to_crs84 is not None:
        try:
            geometry = ctx.to_crs84(geometry)
        except Exception as exc:  # pyproj raises its own errors for impossible points
            raise FilterError(f"the geometry literal cannot be converted: {exc}"[:300]) from None
    if geometry.is_empty:
        raise FilterError("the geometry literal is empty")
    minx, miny, maxx, maxy = geometry.bounds
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise FilterError("the geometry literal has coordinates that are not finite numbers")
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise FilterError("the geometry literal lies outside longitude [-180, 180], "
                          "latitude [-90, 90] (is the axis order right for its CRS?)")  # fmt: skip
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        raise FilterError(f"the geometry literal is not valid: {reason}"[:300])
    return geometry


def _spatial_sql(op: str, geometry: BaseGeometry, ctx: _Context) -> str:
    wkb = shapely.to_wkb(geometry, output_dimension=2)
    a = ctx.alias
    if ctx.dialect == "postgres":
        return f"({a}geom IS NOT NULL AND {_POSTGIS[op]}({a}geom, ST_GeomFromWKB({ctx.bind(wkb)}, 4326)))"
    if op == "disjoint":
        return f"({a}lon IS NOT NULL AND NOT sm_spatial('intersects', {ctx.bind(wkb)}, {a}lon, {a}lat))"
    minx, miny, maxx, maxy = geometry.bounds
    window = (
        f"{a}rid IN (SELECT rid FROM facilities_rtree WHERE min_lon <= {ctx.bind(maxx)} "
        f"AND max_lon >= {ctx.bind(minx)} AND min_lat <= {ctx.bind(maxy)} "
        f"AND max_lat >= {ctx.bind(miny)})"
    )
    exact = f"sm_spatial({ctx.bind(op)}, {ctx.bind(wkb)}, {a}lon, {a}lat)"
    return f"({a}lon IS NOT NULL AND {window} AND {exact})"


# -- the SQLite side of the spatial predicates -------------------------------------------

_GEOMETRIES: OrderedDict[bytes, SharedPrepared] = OrderedDict()
_GEOMETRY_CACHE = 32
_GEOMETRIES_LOCK = threading.Lock()


def _cached_geometry(wkb: bytes) -> SharedPrepared:
    with _GEOMETRIES_LOCK:
        geometry = _GEOMETRIES.get(wkb)
        if geometry is None:
            geometry = _GEOMETRIES[wkb] = SharedPrepared(shapely.from_wkb(wkb))
            while len(_GEOMETRIES) > _GEOMETRY_CACHE:
                _GEOMETRIES.popitem(last=False)
        return geometry


def sm_spatial(op: str, wkb: bytes, lon: float | None, lat: float | None) -> int | None:
    """Whether the point ``(lon, lat)`` stands in relation ``op`` to the WKB geometry.

    The SQLite function behind the spatial predicates (``NULL`` for an unlocated row). The
    literal is prepared once per distinct geometry and queried under its lock
    (:class:`geo._prepared.SharedPrepared`), as request threads share it.
    """
    if lon is None or lat is None:
        return None
    geometry = _cached_geometry(bytes(wkb))
    if op == "intersects":
        return int(geometry.intersects_xy(lon, lat))
    if op == "within":
        return int(geometry.contains_xy(lon, lat))
    point = Point(lon, lat)
    if op == "contains":
        return int(point.contains(geometry.geometry))
    if op == "equals":
        return int(point.equals(geometry.geometry))
    return None


def register_sqlite_functions(conn: Any) -> None:
    """Make ``sm_spatial`` available to filters on an SQLite connection."""
    conn.create_function("sm_spatial", 4, sm_spatial, deterministic=True)


def combined(filters: Sequence[CQLFilter], dialect: str, alias: str) -> tuple[str, list[object]]:
    """The ``AND`` of several filters (``("", [])`` for none)."""
    parts: list[str] = []
    params: list[object] = []
    for cql in filters:
        sql, bound = compile_filter(cql, dialect, alias)
        parts.append(sql)
        params.extend(bound)
    return " AND ".join(parts), params


__all__ = ["QUERYABLES", "CQLFilter", "FilterError", "Queryable", "QueryableType",
           "combined", "compile_filter", "parse_filter", "register_sqlite_functions"]  # fmt: skip

"""Response schemas of the public API (documentation for OpenAPI; pydantic at the edge)."""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from typing import Any, Literal

import orjson
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from layers.registry.schema import Facility


class ErrorOut(BaseModel):
    """Every 4xx/5xx answer."""

    error: str = Field(examples=["invalid_request"])
    message: str = Field(examples=["lon: Input should be a valid number (got 'abc')"])


class FastJSONResponse(JSONResponse):
    """A JSON answer encoded by orjson: for bodies the server built itself (no validation).

    Encodes numpy scalars and arrays and embeds :class:`orjson.Fragment` (JSON encoded
    once, e.g. :func:`facility_fragment`) as it is.
    """

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class GeoJSONResponse(JSONResponse):
    """A JSON answer of media type ``application/geo+json`` (RFC 7946)."""

    media_type = "application/geo+json"


class StrictBody(BaseModel):
    """A JSON request body taken as its schema says (extra fields refused).

    Pydantic's lax mode reads ``0`` as the date 1970-01-01 and ``false`` as the number 0;
    the OpenAPI document promises a ``YYYY-MM-DD`` string and a number, so a body here
    gets a 422 for either.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _as_documented(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        problems = []
        for name, info in cls.model_fields.items():
            value = data.get(name)
            if value is None:
                continue
            kinds = _kinds(info.annotation)
            if kinds & {date, datetime} and not isinstance(value, str | date):
                problems.append(f"{name}: a date is written as text, YYYY-MM-DD (got {value!r:.40})")
            elif kinds & {int, float} and bool not in kinds and isinstance(value, bool):
                problems.append(f"{name}: a number is expected (got {value!r})")
        if problems:
            raise ValueError("; ".join(problems))
        return data


def _kinds(annotation: Any) -> set[Any]:
    """The plain types an annotation admits (``date | None`` → ``{date, NoneType}``)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return {kind for arg in typing.get_args(annotation) for kind in _kinds(arg)}
    if typing.get_origin(annotation) is typing.Annotated:
        return _kinds(typing.get_args(annotation)[0])
    return {annotation}


class ServiceOut(BaseModel):
    id: str
    zh: str
    en: str


class LayerOut(BaseModel):
    """A layer of the catalogue with its record count."""

    id: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    kind: Literal["registry", "context"]
    count: int
    demo: bool = Field(description="True when every record of the layer is demonstration data")
    icon: str
    color: str
    services: list[ServiceOut]


class LayersOut(BaseModel):
    layers: list[LayerOut]


class FacilityOut(Facility):
    """A facility with its opening hours also as text."""

    hours_text_zh: str | None = None
    hours_text_en: str | None = None


class QueryEcho(BaseModel):
    lon: float = Field(description="WGS84 longitude actually used")
    lat: float = Field(description="WGS84 latitude actually used")
    crs: Literal["wgs84"] = "wgs84"
    input_crs: str
    input_lon: float
    input_lat: float
    layer: str
    k: int
    profile: str | None = None


class NearestResultOut(BaseModel):
    facility: FacilityOut
    distance_m: float | None = Field(
        description="Distance in metres of the whole trip, door to door: for network answers "
        "the walk from the point to the street, the street part and the walk from the street "
        "to the facility; null when unreachable"
    )
    method: Literal["straight_line", "network", "estimated", "unreachable"]
    duration_s: float | None = Field(
        default=None, description="Travel time in seconds of the whole trip (access legs walked)"
    )
    network_m: float | None = Field(
        default=None, description="The street part of `distance_m` (network answers only)"
    )
    access_m: tuple[float, float] | None = Field(
        default=None,
        description="The access legs [origin to its street, facility's street to the facility] "
        "in metres: `distance_m = access_m[0] + network_m + access_m[1]` (network answers only)",
    )
    snap_distance_m: float | None = Field(
        default=None, description="Distance from the point to its street (= `access_m[0]`)"
    )
    route: dict[str, Any] | None = Field(
        default=None,
        description="GeoJSON LineString from the query point along the streets to the facility",
    )


class NearestOut(BaseModel):
    query: QueryEcho
    results: list[NearestResultOut]


class FeatureCollectionOut(BaseModel):
    """An RFC 7946 FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]
    numberMatched: int | None = None  # noqa: N815 (OGC API field name)
    numberReturned: int | None = None  # noqa: N815


_CACHE_LIMIT = 100_000
_JSON_CACHE: dict[int, tuple[Facility, dict[str, Any]]] = {}
_FRAGMENT_CACHE: dict[int, tuple[Facility, orjson.Fragment]] = {}
V = typing.TypeVar("V")


def _per_facility(
    cache: dict[int, tuple[Facility, V]], facility: Facility, build: typing.Callable[[], V]
) -> V:
    """``build()`` once per facility object (records are replaced, never mutated)."""
    cached = cache.get(id(facility))
    if cached is not None and cached[0] is facility:
        return cached[1]
    value = build()
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[id(facility)] = (facility, value)
    return value


def facility_json(facility: Facility) -> dict[str, Any]:
    """The public JSON of a facility (what :class:`FacilityOut` documents).

    Rendered once per facility object and cached (records are replaced, never mutated, when
    they change); callers must not modify the returned dict.
    """

    def build() -> dict[str, Any]:
        data = facility.model_dump(mode="json")
        hours = facility.hours
        data["hours_text_zh"] = hours.to_text("zh") if hours else None
        data["hours_text_en"] = hours.to_text("en") if hours else None
        return data

    return _per_facility(_JSON_CACHE, facility, build)


def facility_fragment(facility: Facility) -> orjson.Fragment:
    """:func:`facility_json` encoded once (for :class:`FastJSONResponse` bodies)."""
    return _per_facility(
        _FRAGMENT_CACHE, facility, lambda: orjson.Fragment(orjson.dumps(facility_json(facility)))
    )


def facility_feature(facility: Facility) -> dict[str, Any]:
    """A facility as a GeoJSON Feature (null geometry when its position is unknown)."""
    properties = dict(facility_json(facility))
    lon, lat = properties.pop("lon"), properties.pop("lat")
    geometry = {"type": "Point", "coordinates": [lon, lat]} if lon is not None else None
    return {"type": "Feature", "id": facility.id, "geometry": geometry, "properties": properties}

"""Helpers shared by the store backends: record (de)serialisation and argument checks.

Both backends keep the full :class:`~layers.registry.schema.Facility` as JSON text (SQLite ``TEXT``,
PostgreSQL ``jsonb``) for an exact round trip, next to a few indexed columns
(layer, district, status, lon, lat) used for filtering.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from pydantic_core import PydanticSerializationError

from layers.errors import InvalidFacilityError, LayersError
from layers.registry.schema import Facility
from layers.store.base import FacilityQuery

#: Bumped when the table layout changes; stored in the meta table under SCHEMA_VERSION_KEY.
SCHEMA_VERSION = "1"
SCHEMA_VERSION_KEY = "store.schema_version"
#: Largest limit/offset a query may carry (both databases take signed 64-bit integers).
MAX_INDEX = 2**62


class FacilityRow(NamedTuple):
    """The column values of one facility, in table order."""

    id: str
    layer: str
    district: str | None
    status: str
    lon: float | None
    lat: float | None
    record: str


def facility_row(facility: Facility) -> FacilityRow:
    """Turn a facility into the column values stored for it.

    Raises
    ------
    InvalidFacilityError
        When the record cannot be serialised to JSON (e.g. a non-JSON value in ``extra``),
        contains a NUL character, or has an inconsistent position (one coordinate only,
        not finite, out of range). Records built with ``model_construct`` skip pydantic
        validation, so the store checks what its columns rely on.
    """
    try:
        record = facility.model_dump_json()
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        message = f"facility {facility.id!r} cannot be serialised to JSON: {exc}"
        raise InvalidFacilityError(message) from exc
    if "\\u0000" in record:
        message = f"facility {facility.id!r} contains a NUL character, which cannot be stored"
        raise InvalidFacilityError(message)
    lon, lat = facility.lon, facility.lat
    if (lon is None) != (lat is None):
        message = f"facility {facility.id!r} has lon={lon} and lat={lat}: give both or neither"
        raise InvalidFacilityError(message)
    located = lon is not None and lat is not None
    if located and not (_finite_in(lon, 180) and _finite_in(lat, 90)):
        message = f"facility {facility.id!r} has an invalid WGS84 position lon={lon}, lat={lat}"
        raise InvalidFacilityError(message)
    return FacilityRow(
        id=facility.id,
        layer=str(facility.layer),
        district=facility.district,
        status=str(facility.status),
        lon=lon,
        lat=lat,
        record=record,
    )


def _finite_in(value: float | None, limit: float) -> bool:
    """Whether ``value`` is a finite number within ``[-limit, limit]``."""
    return value is not None and math.isfinite(value) and -limit <= value <= limit


def facility_from_json(record: str) -> Facility:
    """Rebuild a facility from its stored JSON text."""
    return Facility.model_validate_json(record)


def check_layer(facility: Facility, layer: str) -> None:
    """Refuse a record that does not belong to the layer being replaced.

    Raises
    ------
    InvalidFacilityError
        When ``facility.layer`` differs from ``layer``.
    """
    if facility.layer != layer:
        message = (
            f"facility {facility.id!r} belongs to layer {facility.layer!r}, "
            f"not to the layer being replaced ({layer!r})"
        )
        raise InvalidFacilityError(message)


def check_query(query: FacilityQuery) -> None:
    """Refuse paging and bounding-box arguments that the backends would treat differently.

    Raises
    ------
    LayersError
        (400) when ``limit`` or ``offset`` is negative, or the bounding box has
        non-finite values or ``west > east`` / ``south > north``.
    """
    if not (0 <= query.limit <= MAX_INDEX) or not (0 <= query.offset <= MAX_INDEX):
        message = (
            f"limit and offset must be between 0 and 2^62, got limit={query.limit}, "
            f"offset={query.offset}"
        )
        raise LayersError(message)
    box = query.bbox
    if box is None:
        return
    values = (box.west, box.south, box.east, box.north)
    if not all(math.isfinite(value) for value in values):
        raise LayersError(f"bbox values must be finite numbers, got {values}")
    if box.west > box.east or box.south > box.north:
        message = (
            f"bbox must be west <= east and south <= north, got west={box.west}, "
            f"south={box.south}, east={box.east}, north={box.north}"
        )
        raise LayersError(message)

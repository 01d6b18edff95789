"""From a parsed row to the keyword arguments of a ``Facility`` record.

The schema's own attributes take the fields they have (name, district, address, lon/lat,
phone, hours, services, area); every other vocabulary field goes into ``extra`` under its
own name, so :func:`~layers.registry.importing.matching.existing_from_facility` reads it
back and re-importing the same file finds nothing changed. Id, source, status and the
workflow fields are the caller's.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from layers.registry.importing.fields import COMPARED_FIELDS
from layers.registry.importing.model import ParsedRow

#: Fields the ``Facility`` schema holds itself (``phones`` becomes ``phone``).
_SCHEMA_FIELDS = frozenset({"name", "district", "address", "lon", "lat", "phones", "hours",
                            "services", "area_m2"})
PHONE_SEPARATOR = "、"
MAX_PHONE_CHARS = 80


def facility_fields(row: ParsedRow, layer: str) -> dict[str, Any]:
    """Keyword arguments for ``Facility`` from one parsed row (without id and source).

    A located row gets ``location_precision="exact"`` (the position was given); an
    unlocated one ``"unknown"``, for the geocoder to replace.
    """
    fields = row.fields
    located = row.located
    extra: dict[str, Any] = {}
    for name in (*COMPARED_FIELDS, "seq", "source_crs", "services_text", "services_hours_text",
                 "services_unmatched"):
        if name in _SCHEMA_FIELDS or name not in fields:
            continue
        value = fields[name]
        extra[name] = value.isoformat() if isinstance(value, date) else value
    if len(fields.get("phones") or []) and _phone_text(fields["phones"]) != PHONE_SEPARATOR.join(
        fields["phones"]
    ):
        extra["phones"] = list(fields["phones"])
    if row.extra_columns:
        extra["other_columns"] = dict(row.extra_columns)
    return {
        "layer": layer,
        "name": fields.get("name"),
        "district": fields.get("district"),
        "address": fields.get("address"),
        "lon": fields.get("lon") if located else None,
        "lat": fields.get("lat") if located else None,
        "location_precision": "exact" if located else "unknown",
        "phone": _phone_text(fields.get("phones") or []),
        "hours": fields.get("hours"),
        "services": list(fields.get("services") or []),
        "area_m2": fields.get("area_m2"),
        "extra": extra,
    }


def _phone_text(phones: list[str]) -> str | None:
    """The phones joined with ``、``, as many as fit the schema's 80 characters.

    All of them stay in ``extra["phones"]`` when they do not all fit.
    """
    text = ""
    for phone in phones:
        candidate = f"{text}{PHONE_SEPARATOR}{phone}" if text else phone
        if len(candidate) > MAX_PHONE_CHARS:
            break
        text = candidate
    return text or None

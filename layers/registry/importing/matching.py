"""Match parsed rows against existing records, and find likely duplicates.

A row matches a record on the union's registry number (统一编号) when the row has one
and a record carries it; otherwise on the normalised name and address
(:func:`name_key`, :func:`address_key`). A row with a registry number that no record
has may still match, by name and address, a record that has no number yet. The result
is ``created``, ``updated`` (with the fields that differ) or ``unchanged``. Only the
fields a row gives are compared: a blank cell never clears a stored value.

Likely duplicates, within the file and against existing records, are pairs whose
normalised names are at least :data:`NAME_SIMILARITY` similar (``rapidfuzz``
``fuzz.ratio``) and that are close: within :data:`DUPLICATE_RADIUS_M` when both are
located, else with addresses at least :data:`ADDRESS_SIMILARITY` similar or one the
other with more detail (``兰溪路164号`` / ``兰溪路164号1楼``). Candidate pairs
come from three indexes so that 5,000 rows never cost 25 million comparisons: a KD-tree
of positions (UTM 51N metres), blocks of the same road and house number, and identical
names. Two rows of one file with the same name and address are an error.
"""

from __future__ import annotations

import contextlib
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from scipy.spatial import cKDTree

from geo._once import pure_cache
from geo.crs import haversine_m, to_utm
from layers.registry.hours import OpeningHours
from layers.registry.importing.cells import DISTRICT_PREFIXES, clean_text, nfkc, parse_phones
from layers.registry.importing.fields import COMPARED_FIELDS
from layers.registry.importing.model import (
    DuplicateHint,
    FieldChange,
    MatchResult,
    ParsedRow,
    RowProblem,
)

NAME_SIMILARITY = 90.0
ADDRESS_SIMILARITY = 85.0
DUPLICATE_RADIUS_M = 300.0
#: positions closer than this are the same position
SAME_POSITION_M = 1.0

_CITY = re.compile(r"^(中国)?(上海市|上海)")
_HAO_BETWEEN_DIGITS = re.compile(r"(?<=\d)号(?=\d)")
_HAO_AFTER_DIGIT = re.compile(r"(?<=\d)号")


@dataclass(frozen=True)
class ExistingRecord:
    """An existing record as matching sees it.

    Attributes
    ----------
    id
        The record's id.
    fields
        Its values in the import vocabulary (``name``, ``address``, ``phones`` ...);
        build it from a ``Facility`` with :func:`existing_from_facility`.
    """

    id: str
    fields: Mapping[str, Any] = field(default_factory=dict)


def _punctuation_table() -> dict[int, None]:
    """Every BMP code point that is punctuation, a symbol or a separator -> deleted."""
    return {
        code: None
        for code in range(0x10000)
        if unicodedata.category(chr(code)).startswith(("P", "S", "Z"))
    }


_PUNCTUATION = _punctuation_table()


def _strip_punctuation(text: str) -> str:
    return text.translate(_PUNCTUATION)


@pure_cache(maxsize=65_536)
def name_key(name: str | None) -> str:
    """Comparison form of a name: half-width, lower-case, no spaces or punctuation."""
    return _strip_punctuation(nfkc(clean_text(name)).lower())


@pure_cache(maxsize=65_536)
def address_key(address: str | None) -> str:
    """Comparison form of an address.

    Half-width and lower-case; ``上海市`` and a leading district (``徐汇区``, ``浦东``)
    removed; spaces removed; ``號`` read as ``号`` and a ``号`` after a number dropped
    (``110号`` = ``110``), except between two numbers (``164号1楼`` keeps them apart);
    punctuation removed.
    """
    text = _CITY.sub("", re.sub(r"\s+", "", nfkc(clean_text(address))))
    for prefix, _district in DISTRICT_PREFIXES:
        if text.startswith(prefix) and len(prefix) >= 2:
            text = text[len(prefix) :]
            break
    text = text.replace("號", "号")
    text = _HAO_AFTER_DIGIT.sub("", _HAO_BETWEEN_DIGITS.sub("h", text))
    return _strip_punctuation(text.lower())


def _block_key(address: str) -> tuple[str, str]:
    """(road, first house number) of an address key, for candidate blocks."""
    match = re.match(r"^(\D*)(\d*)", address)
    road, number = (match.group(1), match.group(2)) if match else (address, "")
    return road or address[:4], number


# ------------------------------------------------------------------ record adapters


def existing_from_facility(facility: Any) -> ExistingRecord:
    """An :class:`ExistingRecord` from a ``Facility`` (or its ``model_dump()`` dict).

    Vocabulary fields the schema has no attribute for are read from ``extra`` (where
    :func:`~layers.registry.importing.records.facility_fields` puts them).
    """
    data = facility.model_dump() if hasattr(facility, "model_dump") else dict(facility)
    extra = data.get("extra") or {}
    fields: dict[str, Any] = {key: value for key, value in extra.items() if key in COMPARED_FIELDS}
    for key in ("name", "address", "district", "lon", "lat", "area_m2", "registry_no",
                "park_name", "n_firms", "n_workers"):
        if data.get(key) is not None:
            fields[key] = data[key]
    planned = data.get("planned_completion")
    if planned and "planned_date" not in fields:
        with contextlib.suppress(ValueError):
            text = str(planned)
            if len(text) == 7:  # a month (YYYY-MM) is read as its last day, as in the sheet
                first = date.fromisoformat(f"{text}-01")
                following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
                fields["planned_date"] = following - timedelta(days=1)
            else:
                fields["planned_date"] = date.fromisoformat(text[:10])
    contact = data.get("contact") or {}
    if contact.get("name") and "contact_person" not in fields:
        fields["contact_person"] = contact["name"]
    if data.get("services"):
        fields["services"] = list(data["services"])
    if data.get("phone") and "phones" not in fields:
        fields["phones"] = parse_phones(data["phone"]).value or [data["phone"]]
    return ExistingRecord(str(data["id"]), fields)


def _as_record(record: Any) -> ExistingRecord:
    if isinstance(record, ExistingRecord):
        return record
    return existing_from_facility(record)


# ------------------------------------------------------------------ comparing


def _comparable(name: str, value: Any) -> Any:
    if name == "area_approx":  # "approximate" is a flag: unset means exact
        return bool(value)
    if value is None:
        return None
    if name == "services":
        return sorted(set(value))
    if name == "phones":
        return list(value) if isinstance(value, list | tuple) else parse_phones(value).value
    if name in ("area_m2",):
        return round(float(value), 2)
    if name in ("n_firms", "n_workers"):
        return int(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, OpeningHours):
        return value.model_dump(mode="json")
    if isinstance(value, str):
        return clean_text(value)
    return value


def diff_fields(row_fields: Mapping[str, Any], record_fields: Mapping[str, Any]) -> list[FieldChange]:
    """Fields the row gives whose values differ from the record's (positions within 1 m agree)."""
    changes: list[FieldChange] = []
    for name in COMPARED_FIELDS:
        if name in ("lon", "lat") or name not in row_fields:
            continue
        new, old = row_fields[name], record_fields.get(name)
        if _comparable(name, new) != _comparable(name, old):
            changes.append(FieldChange(name, old, new))
    if row_fields.get("lon") is not None and row_fields.get("lat") is not None:
        old_lon, old_lat = record_fields.get("lon"), record_fields.get("lat")
        moved = (
            old_lon is None
            or old_lat is None
            or float(haversine_m(old_lon, old_lat, row_fields["lon"], row_fields["lat"]))
            > SAME_POSITION_M
        )
        if moved:
            changes.append(FieldChange("position", _pair(old_lon, old_lat),
                                       _pair(row_fields["lon"], row_fields["lat"])))
    return changes


def _pair(lon: Any, lat: Any) -> list[float] | None:
    return None if lon is None or lat is None else [float(lon), float(lat)]


# ------------------------------------------------------------------ candidates


@dataclass
class _Item:
    key_name: str
    key_address: str
    district: str | None
    name: str
    lon: float | None
    lat: float | None
    row: int | None = None
    record_id: str | None = None


def _item_from_fields(fields: Mapping[str, Any], *, row: int | None = None,
                      record_id: str | None = None) -> _Item:
    lon, lat = fields.get("lon"), fields.get("lat")
    located = lon is not None and lat is not None and math.isfinite(lon) and math.isfinite(lat)
    return _Item(name_key(fields.get("name")), address_key(fields.get("address")),
                 fields.get("district"), clean_text(fields.get("name")),
                 float(lon) if located else None, float(lat) if located else None, row, record_id)


class _Index:
    """Candidate lookup over a list of items: positions, address blocks, identical names."""

    def __init__(self, items: Sequence[_Item]) -> None:
        self.items = items
        located = [i for i, item in enumerate(items) if item.lon is not None]
        self.located = np.array(located, dtype=int)
        self.tree: cKDTree | None = None
        if located:
            x, y = to_utm([items[i].lon for i in located], [items[i].lat for i in located])
            self.xy = np.column_stack([x, y])
            self.tree = cKDTree(self.xy)
        self.blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.names: dict[str, list[int]] = defaultdict(list)
        for i, item in enumerate(items):
            if item.key_address:
                self.blocks[_block_key(item.key_address)].append(i)
            if item.key_name:
                self.names[item.key_name].append(i)

    def candidates(self, item: _Item, xy: np.ndarray | None) -> set[int]:
        found: set[int] = set()
        if self.tree is not None and xy is not None:
            found.update(int(self.located[j]) for j in self.tree.query_ball_point(xy, DUPLICATE_RADIUS_M))
        if item.key_address:
            found.update(self.blocks.get(_block_key(item.key_address), ()))
        found.update(self.names.get(item.key_name, ()))
        return found


def _xy(items: Sequence[_Item]) -> list[np.ndarray | None]:
    located = [i for i, item in enumerate(items) if item.lon is not None]
    out: list[np.ndarray | None] = [None] * len(items)
    if located:
        x, y = to_utm([items[i].lon for i in located], [items[i].lat for i in located])
        for k, i in enumerate(located):
            out[i] = np.array([x[k], y[k]])
    return out


def _likely_duplicate(a: _Item, b: _Item) -> tuple[float, float | None] | None:
    """(name score, distance) when ``a`` and ``b`` are likely the same site, else ``None``."""
    if not a.key_name or not b.key_name:
        return None
    score = fuzz.ratio(a.key_name, b.key_name)
    if score < NAME_SIMILARITY:
        return None
    distance = None
    if a.lon is not None and b.lon is not None:
        distance = float(haversine_m(a.lon, a.lat, b.lon, b.lat))
        return (score, distance) if distance <= DUPLICATE_RADIUS_M else None
    if a.key_address and b.key_address:
        shorter, longer = sorted((a.key_address, b.key_address), key=len)
        refines = len(shorter) >= 4 and longer.startswith(shorter)  # 兰溪路164 / 兰溪路164号1楼
        if not refines and fuzz.ratio(a.key_address, b.key_address) < ADDRESS_SIMILARITY:
            return None
    elif a.district and b.district and a.district != b.district:
        return None
    return score, distance


# ------------------------------------------------------------------ entry points


def _problem(row: ParsedRow, severity: str, code: str, zh: str, en: str) -> RowProblem:
    return RowProblem(row=row.row, column=None, column_letter=None, value=row.fields.get("name"),
                      message_zh=zh, message_en=en, severity=severity, code=code)  # type: ignore[arg-type]


def flag_duplicate_rows(rows: Sequence[ParsedRow]) -> dict[int, list[DuplicateHint]]:
    """Add duplicate problems to ``rows`` in place; return hints per Excel row.

    The later of two rows with the same normalised name and address gets an error; a
    likely duplicate (similar name, close by) gets a warning.
    """
    candidates = [row for row in rows if row.fields.get("name")]
    items = [_item_from_fields(row.fields, row=row.row) for row in candidates]
    index = _Index(items)
    positions = _xy(items)
    hints: dict[int, list[DuplicateHint]] = defaultdict(list)
    for i, (row, item) in enumerate(zip(candidates, items, strict=True)):
        for j in sorted(index.candidates(item, positions[i])):
            if j >= i:
                continue
            other = items[j]
            ids = (row.fields.get("record_id"), candidates[j].fields.get("record_id"))
            if ids[0] and ids[1] and ids[0] != ids[1]:
                continue  # two records of this service's own export: not duplicates
            if item.key_name == other.key_name and item.key_address == other.key_address and (
                item.key_address or (item.lon is not None and other.lon is not None
                                     and _likely_duplicate(item, other))
            ):
                row.problems.append(_problem(
                    row, "error", "duplicate_row",
                    f"与第 {other.row} 行的名称和地址相同（重复行）。",
                    f"same name and address as row {other.row} (a duplicate row)"))
                hints[row.row].append(DuplicateHint(other.row, None, other.name, 100.0))
                break
            found = _likely_duplicate(item, other)
            if found is not None:
                score, distance = found
                where = f"，相距 {distance:.0f} 米" if distance is not None else ""
                where_en = f", {distance:.0f} m apart" if distance is not None else ""
                row.problems.append(_problem(
                    row, "warning", "possible_duplicate",
                    f"可能与第 {other.row} 行“{other.name}”重复（名称相似度 {score:.0f}{where}）。",
                    f"may duplicate row {other.row} {other.name!r} (name similarity "
                    f"{score:.0f}{where_en})"))
                hints[row.row].append(DuplicateHint(other.row, None, other.name, score, distance))
    return hints


def match_rows(
    rows: Sequence[ParsedRow],
    existing: Iterable[Any] = (),
    *,
    row_hints: Mapping[int, list[DuplicateHint]] | None = None,
) -> list[MatchResult]:
    """Match every row without errors against ``existing`` records.

    Parameters
    ----------
    rows
        Parsed rows (rows with errors are skipped).
    existing
        :class:`ExistingRecord` objects, ``Facility`` objects or ``Facility`` dicts.
    row_hints
        Duplicate hints within the file (from :func:`flag_duplicate_rows`) to attach.

    Returns
    -------
    list of MatchResult
        One per row without errors, in row order. Rows that would create a record get a
        warning when an existing record looks like the same site.
    """
    records = [_as_record(record) for record in existing]
    by_number: dict[str, list[int]] = defaultdict(list)
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        number = record.fields.get("registry_no")
        if number:
            by_number[re.sub(r"\s+", "", nfkc(str(number))).upper()].append(i)
        by_key[(name_key(record.fields.get("name")), address_key(record.fields.get("address")))].append(i)
    by_record_id = {record.id: i for i, record in enumerate(records)}
    record_items = [_item_from_fields(record.fields, record_id=record.id) for record in records]
    index = _Index(record_items)
    results: list[MatchResult] = []
    usable = [row for row in rows if not row.has_errors]
    row_items = [_item_from_fields(row.fields, row=row.row) for row in usable]
    positions = _xy(row_items)
    for row, item, xy in zip(usable, row_items, positions, strict=True):
        result = MatchResult(row=row.row, action="created")
        result.duplicates.extend((row_hints or {}).get(row.row, ()))
        found: int | None = None
        number = row.fields.get("registry_no")
        own_id = row.fields.get("record_id")
        if own_id and own_id in by_record_id:
            found, result.matched_on = by_record_id[own_id], "record_id"
        elif number and by_number.get(number):
            found, result.matched_on = by_number[number][0], "registry_no"
        else:
            same = [i for i in by_key.get((item.key_name, item.key_address), ())
                    if not (number and records[i].fields.get("registry_no"))]
            if same:
                found, result.matched_on = same[0], "name_address"
        if found is not None:
            record = records[found]
            result.record_id = record.id
            result.changes = diff_fields(row.fields, record.fields)
            result.action = "updated" if result.changes else "unchanged"
        else:
            for j in sorted(index.candidates(item, xy)):
                hit = _likely_duplicate(item, record_items[j])
                if hit is None:
                    continue
                score, distance = hit
                other = record_items[j]
                result.duplicates.append(DuplicateHint(None, other.record_id, other.name, score, distance))
                row.problems.append(_problem(
                    row, "warning", "possible_existing_duplicate",
                    f"将新建记录，但可能与已有记录“{other.name}”（{other.record_id}）重复。",
                    f"a new record would be created, but it may duplicate the existing "
                    f"{other.name!r} ({other.record_id})"))
        results.append(result)
    return results

"""Reading the raw sources and writing the shipped files byte-for-byte reproducibly.

Every writer is deterministic: gzip members carry ``mtime=0`` and no file name, JSON keys
keep insertion order, and callers sort records by id, so rebuilding from the same sources
gives identical bytes (and the same :func:`layers.registry.shipped.data_version`).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from layers.registry.schema import Facility
from layers.registry.shipped import facility_path, map_path

logger = logging.getLogger(__name__)

#: Decimal places kept for WGS84 coordinates of points (about 1 cm).
POINT_DECIMALS = 7
#: Decimal places kept for simplified map geometry (about 1 m).
MAP_DECIMALS = 5


def read_geojson(path: Path) -> dict[str, Any]:
    """Load a GeoJSON source file."""
    with Path(path).open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """Load a CSV source file as a list of row dicts (all values strings)."""
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _gzip_bytes(payload: bytes) -> bytes:
    """Gzip ``payload`` with a fixed header (mtime 0, no file name) for reproducibility."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        gz.write(payload)
    return buffer.getvalue()


def _write_bytes(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)


#: Registry-management fields left out of a shipped row while they hold their default (a
#: reader gets the default back), so shipped files stay as compact as the data they carry.
_WORKFLOW_FIELDS = ("registry_no", "review", "last_verified", "location_source", "flags",
                    "card", "partner_centre_id", "contact", "park_name", "n_firms",
                    "n_workers", "service_text", "planned_completion")  # fmt: skip
_DEFAULTS = {name: Facility.model_fields[name].get_default(call_default_factory=True)
             for name in _WORKFLOW_FIELDS}  # fmt: skip


def facility_line(facility: Facility) -> str:
    """One JSON Lines row: the facility dumped in JSON mode, compact, keys in schema order
    (registry-management fields only when they differ from their defaults)."""
    data = facility.model_dump(mode="json")
    for name, default in _DEFAULTS.items():
        if data.get(name) == (default.value if hasattr(default, "value") else default):
            data.pop(name, None)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def write_facilities(out_dir: Path, layer: str, facilities: Iterable[Facility]) -> tuple[Path, int]:
    """Write one layer's facilities as gzip JSON Lines, sorted by id.

    Returns
    -------
    tuple
        The path written and the number of rows.
    """
    ordered = sorted(facilities, key=lambda facility: facility.id)
    ids = [facility.id for facility in ordered]
    if len(set(ids)) != len(ids):
        duplicates = sorted({item for item in ids if ids.count(item) > 1})[:5]
        raise ValueError(f"layer {layer}: duplicate facility ids {duplicates}")
    text = "".join(facility_line(facility) + "\n" for facility in ordered)
    path = facility_path(out_dir, layer)
    _write_bytes(path, _gzip_bytes(text.encode("utf-8")))
    return path, len(ordered)


def write_geojson_gz(out_dir: Path, name: str, collection: dict[str, Any]) -> tuple[Path, int]:
    """Write a map layer as compact gzip GeoJSON; returns the path and feature count."""
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    path = map_path(out_dir, name)
    _write_bytes(path, _gzip_bytes(text.encode("utf-8")))
    return path, len(collection.get("features", []))


def write_csv(path: Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> int:
    """Write a UTF-8 CSV with ``columns`` (LF line ends); returns the row count."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    _write_bytes(path, buffer.getvalue().encode("utf-8"))
    return count


def write_json(path: Path, payload: Any) -> None:
    """Write pretty JSON (UTF-8, sorted insertion order, trailing newline)."""
    text = json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    _write_bytes(path, text.encode("utf-8"))


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def round_coords(value: Any, decimals: int) -> Any:
    """Round every number in a nested GeoJSON coordinate array."""
    if isinstance(value, float | int):
        return round(float(value), decimals)
    return [round_coords(item, decimals) for item in value]

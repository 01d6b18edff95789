"""The areas of a batch run: Shanghai's 16 shipped districts or the polygons of a GeoJSON file.

Each area has an id that names its output file (``<id>.parquet``): for the districts the
lower-case English name (``huangpu``, ``jingan``, ``pudong`` …); for a file the feature's
``id`` property (or member), else its ``name``, with characters that do not belong in a
file name replaced by ``_``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from layers.errors import LayersError
from layers.registry import shipped

#: ``--areas`` value naming the shipped district boundaries.
DISTRICTS = "districts"
_UNSAFE = re.compile(r"[^\w.-]+", re.UNICODE)


class AreaError(LayersError):
    """An areas file or selection that cannot be used (a usage error of the command)."""

    status_code = 400
    code = "invalid_areas"


@dataclass(frozen=True)
class Area:
    """One area: file-safe ``id``, display ``name`` and a (multi)polygon in WGS84."""

    id: str
    name: str
    geometry: BaseGeometry


def area_id(text: str) -> str:
    """``text`` made safe as a file name (letters, digits, ``.``, ``-``, ``_``).

    Raises
    ------
    AreaError
        When nothing usable is left.
    """
    safe = _UNSAFE.sub("_", text.strip()).strip("._")
    if not safe:
        raise AreaError(f"area id {text!r} has no letter or digit to name a file with")
    return safe


def _polygon(feature: dict[str, Any], label: str) -> BaseGeometry:
    try:
        geometry = shapely.geometry.shape(feature["geometry"])
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
        raise AreaError(f"{label}: not a GeoJSON geometry ({exc})") from None
    if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
        raise AreaError(f"{label}: geometry must be a non-empty Polygon or MultiPolygon, "
                        f"got {geometry.geom_type}")  # fmt: skip
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    return geometry


def districts(data_dir: Path) -> list[Area]:
    """The 16 districts of the shipped boundaries (``map/districts.geojson.gz``), file order."""
    collection = shipped.load_geojson(data_dir, DISTRICTS)
    out = []
    for feature in collection["features"]:
        props = feature.get("properties") or {}
        name = str(props.get("name") or props.get("adcode"))
        english = str(props.get("name_en") or props.get("adcode") or name)
        out.append(Area(area_id(english.lower().replace("'", "")), name, _polygon(feature, name)))
    return out


def read_areas_file(path: Path) -> list[Area]:
    """The polygons of a GeoJSON FeatureCollection (or a single Feature).

    Raises
    ------
    AreaError
        Missing or unreadable file, not GeoJSON, a feature without ``name``/``id`` or
        without a polygon, duplicate ids, no feature at all.
    """
    path = Path(path)
    if not path.is_file():
        raise AreaError(f"--areas: no such file {str(path)!r} (give 'districts' or a GeoJSON file)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AreaError(f"--areas {path.name}: not a readable GeoJSON file ({exc})") from None
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = {"type": "FeatureCollection", "features": [data]}
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(
        data.get("features"), list
    ):
        raise AreaError(f"--areas {path.name}: expected a GeoJSON FeatureCollection of polygons")
    out: list[Area] = []
    for n, feature in enumerate(data["features"], start=1):
        if not isinstance(feature, dict):
            raise AreaError(f"--areas {path.name}: feature {n} is not an object")
        props = feature.get("properties") or {}
        ident = props.get("id", feature.get("id"))
        name = props.get("name")
        if ident in (None, "") and name in (None, ""):
            raise AreaError(f"--areas {path.name}: feature {n} has neither a 'name' nor an "
                            "'id' property")  # fmt: skip
        label = f"--areas {path.name}: feature {n} ({name or ident})"
        out.append(Area(area_id(str(ident if ident not in (None, "") else name)),
                        str(name if name not in (None, "") else ident),
                        _polygon(feature, label)))  # fmt: skip
    if not out:
        raise AreaError(f"--areas {path.name}: the file has no feature")
    seen: set[str] = set()
    for area in out:
        if area.id in seen:
            raise AreaError(f"--areas {path.name}: two features have the id {area.id!r}")
        seen.add(area.id)
    return out


def load_areas(spec: str, data_dir: Path, only: Sequence[str] | None = None) -> list[Area]:
    """``districts`` or a GeoJSON file, optionally narrowed to ``only`` (ids or names).

    Raises
    ------
    AreaError
        See :func:`read_areas_file`; also an ``only`` entry matching no area.
    """
    areas = districts(data_dir) if spec == DISTRICTS else read_areas_file(Path(spec))
    if not only:
        return areas
    wanted = [w.strip() for w in only if w.strip()]
    known = {a.id: a for a in areas} | {a.name: a for a in areas}
    missing = [w for w in wanted if w not in known and w.lower() not in known]
    if missing:
        raise AreaError(f"--only: unknown area(s) {', '.join(missing)}; valid: "
                        f"{', '.join(a.id for a in areas)}")  # fmt: skip
    chosen = {(known.get(w) or known[w.lower()]).id for w in wanted}
    return [a for a in areas if a.id in chosen]

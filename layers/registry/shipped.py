"""Readers for the derived data shipped in the repository's ``data/`` directory.

The files are written by ``servicemap data build`` (:mod:`layers.build`) and committed, so
a fresh clone runs without the raw sources. Everything here is pure and local: no network,
no database, no heavy imports (geopandas is only needed for the workplace polygons).

Layout of a data directory::

    manifest.json                       file list with sha256, size, rows, source
    facilities/<layer>.jsonl.gz         one Facility.model_dump(mode="json") per line
    map/<name>.geojson.gz               districts, roads, metro_lines, service_area, subdistricts
    workplaces/workplaces.parquet       workplace polygons (GeoParquet, EPSG:4326)
    demand/*.csv                        official employment statistics (trimmed)
    gazetteer/places.jsonl.gz           named places for the geocoder (OSM, metro)
    gazetteer/roads.jsonl.gz            named streets with their lines (OSM XML extracts)
    gazetteer/areas.jsonl.gz            districts and subdistricts with a representative point
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from layers.errors import LayersError
from layers.registry.catalog import LAYERS, get_layer
from layers.registry.schema import Facility

logger = logging.getLogger(__name__)

#: The repository's shipped data directory.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data"

MANIFEST_NAME = "manifest.json"
FACILITIES_DIR = "facilities"
MAP_DIR = "map"
WORKPLACES_PATH = "workplaces/workplaces.parquet"
DEMAND_DIR = "demand"
GAZETTEER_PLACES_PATH = "gazetteer/places.jsonl.gz"
GAZETTEER_ROADS_PATH = "gazetteer/roads.jsonl.gz"
GAZETTEER_AREAS_PATH = "gazetteer/areas.jsonl.gz"
FACILITY_SUFFIX = ".jsonl.gz"
GEOJSON_SUFFIX = ".geojson.gz"

#: Map layers :func:`load_geojson` can return.
MAP_LAYERS: tuple[str, ...] = ("districts", "roads", "metro_lines", "service_area", "subdistricts")


class ShippedDataError(LayersError):
    """The shipped data directory is missing a file or is inconsistent."""

    status_code = 503
    code = "shipped_data_unavailable"


def facility_path(data_dir: Path, layer: str) -> Path:
    """Path of a layer's facility file (``facilities/<layer>.jsonl.gz``)."""
    return Path(data_dir) / FACILITIES_DIR / f"{layer}{FACILITY_SUFFIX}"


def map_path(data_dir: Path, name: str) -> Path:
    """Path of a map layer file (``map/<name>.geojson.gz``)."""
    return Path(data_dir) / MAP_DIR / f"{name}{GEOJSON_SUFFIX}"


def iter_facilities(data_dir: Path, layer: str) -> Iterator[Facility]:
    """Yield the shipped facilities of one layer, validated.

    Parameters
    ----------
    data_dir
        A data directory written by the build (usually :data:`DEFAULT_DATA_DIR`).
    layer
        A layer id from the catalogue. A known layer without a shipped file yields nothing.

    Yields
    ------
    Facility
        In file order (stable: sorted by id at build time).

    Raises
    ------
    UnknownLayerError
        When ``layer`` is not in the catalogue.
    ShippedDataError
        When a line does not validate (the message gives the file and line number).
    """
    get_layer(layer)
    path = facility_path(data_dir, layer)
    if not path.exists():
        logger.debug("no shipped file for layer %s at %s", layer, path)
        return
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line_no, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield Facility.model_validate_json(line)
            except ValueError as exc:
                message = f"{path.name} line {line_no} is not a valid facility: {exc}"
                raise ShippedDataError(message) from exc


def shipped_layers(data_dir: Path) -> list[str]:
    """Layer ids that have a shipped facility file, in catalogue order."""
    return [layer for layer in LAYERS if facility_path(data_dir, layer).exists()]


def load_geojson(data_dir: Path, name: str) -> dict[str, Any]:
    """Load a shipped map layer as a GeoJSON dict (WGS84).

    Parameters
    ----------
    data_dir
        A data directory written by the build.
    name
        One of :data:`MAP_LAYERS`.

    Raises
    ------
    ShippedDataError
        When the name is unknown or the file is missing.
    """
    if name not in MAP_LAYERS:
        message = f"unknown map layer {name!r}; valid: {', '.join(MAP_LAYERS)}"
        raise ShippedDataError(message)
    path = map_path(data_dir, name)
    if not path.exists():
        message = (
            f"map layer {name!r} is not shipped (missing {path.name}); run `servicemap data build`"
        )
        raise ShippedDataError(message)
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        result: dict[str, Any] = json.load(handle)
    return result


def read_manifest(data_dir: Path) -> dict[str, Any]:
    """The build manifest (``manifest.json``) of a data directory.

    Raises
    ------
    ShippedDataError
        When the manifest is missing or not JSON.
    """
    path = Path(data_dir) / MANIFEST_NAME
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        message = f"no {MANIFEST_NAME} in the data directory; run `servicemap data build`"
        raise ShippedDataError(message) from None
    except json.JSONDecodeError as exc:
        message = f"{MANIFEST_NAME} is not valid JSON (line {exc.lineno})"
        raise ShippedDataError(message) from exc
    return manifest


def content_hash(files: list[dict[str, Any]]) -> str:
    """The data version for a manifest file list: a hash of every path and its sha256.

    Build dates are left out, so rebuilding identical data gives the same version.
    """
    digest = hashlib.sha256()
    for entry in sorted(files, key=lambda item: str(item["path"])):
        digest.update(f"{entry['path']}\0{entry['sha256']}\n".encode())
    return digest.hexdigest()[:16]


def data_version(data_dir: Path) -> str:
    """A short hash identifying the shipped data's content.

    A store seeded from data of another version must be re-seeded. The value depends on
    file contents only (not on the build date).

    Raises
    ------
    ShippedDataError
        When the manifest is missing or malformed.
    """
    manifest = read_manifest(data_dir)
    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        raise ShippedDataError(f"{MANIFEST_NAME} lists no files")
    return content_hash(files)

"""Loading the shipped gazetteer files into a :class:`geo.geocode.gazetteer.Gazetteer`.

Reads ``gazetteer/{places,roads,areas}.jsonl.gz`` and the district and subdistrict polygons
of ``map/`` from a data directory (see :mod:`layers.registry.shipped`). Missing gazetteer
files are a :class:`~layers.registry.shipped.ShippedDataError` (503): the data were built
before the geocoder existed and must be rebuilt.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape

from geo.geocode.gazetteer import Gazetteer
from layers.registry.shipped import (
    GAZETTEER_AREAS_PATH,
    GAZETTEER_PLACES_PATH,
    GAZETTEER_ROADS_PATH,
    ShippedDataError,
    load_geojson,
)

logger = logging.getLogger(__name__)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a gzip JSON Lines file."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _polygons(data_dir: Path, name: str) -> list[tuple[str, Any]]:
    collection = load_geojson(data_dir, name)
    return [
        (str(feature["properties"]["name"]), shapely.make_valid(shape(feature["geometry"])))
        for feature in collection["features"]
    ]


def load_gazetteer(data_dir: Path) -> Gazetteer:
    """Build the in-memory gazetteer from a shipped data directory.

    Raises
    ------
    ShippedDataError
        When a gazetteer file or a map layer is missing.
    """
    started = time.perf_counter()
    rows: dict[str, list[dict[str, Any]]] = {}
    for key, relative in (
        ("places", GAZETTEER_PLACES_PATH),
        ("roads", GAZETTEER_ROADS_PATH),
        ("areas", GAZETTEER_AREAS_PATH),
    ):
        path = Path(data_dir) / relative
        if not path.exists():
            message = f"the geocoding gazetteer is not shipped (missing {relative}); run `servicemap data build`"
            raise ShippedDataError(message)
        rows[key] = read_rows(path)
    gazetteer = Gazetteer(
        rows["places"],
        rows["roads"],
        rows["areas"],
        district_polygons=_polygons(data_dir, "districts"),
        subdistrict_polygons=_polygons(data_dir, "subdistricts"),
    )
    logger.info(
        "gazetteer loaded in %.2f s: %d places, %d roads",
        time.perf_counter() - started,
        len(gazetteer),
        len(gazetteer.roads),
    )
    return gazetteer

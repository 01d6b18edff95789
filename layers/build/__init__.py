"""Build the shipped ``data/`` directory from the raw Shanghai sources.

``build_data(source_dir, out_dir)`` reads a directory laid out like ``../shared/data``
(see its README) and writes the compact files the product runs on (layout in
:mod:`layers.registry.shipped`): facility layers as gzip JSON Lines, basemap layers as gzip GeoJSON,
workplace polygons as GeoParquet, trimmed employment tables and a manifest. Output is
byte-for-byte reproducible except ``manifest.json``'s build date.

Steps: load sources → real registries (sites) → OSM context layers → workplaces →
demonstration registries → map layers → the offline vector basemap (PMTiles, see
:mod:`layers.build.vector_basemap`) → demand tables → gazetteer (for the registry
geocoder, :mod:`layers.build.gazetteer`) → manifest.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from layers.build.basemap import MAP_BUILDERS
from layers.build.context import load_pois, metro_station_facilities, poi_layers
from layers.build.demand import write_demand
from layers.build.demo import DEMO_SEED, demo_layers
from layers.build.gazetteer import build_gazetteer, write_gazetteer
from layers.build.io import sha256_file, write_facilities, write_geojson_gz, write_json
from layers.build.locate import contains_points
from layers.build.sites import service_centres, training_sites
from layers.build.sources import (
    DISTRICTS_GEOJSON,
    LANDUSE_GEOJSON,
    METRO_LINES_GEOJSON,
    METRO_STATIONS_CSV,
    POIS_GEOJSON,
    SERVICE_CENTRES_CSV,
    SUBDISTRICTS_GEOJSON,
    TRAINING_SITES_CSV,
    SourceData,
    SourceMissingError,
)
from layers.build.workplaces import load_workplaces, workplace_facility, workplace_frame
from layers.registry.catalog import LAYERS
from layers.registry.schema import Facility
from layers.registry.shipped import MANIFEST_NAME, WORKPLACES_PATH, content_hash

logger = logging.getLogger(__name__)

__all__ = ["BUILD_STEPS", "BuildReport", "SourceMissingError", "build_data"]

FORMAT_VERSION = 1

BUILD_STEPS: tuple[str, ...] = (
    "sources",
    "sites",
    "context",
    "workplaces",
    "demo",
    "write facilities",
    "map layers",
    "vector basemap",
    "demand",
    "gazetteer",
    "manifest",
)

#: Source file(s) of each facility layer, for the manifest.
LAYER_SOURCES: dict[str, str] = {
    "training_site": TRAINING_SITES_CSV,
    "service_centre": SERVICE_CENTRES_CSV,
    "hospital": POIS_GEOJSON,
    "community_health": POIS_GEOJSON,
    "clinic": POIS_GEOJSON,
    "pharmacy": POIS_GEOJSON,
    "food": POIS_GEOJSON,
    "toilet": POIS_GEOJSON,
    "metro_station": METRO_STATIONS_CSV,
    "workplace_park": LANDUSE_GEOJSON,
    "workplace_building": "osm/buildings_work.geojson",
    "health_point": "demo: generated from " + POIS_GEOJSON + " and OSM workplaces",
    "fitness_station": "demo: generated from " + POIS_GEOJSON + " and OSM workplaces",
    "relay_station": "demo: generated from " + POIS_GEOJSON + " and " + METRO_STATIONS_CSV,
    "rest_room": "demo: generated from " + POIS_GEOJSON + " and " + METRO_STATIONS_CSV,
}
MAP_SOURCES: dict[str, str] = {
    "districts": DISTRICTS_GEOJSON,
    "roads": "osm/major_roads_citywide.geojson",
    "metro_lines": METRO_LINES_GEOJSON,
    "service_area": DISTRICTS_GEOJSON,
    "subdistricts": SUBDISTRICTS_GEOJSON,
}


@dataclass
class BuildReport:
    """What a build wrote.

    Attributes
    ----------
    counts
        Records per facility layer.
    located
        Records with coordinates per facility layer.
    dropped_outside
        Located records left out because they lie outside the service area.
    files
        Manifest entries (path, sha256, size_bytes, rows, source).
    total_bytes
        Size of every file written, manifest included.
    data_version
        Content hash (see :func:`layers.registry.shipped.data_version`).
    elapsed_s
        Wall-clock build time.
    """

    counts: dict[str, int] = field(default_factory=dict)
    located: dict[str, int] = field(default_factory=dict)
    dropped_outside: dict[str, int] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    total_bytes: int = 0
    data_version: str = ""
    elapsed_s: float = 0.0


def _inside(records: list[Facility], sources: SourceData) -> tuple[list[Facility], int]:
    """Keep unlocated records and located records inside the service area."""
    located = [r for r in records if r.lon is not None and r.lat is not None]
    lon = [r.lon for r in located if r.lon is not None]
    lat = [r.lat for r in located if r.lat is not None]
    mask = contains_points(sources.service_area, lon, lat)
    outside = {r.id for r, inside in zip(located, mask, strict=True) if not inside}
    return [r for r in records if r.id not in outside], len(outside)


def _remove_previous(out_dir: Path) -> None:
    """Delete the files a previous build listed in its manifest (and nothing else)."""
    manifest = out_dir / MANIFEST_NAME
    if not manifest.exists():
        return
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8")).get("files", [])
    except (json.JSONDecodeError, AttributeError):
        return
    for entry in entries:
        path = (out_dir / str(entry.get("path", ""))).resolve()
        if out_dir.resolve() in path.parents and path.is_file():
            path.unlink()


def build_data(
    source_dir: Path,
    out_dir: Path,
    progress: Callable[[str], None] | None = None,
    demo_targets: dict[str, int] | None = None,
) -> BuildReport:
    """Build the shipped data directory.

    Parameters
    ----------
    source_dir
        Raw sources laid out like ``../shared/data``.
    out_dir
        Target data directory (created if needed); files of a previous build listed in its
        manifest are replaced.
    progress
        Called with each step name of :data:`BUILD_STEPS` as it starts.
    demo_targets
        Override the demonstration registries' sizes (tests use small numbers).

    Returns
    -------
    BuildReport

    Raises
    ------
    SourceMissingError
        When a required source file is absent (nothing is written).
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)

    def step(name: str) -> None:
        logger.debug("build step: %s", name)
        if progress is not None:
            progress(name)

    step("sources")
    sources = SourceData(Path(source_dir))
    _ = sources.districts, sources.service_area

    step("sites")
    layers: dict[str, list[Facility]] = {
        "training_site": training_sites(sources),
        "service_centre": service_centres(sources),
    }

    step("context")
    pois = load_pois(sources)
    layers.update(poi_layers(pois))
    layers["metro_station"] = metro_station_facilities(sources)

    step("workplaces")
    workplaces = load_workplaces(sources)
    for workplace in workplaces:
        layers.setdefault(workplace.layer, []).append(workplace_facility(workplace))

    step("demo")
    layers.update(
        demo_layers(
            sources,
            pois,
            layers["metro_station"],
            workplaces,
            layers.get("community_health", []),
            demo_targets,
        )
    )

    step("write facilities")
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_previous(out_dir)
    report = BuildReport()
    entries: list[dict[str, Any]] = []
    for layer in LAYERS:
        records, dropped = _inside(layers.get(layer, []), sources)
        report.dropped_outside[layer] = dropped
        report.counts[layer] = len(records)
        report.located[layer] = sum(r.located for r in records)
        path, rows = write_facilities(out_dir, layer, records)
        entries.append(_entry(out_dir, path, rows, LAYER_SOURCES[layer]))
        layers[layer] = records
    kept = {r.id for key in ("workplace_park", "workplace_building") for r in layers[key]}
    frame = workplace_frame([w for w in workplaces if w.id in kept])
    parquet = out_dir / WORKPLACES_PATH
    parquet.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(parquet, index=False, compression="zstd")
    entries.append(
        _entry(out_dir, parquet, len(frame), f"{LANDUSE_GEOJSON}, osm/buildings_work.geojson")
    )

    step("map layers")
    for name, builder in MAP_BUILDERS.items():
        path, rows = write_geojson_gz(out_dir, name, builder(sources))
        entries.append(_entry(out_dir, path, rows, MAP_SOURCES[name]))

    step("vector basemap")
    # imported here: the tiler's libraries add ~0.2 s to every `servicemap` start otherwise
    from layers.build.vector_basemap import basemap_sources, write_basemap

    basemap = write_basemap(sources, out_dir)
    entry = _entry(out_dir, basemap.path, basemap.rows, basemap_sources(sources))
    entry.update(basemap.manifest_fields())
    entries.append(entry)

    step("demand")
    for path, rows, source_name in write_demand(sources, out_dir).values():
        entries.append(_entry(out_dir, path, rows, source_name))

    step("gazetteer")
    for path, rows, source_name in write_gazetteer(
        out_dir, build_gazetteer(sources, pois, workplaces)
    ):
        entries.append(_entry(out_dir, path, rows, source_name))

    step("manifest")
    report.files = entries
    report.data_version = content_hash(entries)
    manifest = {
        "format_version": FORMAT_VERSION,
        "generator": "servicemap data build",
        "built_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "data_version": report.data_version,
        "crs": "EPSG:4326 (WGS84) for every geometry",
        "demo_seed": DEMO_SEED,
        "licence": "OSM-derived files: © OpenStreetMap contributors, ODbL 1.0; see SOURCES.md",
        "counts": report.counts,
        "files": entries,
    }
    write_json(out_dir / MANIFEST_NAME, manifest)
    report.total_bytes = (
        sum(int(e["size_bytes"]) for e in entries) + (out_dir / MANIFEST_NAME).stat().st_size
    )
    report.elapsed_s = time.perf_counter() - started
    logger.info(
        "build done in %.1f s: %d bytes, version %s",
        report.elapsed_s,
        report.total_bytes,
        report.data_version,
    )
    return report


def _entry(out_dir: Path, path: Path, rows: int, source: str) -> dict[str, Any]:
    return {
        "path": path.relative_to(out_dir).as_posix(),
        "sha256": sha256_file(path),
        "size_bytes": path.stat().st_size,
        "rows": rows,
        "source": source,
    }

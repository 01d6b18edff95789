"""The analysis of one area, as a pure function of a picklable :class:`AreaTask`.

* ``gaps`` -- the medical and/or lunch gap analysis (:class:`layers.gaps.service.GapService`)
  restricted to the workplaces whose representative point lies inside the area. Workers
  come from the city-wide allocation (so an area's workplaces keep the workers they have in
  the city-wide analysis); facilities count wherever they are. Medical times are exact per
  workplace; lunch supply (2SFCA) is computed over the area's workplaces plus every
  workplace within two walks of them (the demand competing for the same outlets), so the
  area's rows equal the city-wide ones. Flags are as city-wide; scores and ranks are
  re-ranked within the area.
* ``plan`` -- an MCLP site plan (:class:`layers.plans.service.PlanService`) for the area's
  workplaces: new sites among the candidate hosts inside the area, every existing site of
  the planned layer (anywhere) counting as covering.

Results are a :class:`pyarrow.Table` sorted by workplace (or site) id, with the workplace
polygons (site points) as WKB, and without any timing, so that a rerun on another process
or machine gives the same table. The city-wide inputs are loaded once per process.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import shapely
from scipy.spatial import cKDTree

from geo._prepared import SharedPrepared
from geo.coverage import lunch as lunch_mod
from geo.nearest import unit_vectors
from layers.errors import LayersError
from layers.gaps.data import Workplaces, load_walk_networks
from layers.gaps.service import MEDICAL_LAYERS, GapService, ShippedSource
from layers.registry.schema import Facility

#: Upper bound of any walking speed in the model (m/s; the network walks at 1.2 m/s, the
#: estimate at about 1 m/s): two walks at this speed bound the lunch demand context.
MAX_SPEED_MPS = 2.0
EARTH_RADIUS_M = 6_371_009.0
ANALYSES = ("medical", "lunch", "both")


class AreaFailedError(LayersError):
    """An area that cannot be analysed (no workplaces, no candidate sites …)."""

    code = "area_failed"


@dataclass(frozen=True)
class AreaTask:
    """Everything a worker needs for one area (picklable; geometry as WKB)."""

    kind: str  # "gaps" or "plan"
    area_id: str
    area_name: str
    geometry_wkb: bytes
    data_dir: str
    options: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ city inputs
@dataclass
class _City:
    service: GapService
    networks: list[Any]
    calibration: Any


_CITY: dict[tuple[str, tuple[str, ...]], _City] = {}
_CITY_LOCK = threading.Lock()


def _city(data_dir: str, layers: tuple[str, ...]) -> _City:
    """City-wide workplaces, workers and networks (once per process and data folder)."""
    key = (str(Path(data_dir).resolve()), layers)
    with _CITY_LOCK:
        if key not in _CITY:
            path = Path(data_dir)
            service = GapService(ShippedSource(path), path, medical_layers=layers)
            service.workers  # noqa: B018 - allocate now, under the lock
            networks, calibration = load_walk_networks(path)
            _CITY[key] = _City(service, networks, calibration)
        return _CITY[key]


def _take(wp: Workplaces, index: np.ndarray) -> Workplaces:
    values = {f.name: getattr(wp, f.name) for f in dataclasses.fields(wp)}
    return Workplaces(**{k: v[index] if isinstance(v, np.ndarray) else v
                         for k, v in values.items()})  # fmt: skip


class AreaGapService(GapService):
    """A :class:`GapService` over some of the city's workplaces, with the city's workers."""

    def __init__(self, city: _City, index: np.ndarray) -> None:
        base = city.service
        super().__init__(base.source, base.data_dir, medical_layers=base.medical_layers,
                         networks=city.networks, calibration=city.calibration)  # fmt: skip
        self._index = np.asarray(index, dtype=np.int64)
        self._workplaces = _take(base.workplaces, self._index)
        self._workers = np.asarray(base.workers)[self._index]

    @property  # type: ignore[override]
    def workplaces(self) -> Workplaces:
        """The selected workplaces."""
        return self._workplaces

    @property
    def workers(self) -> np.ndarray:
        """Their workers in the city-wide allocation."""
        return self._workers


def inside(geometry: Any, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Indices of the points inside (or on the edge of) ``geometry``."""
    covered = SharedPrepared(geometry)  # the area may be shared by threads of a worker
    return np.flatnonzero(covered.intersects_xy(lon, lat))


def _within(lon: np.ndarray, lat: np.ndarray, seeds: np.ndarray, radius_m: float) -> np.ndarray:
    """Indices of the points within ``radius_m`` (great circle) of any seed point."""
    tree = cKDTree(unit_vectors(lon, lat))
    chord = 2.0 * np.sin(min(radius_m / EARTH_RADIUS_M, np.pi) / 2.0)
    hits = tree.query_ball_point(unit_vectors(lon[seeds], lat[seeds]), chord)
    found = np.unique(np.concatenate([np.asarray(h, dtype=np.int64) for h in hits] or [seeds]))
    return np.union1d(found, seeds)


# ----------------------------------------------------------------- gap columns
def _medical_columns(city: _City, area: np.ndarray, opts: dict[str, Any]) -> dict[str, Any]:
    svc = AreaGapService(city, area)
    r = svc.medical_gaps(max_minutes=opts["max_minutes"], min_workers=opts["min_workers"])
    g = r.gaps
    return {
        "medical_minutes": pa.array(g.minutes, pa.float64()),
        "medical_flagged": pa.array(g.flagged, pa.bool_()),
        "medical_excess_minutes": pa.array(g.excess_minutes, pa.float64()),
        "medical_score": pa.array(g.score, pa.float64()),
        "medical_rank": pa.array(g.rank, pa.int64()),
        "medical_method": pa.array([str(m) for m in r.method], pa.string()),
        "medical_nearest_id": pa.array([n.id if n else None for n in r.nearest], pa.string()),
        "medical_nearest_name": pa.array([n.name if n else None for n in r.nearest], pa.string()),
        "medical_nearest_layer": pa.array([n.layer if n else None for n in r.nearest],
                                          pa.string()),
    }  # fmt: skip


def _lunch_columns(city: _City, area: np.ndarray, opts: dict[str, Any]) -> dict[str, Any]:
    wp = city.service.workplaces
    radius = 2.0 * opts["walk_minutes"] * 60.0 * MAX_SPEED_MPS
    context = _within(wp.lon, wp.lat, area, radius)
    pos = np.searchsorted(context, area)
    svc = AreaGapService(city, context)
    r = svc.lunch_gaps(walk_minutes=opts["walk_minutes"], min_supply_per_1000=opts["min_supply"],
                       min_workers=opts["min_workers"])  # fmt: skip
    workers = np.asarray(svc.workers)[pos]
    g = lunch_mod.flag_lunch(r.gaps.supply_per_1000[pos], r.gaps.outlets_reachable[pos], workers,
                             min_supply_per_1000=opts["min_supply"],
                             min_workers=opts["min_workers"])  # fmt: skip
    return {
        "lunch_supply_per_1000": pa.array(g.supply_per_1000, pa.float64()),
        "lunch_outlets_reachable": pa.array(g.outlets_reachable, pa.float64()),
        "lunch_flagged": pa.array(g.flagged, pa.bool_()),
        "lunch_shortfall": pa.array(g.shortfall, pa.float64()),
        "lunch_score": pa.array(g.score, pa.float64()),
        "lunch_rank": pa.array(g.rank, pa.int64()),
        "lunch_method": pa.array([str(m) for m in r.method[pos]], pa.string()),
    }


def _text(values: np.ndarray) -> pa.Array:
    return pa.array([None if v is None else str(v) for v in values], pa.string())


def gaps_table(task: AreaTask) -> pa.Table:
    """Gap analysis of one area; one row per workplace inside it, sorted by id.

    Raises
    ------
    AreaFailedError
        When no workplace lies inside the area.
    """
    opts = task.options
    layers = tuple(opts.get("layers") or MEDICAL_LAYERS)
    city = _city(task.data_dir, layers)
    wp = city.service.workplaces
    geometry = shapely.from_wkb(task.geometry_wkb)
    area = inside(geometry, wp.lon, wp.lat)
    if area.size == 0:
        raise AreaFailedError(f"area {task.area_id} ({task.area_name}): no workplace inside it")
    area = area[np.argsort(wp.id[area], kind="stable")]
    area_sorted = np.sort(area)
    # analyses run on index-sorted workplaces; map their rows back to id order
    order = np.searchsorted(area_sorted, area)
    columns: dict[str, Any] = {
        "area_id": pa.array([task.area_id] * area.size, pa.string()),
        "id": _text(wp.id[area]), "name": _text(wp.name[area]), "kind": _text(wp.kind[area]),
        "category": _text(wp.category[area]), "district": _text(wp.district[area]),
        "subdistrict": _text(wp.subdistrict[area]),
        "workers": pa.array(np.asarray(city.service.workers)[area], pa.int64()),
        "lon": pa.array(wp.lon[area], pa.float64()), "lat": pa.array(wp.lat[area], pa.float64()),
    }  # fmt: skip
    analysis = opts.get("analysis", "both")
    parts = []
    if analysis in ("medical", "both"):
        parts.append(_medical_columns(city, area_sorted, opts))
    if analysis in ("lunch", "both"):
        parts.append(_lunch_columns(city, area_sorted, opts))
    for part in parts:
        columns.update({k: v.take(pa.array(order)) for k, v in part.items()})
    columns["geometry"] = pa.array(shapely.to_wkb(wp.geometry[area]).tolist(), pa.binary())
    meta = {"kind": "gaps", "area": {"id": task.area_id, "name": task.area_name},
            "options": {k: opts[k] for k in sorted(opts)}}  # fmt: skip
    return with_geo_metadata(pa.table(columns), wp.geometry[area], meta)


# ------------------------------------------------------------------------ plan
class _AreaCandidates:
    """A facility source whose candidate layers keep only the facilities inside the area."""

    def __init__(self, source: Any, candidates: tuple[str, ...], geometry: Any) -> None:
        self.source, self.candidates, self.geometry = source, candidates, geometry

    def version(self, layer: str) -> object:
        return self.source.version(layer)

    def facilities(self, layer: str) -> list[Facility]:
        every = self.source.facilities(layer)
        if layer not in self.candidates:
            return every
        lon = np.array([f.lon for f in every], dtype=float)
        lat = np.array([f.lat for f in every], dtype=float)
        return [every[i] for i in inside(self.geometry, lon, lat).tolist()]


def plan_table(task: AreaTask) -> pa.Table:
    """MCLP plan of one area; one row per new site, sorted by site id.

    Raises
    ------
    AreaFailedError
        No workplace inside the area, or a request the area cannot satisfy (e.g. fewer
        candidate hosts inside it than new sites).
    """
    from layers.plans.service import Demand, PlanRequest, PlanRequestError, PlanService

    opts = task.options
    city = _city(task.data_dir, MEDICAL_LAYERS)
    wp = city.service.workplaces
    geometry = shapely.from_wkb(task.geometry_wkb)
    area = inside(geometry, wp.lon, wp.lat)
    if area.size == 0:
        raise AreaFailedError(f"area {task.area_id} ({task.area_name}): no workplace inside it")
    gaps = AreaGapService(city, area)
    request = PlanRequest(model="mclp", layer=opts["layer"], candidates=tuple(opts["candidates"]),
                          n_new=int(opts["n_new"]), max_minutes=float(opts["max_minutes"]),
                          time_limit_s=float(opts["time_limit"]))  # fmt: skip
    source = _AreaCandidates(city.service.source, request.candidates, geometry)
    service = PlanService(source, Demand.from_gap_service(gaps))
    try:
        result = service.solve(request)
    except PlanRequestError as error:
        raise AreaFailedError(f"area {task.area_id} ({task.area_name}): {error.message}") from None
    if result.status == "infeasible":
        reason = result.summary.get("reason") or "infeasible"
        raise AreaFailedError(f"area {task.area_id} ({task.area_name}): {reason}")
    sites = sorted(result.sites, key=lambda s: s["id"])
    points = shapely.points([s["lon"] for s in sites], [s["lat"] for s in sites]) if sites \
        else np.empty(0, dtype=object)  # fmt: skip
    columns = {
        "area_id": pa.array([task.area_id] * len(sites), pa.string()),
        **{k: pa.array([s.get(k) for s in sites], t) for k, t in (
            ("id", pa.string()), ("name", pa.string()), ("layer", pa.string()),
            ("district", pa.string()), ("lon", pa.float64()), ("lat", pa.float64()),
            ("cost_yuan", pa.float64()), ("workers_newly_covered", pa.int64()))},
        "geometry": pa.array(shapely.to_wkb(points).tolist() if sites else [], pa.binary()),
    }  # fmt: skip
    s = result.summary
    summary = {k: s.get(k) for k in ("status", "objective", "workers_total",
                                     "workers_covered_before", "workers_covered_after",
                                     "workers_newly_covered", "n_new")}  # fmt: skip
    meta = {"kind": "plan", "area": {"id": task.area_id, "name": task.area_name},
            "options": {k: opts[k] for k in sorted(opts)}, "summary": summary}  # fmt: skip
    return with_geo_metadata(pa.table(columns), points, meta)


# ------------------------------------------------------------------ GeoParquet
def with_geo_metadata(table: pa.Table, geometries: Any, extra: dict[str, Any]) -> pa.Table:
    """``table`` with GeoParquet 1.0 ``geo`` metadata for its WKB ``geometry`` column.

    No ``crs`` is written: GeoParquet then means OGC:CRS84 (WGS84 longitude, latitude).
    ``extra`` goes under the ``servicemap`` key (JSON).
    """
    geoms = np.asarray(geometries, dtype=object)
    types = sorted({g.geom_type for g in geoms if g is not None and not g.is_empty})
    bbox = [float(x) for x in shapely.total_bounds(geoms)] if geoms.size else []
    column: dict[str, Any] = {"encoding": "WKB", "geometry_types": types}
    if bbox and all(np.isfinite(bbox)):
        column["bbox"] = bbox
    geo = {"version": "1.0.0", "primary_column": "geometry", "columns": {"geometry": column}}
    return table.replace_schema_metadata({
        b"geo": json.dumps(geo).encode(),
        b"servicemap": json.dumps(extra, ensure_ascii=False, sort_keys=True).encode(),
    })  # fmt: skip


def run_task(task: AreaTask) -> pa.Table:
    """The table of one area (``gaps`` or ``plan``)."""
    if task.kind == "gaps":
        return gaps_table(task)
    if task.kind == "plan":
        return plan_table(task)
    raise ValueError(f"unknown batch kind {task.kind!r}")

"""The coverage-gap service: medically underserved workplaces and lunch difficulty.

:class:`GapService` loads the deduplicated workplaces, allocates official employment to
them (:mod:`geo.coverage.allocation`), builds the walking-time model on the shipped walk
networks (:mod:`geo.coverage.reach`) and answers

* :meth:`GapService.medical_gaps` -- minutes to the nearest medical resource of the
  configured layers (default: health points, community health centres, hospitals,
  clinics), flag, score and rank (:mod:`geo.coverage.medical`);
* :meth:`GapService.lunch_gaps` -- 2SFCA food supply within a walk (:mod:`geo.coverage.lunch`).

Facility catchments are cached. Before answering, the service compares each layer's store
version with the one it computed; for a changed layer it diffs the records by id and
position and applies only the additions and removals (:mod:`geo.coverage.incremental`),
so an edit in the registry costs well under a second rather than a full rerun.

Only facilities that serve workers (status new, active, upgraded, yellow card) and have a
position count. Demonstration records (``demo=True``, e.g. the health points generated at
OSM host sites) are not medical resources unless the caller asks for them
(``include_demo``); every answer says which layers lost how many (:class:`SupplyLayer`). The service is shared by every request thread: its inputs are built once
(:class:`geo._once.once_property`) and the incremental state is changed under one lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import shapely

from geo._once import OnceMap, once_property
from geo.coverage import lunch as lunch_mod
from geo.coverage import medical as medical_mod
from geo.coverage.allocation import Allocation, OfficialEmployment, allocate_workers
from geo.coverage.errors import InvalidThresholdError
from geo.coverage.incremental import CatchmentRows, IncrementalNearest, IncrementalTwoStep, Row
from geo.coverage.reach import METHOD_NAMES, Reach, ReachModel
from geo.network.csr import Network
from geo.network.estimate import Calibration
from layers.gaps.data import (
    OVERRIDE_WORKERS_KEY,  # noqa: F401 - re-exported (the keys are documented here)
    OVERRIDE_WORKPLACE_KEY,  # noqa: F401
    Workplaces,
    load_official_employment,
    load_walk_networks,
    load_workplaces,
    record_overrides,
    simplified_geometry,
)
from layers.registry import shipped
from layers.registry.catalog import get_layer
from layers.registry.schema import Facility

logger = logging.getLogger(__name__)

#: Layers whose facilities count as medical resources by default.
MEDICAL_LAYERS: tuple[str, ...] = ("health_point", "community_health", "hospital", "clinic")
FOOD_LAYER = "food"
#: Search horizon of the medical catchments (minutes); ``max_minutes`` may not exceed it.
MEDICAL_HORIZON_MINUTES = 90.0
#: Largest lunch walk accepted (minutes).
MAX_WALK_MINUTES = 30.0


class FacilitySource(Protocol):
    """Where facilities come from: a registry (store-backed) or the shipped files."""

    def version(self, layer: str) -> object:
        """A value that changes whenever the layer's records change."""

    def facilities(self, layer: str) -> list[Facility]:
        """The layer's located facilities."""


class RegistrySource:
    """Facilities from a :class:`layers.registry.service.Registry` (versions from its store)."""

    def __init__(self, registry: object) -> None:
        self.registry = registry

    def version(self, layer: str) -> object:
        return self.registry.store.layer_version(layer)  # type: ignore[attr-defined]

    def facilities(self, layer: str) -> list[Facility]:
        return list(self.registry.located(layer))  # type: ignore[attr-defined]


class ShippedSource:
    """Facilities read once from the shipped files (version never changes)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._facilities: OnceMap[str, list[Facility]] = OnceMap()

    def version(self, layer: str) -> object:
        return 0

    def facilities(self, layer: str) -> list[Facility]:
        return self._facilities.get(layer, lambda: [
            f for f in shipped.iter_facilities(self.data_dir, layer) if f.located
        ])  # fmt: skip


@dataclass(frozen=True)
class FacilityRef:
    """What the answers say about a facility."""

    id: str
    name: str
    layer: str
    lon: float
    lat: float
    services: tuple[str, ...]


def _ref(f: Facility) -> FacilityRef:
    return FacilityRef(f.id, f.name, f.layer, float(f.lon or 0.0), float(f.lat or 0.0),
                       tuple(f.services))  # fmt: skip


@dataclass(frozen=True)
class MedicalResult:
    """Medical gaps for every workplace (arrays indexed like :attr:`GapService.workplaces`)."""

    max_minutes: float
    min_workers: float
    gaps: medical_mod.MedicalGaps
    nearest: list[FacilityRef | None]
    method: np.ndarray
    workers: np.ndarray
    layers: tuple[str, ...]
    basis: np.ndarray
    include_demo: bool = False
    supply: tuple[SupplyLayer, ...] = ()

    @property
    def n_flagged(self) -> int:
        """Number of flagged workplaces."""
        return int(self.gaps.flagged.sum())

    @property
    def workers_flagged(self) -> int:
        """Workers in flagged workplaces."""
        return int(self.workers[self.gaps.flagged].sum())

    @property
    def demo_left_out(self) -> int:
        """Demonstration records of the medical layers left out of the answer."""
        return sum(s.demo_left_out for s in self.supply)


@dataclass(frozen=True)
class SupplyLayer:
    """What one medical layer contributed: facilities counted and demo records left out."""

    layer: str
    counted: int
    demo_left_out: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"layer": self.layer, "counted": self.counted, "demo_left_out": self.demo_left_out}


@dataclass(frozen=True)
class LunchResult:
    """Lunch gaps for every workplace."""

    walk_minutes: float
    min_supply_per_1000: float
    min_workers: float
    gaps: lunch_mod.LunchGaps
    method: np.ndarray
    workers: np.ndarray
    worst: lunch_mod.WorstPlaces
    basis: np.ndarray

    @property
    def n_flagged(self) -> int:
        """Number of flagged workplaces."""
        return int(self.gaps.flagged.sum())

    @property
    def workers_flagged(self) -> int:
        """Workers in flagged workplaces."""
        return int(self.workers[self.gaps.flagged].sum())


@dataclass
class _LayerState:
    version: object
    records: dict[str, tuple[float, float, tuple[str, ...]]] = field(default_factory=dict)
    demo_left_out: int = 0


@dataclass(frozen=True)
class UpdateStats:
    """What one synchronisation did."""

    added: int
    removed: int
    seconds: float


class GapService:
    """Coverage gaps over the deduplicated workplaces, with cached incremental state.

    Parameters
    ----------
    source
        Where facilities come from (:class:`RegistrySource` or :class:`ShippedSource`).
    data_dir
        The shipped data directory (workplaces, demand tables, networks).
    medical_layers
        Layers counted as medical resources.
    food_layer
        The food-outlet layer.
    overrides
        Workers per workplace id from registry data (application forms). Records of the
        medical layers override too (:func:`record_overrides`): their ``n_workers`` (职工数)
        or ``extra.workers``, for ``extra.workplace_id`` or the workplace containing them.
        The allocation follows the registry: it is redone when those overrides change.
    networks, calibration
        Walk networks and estimate calibration (default: the shipped ones).
    """

    def __init__(
        self,
        source: FacilitySource,
        data_dir: Path = shipped.DEFAULT_DATA_DIR,
        *,
        medical_layers: Sequence[str] = MEDICAL_LAYERS,
        food_layer: str = FOOD_LAYER,
        overrides: Mapping[str, int] | None = None,
        networks: Sequence[Network] | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        for layer in (*medical_layers, food_layer):
            get_layer(layer)
        self.source = source
        self.data_dir = Path(data_dir)
        self.medical_layers = tuple(medical_layers)
        self.food_layer = food_layer
        self._overrides = dict(overrides or {})
        self._networks = None if networks is None else list(networks)
        self._calibration = calibration
        self._lock = threading.RLock()
        # one incremental state per include_demo choice; catchment rows shared between them
        self._medical: dict[bool, IncrementalNearest] = {}
        self._medical_layers_state: dict[bool, dict[str, _LayerState]] = {}
        self._medical_rows: dict[str, tuple[tuple[float, float], Row]] = {}
        self._refs: dict[str, FacilityRef] = {}
        self._lunch: dict[float, IncrementalTwoStep] = {}
        self._lunch_state: dict[float, _LayerState] = {}
        self._lunch_allocation: dict[float, Allocation] = {}
        self._allocation: Allocation | None = None
        self._allocation_versions: tuple[object, ...] | None = None
        self._override_values: np.ndarray | None = None
        self.last_update: UpdateStats | None = None

    # ------------------------------------------------------------------ inputs
    @once_property
    def workplaces(self) -> Workplaces:
        """The deduplicated workplaces."""
        return load_workplaces(self.data_dir)

    @once_property
    def official(self) -> OfficialEmployment:
        """The official employment figures."""
        return load_official_employment(self.data_dir)

    @once_property
    def _containing(self) -> shapely.STRtree:
        return shapely.STRtree(self.workplaces.geometry)

    def workplace_at(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Index of the workplace whose polygon contains each point (smallest), or -1."""
        out = np.full(len(lon), -1, dtype=np.int64)
        if len(lon) == 0:
            return out
        points = shapely.points(np.asarray(lon, float), np.asarray(lat, float))
        p_idx, w_idx = self._containing.query(points, predicate="within")
        area = self.workplaces.area_m2[w_idx]
        order = np.lexsort((w_idx, area, p_idx))
        p_sorted, w_sorted = p_idx[order], w_idx[order]
        first = np.r_[True, p_sorted[1:] != p_sorted[:-1]] if p_sorted.size else p_sorted
        out[p_sorted[first]] = w_sorted[first]
        return out

    def override_values(self) -> np.ndarray:
        """``(N,)`` workers set by registry data (NaN where none): records, then the mapping."""
        wp = self.workplaces
        index = {wid: i for i, wid in enumerate(wp.id.tolist())}
        records: list[Facility] = []
        for layer in self.medical_layers:
            records.extend(self.source.facilities(layer))
        values = record_overrides(records, index, self.workplace_at, len(wp))
        for wid, workers in self._overrides.items():
            if wid in index:
                values[index[wid]] = float(workers)
        return values

    @property
    def allocation(self) -> Allocation:
        """Workers per workplace and the reconciliation with the official totals.

        Redone when the overrides in the medical layers change (compared by layer version).
        """
        with self._lock:
            versions = tuple(self.source.version(layer) for layer in self.medical_layers)
            if self._allocation is not None and versions == self._allocation_versions:
                return self._allocation
            values = self.override_values()
            if self._allocation is None or not np.array_equal(values, self._override_values,
                                                              equal_nan=True):  # fmt: skip
                wp = self.workplaces
                self._allocation = allocate_workers(
                    wp.district, wp.subdistrict, wp.floor_area_m2, wp.capacity, self.official,
                    values, site_bound=wp.site_bound, from_footprints=wp.from_footprints,
                )  # fmt: skip
                self._override_values = values
            self._allocation_versions = versions
            return self._allocation

    @property
    def workers(self) -> np.ndarray:
        """Workers per workplace (int64)."""
        return self.allocation.workers

    @once_property
    def reach_model(self) -> ReachModel:
        """Walking-time model over the workplaces."""
        if self._networks is None:
            nets, cal = load_walk_networks(self.data_dir)
        else:
            nets, cal = self._networks, self._calibration
        wp = self.workplaces
        return ReachModel(wp.lon, wp.lat, wp.geometry, nets, cal or _default_cal())

    @once_property
    def geometry_json(self) -> list[dict[str, object]]:
        """Simplified GeoJSON polygons of the workplaces."""
        return simplified_geometry(self.workplaces.geometry)

    # ----------------------------------------------------------------- medical
    def medical_gaps(
        self,
        max_minutes: float = medical_mod.DEFAULT_MAX_MINUTES,
        min_workers: float = medical_mod.DEFAULT_MIN_WORKERS,
        *,
        include_demo: bool = False,
    ) -> MedicalResult:
        """Medically underserved workplaces.

        Parameters
        ----------
        max_minutes, min_workers
            A workplace is flagged beyond this walk when it has at least this many workers.
        include_demo
            Count demonstration records (``demo=True``) as medical resources too. By
            default they are left out: only real (imported, published) records count.

        Raises
        ------
        InvalidThresholdError
            For negative thresholds or ``max_minutes`` beyond the search horizon.
        """
        medical_mod.check_thresholds(max_minutes, min_workers)
        if max_minutes > MEDICAL_HORIZON_MINUTES:
            message = (f"max_minutes must be at most {MEDICAL_HORIZON_MINUTES:g} "
                       f"(the search horizon), got {max_minutes:g}")  # fmt: skip
            raise InvalidThresholdError(message)
        include_demo = bool(include_demo)
        with self._lock:
            state = self._sync_medical(include_demo)
            answer = state.answer()
            allocation = self.allocation
            supply = tuple(
                SupplyLayer(layer, len(s.records), s.demo_left_out)
                for layer, s in self._medical_layers_state[include_demo].items()
            )
        workers = allocation.workers
        gaps = medical_mod.flag_medical(answer.time_s, workers, max_minutes=max_minutes,
                                        min_workers=min_workers)  # fmt: skip
        ids = state.rows.ids
        nearest = [self._refs.get(ids[s]) if s >= 0 else None for s in answer.facility.tolist()]
        method = _method_names(answer.method)
        return MedicalResult(float(max_minutes), float(min_workers), gaps, nearest, method,
                             workers, self.medical_layers, allocation.basis, include_demo,
                             supply)  # fmt: skip

    def _medical_row(self, refs: Sequence[FacilityRef]) -> list[Row]:
        """Catchment rows of the facilities (reused from the other state where the same)."""
        todo = [r for r in refs if self._medical_rows.get(r.id, (None,))[0] != (r.lon, r.lat)]
        if todo:
            lon = np.array([r.lon for r in todo], dtype=float)
            lat = np.array([r.lat for r in todo], dtype=float)
            reach = self.reach_model.reach(lon, lat, MEDICAL_HORIZON_MINUTES * 60.0)
            for ref, row in zip(todo, _split_rows(reach, len(todo)), strict=True):
                self._medical_rows[ref.id] = ((ref.lon, ref.lat), row)
        return [self._medical_rows[r.id][1] for r in refs]

    def _sync_medical(self, include_demo: bool = False) -> IncrementalNearest:
        started = time.perf_counter()
        current = {layer: self.source.version(layer) for layer in self.medical_layers}
        previous = self._medical_layers_state.get(include_demo, {})
        medical = self._medical.get(include_demo)
        if medical is not None and all(
            previous[layer].version == v for layer, v in current.items()
        ):
            return medical
        added: list[FacilityRef] = []
        removed: list[str] = []
        states: dict[str, _LayerState] = {}
        for layer in self.medical_layers:
            old = previous.get(layer)
            if old is not None and old.version == current[layer]:
                states[layer] = old
                continue
            facilities = self.source.facilities(layer)
            records = _records(facilities, include_demo=include_demo)
            left_out = 0 if include_demo else sum(
                1 for f in facilities if f.demo and f.located and f.serving)
            new = _LayerState(current[layer], {k: v[0] for k, v in records.items()}, left_out)
            plus, minus = _diff(old.records if old else {}, new.records)
            added.extend(records[k][1] for k in plus)
            removed.extend(minus)
            states[layer] = new
        self._medical_layers_state[include_demo] = states
        for ref in added:
            self._refs[ref.id] = ref
        if medical is None:
            rows = CatchmentRows(len(self.workplaces))
            for ref, row in zip(added, self._medical_row(added), strict=True):
                rows.add(ref.id, ref.lon, ref.lat, row)
            model = self.reach_model
            medical = IncrementalNearest(rows, model.wp_lon, model.wp_lat,
                                         model.calibration.crow_speed_mps)  # fmt: skip
            self._medical[include_demo] = medical
        else:
            for fid in removed:
                if fid in medical.rows:
                    medical.remove(fid)
            for ref, row in zip(added, self._medical_row(added), strict=True):
                medical.add(ref.id, ref.lon, ref.lat, row)
        self.last_update = UpdateStats(len(added), len(removed), time.perf_counter() - started)
        logger.info("medical catchments (include_demo=%s): +%d -%d in %.3f s", include_demo,
                    len(added), len(removed), self.last_update.seconds)  # fmt: skip
        return medical

    # ------------------------------------------------------------------- lunch
    def lunch_gaps(
        self,
        walk_minutes: float = lunch_mod.DEFAULT_WALK_MINUTES,
        min_supply_per_1000: float = lunch_mod.DEFAULT_MIN_SUPPLY_PER_1000,
        min_workers: float = lunch_mod.DEFAULT_MIN_WORKERS,
    ) -> LunchResult:
        """Lunch difficulty by 2SFCA within ``walk_minutes`` on foot.

        Raises
        ------
        InvalidThresholdError
            For a walk outside (0, :data:`MAX_WALK_MINUTES`] or negative thresholds.
        """
        if not (np.isfinite(walk_minutes) and 0 < walk_minutes <= MAX_WALK_MINUTES):
            message = (f"walk_minutes must be greater than 0 and at most "
                       f"{MAX_WALK_MINUTES:g}, got {walk_minutes:g}")  # fmt: skip
            raise InvalidThresholdError(message)
        with self._lock:
            allocation = self.allocation
            state = self._sync_lunch(float(walk_minutes), allocation)
            answer = state.answer()
        workers = allocation.workers
        gaps = lunch_mod.flag_lunch(answer.supply_per_1000_workers, answer.outlets_reachable,
                                    workers, min_supply_per_1000=min_supply_per_1000,
                                    min_workers=min_workers)  # fmt: skip
        worst = lunch_mod.worst_places(gaps, workers)
        return LunchResult(float(walk_minutes), float(min_supply_per_1000), float(min_workers),
                           gaps, self.reach_model.workplace_method, workers, worst,
                           allocation.basis)  # fmt: skip

    def _sync_lunch(self, walk_minutes: float, allocation: Allocation) -> IncrementalTwoStep:
        started = time.perf_counter()
        version = self.source.version(self.food_layer)
        old = self._lunch_state.get(walk_minutes)
        state = self._lunch.get(walk_minutes)
        if state is not None and self._lunch_allocation.get(walk_minutes) is not allocation:
            state = IncrementalTwoStep(state.rows, allocation.workers)  # workers changed
            self._lunch[walk_minutes] = state
            self._lunch_allocation[walk_minutes] = allocation
        if state is not None and old is not None and old.version == version:
            return state
        records = _records(self.source.facilities(self.food_layer))
        new = _LayerState(version, {k: v[0] for k, v in records.items()})
        plus, minus = _diff(old.records if old else {}, new.records)
        refs = [records[k][1] for k in plus]
        rows = _split_rows(self.reach_model.reach(
            np.array([r.lon for r in refs], dtype=float),
            np.array([r.lat for r in refs], dtype=float), walk_minutes * 60.0), len(refs))
        if state is None:
            store = CatchmentRows(len(self.workplaces))
            for ref, row in zip(refs, rows, strict=True):
                store.add(ref.id, ref.lon, ref.lat, row, lunch_mod.outlet_weight(ref.services))
            state = IncrementalTwoStep(store, allocation.workers)
            self._lunch_allocation[walk_minutes] = allocation
        else:
            for fid in minus:
                if fid in state.rows:
                    state.remove(fid)
            for ref, row in zip(refs, rows, strict=True):
                state.add(ref.id, ref.lon, ref.lat, row, lunch_mod.outlet_weight(ref.services))
        self._lunch[walk_minutes] = state
        self._lunch_state[walk_minutes] = new
        self.last_update = UpdateStats(len(refs), len(minus), time.perf_counter() - started)
        return state

    # ------------------------------------------------------------- direct edits
    def warm(self) -> None:
        """Compute the default answers now (a server calls this in the background)."""
        self.medical_gaps()
        self.lunch_gaps()


def _default_cal() -> Calibration:
    from layers.gaps.data import DEFAULT_CALIBRATION

    return DEFAULT_CALIBRATION


def _records(
    facilities: Iterable[Facility], *, include_demo: bool = True,
) -> dict[str, tuple[tuple[float, float, tuple[str, ...]], FacilityRef]]:
    """Serving, located facilities by id: (fingerprint, reference); demo ones if asked."""
    out = {}
    for f in facilities:
        if f.located and f.serving and (include_demo or not f.demo):
            ref = _ref(f)
            out[f.id] = ((ref.lon, ref.lat, ref.services), ref)
    return out


def _diff(
    old: Mapping[str, tuple[float, float, tuple[str, ...]]],
    new: Mapping[str, tuple[float, float, tuple[str, ...]]],
) -> tuple[list[str], list[str]]:
    """Ids to add (new or changed) and to remove (gone or changed), sorted."""
    plus = sorted(k for k, v in new.items() if old.get(k) != v)
    minus = sorted(k for k, v in old.items() if new.get(k) != v)
    return plus, minus


def _split_rows(reach: Reach, n_facilities: int) -> list[Row]:
    """One :class:`Row` per facility from a batch reach (sorted by facility)."""
    bounds = np.searchsorted(reach.facility, np.arange(n_facilities + 1))
    return [
        Row(reach.workplace[a:b], reach.time_s[a:b], reach.method[a:b])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    ]


def _method_names(codes: np.ndarray) -> np.ndarray:
    names = np.array([*METHOD_NAMES, "estimated"], dtype=object)
    out = np.full(codes.shape[0], "unreachable", dtype=object)
    ok = codes >= 0
    out[ok] = names[codes[ok]]
    return out

"""Incremental gap answers: add or remove one facility without a full rerun.

Both analyses keep each facility's *catchment row* -- the workplaces within the search
horizon with their walking times (from :meth:`geo.coverage.reach.ReachModel.reach`) -- in a
:class:`CatchmentRows` store keyed by facility id. A change then touches only the
workplaces in the changed facility's row:

* :class:`IncrementalNearest` (medical access) keeps the nearest facility per workplace.
  Adding a facility compares its row with the current answers; removing one recomputes
  only the workplaces whose nearest it was. Workplaces with nothing within the horizon
  get a great-circle fallback over all facilities (a small set, recomputed on change).
* :class:`IncrementalTwoStep` (lunch, 2SFCA) keeps the supply ratio per outlet and the
  accessibility per workplace. Adding an outlet computes its ratio from the workers in its
  row and adds it to those workplaces; removing subtracts it.

Ties between equally near facilities are broken by facility id, in both the full and the
incremental computation, so the two agree exactly (2SFCA sums agree to rounding).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from geo.coverage.lunch import TwoStep, ratio_from, two_step
from geo.coverage.medical import FALLBACK, NearestAnswer, estimate_fallback, nearest_from_pairs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Row:
    """One facility's catchment: workplaces, seconds and method codes (equal lengths)."""

    workplace: np.ndarray
    time_s: np.ndarray
    method: np.ndarray


class CatchmentRows:
    """Catchment rows of facilities, addressable by id; removed slots stay as dead rows.

    Parameters
    ----------
    n_workplaces
        Number of workplaces (columns).
    """

    def __init__(self, n_workplaces: int) -> None:
        self.n_workplaces = int(n_workplaces)
        self.ids: list[str] = []
        self.slot_of: dict[str, int] = {}
        self.lon: list[float] = []
        self.lat: list[float] = []
        self.weight: list[float] = []
        self.rows: list[Row] = []
        self.alive: list[bool] = []
        self._pairs: tuple[np.ndarray, ...] | None = None

    def __len__(self) -> int:
        return len(self.slot_of)

    def __contains__(self, facility_id: object) -> bool:
        return facility_id in self.slot_of

    def add(self, facility_id: str, lon: float, lat: float, row: Row, weight: float = 1.0) -> int:
        """Store a facility's row; return its slot. An existing id is replaced."""
        if facility_id in self.slot_of:
            self.remove(facility_id)
        slot = len(self.ids)
        self.ids.append(facility_id)
        self.slot_of[facility_id] = slot
        self.lon.append(float(lon))
        self.lat.append(float(lat))
        self.weight.append(float(weight))
        self.rows.append(row)
        self.alive.append(True)
        self._pairs = None
        return slot

    def remove(self, facility_id: str) -> int:
        """Mark a facility's row dead; return its slot (KeyError if unknown)."""
        slot = self.slot_of.pop(facility_id)
        self.alive[slot] = False
        self._pairs = None
        return slot

    def keys(self) -> np.ndarray:
        """Facility id per slot (unicode array), the tie-breaking key."""
        return np.array(self.ids, dtype=str) if self.ids else np.empty(0, dtype=str)

    def alive_slots(self) -> np.ndarray:
        """Slots of the facilities present."""
        return np.flatnonzero(np.array(self.alive, dtype=bool))

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(slot, workplace, time_s, method) of all live rows, concatenated (cached)."""
        if self._pairs is None:
            live = self.alive_slots().tolist()
            if live:
                slot = np.concatenate([np.full(self.rows[s].workplace.size, s, dtype=np.int64)
                                       for s in live])  # fmt: skip
                wp = np.concatenate([self.rows[s].workplace for s in live]).astype(np.int64)
                t = np.concatenate([self.rows[s].time_s for s in live]).astype(np.float64)
                m = np.concatenate([self.rows[s].method for s in live]).astype(np.int8)
            else:
                slot = wp = np.empty(0, dtype=np.int64)
                t, m = np.empty(0), np.empty(0, dtype=np.int8)
            self._pairs = (slot, wp, t, m)
        return self._pairs


class IncrementalNearest:
    """Nearest facility per workplace, updated one facility at a time.

    Parameters
    ----------
    rows
        The facilities' catchment rows (within a horizon).
    wp_lon, wp_lat
        Workplace positions, for the great-circle fallback.
    crow_speed_mps
        Crow-fly walking speed of the fallback estimate.
    """

    def __init__(
        self, rows: CatchmentRows, wp_lon: np.ndarray, wp_lat: np.ndarray, crow_speed_mps: float
    ) -> None:
        self.rows = rows
        self.wp_lon = np.asarray(wp_lon, float)
        self.wp_lat = np.asarray(wp_lat, float)
        self.crow_speed_mps = float(crow_speed_mps)
        n = rows.n_workplaces
        self.slot = np.full(n, -1, dtype=np.int64)
        self.time_s = np.full(n, np.inf)
        self.method = np.full(n, -1, dtype=np.int8)
        self.recompute(np.arange(n))

    def answer(self) -> NearestAnswer:
        """Current answer (facility = slot in :attr:`rows`)."""
        return NearestAnswer(self.slot.copy(), self.time_s.copy(), self.method.copy())

    def recompute(self, workplaces: np.ndarray) -> None:
        """Recompute the answers of ``workplaces`` from the live rows."""
        workplaces = np.asarray(workplaces, dtype=np.int64)
        if workplaces.size == 0:
            return
        slot, wp, t, m = self.rows.pairs()
        if workplaces.size < self.rows.n_workplaces:
            sel = np.isin(wp, workplaces)
            slot, wp, t, m = slot[sel], wp[sel], t[sel], m[sel]
        ans = nearest_from_pairs(self.rows.n_workplaces, slot, wp, t, m, self.rows.keys())
        self.slot[workplaces] = ans.facility[workplaces]
        self.time_s[workplaces] = ans.time_s[workplaces]
        self.method[workplaces] = ans.method[workplaces]
        self._fallback(workplaces[ans.facility[workplaces] < 0])

    def _fallback(self, workplaces: np.ndarray) -> None:
        if workplaces.size == 0:
            return
        live = self.rows.alive_slots()
        lon = np.array(self.rows.lon)[live] if live.size else np.empty(0)
        lat = np.array(self.rows.lat)[live] if live.size else np.empty(0)
        idx, t = estimate_fallback(self.wp_lon[workplaces], self.wp_lat[workplaces], lon, lat,
                                   self.rows.keys()[live], self.crow_speed_mps)  # fmt: skip
        found = idx >= 0
        self.slot[workplaces] = np.where(found, live[np.maximum(idx, 0)] if live.size else -1, -1)
        self.time_s[workplaces] = t
        self.method[workplaces] = np.where(found, FALLBACK, -1)

    def add(self, facility_id: str, lon: float, lat: float, row: Row) -> np.ndarray:
        """Add a facility; return the workplaces whose answer changed."""
        if facility_id in self.rows:
            self.remove(facility_id)
        slot = self.rows.add(facility_id, lon, lat, row)
        keys = self.rows.keys()
        wp, t = row.workplace.astype(np.int64), row.time_s.astype(float)
        cur = self.slot[wp]
        had_pair = (cur >= 0) & (self.method[wp] != FALLBACK)
        cur_key = np.where(cur >= 0, keys[np.maximum(cur, 0)], "")
        better = ~had_pair | (t < self.time_s[wp]) | (
            (t == self.time_s[wp]) & (facility_id < cur_key)
        )
        changed = wp[better]
        self.slot[changed] = slot
        self.time_s[changed] = t[better]
        self.method[changed] = row.method[better]
        rest = np.flatnonzero(self.method == FALLBACK)
        rest = rest[~np.isin(rest, wp)]
        before = self.slot[rest].copy()
        self._fallback(rest)
        return np.union1d(changed, rest[self.slot[rest] != before])

    def remove(self, facility_id: str) -> np.ndarray:
        """Remove a facility; return the workplaces whose answer changed."""
        slot = self.rows.remove(facility_id)
        affected = np.flatnonzero(self.slot == slot)
        self.recompute(affected)
        return affected


class IncrementalTwoStep:
    """2SFCA accessibility, updated one outlet at a time.

    Parameters
    ----------
    rows
        The outlets' catchment rows (within the walking catchment), weights in ``weight``.
    workers
        ``(W,)`` workers per workplace (a change of workers needs a new object).
    """

    def __init__(self, rows: CatchmentRows, workers: np.ndarray) -> None:
        self.rows = rows
        self.workers = np.asarray(workers, dtype=float)
        self.full()

    def full(self) -> TwoStep:
        """Recompute everything from the live rows."""
        slot, wp, _, _ = self.rows.pairs()
        weights = np.array(self.rows.weight, dtype=float)
        alive = np.array(self.rows.alive, dtype=bool)
        result = two_step(slot, wp, np.where(alive, weights, 0.0), self.workers)
        self.ratio = result.ratio
        self.demand = result.demand
        self.accessibility = result.accessibility
        self.count = result.outlets_reachable.astype(np.int64)
        return result

    def answer(self) -> TwoStep:
        """Current 2SFCA state."""
        return TwoStep(self.ratio.copy(), self.demand.copy(), self.accessibility.copy(),
                       self.count.copy())  # fmt: skip

    def add(self, facility_id: str, lon: float, lat: float, row: Row, weight: float) -> np.ndarray:
        """Add an outlet; return the workplaces within its catchment."""
        if facility_id in self.rows:
            self.remove(facility_id)
        self.rows.add(facility_id, lon, lat, row, weight)
        wp = row.workplace.astype(np.int64)
        demand = float(self.workers[wp].sum())
        ratio = float(ratio_from(np.array([weight]), np.array([demand]))[0])
        self.ratio = np.r_[self.ratio, ratio]
        self.demand = np.r_[self.demand, demand]
        np.add.at(self.accessibility, wp, ratio)
        np.add.at(self.count, wp, 1)
        return wp

    def remove(self, facility_id: str) -> np.ndarray:
        """Remove an outlet; return the workplaces that were within its catchment."""
        slot = self.rows.remove(facility_id)
        wp = self.rows.rows[slot].workplace.astype(np.int64)
        np.subtract.at(self.accessibility, wp, self.ratio[slot])
        np.subtract.at(self.count, wp, 1)
        self.ratio[slot] = 0.0
        self.demand[slot] = 0.0
        self.accessibility[wp] = np.where(self.count[wp] > 0,
                                          np.maximum(self.accessibility[wp], 0.0), 0.0)
        return wp

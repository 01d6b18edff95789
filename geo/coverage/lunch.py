"""Lunch supply by the two-step floating catchment area method (2SFCA).

Luo, W. and Wang, F. (2003), "Measures of spatial accessibility to health care in a GIS
environment: synthesis and a case study in the Chicago region", *Environment and Planning
B: Planning and Design* 30(6), 865-884.

Step 1: each food outlet ``j`` gets a supply-to-demand ratio
``R_j = S_j / sum(P_k for workplaces k within the catchment of j)``, where ``S_j`` is the
outlet's weight (:data:`OUTLET_WEIGHTS`, restaurant = 1) and ``P_k`` the workers of
workplace ``k``; the catchment is everything within ``walk_minutes`` on foot.
Step 2: each workplace's accessibility is ``A_i = sum(R_j for outlets j within reach)``,
reported as outlet-equivalents per 1,000 workers (``1000 * A_i``). An outlet shared by two
equal workplaces therefore gives each half of its supply.

A workplace is flagged for *lunch difficulty* when it has at least ``min_workers`` workers
and either no outlet is within reach or its supply is below ``min_supply_per_1000``
outlet-equivalents per 1,000 workers. Score: ``workers x shortfall``, with shortfall
``1 - supply / threshold`` (1 when nothing is reachable, 0 at or above the threshold).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from geo.coverage.errors import InvalidThresholdError
from geo.coverage.medical import rank_by

#: Outlet weights (restaurant-equivalents). A canteen (食堂) is built to feed a workforce
#: at lunch; a food court gathers several counters; fast food turns tables over quickly; a
#: cafe serves light meals to few.
OUTLET_WEIGHTS: dict[str, float] = {
    "canteen": 3.0,
    "food_court": 2.0,
    "fast_food": 1.5,
    "restaurant": 1.0,
    "cafe": 0.5,
}
#: Weight of an outlet whose kind is unknown.
DEFAULT_OUTLET_WEIGHT = 1.0
DEFAULT_WALK_MINUTES = 10.0
#: Default flag threshold: outlet-equivalents within reach per 1,000 workers.
DEFAULT_MIN_SUPPLY_PER_1000 = 1.0
DEFAULT_MIN_WORKERS = 1000
#: The 2023 plan's target: solve lunch difficulty in 10 parks/buildings, 20,000 workers.
PLAN_TARGET_PLACES = 10
PLAN_TARGET_WORKERS = 20_000


def outlet_weight(services: Iterable[str], weights: Mapping[str, float] = OUTLET_WEIGHTS) -> float:
    """Weight of one outlet: the largest weight among its kinds (default 1.0)."""
    found = [weights[s] for s in services if s in weights]
    return max(found) if found else DEFAULT_OUTLET_WEIGHT


@dataclass(frozen=True)
class TwoStep:
    """2SFCA result.

    Attributes
    ----------
    ratio
        ``(F,)`` supply-to-demand ratio per outlet (0 where no worker is in its catchment).
    demand
        ``(F,)`` workers within each outlet's catchment.
    accessibility
        ``(W,)`` sum of the ratios of the outlets within reach (outlets per worker).
    outlets_reachable
        ``(W,)`` number of outlets within reach.
    """

    ratio: np.ndarray
    demand: np.ndarray
    accessibility: np.ndarray
    outlets_reachable: np.ndarray

    @property
    def supply_per_1000_workers(self) -> np.ndarray:
        """Outlet-equivalents per 1,000 workers."""
        return 1000.0 * self.accessibility


def two_step(
    pair_outlet: np.ndarray,
    pair_workplace: np.ndarray,
    outlet_weights: np.ndarray,
    workers: np.ndarray,
) -> TwoStep:
    """2SFCA over catchment pairs (every pair given is within the catchment).

    Parameters
    ----------
    pair_outlet, pair_workplace
        ``(P,)`` indices of the (outlet, workplace) pairs within the walking catchment.
    outlet_weights
        ``(F,)`` supply per outlet.
    workers
        ``(W,)`` workers per workplace.
    """
    n_f, n_w = outlet_weights.shape[0], workers.shape[0]
    demand = np.bincount(pair_outlet, weights=workers[pair_workplace].astype(float),
                         minlength=n_f)  # fmt: skip
    ratio = ratio_from(outlet_weights, demand)
    access = np.bincount(pair_workplace, weights=ratio[pair_outlet], minlength=n_w)
    count = np.bincount(pair_workplace, minlength=n_w)
    return TwoStep(ratio, demand, access, count)


def ratio_from(weights: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """``weights / demand``, 0 where the demand is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(demand > 0, weights / np.where(demand > 0, demand, 1.0), 0.0)


@dataclass(frozen=True)
class LunchGaps:
    """The lunch flag, score and rank per workplace."""

    supply_per_1000: np.ndarray
    outlets_reachable: np.ndarray
    flagged: np.ndarray
    shortfall: np.ndarray
    score: np.ndarray
    rank: np.ndarray


def flag_lunch(
    supply_per_1000: np.ndarray,
    outlets_reachable: np.ndarray,
    workers: np.ndarray,
    *,
    min_supply_per_1000: float = DEFAULT_MIN_SUPPLY_PER_1000,
    min_workers: float = DEFAULT_MIN_WORKERS,
) -> LunchGaps:
    """Flag, score and rank workplaces by lunch supply (see the module docstring)."""
    for name, value in (("min_supply_per_1000", min_supply_per_1000),
                        ("min_workers", min_workers)):  # fmt: skip
        if not (np.isfinite(value) and value >= 0):
            message = f"{name} must be a finite number >= 0, got {value}"
            raise InvalidThresholdError(message)
    supply = np.asarray(supply_per_1000, dtype=float)
    count = np.asarray(outlets_reachable)
    workers = np.asarray(workers, dtype=float)
    none = count == 0
    if min_supply_per_1000 > 0:
        short = np.clip(1.0 - supply / min_supply_per_1000, 0.0, 1.0)
    else:
        short = np.zeros_like(supply)
    short = np.where(none, 1.0, short)
    flagged = (workers >= min_workers) & (none | (supply < min_supply_per_1000))
    score = workers * short
    rank = rank_by(score, workers)
    return LunchGaps(supply, count, flagged, short, score, rank)


@dataclass(frozen=True)
class WorstPlaces:
    """The worst flagged workplaces against the plan's target."""

    index: np.ndarray
    workers_total: int
    target_places: int
    target_workers: int

    @property
    def meets_target(self) -> bool:
        """Whether solving these places would reach both parts of the target."""
        return self.index.size >= self.target_places and self.workers_total >= self.target_workers


def worst_places(
    gaps: LunchGaps, workers: np.ndarray, n: int = PLAN_TARGET_PLACES,
    target_workers: int = PLAN_TARGET_WORKERS,
) -> WorstPlaces:
    """The ``n`` best-ranked flagged workplaces and their worker total."""
    flagged = np.flatnonzero(gaps.flagged)
    chosen = flagged[np.argsort(gaps.rank[flagged], kind="stable")][:n]
    total = int(np.asarray(workers)[chosen].sum())
    return WorstPlaces(chosen, total, n, target_workers)


def weights_for(services: Sequence[Sequence[str]]) -> np.ndarray:
    """Outlet weights for a list of service lists."""
    return np.array([outlet_weight(s) for s in services], dtype=float)

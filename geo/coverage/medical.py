"""Medical access: minutes to the nearest medical resource, the underserved flag and ranking.

A workplace is *medically underserved* when the walk to its nearest medical resource takes
longer than ``max_minutes`` (default 15) **and** it has at least ``min_workers`` workers
(default 1,000, from the plan's ">1000 workers without an internal clinic"). Its severity
score is ``workers x excess minutes`` (``minutes - max_minutes``, at least 0; a workplace
with no reachable resource counts :data:`UNREACHABLE_MINUTES`): worker-minutes of walking
beyond the threshold, so a large park slightly beyond the threshold and a small one far
beyond it compare on one scale. Every workplace is ranked by score (then minutes, then
workers, descending); flagged ones therefore come first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.coverage.errors import InvalidThresholdError
from geo.network.estimate import great_circle_m

#: Default thresholds.
DEFAULT_MAX_MINUTES = 15.0
DEFAULT_MIN_WORKERS = 1000
#: Minutes counted for a workplace from which no medical resource can be reached.
UNREACHABLE_MINUTES = 120.0
#: Method code of a "nearest beyond the search horizon" answer (a straight estimate).
FALLBACK = 3


@dataclass(frozen=True)
class NearestAnswer:
    """Nearest facility per workplace.

    Attributes
    ----------
    facility
        ``(W,)`` facility index (-1: none at all).
    time_s
        ``(W,)`` walking seconds (``inf`` where none).
    method
        ``(W,)`` int8 method code of :mod:`geo.coverage.reach`, or :data:`FALLBACK` for a
        great-circle estimate beyond the search horizon.
    """

    facility: np.ndarray
    time_s: np.ndarray
    method: np.ndarray


def nearest_from_pairs(
    n_workplaces: int,
    pair_facility: np.ndarray,
    pair_workplace: np.ndarray,
    pair_time_s: np.ndarray,
    pair_method: np.ndarray,
    facility_key: np.ndarray,
) -> NearestAnswer:
    """Per workplace, the pair with the smallest time (ties: smallest ``facility_key``).

    Workplaces without any pair get facility -1 and time ``inf``.
    """
    fac = np.full(n_workplaces, -1, dtype=np.int64)
    time_s = np.full(n_workplaces, np.inf)
    method = np.full(n_workplaces, -1, dtype=np.int8)
    if pair_facility.size:
        order = np.lexsort((facility_key[pair_facility], pair_time_s, pair_workplace))
        w = pair_workplace[order]
        first = order[np.r_[True, w[1:] != w[:-1]]]
        wp = pair_workplace[first]
        fac[wp] = pair_facility[first]
        time_s[wp] = pair_time_s[first]
        method[wp] = pair_method[first]
    return NearestAnswer(fac, time_s, method)


def estimate_fallback(
    wp_lon: np.ndarray,
    wp_lat: np.ndarray,
    fac_lon: np.ndarray,
    fac_lat: np.ndarray,
    facility_key: np.ndarray,
    crow_speed_mps: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest facility by great-circle estimate (ties: smallest key); (index, seconds).

    Used for workplaces with no facility within the search horizon. With no facility at
    all the index is -1 and the time ``inf``.
    """
    n_w = wp_lon.shape[0]
    if fac_lon.size == 0 or n_w == 0:
        return np.full(n_w, -1, dtype=np.int64), np.full(n_w, np.inf)
    rank = np.argsort(np.argsort(facility_key, kind="stable"), kind="stable")
    gc = great_circle_m(wp_lon[:, None], wp_lat[:, None], fac_lon[None, :], fac_lat[None, :])
    t = gc / crow_speed_mps
    best = np.lexsort((np.broadcast_to(rank, t.shape), t), axis=1)[:, 0]
    rows = np.arange(n_w)
    return best.astype(np.int64), t[rows, best]


@dataclass(frozen=True)
class MedicalGaps:
    """The medical flag, score and rank per workplace.

    Attributes
    ----------
    minutes
        ``(W,)`` walking minutes to the nearest resource (``inf``: none reachable).
    flagged
        ``(W,)`` bool.
    excess_minutes
        ``(W,)`` minutes beyond the threshold (0 if within).
    score
        ``(W,)`` workers x excess minutes.
    rank
        ``(W,)`` 1 = most underserved.
    """

    minutes: np.ndarray
    flagged: np.ndarray
    excess_minutes: np.ndarray
    score: np.ndarray
    rank: np.ndarray


def check_thresholds(max_minutes: float, min_workers: float) -> None:
    """Raise :class:`InvalidThresholdError` for a negative or non-finite threshold."""
    if not (np.isfinite(max_minutes) and max_minutes >= 0):
        message = f"max_minutes must be a finite number >= 0, got {max_minutes}"
        raise InvalidThresholdError(message)
    if not (np.isfinite(min_workers) and min_workers >= 0):
        message = f"min_workers must be a finite number >= 0, got {min_workers}"
        raise InvalidThresholdError(message)


def flag_medical(
    time_s: np.ndarray,
    workers: np.ndarray,
    *,
    max_minutes: float = DEFAULT_MAX_MINUTES,
    min_workers: float = DEFAULT_MIN_WORKERS,
) -> MedicalGaps:
    """Flag, score and rank workplaces by walking time to medical care.

    Parameters
    ----------
    time_s
        ``(W,)`` seconds to the nearest medical resource (``inf`` if none).
    workers
        ``(W,)`` workers per workplace.
    max_minutes
        Walking minutes considered acceptable.
    min_workers
        Smallest workforce that can be flagged.

    Returns
    -------
    MedicalGaps
    """
    check_thresholds(max_minutes, min_workers)
    minutes = np.asarray(time_s, dtype=float) / 60.0
    workers = np.asarray(workers, dtype=float)
    counted = np.where(np.isfinite(minutes), minutes, UNREACHABLE_MINUTES)
    excess = np.maximum(counted - max_minutes, 0.0)
    flagged = (minutes > max_minutes) & (workers >= min_workers)
    score = workers * excess
    return MedicalGaps(minutes, flagged, excess, score, rank_by(score, counted, workers))


def rank_by(*keys: np.ndarray) -> np.ndarray:
    """1-based rank by the keys, each descending, the first most significant; ties by index."""
    n = keys[0].shape[0]
    order = np.lexsort((np.arange(n), *(-np.asarray(k, float) for k in reversed(keys))))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    return rank

"""Lagrangian stage of the uncapacitated p-median: incumbent, bound, fixing, branch-and-bound.

Runs before (and usually instead of) the radius MIP when there are no group or budget rules:

1. greedy + interchange incumbent (:mod:`._heuristics`);
2. subgradient ascent on the Lagrangian dual with Beasley reduced-cost fixing on the full
   problem (:mod:`._lagrangian`) — closes most candidates, forces some open;
3. on what is left, a Lagrangian branch-and-bound (:mod:`._lagbb`) when the remaining gap
   is large relative to the objective (small ``p``: the LP bound is a fraction of a percent
   below the optimum and an LP-based solver spends its time in cut rounds), else the radius
   MIP in HiGHS, which closes tiny gaps with cuts at its root.

Every step keeps a proof: fixings exclude only solutions costing at least ``upper − margin``
(``margin`` = 1 for integral data), so "nothing better in the reduced problem" proves the
incumbent optimal for the full problem.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time

import numpy as np
import scipy.sparse as sp

from ._heuristics import base_cost, greedy, interchange
from ._lagbb import BranchOutcome, lagrangian_branch_and_bound
from ._lagrangian import subgradient
from ._rings import Rings
from .models import LocationProblem

logger = logging.getLogger(__name__)

INF = float("inf")

#: Root gaps (relative) at or above this go to the Lagrangian branch-and-bound first.
BRANCH_MIN_REL_GAP = 1e-3
#: Largest dense block (rows × free candidates) the branch-and-bound works on.
BRANCH_MAX_ENTRIES = 4_000_000
#: Share of the remaining time the branch-and-bound may use before HiGHS takes over ...
BRANCH_TIME_SHARE = 0.5
#: ... and at most this many seconds.
BRANCH_MAX_SECONDS = 60.0


def tolerance(value: float) -> float:
    """Absolute tolerance for comparing objective values of size ``value``."""
    return 1e-9 * max(1.0, abs(value)) + 1e-6


def round_bound(bound: float, integral: bool) -> float:
    """Round a lower bound up to the next integer when the objective is integral."""
    if integral and math.isfinite(bound):
        return float(math.ceil(bound - 1e-6))
    return bound


def is_integral(problem: LocationProblem) -> bool:
    """Whether every cost and weight is an integer (then objectives are integers)."""
    values = problem.cost.data if problem.is_sparse else np.asarray(problem.cost)
    weight = problem.demand_weight
    assert weight is not None
    return bool(np.all(np.mod(values, 1) == 0) and np.all(np.mod(weight, 1) == 0))


def true_cost(rings: Rings, open_local: np.ndarray, unreachable_cost: float | None) -> float:
    """Weighted cost of an open mask over the ring sites (``inf`` if a row is unserved)."""
    first = rings.first_open(open_local)
    cost = np.where(first >= 0, rings.entry_cost[np.maximum(first, 0)], np.inf)
    if unreachable_cost is not None:
        cost = np.where(np.isinf(cost), unreachable_cost, cost)
    return float(np.dot(rings.weight, cost))


@dataclasses.dataclass
class Reduction:
    """Outcome of the Lagrangian stage.

    Attributes
    ----------
    incumbent
        Global columns of the best open set found (existing sites included).
    upper
        Its cost.
    bound
        Proven lower bound (rounded up for integral data).
    proven
        Whether ``upper`` is proven optimal.
    reduced
        The problem left for the MIP: closed candidates removed, forced ones existing.
    n_new_sites
        New sites still to choose in ``reduced``.
    """

    incumbent: np.ndarray
    upper: float
    bound: float
    proven: bool
    reduced: LocationProblem
    n_new_sites: int


def lagrangian_stage(
    problem: LocationProblem,
    rings: Rings,
    n_new_sites: int,
    unreachable_cost: float | None,
    deadline: float,
    stats: dict[str, float | int],
) -> Reduction:
    """Incumbent, Lagrangian bound, fixing and (when worth it) branch-and-bound.

    Parameters
    ----------
    problem
        The instance (no group or budget rules, no capacities).
    rings
        ``build_rings(problem)``.
    n_new_sites
        ``p``.
    unreachable_cost
        Charge for rows without a stored pair to an open site, ``None`` if forbidden.
    deadline
        ``time.perf_counter()`` value of the overall time limit.
    stats
        Counters are added here.

    Returns
    -------
    Reduction
    """
    base = base_cost(rings, unreachable_cost)
    start = greedy(rings, n_new_sites, base)
    start = interchange(rings, start, base)
    value = true_cost(rings, start, unreachable_cost)
    stats["heuristic_value"] = value
    if not np.isfinite(value):
        return Reduction(rings.sites[start], INF, -INF, False, problem, n_new_sites)
    integral = is_integral(problem)
    margin = 1.0 - 1e-6 if integral else tolerance(value)
    lag = subgradient(
        rings,
        n_new_sites,
        start,
        value,
        base,
        margin,
        deadline_check=lambda: time.perf_counter() > deadline,
        stop_coarse=lambda bound, upper: _worth_branching(bound, upper, integral),
    )
    value = true_cost(rings, lag.best_open, unreachable_cost)
    incumbent = rings.sites[lag.best_open]
    bound = round_bound(lag.bound, integral)
    stats.update(
        lagrangian_bound=lag.bound,
        lagrangian_iterations=lag.iterations,
        closed_sites=int(lag.closed.sum()),
        forced_sites=int(lag.forced.sum()),
    )
    if value <= bound + tolerance(value):
        return Reduction(incumbent, value, value, True, problem, n_new_sites)
    eligible = rings.sites[: rings.n_eligible]
    forced = eligible[lag.forced]
    keep = eligible[~lag.closed & ~lag.forced]
    reduced = dataclasses.replace(
        problem, fixed_sites=np.concatenate([problem.fixed_sites, forced]), eligible_sites=keep
    )
    out = Reduction(incumbent, value, bound, False, reduced, n_new_sites - len(forced))
    if (
        not _worth_branching(bound, value, integral)
        or rings.n_rows * len(keep) > BRANCH_MAX_ENTRIES
        or not 0 < out.n_new_sites < len(keep)
    ):
        return out
    t0 = time.perf_counter()
    branch_deadline = t0 + min(BRANCH_TIME_SHARE * max(deadline - t0, 0.0), BRANCH_MAX_SECONDS)
    cost_w, cap_w = dense_block(reduced, rings.rows, unreachable_cost, base)
    local_incumbent = None
    if np.all(np.isin(forced, incumbent)):
        local_incumbent = np.isin(keep, incumbent)
    outcome = lagrangian_branch_and_bound(
        cost_w,
        cap_w,
        out.n_new_sites,
        local_incumbent,
        value,
        margin,
        lam0=lag.multipliers,
        deadline=branch_deadline,
    )
    stats.update(
        branch_nodes=outcome.nodes,
        branch_iterations=outcome.iterations,
        branch_seconds=round(time.perf_counter() - t0, 3),
    )
    return _apply_branching(out, outcome, integral)


def _worth_branching(bound: float, upper: float, integral: bool) -> bool:
    """Whether the gap left by the root is large enough for the Lagrangian B&B."""
    gap = upper - round_bound(bound, integral)
    return bool(gap >= BRANCH_MIN_REL_GAP * max(abs(upper), 1e-9))


def _apply_branching(out: Reduction, outcome: BranchOutcome, integral: bool) -> Reduction:
    """Fold the branch-and-bound outcome into the reduction."""
    reduced = out.reduced
    keep = reduced.eligible_sites
    if outcome.best_open is not None and outcome.best_value < out.upper:
        out.incumbent = np.concatenate([reduced.fixed_sites, keep[outcome.best_open]])
        out.upper = outcome.best_value
    if outcome.proven:
        out.bound, out.proven = out.upper, True
        return out
    # Not finished in its share of time: the MIP takes over on what the root fixed.
    out.bound = max(out.bound, round_bound(min(outcome.bound, out.upper), integral))
    opened = keep[outcome.root_opened]
    out.reduced = dataclasses.replace(
        reduced,
        fixed_sites=np.concatenate([reduced.fixed_sites, opened]),
        eligible_sites=keep[~outcome.root_opened & ~outcome.root_closed],
    )
    out.n_new_sites -= len(opened)
    return out


def dense_block(
    problem: LocationProblem, rows: np.ndarray, unreachable_cost: float | None, base: float
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted costs to the eligible columns and of each row's always-available option.

    Returns
    -------
    cost_w, cap_w
        ``(len(rows), n_eligible)`` weighted costs (``inf`` for pairs not stored) and
        ``(len(rows),)`` weighted cost of the nearest existing site, the unreachable charge
        or ``base``, whichever is smallest.
    """
    weight = problem.demand_weight
    assert weight is not None
    w = weight[rows]
    cols = _cost_block(problem, rows, problem.eligible_sites)
    cap = np.full(len(rows), base if unreachable_cost is None else float(unreachable_cost))
    if len(problem.fixed_sites):
        cap = np.minimum(cap, _cost_block(problem, rows, problem.fixed_sites).min(axis=1))
    return cols * w[:, None], cap * w


def _cost_block(problem: LocationProblem, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if not problem.is_sparse:
        return np.asarray(problem.cost)[np.ix_(rows, cols)]
    sub = sp.csr_array(problem.cost[rows][:, cols])
    out = np.full(sub.shape, np.inf)
    row_of = np.repeat(np.arange(sub.shape[0]), np.diff(sub.indptr))
    out[row_of, sub.indices] = sub.data
    return out

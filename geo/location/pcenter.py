"""p-center: open new sites minimising the largest cost from a demand point to its site.

Solved exactly by binary search over the distinct costs: radius ``r`` is achievable iff a
set-covering MIP with the cutoff ``r`` and exactly ``p`` new sites (plus the group and budget
rules) is feasible. About ``log2(#distinct costs)`` small MIPs.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from . import _highs
from ._coverage import cover_sets, coverage_matrix
from ._highs import RowBuilder
from ._rules import Groups, add_site_rules
from .errors import InfeasibleProblemError, SolverError
from .models import LocationProblem, LocationResult, SolveOptions, settle
from .pmedian import nearest_open_site
from .validate import check_problem, check_site_count

logger = logging.getLogger(__name__)

__all__ = ["solve_pcenter"]


def _radii(problem: LocationProblem) -> tuple[np.ndarray, float]:
    """Distinct usable costs, and the smallest radius any choice could achieve."""
    weight = problem.demand_weight
    assert weight is not None
    rows = np.flatnonzero(weight > 0)
    usable = np.union1d(problem.fixed_sites, problem.eligible_sites)
    sub = problem.cost[rows][:, usable]
    if sp.issparse(sub):
        sub = sp.csr_array(sub)
        values = np.unique(sub.data)
        best = np.full(len(rows), np.inf)
        row_of = np.repeat(np.arange(len(rows)), np.diff(sub.indptr))
        np.minimum.at(best, row_of, sub.data)
    else:
        values = np.unique(sub)
        best = sub.min(axis=1)
    return values, float(best.max()) if best.size else 0.0


def _feasible_at(
    problem: LocationProblem,
    groups: Groups,
    n_new_sites: int,
    radius: float,
    options: SolveOptions,
    time_limit_s: float,
) -> tuple[str, np.ndarray | None]:
    cover = coverage_matrix(problem, radius)
    sets = cover_sets(problem, cover)
    if sets.uncoverable.size:
        return "infeasible", None
    k = len(problem.eligible_sites)
    builder = RowBuilder(k)
    m = sets.matrix.tocoo()
    builder.add(m.row, m.col, 1.0, 1.0, np.inf, len(sets.weight))
    add_site_rules(builder, problem, groups, np.arange(k), n_new_sites=n_new_sites)
    out = _highs.solve(
        np.zeros(k),
        np.zeros(k),
        np.ones(k),
        builder,
        np.ones(k, dtype=bool),
        options,
        time_limit_s=time_limit_s,
    )
    if out.x is not None:
        return "feasible", problem.eligible_sites[out.x > 0.5]
    return ("infeasible" if out.status == "infeasible" else "unknown"), None


def solve_pcenter(
    problem: LocationProblem, n_new_sites: int, *, options: SolveOptions | None = None
) -> LocationResult:
    """Open exactly ``n_new_sites`` new sites minimising the worst demand point's cost.

    Demand weights only select which demand points count (weight > 0); the objective is
    unweighted. Existing sites serve too.

    Returns
    -------
    LocationResult
        ``objective`` is the largest cost to the nearest open site; ``bound`` a proven
        lower bound on it.

    Raises
    ------
    InfeasibleProblemError
        When no choice of sites serves every demand point through the stored pairs, or the
        rules conflict.
    SolverError
        When no feasible radius was found within the time limit.
    """
    options = options or SolveOptions()
    t0 = time.perf_counter()
    deadline = t0 + options.time_limit_s
    groups = check_problem(problem)
    check_site_count(problem, groups, n_new_sites)
    radii, lowest = _radii(problem)
    radii = radii[radii >= lowest]
    lo, hi = 0, len(radii) - 1
    best_sites: np.ndarray | None = None
    rounds = 0
    # Invariant: every radius below radii[lo] is infeasible; radii[best_index] feasible.
    while lo <= hi:
        mid = (lo + hi) // 2 if best_sites is not None else hi
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        verdict, sites = _feasible_at(problem, groups, n_new_sites, radii[mid], options, remaining)
        rounds += 1
        if verdict == "feasible":
            best_sites = sites
            hi = mid - 1
        elif verdict == "infeasible":
            if best_sites is None:
                msg = (
                    f"no choice of {n_new_sites} new sites serves every demand point "
                    "through the stored pairs under the group limits and budget"
                )
                raise InfeasibleProblemError(msg, {"n_new_sites": n_new_sites})
            lo = mid + 1
        else:
            break
    if best_sites is None:
        msg = f"no feasible radius found within {options.time_limit_s:g} s"
        raise SolverError(msg)
    open_cols = np.union1d(best_sites, problem.fixed_sites)
    assignment, cost = nearest_open_site(problem, open_cols)
    weight = problem.demand_weight
    assert weight is not None
    value = float(cost[weight > 0].max()) if np.any(weight > 0) else 0.0
    proven = lo > hi
    bound = float(radii[lo]) if lo < len(radii) else value
    bound, gap, status = settle(value, bound, proven)
    return LocationResult(
        model="pcenter",
        status=status,
        objective=value,
        bound=bound,
        gap=gap,
        new_sites=tuple(int(s) for s in np.sort(best_sites)),
        fixed_sites=tuple(int(s) for s in problem.fixed_sites),
        assignment=assignment,
        seconds=time.perf_counter() - t0,
        message=f"{status}: largest cost {value:g}"
        + ("" if proven else f", lower bound {bound:g}"),
        stats={"feasibility_rounds": rounds, "radii": len(radii)},
    )

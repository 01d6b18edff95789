"""MCLP (maximal covering location): open new sites covering the most demand within a cutoff.

Demand already covered by an existing site counts as covered; demand points with identical
sets of covering candidates are merged into one row (exact: only the set matters), which on
city data shrinks the model by an order of magnitude. With capacities each site covers at most
``capacity`` demand (demand may be split between sites).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time

import numpy as np
import scipy.sparse as sp

from . import _highs
from ._coverage import cover_sets, coverage_matrix
from ._highs import INF, RowBuilder
from ._rules import Groups, add_site_rules
from .errors import InfeasibleProblemError, InvalidProblemError, SolverError
from .models import LocationProblem, LocationResult, SolveOptions, settle
from .validate import check_problem, check_site_count

logger = logging.getLogger(__name__)

__all__ = ["covered_weight", "solve_mclp"]


def covered_weight(problem: LocationProblem, open_sites: np.ndarray, max_cost: float) -> float:
    """Demand weight within ``max_cost`` of at least one of ``open_sites`` (uncapacitated)."""
    cover = coverage_matrix(problem, max_cost)
    open_sites = np.union1d(np.asarray(open_sites, dtype=np.int64), problem.fixed_sites)
    hit = np.asarray(cover[:, open_sites].sum(axis=1)).ravel() > 0
    weight = problem.demand_weight
    assert weight is not None
    return float(weight[hit].sum())


def solve_mclp(
    problem: LocationProblem,
    n_new_sites: int,
    max_cost: float,
    *,
    options: SolveOptions | None = None,
) -> LocationResult:
    """Open exactly ``n_new_sites`` new sites maximising the demand covered within ``max_cost``.

    Parameters
    ----------
    problem
        Costs, demand weights (workers) and planning rules.
    n_new_sites
        Number of new sites.
    max_cost
        Coverage cutoff in the cost unit (e.g. 900 s for a 15-minute walk).
    options
        Time limit, gap, seed.

    Returns
    -------
    LocationResult
        ``objective`` is the total covered weight (existing plus new sites), ``bound`` a
        proven upper bound; ``stats["covered_by_existing"]`` and ``stats["newly_covered"]``
        split it.

    Raises
    ------
    InvalidProblemError, InfeasibleProblemError
        Up front, with the numbers.
    SolverError
        When the solver returns no solution at all.
    """
    options = options or SolveOptions()
    t0 = time.perf_counter()
    groups = check_problem(problem)
    if not math.isfinite(max_cost) or max_cost < 0:
        msg = f"max_cost must be a non-negative number, got {max_cost}"
        raise InvalidProblemError(msg)
    check_site_count(problem, groups, n_new_sites)
    cover = coverage_matrix(problem, max_cost)
    if problem.capacity is not None:
        return _solve_capacitated(problem, groups, n_new_sites, cover, options, t0)
    sets = cover_sets(problem, cover)
    weight = problem.demand_weight
    assert weight is not None
    existing = float(weight[sets.covered_by_fixed].sum())
    k = len(problem.eligible_sites)
    n_groups = len(sets.weight)
    n_cols = k + n_groups
    cost = np.concatenate([np.zeros(k), sets.weight])
    builder = RowBuilder(n_cols)
    m = sets.matrix.tocoo()
    builder.add(
        np.concatenate([np.arange(n_groups), m.row]),
        np.concatenate([k + np.arange(n_groups), m.col]),
        np.concatenate([np.ones(n_groups), -np.ones(m.nnz)]),
        -INF,
        0.0,
        n_groups,
    )
    add_site_rules(builder, problem, groups, np.arange(k), n_new_sites=n_new_sites)
    integer = np.zeros(n_cols, dtype=bool)
    integer[:k] = True
    out = _highs.solve(
        cost,
        np.zeros(n_cols),
        np.ones(n_cols),
        builder,
        integer,
        options,
        maximize=True,
        offset=existing,
    )
    _raise_if_unsolved(out, n_new_sites, options)
    assert out.x is not None
    y = out.x[:k] > 0.5
    new_sites = problem.eligible_sites[y]
    hit_groups = np.asarray(sets.matrix[:, np.flatnonzero(y)].sum(axis=1)).ravel() > 0
    covered = sets.covered_by_fixed.copy()
    in_group = sets.group_of_row >= 0
    covered[in_group] = hit_groups[sets.group_of_row[in_group]]
    value = float(weight[covered].sum())
    stats = {
        "n_vars": n_cols,
        "n_rows": builder.n_rows,
        "merged_rows": n_groups,
        "nodes": out.nodes,
        "covered_by_existing": existing,
        "newly_covered": value - existing,
        "uncoverable_weight": float(weight[sets.uncoverable].sum()),
    }
    return _result(problem, out, value, new_sites, covered, None, stats, options, t0)


def _raise_if_unsolved(out: _highs.Outcome, n_new_sites: int, options: SolveOptions) -> None:
    if out.status == "infeasible":
        msg = (
            f"no choice of {n_new_sites} new sites satisfies the group limits and budget "
            "together (proven by the MIP solver)"
        )
        raise InfeasibleProblemError(msg, {"n_new_sites": n_new_sites})
    if out.x is None:
        msg = f"no feasible set of sites found within {options.time_limit_s:g} s ({out.detail})"
        raise SolverError(msg)


def _result(
    problem: LocationProblem,
    out: _highs.Outcome,
    value: float,
    new_sites: np.ndarray,
    covered: np.ndarray,
    assignment: np.ndarray | None,
    stats: dict[str, float | int],
    options: SolveOptions,
    t0: float,
) -> LocationResult:
    bound = max(out.bound, value) if math.isfinite(out.bound) else INF
    proven = out.status == "optimal" or bound <= value + 1e-9 * max(1.0, abs(value)) + 1e-6
    bound, gap, status = settle(value, bound, proven, maximize=True)
    return LocationResult(
        model="mclp",
        status=status,
        objective=value,
        bound=bound,
        gap=gap,
        new_sites=tuple(int(s) for s in np.sort(new_sites)),
        fixed_sites=tuple(int(s) for s in problem.fixed_sites),
        assignment=assignment,
        covered=covered,
        seconds=time.perf_counter() - t0,
        message=(
            f"{status}: covered weight {value:g} (new sites add {stats['newly_covered']:g})"
            + ("" if proven else f", upper bound {bound:g}, gap {gap:.2%}")
        ),
        stats=stats,
    )


def _solve_capacitated(
    problem: LocationProblem,
    groups: Groups,
    n_new_sites: int,
    cover: sp.csr_array,
    options: SolveOptions,
    t0: float,
) -> LocationResult:
    """Capacitated MCLP: assignment shares ``x_gj`` bounded by site capacities."""
    usable = np.union1d(problem.fixed_sites, problem.eligible_sites)
    merged = cover_sets(
        dataclasses.replace(problem, fixed_sites=None, eligible_sites=usable), cover
    )
    weight = problem.demand_weight
    capacity = problem.capacity
    assert weight is not None
    assert capacity is not None
    is_fixed = np.isin(usable, problem.fixed_sites)
    k = len(problem.eligible_sites)
    y_col = np.full(len(usable), -1, dtype=np.int64)
    y_col[~is_fixed] = np.arange(k)  # eligible sites, in the same (sorted) order
    inc = merged.matrix.tocoo()
    n_groups = len(merged.weight)
    n_x = inc.nnz
    n_cols = k + n_x
    x_cols = k + np.arange(n_x)
    cost = np.concatenate([np.zeros(k), merged.weight[inc.row]])
    builder = RowBuilder(n_cols)
    builder.add(inc.row, x_cols, 1.0, -INF, 1.0, n_groups)
    cap = capacity[usable]
    limited = np.isfinite(cap)
    site_row = np.full(len(usable), -1, dtype=np.int64)
    site_row[limited] = np.arange(int(limited.sum()))
    sel = limited[inc.col]
    elig_limited = limited & ~is_fixed
    builder.add(
        np.concatenate([site_row[inc.col[sel]], site_row[elig_limited]]),
        np.concatenate([x_cols[sel], y_col[elig_limited]]),
        np.concatenate([merged.weight[inc.row[sel]], -cap[elig_limited]]),
        -INF,
        np.where(is_fixed[limited], cap[limited], 0.0),
        int(limited.sum()),
    )
    on_elig = ~is_fixed[inc.col]
    n_vub = int(on_elig.sum())
    builder.add(
        np.concatenate([np.arange(n_vub), np.arange(n_vub)]),
        np.concatenate([x_cols[on_elig], y_col[inc.col[on_elig]]]),
        np.concatenate([np.ones(n_vub), -np.ones(n_vub)]),
        -INF,
        0.0,
        n_vub,
    )
    add_site_rules(builder, problem, groups, np.arange(k), n_new_sites=n_new_sites)
    integer = np.zeros(n_cols, dtype=bool)
    integer[:k] = True
    out = _highs.solve(
        cost, np.zeros(n_cols), np.ones(n_cols), builder, integer, options, maximize=True
    )
    _raise_if_unsolved(out, n_new_sites, options)
    assert out.x is not None
    y = out.x[:k] > 0.5
    x = out.x[k:]
    share = np.bincount(inc.row, weights=x, minlength=n_groups)
    best = np.full(n_groups, -1, dtype=np.int64)
    order = np.lexsort((-x, inc.row))
    first = np.ones(order.size, dtype=bool)
    first[1:] = inc.row[order][1:] != inc.row[order][:-1]
    served = x[order][first] > 1e-9
    best[inc.row[order][first][served]] = usable[inc.col[order][first][served]]
    covered = np.zeros(problem.n_demand, dtype=bool)
    assignment = np.full(problem.n_demand, -1, dtype=np.int64)
    in_group = merged.group_of_row >= 0
    covered[in_group] = share[merged.group_of_row[in_group]] >= 1 - 1e-6
    assignment[in_group] = best[merged.group_of_row[in_group]]
    value = float(out.objective)
    stats = {
        "n_vars": n_cols,
        "n_rows": builder.n_rows,
        "merged_rows": n_groups,
        "nodes": out.nodes,
        "covered_by_existing": 0.0,
        "newly_covered": value,
        "uncoverable_weight": float(weight[merged.uncoverable].sum()),
    }
    return _result(
        problem, out, value, problem.eligible_sites[y], covered, assignment, stats, options, t0
    )

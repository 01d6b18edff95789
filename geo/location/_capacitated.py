"""Capacitated p-median: assignment formulation over the usable pairs.

``x_ij`` is the share of demand point ``i`` served by site ``j`` (demand may be split):
``Σ_j x_ij = 1``, ``Σ_i w_i x_ij ≤ cap_j y_j``, ``x_ij ≤ y_j``. The model has one
variable per stored pair, so for large instances pass a sparse (cutoff or k-nearest) matrix;
optimality is then relative to the stored pairs.
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp

from . import _highs
from ._highs import INF, RowBuilder
from ._rules import Groups, add_site_rules
from .errors import InfeasibleProblemError, SolverError
from .models import LocationProblem, LocationResult, SolveOptions, settle


def solve_capacitated_pmedian(
    problem: LocationProblem,
    groups: Groups,
    n_new_sites: int,
    unreachable_cost: float | None,
    options: SolveOptions,
    t0: float,
) -> LocationResult:
    """Solve the capacitated p-median (called by :func:`solve_pmedian`)."""
    weight = problem.demand_weight
    capacity = problem.capacity
    assert weight is not None
    assert capacity is not None
    rows = np.flatnonzero(weight > 0)
    usable = np.union1d(problem.fixed_sites, problem.eligible_sites)
    is_fixed = np.isin(usable, problem.fixed_sites)
    sub = problem.cost[rows][:, usable]
    pairs = sp.coo_array(sp.csr_array(sub)) if sp.issparse(sub) else None
    if pairs is None:
        dense = np.asarray(sub)
        r_idx, c_idx = np.nonzero(np.ones_like(dense, dtype=bool))
        c_val = dense[r_idx, c_idx]
    else:
        r_idx, c_idx, c_val = pairs.row, pairs.col, pairs.data
    k = len(problem.eligible_sites)
    y_col = np.full(len(usable), -1, dtype=np.int64)
    y_col[~is_fixed] = np.arange(k)
    n_x = r_idx.size
    n_rows = len(rows)
    has_pen = unreachable_cost is not None
    n_u = n_rows if has_pen else 0
    n_cols = k + n_x + n_u
    x_cols = k + np.arange(n_x)
    w = weight[rows]
    cost = np.concatenate(
        [np.zeros(k), w[r_idx] * c_val, w * unreachable_cost if has_pen else np.zeros(0)]
    )
    builder = RowBuilder(n_cols)
    u_cols = k + n_x + np.arange(n_u)
    builder.add(
        np.concatenate([r_idx, np.arange(n_u)]),
        np.concatenate([x_cols, u_cols]),
        1.0,
        1.0,
        1.0,
        n_rows,
    )
    cap = capacity[usable]
    limited = np.isfinite(cap)
    site_row = np.full(len(usable), -1, dtype=np.int64)
    site_row[limited] = np.arange(int(limited.sum()))
    sel = limited[c_idx]
    elig_limited = limited & ~is_fixed
    builder.add(
        np.concatenate([site_row[c_idx[sel]], site_row[elig_limited]]),
        np.concatenate([x_cols[sel], y_col[elig_limited]]),
        np.concatenate([w[r_idx[sel]], -cap[elig_limited]]),
        -INF,
        np.where(is_fixed[limited], cap[limited], 0.0),
        int(limited.sum()),
    )
    on_elig = ~is_fixed[c_idx]
    n_vub = int(on_elig.sum())
    builder.add(
        np.concatenate([np.arange(n_vub), np.arange(n_vub)]),
        np.concatenate([x_cols[on_elig], y_col[c_idx[on_elig]]]),
        np.concatenate([np.ones(n_vub), -np.ones(n_vub)]),
        -INF,
        0.0,
        n_vub,
    )
    add_site_rules(builder, problem, groups, np.arange(k), n_new_sites=n_new_sites)
    integer = np.zeros(n_cols, dtype=bool)
    integer[:k] = True
    out = _highs.solve(cost, np.zeros(n_cols), np.ones(n_cols), builder, integer, options)
    if out.status == "infeasible":
        msg = (
            f"no choice of {n_new_sites} new sites can serve demand {w.sum():g} within the "
            "capacities, group limits and budget (proven by the MIP solver)"
        )
        raise InfeasibleProblemError(msg, {"n_new_sites": n_new_sites, "demand": float(w.sum())})
    if out.x is None:
        msg = f"no feasible set of sites found within {options.time_limit_s:g} s ({out.detail})"
        raise SolverError(msg)
    y = out.x[:k] > 0.5
    x = out.x[k : k + n_x]
    order = np.lexsort((-x, r_idx))
    first = np.ones(order.size, dtype=bool)
    first[1:] = r_idx[order][1:] != r_idx[order][:-1]
    assignment = np.full(problem.n_demand, -1, dtype=np.int64)
    pick = order[first]
    served = x[pick] > 1e-9
    assignment[rows[r_idx[pick][served]]] = usable[c_idx[pick][served]]
    value = float(out.objective)
    bound = out.bound if math.isfinite(out.bound) else -INF
    proven = out.status == "optimal"
    bound, gap, status = settle(value, bound, proven)
    return LocationResult(
        model="pmedian",
        status=status,
        objective=value,
        bound=bound,
        gap=gap,
        new_sites=tuple(int(s) for s in np.sort(problem.eligible_sites[y])),
        fixed_sites=tuple(int(s) for s in problem.fixed_sites),
        assignment=assignment,
        seconds=time.perf_counter() - t0,
        message=f"{status}: weighted cost {value:g} (capacitated, demand may be split)"
        + ("" if proven else f", lower bound {bound:g}, gap {gap:.2%}"),
        stats={"n_vars": n_cols, "n_rows": builder.n_rows, "nodes": out.nodes},
    )

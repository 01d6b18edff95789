"""LSCP (location set covering): the fewest (or cheapest) new sites covering all demand.

Every positive-weight demand point must be within ``max_cost`` of an open site; demand
already covered by an existing site needs nothing. Demand points with identical sets of
covering candidates are merged into one row.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Literal

import numpy as np

from . import _highs
from ._coverage import cover_sets, coverage_matrix
from ._highs import INF, RowBuilder
from ._rules import add_site_rules
from .errors import InfeasibleProblemError, InvalidProblemError, SolverError
from .models import LocationProblem, LocationResult, SolveOptions, settle
from .validate import check_coverable, check_problem, check_site_count

logger = logging.getLogger(__name__)

__all__ = ["solve_lscp"]


def solve_lscp(
    problem: LocationProblem,
    max_cost: float,
    *,
    minimize: Literal["count", "cost"] = "count",
    options: SolveOptions | None = None,
) -> LocationResult:
    """Fewest new sites (or cheapest, by ``site_cost``) covering every demand point.

    Parameters
    ----------
    problem
        Costs, demand and planning rules (group limits and budget are honoured).
    max_cost
        Coverage cutoff in the cost unit.
    minimize
        ``"count"`` (number of new sites) or ``"cost"`` (total ``site_cost``).
    options
        Time limit, gap, seed.

    Returns
    -------
    LocationResult
        ``objective`` is the number (or cost) of new sites, ``bound`` a proven lower bound.

    Raises
    ------
    InfeasibleProblemError
        When some positive-weight demand point has no existing or candidate site within
        ``max_cost`` (count, weight and example rows in the message), or the rules conflict.
    """
    options = options or SolveOptions()
    t0 = time.perf_counter()
    groups = check_problem(problem)
    if not math.isfinite(max_cost) or max_cost < 0:
        msg = f"max_cost must be a non-negative number, got {max_cost}"
        raise InvalidProblemError(msg)
    if minimize not in ("count", "cost"):
        msg = f"minimize must be 'count' or 'cost', got {minimize!r}"
        raise InvalidProblemError(msg)
    if minimize == "cost" and problem.site_cost is None:
        msg = "minimize='cost' needs site_cost"
        raise InvalidProblemError(msg)
    check_site_count(problem, groups, None)
    cover = coverage_matrix(problem, max_cost)
    check_coverable(problem, cover, f"within cost {max_cost:g}")
    sets = cover_sets(problem, cover)
    k = len(problem.eligible_sites)
    if minimize == "cost":
        assert problem.site_cost is not None
        cost = problem.site_cost[problem.eligible_sites].astype(float)
    else:
        cost = np.ones(k)
    builder = RowBuilder(k)
    m = sets.matrix.tocoo()
    builder.add(m.row, m.col, 1.0, 1.0, INF, len(sets.weight))
    add_site_rules(builder, problem, groups, np.arange(k), n_new_sites=None)
    out = _highs.solve(cost, np.zeros(k), np.ones(k), builder, np.ones(k, dtype=bool), options)
    if out.status == "infeasible":
        msg = (
            "covering all demand is impossible under the group maximums and budget "
            f"(cutoff {max_cost:g}; proven by the MIP solver)"
        )
        raise InfeasibleProblemError(msg, {"max_cost": max_cost})
    if out.x is None:
        msg = f"no covering set of sites found within {options.time_limit_s:g} s ({out.detail})"
        raise SolverError(msg)
    y = out.x > 0.5
    value = float(cost[y].sum())
    bound = out.bound if math.isfinite(out.bound) else -INF
    if minimize == "count" or np.all(np.mod(cost, 1) == 0):
        bound = math.ceil(bound - 1e-6) if math.isfinite(bound) else bound
    proven = out.status == "optimal" or value <= bound + 1e-6
    bound, gap, status = settle(value, bound, proven)
    new_sites = problem.eligible_sites[y]
    open_sites = np.union1d(new_sites, problem.fixed_sites)
    covered = np.asarray(cover[:, open_sites].sum(axis=1)).ravel() > 0
    what = "new sites" if minimize == "count" else "site cost"
    return LocationResult(
        model="lscp",
        status=status,
        objective=value,
        bound=bound,
        gap=gap,
        new_sites=tuple(int(s) for s in np.sort(new_sites)),
        fixed_sites=tuple(int(s) for s in problem.fixed_sites),
        covered=covered,
        seconds=time.perf_counter() - t0,
        message=f"{status}: {value:g} {what}"
        + ("" if proven else f", lower bound {bound:g}, gap {gap:.2%}"),
        stats={
            "n_vars": k,
            "n_rows": builder.n_rows,
            "merged_rows": len(sets.weight),
            "nodes": out.nodes,
        },
    )

"""p-median: choose new sites minimising the demand-weighted travel cost to the nearest site.

Uncapacitated instances use an exact *radius* formulation in the style of Elloumi (2010) and
García, Labbé & Marín (2011): per demand point the distinct costs ``D_i^1 < … < D_i^{K_i}``
and a variable ``z_i^k`` = "no open site within ``D_i^k``". Only the first ``L_i`` levels
(the ring) of every demand point are modelled; the truncated model is a relaxation, so its
bound is valid, and when no demand point of the optimum sits at its ring's edge the optimum
is proven for the full problem. Rings that are hit are enlarged and the model is re-solved,
first as LP (cheap) then as MIP. Capacitated instances use the classic assignment
formulation over the stored pairs. See ``docs/location.md`` for the mathematics.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import scipy.sparse as sp

from . import _highs
from ._highs import INF, RowBuilder
from ._reduction import is_integral, lagrangian_stage, round_bound, tolerance, true_cost
from ._rings import Rings, build_rings
from ._rules import Groups, add_site_rules
from .errors import InfeasibleProblemError, InvalidProblemError, SolverError
from .models import LocationProblem, LocationResult, SolveOptions, settle
from .validate import check_capacity, check_coverable, check_problem, check_site_count

logger = logging.getLogger(__name__)

__all__ = ["nearest_open_site", "pmedian_objective", "solve_pmedian"]

_LP_TOL = 1e-7


def _stored_pattern(problem: LocationProblem) -> sp.csr_array | np.ndarray:
    if problem.is_sparse:
        cost = problem.cost
        return sp.csr_array((np.ones(cost.nnz, dtype=bool), cost.indices, cost.indptr), cost.shape)
    return np.ones(problem.cost.shape, dtype=bool)


def nearest_open_site(
    problem: LocationProblem, open_sites: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest open site and its cost for every demand row.

    Parameters
    ----------
    problem
        The instance.
    open_sites
        Global column indices of the open sites.

    Returns
    -------
    site, cost
        ``(n_demand,)`` column of the nearest open site (``-1`` if none is stored) and its
        cost (``inf`` if none).
    """
    open_sites = np.asarray(open_sites, dtype=np.int64)
    n = problem.n_demand
    if open_sites.size == 0:
        return np.full(n, -1), np.full(n, np.inf)
    if problem.is_sparse:
        sub = sp.csr_array(problem.cost[:, open_sites])
        best_cost = np.full(n, np.inf)
        best_site = np.full(n, -1, dtype=np.int64)
        row_of = np.repeat(np.arange(n), np.diff(sub.indptr))
        order = np.lexsort((sub.indices, sub.data, row_of))
        first = np.ones(order.size, dtype=bool)
        first[1:] = row_of[order][1:] != row_of[order][:-1]
        pick = order[first]
        best_cost[row_of[pick]] = sub.data[pick]
        best_site[row_of[pick]] = open_sites[sub.indices[pick]]
        return best_site, best_cost
    sub_dense = np.asarray(problem.cost)[:, open_sites]
    arg = np.argmin(sub_dense, axis=1)
    return open_sites[arg], sub_dense[np.arange(n), arg]


def pmedian_objective(
    problem: LocationProblem, open_sites: np.ndarray, unreachable_cost: float | None = None
) -> float:
    """Demand-weighted cost of serving every demand point from its nearest open site.

    Existing (fixed) sites are always open, in addition to ``open_sites``.

    Returns ``inf`` if a positive-weight demand point has no stored pair to an open site
    and no ``unreachable_cost`` is given.
    """
    open_all = np.union1d(np.asarray(open_sites, dtype=np.int64), problem.fixed_sites)
    _, cost = nearest_open_site(problem, open_all)
    if unreachable_cost is not None:
        cost = np.where(np.isinf(cost), unreachable_cost, cost)
    weight = problem.demand_weight
    assert weight is not None
    mask = weight > 0
    return float(np.dot(weight[mask], cost[mask]))


class _RadiusModel:
    """Builds the truncated radius formulation for given ring sizes."""

    def __init__(self, rings: Rings, unreachable_cost: float | None) -> None:
        self.rings = rings
        n_levels = rings.n_levels
        self.n_levels = n_levels
        # A complete row never passes its last level: it needs no z for it.
        self.n_z_max = np.where(rings.complete, np.maximum(n_levels - 1, 0), n_levels)
        self.row_of_level = np.repeat(np.arange(rings.n_rows), n_levels)
        self.rank = rings.level_rank()
        n_all = len(rings.level_cost)
        is_last = np.zeros(n_all, dtype=bool)
        is_last[rings.level_ptr[1:][n_levels > 0] - 1] = True
        step = np.zeros(n_all)
        inner = np.flatnonzero(~is_last)
        step[inner] = rings.level_cost[inner + 1] - rings.level_cost[inner]
        # The last level of an incomplete row: beyond it the demand is unreachable.
        self.tail_forbidden = is_last & (unreachable_cost is None)
        if unreachable_cost is not None:
            step[is_last] = unreachable_cost - rings.level_cost[is_last]
        self.step = step
        has = n_levels > 0
        first_cost = np.full(rings.n_rows, 0.0 if unreachable_cost is None else unreachable_cost)
        first_cost[has] = rings.level_cost[rings.level_ptr[:-1][has]]
        self.offset = float(np.dot(rings.weight, first_cost))

    def initial_rings(self, n_new_sites: int) -> np.ndarray:
        """Ring sizes covering about ``2·n_eligible/p`` nearest sites of every row."""
        r = self.rings
        per_row = math.ceil(2 * max(r.n_eligible, 1) / max(n_new_sites, 1)) + 1
        counts = np.diff(r.entry_ptr)
        last_entry = r.entry_ptr[:-1] + np.minimum(per_row, counts) - 1
        ring = np.zeros(r.n_rows, dtype=np.int64)
        has = counts > 0
        ring[has] = r.entry_level[last_entry[has]] - r.level_ptr[:-1][has] + 1
        return np.minimum(ring, self.n_z_max)

    def build(
        self,
        ring: np.ndarray,
        problem: LocationProblem,
        groups: Groups,
        n_new_sites: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, RowBuilder, np.ndarray, np.ndarray]:
        """Assemble costs, bounds, rows and integrality for ring sizes ``ring``."""
        r = self.rings
        n_y = r.n_eligible
        sel = self.rank < ring[self.row_of_level]
        z_levels = np.flatnonzero(sel)
        n_z = z_levels.size
        z_col = np.full(len(r.level_cost), -1, dtype=np.int64)
        z_col[z_levels] = n_y + np.arange(n_z)
        n_cols = n_y + n_z
        cost = np.zeros(n_cols)
        cost[n_y:] = r.weight[self.row_of_level[z_levels]] * self.step[z_levels]
        lower = np.zeros(n_cols)
        upper = np.ones(n_cols)
        upper[n_y:][self.tail_forbidden[z_levels]] = 0.0
        builder = RowBuilder(n_cols)
        z_rank = self.rank[z_levels]
        local_row = np.arange(n_z)
        chained = z_rank > 0
        e_sel = sel[r.entry_level] & (r.entry_site < n_y)
        e_row = z_col[r.entry_level[e_sel]] - n_y
        # Chained rows: z^k - z^(k-1) + sum of y at exactly level k >= [k == first level].
        rows = np.concatenate([local_row, local_row[chained], e_row])
        cols = np.concatenate([n_y + local_row, n_y + local_row[chained] - 1, r.entry_site[e_sel]])
        vals = np.concatenate([np.ones(n_z), -np.ones(int(chained.sum())), np.ones(e_row.size)])
        builder.add(rows, cols, vals, np.where(z_rank == 0, 1.0, 0.0), INF, n_z)
        add_site_rules(builder, problem, groups, np.arange(n_y), n_new_sites=n_new_sites)
        integer = np.zeros(n_cols, dtype=bool)
        integer[:n_y] = True
        return cost, lower, upper, builder, integer, z_levels

    def edge_values(self, x: np.ndarray, ring: np.ndarray, z_levels: np.ndarray) -> np.ndarray:
        """Value of each row's outermost modelled ``z`` (0 for rows without z or complete)."""
        n_y = self.rings.n_eligible
        out = np.zeros(self.rings.n_rows)
        z_vals = x[n_y:]
        is_edge = self.rank[z_levels] == ring[self.row_of_level[z_levels]] - 1
        rows = self.row_of_level[z_levels[is_edge]]
        out[rows] = z_vals[is_edge]
        out[ring >= self.n_z_max] = 0.0
        return out

    def start_vector(self, open_local: np.ndarray, z_levels: np.ndarray) -> np.ndarray:
        """Full column vector (y and z) of a given set of open sites."""
        r = self.rings
        first = r.first_open(open_local)
        open_rank = np.where(
            first >= 0, r.entry_level[np.maximum(first, 0)] - r.level_ptr[:-1], self.n_levels
        )
        z = (self.rank[z_levels] < open_rank[self.row_of_level[z_levels]]).astype(float)
        return np.concatenate([open_local[: r.n_eligible].astype(float), z])


def solve_pmedian(
    problem: LocationProblem,
    n_new_sites: int,
    *,
    unreachable_cost: float | None = None,
    options: SolveOptions | None = None,
) -> LocationResult:
    """Choose ``n_new_sites`` new sites minimising total weighted cost to the nearest site.

    Existing (fixed) sites stay open and serve demand too. Every positive-weight demand
    point is served by its nearest open site (uncapacitated) or shares of sites with spare
    capacity (when ``problem.capacity`` is given; demand may then be split between sites).

    Parameters
    ----------
    problem
        Costs, demand weights and planning rules.
    n_new_sites
        Exact number of new sites to open (``p``).
    unreachable_cost
        Cost charged for a demand point with no stored pair to any open site (sparse
        matrices). ``None`` means every demand point must be served through a stored pair.
    options
        Time limit, gap, seed.

    Returns
    -------
    LocationResult
        ``objective`` is the total weighted cost, ``bound`` a proven lower bound.

    Raises
    ------
    InvalidProblemError, InfeasibleProblemError
        Up front, with the numbers, before any solving.
    SolverError
        If the solver stops without any feasible solution (time limit too short).
    """
    options = options or SolveOptions()
    t0 = time.perf_counter()
    groups = check_problem(problem)
    check_site_count(problem, groups, n_new_sites)
    if unreachable_cost is not None:
        max_cost = float(problem.cost.max()) if problem.cost.size else 0.0
        if not unreachable_cost >= max_cost:
            msg = f"unreachable_cost {unreachable_cost:g} < largest stored cost {max_cost:g}"
            raise InvalidProblemError(msg)
    elif problem.is_sparse:
        check_coverable(problem, _stored_pattern(problem), "among the stored pairs")
    if problem.capacity is not None:
        check_capacity(problem, n_new_sites)
        from ._capacitated import solve_capacitated_pmedian

        return solve_capacitated_pmedian(
            problem, groups, n_new_sites, unreachable_cost, options, t0
        )
    deadline = t0 + options.time_limit_s
    stats: dict[str, float | int] = {}
    sides = groups.active or problem.budget is not None
    incumbent: np.ndarray | None = None
    upper = INF
    lag_bound = -INF
    reduced, n_left = problem, n_new_sites
    if not sides and 0 < n_new_sites < len(problem.eligible_sites):
        rings = build_rings(problem)
        stage = lagrangian_stage(problem, rings, n_new_sites, unreachable_cost, deadline, stats)
        incumbent, upper, lag_bound = stage.incumbent, stage.upper, stage.bound
        if stage.proven or upper <= lag_bound + tolerance(upper):
            return _result(problem, incumbent, upper, upper, True, stats, t0)
        reduced, n_left = stage.reduced, stage.n_new_sites
    # Every solution outside the reduced problem costs at least the incumbent's value.
    upper_outside = upper if reduced is not problem else INF
    open_cols, value, reduced_bound, _ = _solve_radius(
        reduced,
        groups,
        n_left,
        unreachable_cost,
        options,
        deadline,
        incumbent,
        stats,
    )
    if open_cols is not None and value < upper:
        incumbent, upper = open_cols, value
    if incumbent is None:
        msg = f"no feasible set of sites found within {options.time_limit_s:g} s"
        raise SolverError(msg)
    bound = min(max(lag_bound, min(reduced_bound, upper_outside)), upper)
    proven = upper <= bound + tolerance(upper) + options.rel_gap * abs(upper)
    return _result(problem, incumbent, upper, bound, proven, stats, t0)


def _solve_radius(
    problem: LocationProblem,
    groups: Groups,
    n_new_sites: int,
    unreachable_cost: float | None,
    options: SolveOptions,
    deadline: float,
    incumbent: np.ndarray | None,
    stats: dict[str, float | int],
) -> tuple[np.ndarray | None, float, float, bool]:
    """Radius-formulation MIP with ring growing; returns open columns, cost, bound, proof."""
    rings = build_rings(problem)
    integral = is_integral(problem)
    if n_new_sites == 0:
        open_local = np.zeros(len(rings.sites), dtype=bool)
        open_local[rings.n_eligible :] = True
        value = true_cost(rings, open_local, unreachable_cost)
        return rings.sites[open_local], value, value, True
    model = _RadiusModel(rings, unreachable_cost)
    ring = model.initial_rings(n_new_sites)
    stats.setdefault("lp_rounds", 0)
    stats.setdefault("mip_rounds", 0)
    stats.setdefault("nodes", 0)
    # Phase 1: grow rings until the LP relaxation does not touch any ring edge.
    for _ in range(30):
        cost, lower, upper, builder, _, z_levels = model.build(ring, problem, groups, n_new_sites)
        out = _highs.solve(
            cost,
            lower,
            upper,
            builder,
            None,
            options,
            offset=model.offset,
            time_limit_s=deadline - time.perf_counter(),
        )
        stats["lp_rounds"] += 1
        if out.x is None:
            break
        edge = model.edge_values(out.x, ring, z_levels)
        grow = edge > _LP_TOL
        logger.debug("LP round: bound %.6g, %d rings grow", out.objective, int(grow.sum()))
        if not grow.any():
            stats["lp_bound"] = out.objective
            break
        ring[grow] = np.minimum(model.n_z_max[grow], 2 * ring[grow] + 1)
    # Phase 2: MIP on the rings; enlarge the rings the optimum leans on, until proven.
    best_open: np.ndarray | None = None
    if incumbent is not None:
        local = np.full(problem.n_sites, -1, dtype=np.int64)
        local[rings.sites] = np.arange(len(rings.sites))
        if np.all(local[incumbent] >= 0) and np.all(np.isin(problem.fixed_sites, incumbent)):
            best_open = np.zeros(len(rings.sites), dtype=bool)
            best_open[local[incumbent]] = True
    best_value = INF if best_open is None else true_cost(rings, best_open, unreachable_cost)
    extra: dict[str, bool | int | float | str] = {}
    if best_open is not None:
        # Rings must reach the incumbent's sites, so that the warm start is exact; the
        # incumbent comes from interchange + Lagrangian search, so HiGHS may skip its own
        # primal heuristics and spend its time on the bound.
        first = rings.first_open(best_open)
        has = first >= 0
        rank = np.zeros(rings.n_rows, dtype=np.int64)
        rank[has] = rings.entry_level[first[has]] - rings.level_ptr[:-1][has]
        ring = np.minimum(np.maximum(ring, rank), model.n_z_max)
        extra["mip_heuristic_effort"] = 0.0
    lower_bound = -INF
    proven = False
    while True:
        cost, lower, upper, builder, integer, z_levels = model.build(
            ring, problem, groups, n_new_sites
        )
        start = None if best_open is None else model.start_vector(best_open, z_levels)
        out = _highs.solve(
            cost,
            lower,
            upper,
            builder,
            integer,
            options,
            offset=model.offset,
            time_limit_s=deadline - time.perf_counter(),
            start=start,
            extra_options=extra,
        )
        stats["mip_rounds"] += 1
        stats["nodes"] += out.nodes
        stats.update(n_vars=len(cost), n_rows=builder.n_rows)
        if out.status == "infeasible":
            msg = (
                f"no choice of {n_new_sites} new sites satisfies the group limits and budget "
                "together (proven by the MIP solver)"
            )
            raise InfeasibleProblemError(msg, {"n_new_sites": n_new_sites})
        if math.isfinite(out.bound):
            lower_bound = max(lower_bound, round_bound(out.bound, integral))
        if out.x is not None:
            open_local = np.zeros(len(rings.sites), dtype=bool)
            open_local[: rings.n_eligible] = out.x[: rings.n_eligible] > 0.5
            open_local[rings.n_eligible :] = True
            value = true_cost(rings, open_local, unreachable_cost)
            if value < best_value:
                best_value, best_open = value, open_local
        if best_value <= lower_bound + tolerance(best_value) + options.rel_gap * abs(best_value):
            proven = True
            break
        if out.status != "optimal" or out.x is None or time.perf_counter() >= deadline:
            break
        edge = model.edge_values(out.x, ring, z_levels)
        grow = edge > 0.5
        if not grow.any():
            # The truncated optimum is exact for its own sites: it is the optimum.
            proven = True
            lower_bound = max(lower_bound, best_value)
            break
        logger.debug("MIP round: %d rings grow", int(grow.sum()))
        ring[grow] = np.minimum(model.n_z_max[grow], 2 * ring[grow] + 1)
    if best_open is None:
        return None, INF, lower_bound, False
    return rings.sites[best_open], best_value, lower_bound, proven


def _result(
    problem: LocationProblem,
    open_cols: np.ndarray,
    value: float,
    bound: float,
    proven: bool,
    stats: dict[str, float | int],
    t0: float,
) -> LocationResult:
    new_sites = np.setdiff1d(open_cols, problem.fixed_sites)
    assignment, _ = nearest_open_site(problem, np.union1d(open_cols, problem.fixed_sites))
    bound, gap, status = settle(value, bound, proven)
    return LocationResult(
        model="pmedian",
        status=status,
        objective=value,
        bound=bound,
        gap=gap,
        new_sites=tuple(int(s) for s in new_sites),
        fixed_sites=tuple(int(s) for s in problem.fixed_sites),
        assignment=assignment,
        seconds=time.perf_counter() - t0,
        message=(
            f"{status}: weighted cost {value:g}"
            + ("" if proven else f", lower bound {bound:g}, gap {gap:.2%}")
        ),
        stats=stats,
    )

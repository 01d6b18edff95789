"""Set-partitioning recombination of routes pooled from the local-search runs.

While searching, the portfolio workers keep every distinct, individually feasible route of
their good candidate solutions (a *route pool*). At the end the parent process picks the
cheapest combination of pooled routes that visits every client exactly once, using at most
the available vehicles — a set-partitioning MIP solved with HiGHS, warm-started with the
best solution found by the search, so it can only improve on it (Subramanian, Uchoa &
Ochi 2013 combine iterated local search with set partitioning in the same way).

It applies to problems with one vehicle type, no optional clients and no groups (the
Solomon and Gehring–Homberger benchmark setting); the check-up model uses the search alone.
"""

from __future__ import annotations

import logging
import time

import numpy as np

logger = logging.getLogger(__name__)

RoutePool = dict[tuple[int, ...], int]


def applies(data: object) -> bool:
    """Whether set-partitioning recombination is valid for this PyVRP ``ProblemData``."""
    if data.num_vehicle_types != 1 or data.num_groups:  # type: ignore[attr-defined]
        return False
    return all(c.required for c in data.clients())  # type: ignore[attr-defined]


class RouteCollector:
    """Collects distinct feasible routes cheaply.

    A route is first recognised by a fingerprint of three numbers PyVRP already knows
    (distance, duration, number of clients); only routes with a new fingerprint are
    unpacked into their client sequence, which keeps the overhead per search iteration
    small.
    """

    def __init__(self, max_size: int) -> None:
        self.pool: RoutePool = {}
        self.max_size = max_size
        self._seen: set[tuple[int, int, int]] = set()

    def add(self, solution: object) -> None:
        """Add the individually feasible, non-empty routes of ``solution``."""
        if len(self.pool) >= self.max_size:
            return
        for route in solution.routes():  # type: ignore[attr-defined]
            fp = (route.distance(), route.duration(), route.num_clients())
            if fp in self._seen:
                continue
            self._seen.add(fp)
            if not route.is_feasible():
                continue
            key = tuple(a.idx for a in route if a.is_client())
            if key and key not in self.pool:
                self.pool[key] = int(fp[0])


def best_partition(
    pool: RoutePool,
    n_clients: int,
    max_routes: int,
    incumbent: list[tuple[int, ...]] | None,
    time_limit_s: float,
) -> tuple[list[tuple[int, ...]], int] | None:
    """Cheapest set of pooled routes covering each client exactly once.

    Parameters
    ----------
    pool
        Route (client indices in visiting order) → integer cost.
    n_clients
        Number of clients to cover.
    max_routes
        Vehicles available.
    incumbent
        Routes of a known solution (all must be in ``pool``) used as the MIP start.
    time_limit_s
        HiGHS time limit.

    Returns
    -------
    tuple or None
        ``(routes, cost)``, or ``None`` when no solution was found in time.
    """
    import highspy

    from geo.highs import new_highs

    start = time.perf_counter()
    if incumbent:
        for r in incumbent:
            if r not in pool:
                msg = "incumbent route missing from the pool"
                raise ValueError(msg)
    routes = list(pool)
    costs = np.fromiter((pool[r] for r in routes), dtype=float, count=len(routes))
    lengths = np.fromiter((len(r) for r in routes), dtype=np.int64, count=len(routes))
    a_start = np.concatenate(([0], np.cumsum(lengths + 1)))
    index = np.empty(int(a_start[-1]), dtype=np.int32)
    pos = 0
    for r in routes:  # each column: its clients, then the fleet row
        index[pos : pos + len(r)] = r
        index[pos + len(r)] = n_clients
        pos += len(r) + 1
    lp = highspy.HighsLp()
    lp.num_col_ = len(routes)
    lp.num_row_ = n_clients + 1
    lp.col_cost_ = costs
    lp.col_lower_ = np.zeros(len(routes))
    lp.col_upper_ = np.ones(len(routes))
    lp.row_lower_ = np.concatenate((np.ones(n_clients), [0.0]))
    lp.row_upper_ = np.concatenate((np.ones(n_clients), [float(max_routes)]))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a_start.astype(np.int32)
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = np.ones(len(index))
    lp.integrality_ = [highspy.HighsVarType.kInteger] * len(routes)
    h = new_highs()
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", max(0.05, float(time_limit_s)))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.passModel(lp)
    if incumbent:
        chosen = set(incumbent)
        sol = highspy.HighsSolution()
        sol.col_value = [1.0 if r in chosen else 0.0 for r in routes]
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    values = np.asarray(h.getSolution().col_value)
    if values.size != len(routes):
        return None
    picked = [routes[i] for i in np.flatnonzero(values > 0.5)]
    covered = sorted(c for r in picked for c in r)
    if covered != list(range(n_clients)) or len(picked) > max_routes:
        return None
    cost = int(sum(pool[r] for r in picked))
    logger.debug(
        "set partitioning: %d routes in pool, cost %d, %.2f s",
        len(routes),
        cost,
        time.perf_counter() - start,
    )
    return picked, cost

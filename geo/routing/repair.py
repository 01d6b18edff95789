"""Repair of an infeasible route set: drop what breaks a rule, then re-insert greedily.

The search may run out of time before it finds a solution within every rule (a very short
time limit on a large request). Such a solution is never returned as it is:
:func:`repair_routes` turns it into a feasible one with exact (float) arithmetic:

1. structural faults are removed: clients served twice, a second member of a group,
   clients on a vehicle type that may not serve them, routes beyond a type's fleet size;
2. from every route that still breaks capacity, a time window, the shift or the route
   duration, clients are removed one at a time — each time the one whose removal reduces
   the violation most (the least valuable one on ties) — until the route is feasible;
3. the removed clients (required ones first, then by prize) are re-inserted at their
   cheapest feasible position, any member of their group allowed, new routes opened where
   the fleet has spare vehicles.

What cannot be re-inserted stays unserved: for optional clients that is a valid plan (the
caller explains each one), for required clients the solution is reported infeasible.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

import numpy as np

from geo.routing.vrptw import RoutePlan, VrptwProblem

logger = logging.getLogger(__name__)

#: Tolerance on times (problem units), as in the independent checker.
TIME_TOL = 1e-6


def route_violation(problem: VrptwProblem, vehicle_type: int, clients: Sequence[int]) -> float:
    """Return a non-negative measure of how far a route is from feasible (0: feasible).

    Sums the relative excess load per dimension, the time warp (start of service after the
    window end, return after the shift end) and the excess route duration, each relative to
    the vehicle's capacity or shift length, plus 1 per forbidden client.
    """
    vt = problem.vehicle_types[vehicle_type]
    if not clients:
        return 0.0
    span = vt.tw_late - vt.tw_early
    scale = span if math.isfinite(span) and span > 0 else 1.0
    viol = 0.0
    load = np.zeros(problem.n_dims, dtype=np.int64)
    t = vt.tw_early
    prev = vt.depot
    first_start = None
    warp = 0.0
    for c in clients:
        if c in vt.forbidden:
            viol += 1.0
        load += problem.demand[c]
        loc = int(problem.client_location[c])
        leg = float(problem.duration[prev, loc])
        begin = max(t + leg, float(problem.tw_early[c]))
        if first_start is None:
            first_start = begin - leg
        if begin > problem.tw_late[c] + TIME_TOL:
            warp += begin - float(problem.tw_late[c])
            begin = float(problem.tw_late[c])
        t = begin + float(problem.service[c])
        prev = loc
    back = t + float(problem.duration[prev, vt.end])
    if back > vt.tw_late + TIME_TOL:
        warp += back - vt.tw_late
    if math.isfinite(vt.max_duration) and first_start is not None:
        excess = back - max(first_start, vt.tw_early) - vt.max_duration
        if excess > TIME_TOL:
            warp += excess
    viol += warp / scale
    cap = np.asarray(vt.capacity, dtype=np.int64)
    over = np.maximum(load - cap, 0)
    viol += float((over / np.maximum(cap, 1)).sum())
    return viol


def _value(problem: VrptwProblem, c: int) -> float:
    if problem.is_required(c):
        return math.inf
    return 0.0 if problem.prize is None else float(problem.prize[c])


def _fits(problem: VrptwProblem, vehicle_type: int, clients: Sequence[int]) -> bool:
    return route_violation(problem, vehicle_type, clients) <= 0.0


def repair_routes(
    problem: VrptwProblem,
    routes: Sequence[RoutePlan],
    deadline: float | None = None,
) -> list[RoutePlan]:
    """Return a feasible route set close to ``routes`` (see the module docstring).

    Parameters
    ----------
    problem
        The problem.
    routes
        Possibly infeasible routes.
    deadline
        ``time.monotonic()`` after which no more re-insertions are tried (dropping always
        completes; it is cheap).

    Returns
    -------
    list[RoutePlan]
        Non-empty routes, each feasible on its own, within the fleet and group rules.
        Required clients that could not be placed are left out (check with
        :func:`geo.routing.vrptw.unassigned_clients`).
    """
    group_of = {c: g for g, members in enumerate(problem.groups) for c in members}
    served: set[int] = set()
    served_groups: set[int] = set()
    used = [0] * len(problem.vehicle_types)
    work: list[tuple[int, list[int]]] = []
    pool: list[int] = []
    for r in routes:
        vt = problem.vehicle_types[r.vehicle_type]
        if used[r.vehicle_type] >= vt.count:
            pool.extend(c for c in r.clients if c not in served)
            continue
        used[r.vehicle_type] += 1
        keep: list[int] = []
        for c in r.clients:
            g = group_of.get(c)
            if c in served or (g is not None and g in served_groups):
                continue
            if c in vt.forbidden:
                pool.append(c)
                continue
            keep.append(c)
            served.add(c)
            if g is not None:
                served_groups.add(g)
        work.append((r.vehicle_type, keep))

    # 2. drop clients from infeasible routes
    for vt_i, clients in work:
        viol = route_violation(problem, vt_i, clients)
        while viol > 0 and clients:
            best_k, best_key = 0, (math.inf, math.inf)
            for k in range(len(clients)):
                trial = clients[:k] + clients[k + 1 :]
                key = (route_violation(problem, vt_i, trial), _value(problem, clients[k]))
                if key < best_key:
                    best_k, best_key = k, key
            c = clients.pop(best_k)
            served.discard(c)
            if c in group_of:
                served_groups.discard(group_of[c])
            pool.append(c)
            viol = best_key[0]

    # 3. re-insert the dropped clients
    pool = sorted(set(pool) - served, key=lambda c: (-_value(problem, c), c))
    n_dropped, n_back = len(pool), 0
    for c in pool:
        if deadline is not None and time.monotonic() > deadline:
            break
        g = group_of.get(c)
        if c in served or (g is not None and g in served_groups):
            continue
        options = problem.groups[g] if g is not None else (c,)
        found = _cheapest_insertion(problem, work, used, options)
        if found is None:
            continue
        member, slot, pos = found
        if slot == len(work):
            vt_i = _new_route_type(problem, used, member)
            work.append((vt_i, [member]))
            used[vt_i] += 1
        else:
            work[slot][1].insert(pos, member)
        served.add(member)
        n_back += 1
        if g is not None:
            served_groups.add(g)
    out = [RoutePlan(vt_i, tuple(cl)) for vt_i, cl in work if cl]
    logger.info("repaired an infeasible solution: %d dropped, %d re-inserted", n_dropped, n_back)
    return out


def _new_route_type(problem: VrptwProblem, used: list[int], client: int) -> int:
    best, best_cost = -1, math.inf
    loc = int(problem.client_location[client])
    for k, vt in enumerate(problem.vehicle_types):
        if used[k] >= vt.count or client in vt.forbidden or not _fits(problem, k, [client]):
            continue
        cost = float(problem.distance[vt.depot, loc] + problem.distance[loc, vt.end])
        if cost < best_cost:
            best, best_cost = k, cost
    return best


def _cheapest_insertion(
    problem: VrptwProblem,
    work: list[tuple[int, list[int]]],
    used: list[int],
    options: Sequence[int],
) -> tuple[int, int, int] | None:
    """Cheapest feasible ``(member, route slot, position)``; slot ``len(work)``: new route."""
    best: tuple[int, int, int] | None = None
    best_cost = math.inf
    dist = problem.distance
    for c in options:
        loc = int(problem.client_location[c])
        dem = problem.demand[c]
        for slot, (vt_i, clients) in enumerate(work):
            vt = problem.vehicle_types[vt_i]
            if c in vt.forbidden or problem.tw_early[c] > vt.tw_late:
                continue
            if problem.tw_late[c] < vt.tw_early:
                continue
            load = dem + (problem.demand[list(clients)].sum(axis=0) if clients else 0)
            if (load > np.asarray(vt.capacity)).any():
                continue
            locs = [vt.depot, *(int(problem.client_location[x]) for x in clients), vt.end]
            for pos in range(len(clients) + 1):
                a, b = locs[pos], locs[pos + 1]
                delta = float(dist[a, loc] + dist[loc, b] - dist[a, b])
                if delta >= best_cost:
                    continue
                if _fits(problem, vt_i, [*clients[:pos], c, *clients[pos:]]):
                    best, best_cost = (c, slot, pos), delta
        k = _new_route_type(problem, used, c)
        if k >= 0:
            vt = problem.vehicle_types[k]
            delta = float(dist[vt.depot, loc] + dist[loc, vt.end])
            if delta < best_cost:
                best, best_cost = (c, len(work), 0), delta
    return best

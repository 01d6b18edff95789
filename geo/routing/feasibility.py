"""Independent feasibility checks of returned routes.

These functions recompute everything from the problem definition and the travel
matrices, sharing no code with the solver's model building, so that a modelling mistake
in the PyVRP mapping shows up as a violation here. Each returns a list of human-readable
violations; an empty list means feasible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from geo.routing.checkup import CheckupPlan, CheckupProblem
from geo.routing.vrptw import RoutePlan, VrptwProblem

#: Default tolerance on times (problem time units).
TIME_TOL = 1e-6


def check_vrptw(
    problem: VrptwProblem, routes: Sequence[RoutePlan], tol: float = TIME_TOL
) -> list[str]:
    """Check routes of a :class:`~geo.routing.vrptw.VrptwProblem`.

    Checks: every client at most once, required clients served, at most one member per
    group, fleet size per vehicle type, capacity per load dimension, forbidden
    client/vehicle pairs, start of service inside ``[tw_early, tw_late]`` (waiting allowed),
    departure after the shift start, return before the shift end, route duration.

    Returns
    -------
    list[str]
        Violations (empty when feasible).
    """
    out: list[str] = []
    seen: dict[int, int] = {}
    used = np.zeros(len(problem.vehicle_types), dtype=int)
    for r_i, route in enumerate(routes):
        vt = problem.vehicle_types[route.vehicle_type]
        used[route.vehicle_type] += 1
        load = np.zeros(problem.demand.shape[1], dtype=np.int64)
        t = vt.tw_early
        prev = vt.depot
        first_start = None
        for c in route.clients:
            if c in seen:
                out.append(f"client {c} served twice (routes {seen[c]} and {r_i})")
            seen[c] = r_i
            if c in vt.forbidden:
                out.append(
                    f"route {r_i}: client {c} not allowed for vehicle type {route.vehicle_type}"
                )
            load += problem.demand[c]
            loc = int(problem.client_location[c])
            arrival = t + problem.duration[prev, loc]
            begin = max(arrival, problem.tw_early[c])
            if first_start is None:
                first_start = begin - problem.duration[prev, loc]
            if begin > problem.tw_late[c] + tol:
                out.append(
                    f"route {r_i}: client {c} starts {begin:.4f} after its window end "
                    f"{problem.tw_late[c]:.4f}"
                )
            t = begin + problem.service[c]
            prev = loc
        back = t + problem.duration[prev, vt.end]
        if back > vt.tw_late + tol:
            out.append(f"route {r_i}: returns {back:.4f} after shift end {vt.tw_late:.4f}")
        if first_start is not None and back - max(first_start, vt.tw_early) > vt.max_duration + tol:
            out.append(f"route {r_i}: duration exceeds {vt.max_duration}")
        over = load - np.asarray(vt.capacity)
        for dim in np.flatnonzero(over > 0):
            out.append(
                f"route {r_i}: load {load[dim]} > capacity {vt.capacity[dim]} (dimension {dim})"
            )
    for k, vt in enumerate(problem.vehicle_types):
        if used[k] > vt.count:
            out.append(f"vehicle type {k}: {used[k]} routes > {vt.count} vehicles")
    for c in range(problem.n_clients):
        if problem.is_required(c) and c not in seen:
            out.append(f"required client {c} not served")
    for g, members in enumerate(problem.groups):
        n = sum(1 for c in members if c in seen)
        if n > 1:
            out.append(f"group {g}: {n} members served, at most 1 allowed")
    return out


def check_checkup_plan(
    problem: CheckupProblem,
    plan: CheckupPlan,
    duration_s: np.ndarray,
    tol_s: float = 1e-6,
) -> list[str]:
    """Check a :class:`~geo.routing.checkup.CheckupPlan` against its request.

    Checks per vehicle-day: the vehicle works that day and is used once; capacity per
    half-day and per day; skills for every package; each visit inside its slot (start and
    end), inside its window when hard (and lateness = start − window end when soft);
    no examination overlaps the lunch break; departure/return inside the shift; times
    consistent with the drive-time matrix. Overall: served workers of a booking never
    exceed its workers, and every booking is either fully served or listed as unassigned
    with a known reason.

    Returns
    -------
    list[str]
        Violations (empty when feasible).
    """
    out: list[str] = []
    vehicles = {v.id: v for v in problem.vehicles}
    bookings = {b.id: (i, b) for i, b in enumerate(problem.bookings)}
    depot_idx = {d.id: k for k, d in enumerate(problem.depots)}
    n_dep = len(problem.depots)
    seen_vd: set[tuple[str, int]] = set()
    served: dict[str, int] = {}
    for route in plan.routes:
        tag = f"{route.vehicle_id}/day{route.day}"
        v = vehicles.get(route.vehicle_id)
        if v is None:
            out.append(f"{tag}: unknown vehicle")
            continue
        if (v.id, route.day) in seen_vd:
            out.append(f"{tag}: vehicle used twice on the same day")
        seen_vd.add((v.id, route.day))
        if route.day not in problem.vehicle_days(v):
            out.append(f"{tag}: vehicle does not work on day {route.day}")
        if route.depart_s < v.shift_start_s - tol_s:
            out.append(f"{tag}: departs {route.depart_s:.0f} s before shift start")
        load = {"AM": 0, "PM": 0}
        prev = depot_idx[v.depot_id]
        t = route.depart_s
        for s in route.stops:
            if s.booking_id not in bookings:
                out.append(f"{tag}: unknown booking {s.booking_id}")
                continue
            bi, b = bookings[s.booking_id]
            served[b.id] = served.get(b.id, 0) + s.workers
            pkg = problem.package(b.package_id)
            if not pkg.skills <= v.skills:
                out.append(f"{tag}: {b.id} needs {sorted(pkg.skills - v.skills)} that {v.id} lacks")
            if (route.day, s.slot) not in problem.allowed_slots(b):
                out.append(f"{tag}: {b.id} served on day {route.day} {s.slot}, not allowed")
            loc = n_dep + bi
            arrival = t + float(duration_s[prev, loc])
            if s.start_s < arrival - tol_s:
                out.append(f"{tag}: {b.id} starts before the vehicle can arrive")
            service = pkg.setup_s + s.workers * pkg.per_worker_s
            if abs(s.end_s - s.start_s - service) > tol_s:
                out.append(f"{tag}: {b.id} service {s.end_s - s.start_s:.0f} s != {service} s")
            lo, hi = problem.slot_bounds(s.slot)
            if s.start_s < lo - tol_s or s.start_s + service > hi + tol_s:
                out.append(f"{tag}: {b.id} visit outside the {s.slot} slot")
            if s.start_s < v.break_end_s - tol_s and s.start_s + service > v.break_start_s + tol_s:
                out.append(f"{tag}: {b.id} overlaps the lunch break")
            if b.window_s is not None:
                if s.start_s < b.window_s[0] - tol_s:
                    out.append(f"{tag}: {b.id} starts before its window")
                late = max(0.0, s.start_s - b.window_s[1])
                if late > tol_s and not b.soft:
                    out.append(f"{tag}: {b.id} starts {late:.0f} s after its hard window")
                if abs(late - s.lateness_s) > 1e-3:
                    out.append(f"{tag}: {b.id} lateness {s.lateness_s} s reported, {late} s real")
            load[s.slot] += s.workers
            t = s.start_s + service
            prev = loc
        back = t + float(duration_s[prev, depot_idx[v.depot_id]])
        if back > v.shift_end_s + tol_s:
            out.append(f"{tag}: returns {back:.0f} s after shift end {v.shift_end_s} s")
        for slot in ("AM", "PM"):
            if load[slot] > v.capacity_half_day:
                out.append(f"{tag}: {slot} load {load[slot]} > {v.capacity_half_day}")
        if load["AM"] + load["PM"] > v.day_capacity:
            out.append(f"{tag}: day load {load['AM'] + load['PM']} > {v.day_capacity}")
    unassigned_workers: dict[str, int] = {}
    for u in plan.unassigned:
        if u.reason not in ("capacity", "time_window", "skill", "unreachable") or not u.message:
            out.append(f"unassigned {u.booking_id}: missing or unknown reason {u.reason!r}")
        unassigned_workers[u.booking_id] = unassigned_workers.get(u.booking_id, 0) + u.workers
    for b in problem.bookings:
        got = served.get(b.id, 0)
        if got > b.workers:
            out.append(f"{b.id}: {got} workers served > {b.workers} booked")
        if got + unassigned_workers.get(b.id, 0) != b.workers:
            out.append(
                f"{b.id}: {got} served + {unassigned_workers.get(b.id, 0)} unassigned != "
                f"{b.workers} booked (silently dropped)"
            )
    return out

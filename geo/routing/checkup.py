"""Mobile health check-up vehicles: the problem model and its solver.

Union staff plan which check-up vehicle (流动体检车) visits which workplace, on which day
and in which half-day slot. This module is pure data + solver: travel times come in as
matrices (from the network engine, or a documented estimate), results go out as plain
dataclasses.

Model
-----
* A horizon of ``n_days`` days, each with an AM slot (default 08:00–11:30) and a PM slot
  (13:00–16:30). A visit in a slot starts and **ends** inside it. Times are seconds since
  midnight of the visit's day; internally day ``d`` is offset by ``d * 86400``.
* Depots (the workers' sanatorium, district start points) where vehicles start and end.
* Vehicles: a depot, a capacity in examinations per half-day and per day, shift hours
  (leave the depot no earlier, be back no later), equipment skills, a lunch break during
  which no examination runs (driving is allowed), and the days they are available.
* Packages (L1–L4, special screening packs): set-up time, time per worker, skills needed.
* Bookings (workplaces): location, workers to examine, package, allowed ``(day, slot)``
  pairs, an optional window on the start of service (hard, or soft: lateness allowed up
  to the slot end at a penalty per minute, reported per stop), and a priority.

Service time = package set-up + workers x time per worker. A booking larger than every
capable vehicle's half-day capacity is split into near-equal parts (``split_large``) or
refused with the numbers. Every booking that is not served gets a reason: ``capacity``,
``time_window``, ``skill`` or ``unreachable``, and a message with the numbers.

Mapping onto the VRPTW core (:mod:`geo.routing.vrptw`, solved with PyVRP): one vehicle
type per vehicle and day (its shift on that day), three load dimensions (AM examinations,
PM examinations, day examinations), one optional client per allowed ``(day, slot)`` of a
booking (and, for soft windows, per lateness band) grouped so that at most one is served,
a prize per booking proportional to its priority, and skills as forbidden client/vehicle
pairs.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from geo.routing.checkup_model import (
    DAY_S,
    REASONS,
    SLOTS,
    Booking,
    CheckupPlan,
    CheckupProblem,
    Depot,
    Package,
    Stop,
    UnassignedBooking,
    Vehicle,
    VehicleDayRoute,
    _hhmm,
    estimate_matrices,
    haversine_m,
)
from geo.routing.errors import ProblemValidationError
from geo.routing.vrptw import RoutePlan, Scaling, VehicleType, VrptwProblem, solve_vrptw

__all__ = [
    "DAY_S",
    "REASONS",
    "SLOTS",
    "Booking",
    "CheckupPlan",
    "CheckupProblem",
    "Depot",
    "Package",
    "Stop",
    "UnassignedBooking",
    "Vehicle",
    "VehicleDayRoute",
    "estimate_matrices",
    "haversine_m",
    "solve_checkup",
]

logger = logging.getLogger(__name__)

#: Lateness bands (minutes) offered to soft windows; the last band runs to the slot end.
LATENESS_BANDS_MIN = (15, 45)


@dataclass(frozen=True)
class _Part:
    booking: int
    part: int
    n_parts: int
    workers: int


def _parts(problem: CheckupProblem) -> tuple[list[_Part], list[UnassignedBooking]]:
    """Split bookings by capacity; refuse (with numbers) the ones that cannot be split."""
    parts: list[_Part] = []
    refused: list[UnassignedBooking] = []
    for i, b in enumerate(problem.bookings):
        need = problem.package(b.package_id).skills
        capable = [v for v in problem.vehicles if need <= v.skills]
        if not capable:
            have = sorted({s for v in problem.vehicles for s in v.skills})
            refused.append(
                UnassignedBooking(
                    b.id,
                    1,
                    1,
                    b.workers,
                    "skill",
                    f"package {b.package_id} needs {sorted(need)}; no vehicle carries all of "
                    f"them (equipment in the fleet: {have})",
                )
            )
            continue
        cap = max(min(v.capacity_half_day, v.day_capacity) for v in capable)
        pkg = problem.package(b.package_id)
        slot_s = max(hi - lo for lo, hi in (problem.am_s, problem.pm_s))
        if pkg.per_worker_s > 0:  # a visit must also fit in one slot
            cap = min(cap, max(1, (slot_s - pkg.setup_s) // pkg.per_worker_s))
        if b.workers <= cap:
            parts.append(_Part(i, 1, 1, b.workers))
            continue
        n_parts = math.ceil(b.workers / cap)
        if not problem.split_large:
            refused.append(
                UnassignedBooking(
                    b.id,
                    1,
                    1,
                    b.workers,
                    "capacity",
                    f"{b.workers} workers > {cap}, the most one visit can examine (half-day "
                    f"capacity and slot length) with package {b.package_id}; allow splitting "
                    f"or book {n_parts} visits",
                )
            )
            continue
        base, extra = divmod(b.workers, n_parts)
        for k in range(n_parts):
            parts.append(_Part(i, k + 1, n_parts, base + (1 if k < extra else 0)))
    return parts, refused


def _windows(
    problem: CheckupProblem, b: Booking, slot: str, service_s: int
) -> list[tuple[int, int, float]]:
    """Start-of-service windows (s since midnight) with lateness penalties for one slot."""
    lo, hi = problem.slot_bounds(slot)
    latest = hi - service_s
    if b.window_s is None:
        return [(lo, latest, 0.0)] if lo <= latest else []
    a, z = max(lo, b.window_s[0]), min(latest, b.window_s[1])
    out = [(a, z, 0.0)] if a <= z else []
    if b.soft and latest > b.window_s[1]:
        prev = max(z, a - 1) if out else None
        for band_min in (*LATENESS_BANDS_MIN, None):
            end = latest if band_min is None else min(latest, b.window_s[1] + 60 * band_min)
            start = max(lo, b.window_s[0])
            if start > end or (prev is not None and end <= prev):
                continue
            late_min = max(0.0, (end - b.window_s[1]) / 60)
            out.append((start, end, late_min * problem.lateness_penalty_per_min))
            prev = end
            if end >= latest:
                break
    return out


def solve_checkup(
    problem: CheckupProblem,
    duration_s: np.ndarray | None = None,
    distance_m: np.ndarray | None = None,
    time_limit_s: float = 10.0,
    seed: int = 0,
    n_workers: int | None = None,
    leg_method: str = "matrix",
    on_progress: Callable[[float, int], None] | None = None,
) -> CheckupPlan:
    """Plan the check-up vehicles' days.

    Parameters
    ----------
    problem
        The request.
    duration_s, distance_m
        Drive time (s) and distance (m) matrices, rows/columns = depots then bookings;
        ``inf``/``nan`` marks an unreachable pair. ``None``: :func:`estimate_matrices`.
    time_limit_s
        Wall-clock budget of the search.
    seed
        Seed of the search (fixed seed, same machine load → same plan).
    n_workers
        Search processes (``None``: up to 2).
    leg_method
        Recorded in the plan: how the travel times were obtained.
    on_progress
        Progress callback ``(elapsed_s, best_cost)``, e.g. for a background job.

    Returns
    -------
    CheckupPlan
        Routes per vehicle and day, and every unserved booking with its reason.

    Raises
    ------
    ProblemValidationError
        When the request or the matrices are inconsistent.
    """
    start = time.perf_counter()
    problem.validate()
    if duration_s is None:
        duration_s, est_dist = estimate_matrices(problem)
        distance_m = est_dist if distance_m is None else distance_m
        leg_method = "estimate"
    n_loc = len(problem.depots) + len(problem.bookings)
    duration_s = np.asarray(duration_s, dtype=float)
    distance_m = duration_s.copy() * 0 if distance_m is None else np.asarray(distance_m, float)
    if duration_s.shape != (n_loc, n_loc) or distance_m.shape != (n_loc, n_loc):
        msg = "travel matrices do not match the request"
        raise ProblemValidationError(
            msg, [f"expected {n_loc}x{n_loc} (depots then bookings), got {duration_s.shape}"]
        )
    reachable_mat = np.isfinite(duration_s) & ~np.isnan(duration_s)
    n_dep = len(problem.depots)
    depot_idx = {d.id: k for k, d in enumerate(problem.depots)}

    parts, unassigned = _parts(problem)
    # -- build the core problem: clients = (part, day, slot, band) alternatives
    vt_list: list[VehicleType] = []
    vt_meta: list[tuple[Vehicle, int]] = []
    for v in problem.vehicles:
        for d in problem.vehicle_days(v):
            vt_list.append(
                VehicleType(
                    count=1,
                    capacity=(v.capacity_half_day, v.capacity_half_day, v.day_capacity),
                    depot=depot_idx[v.depot_id],
                    tw_early=d * DAY_S + v.shift_start_s,
                    tw_late=d * DAY_S + v.shift_end_s,
                    name=f"{v.id}/day{d}",
                )
            )
            vt_meta.append((v, d))

    cl_loc: list[int] = []
    cl_dem: list[tuple[int, int, int]] = []
    cl_early: list[float] = []
    cl_late: list[float] = []
    cl_serv: list[float] = []
    cl_prize: list[float] = []
    cl_meta: list[tuple[int, int, str, float]] = []  # part idx, day, slot, penalty
    groups: list[tuple[int, ...]] = []
    part_reason: dict[int, tuple[str, str]] = {}
    finite = duration_s[reachable_mat]
    # serving any booking (even at the largest lateness penalty) must beat leaving it out
    max_penalty = problem.lateness_penalty_per_min * max(
        (hi - lo) / 60 for lo, hi in (problem.am_s, problem.pm_s)
    )
    prize_unit = 4.0 * (float(finite.max()) if finite.size else 3600.0) + 3600.0 + max_penalty
    for pi, part in enumerate(parts):
        b = problem.bookings[part.booking]
        loc = n_dep + part.booking
        serv = problem.service_s(b, part.workers)
        need = problem.package(b.package_id).skills
        reach = any(
            reachable_mat[depot_idx[v.depot_id], loc] and reachable_mat[loc, depot_idx[v.depot_id]]
            for v in problem.vehicles
            if need <= v.skills
        )
        if not reach:
            part_reason[pi] = (
                "unreachable",
                f"no drive route between {b.id} ({b.lon:.5f}, {b.lat:.5f}) and the depot of any "
                "vehicle able to do its package (outside the service area?)",
            )
            continue
        members = []
        for d, slot in problem.allowed_slots(b):
            for early, late, penalty in _windows(problem, b, slot, serv):
                members.append(len(cl_loc))
                cl_loc.append(loc)
                cl_dem.append(
                    (part.workers, 0, part.workers)
                    if slot == "AM"
                    else (0, part.workers, part.workers)
                )
                cl_early.append(d * DAY_S + early)
                cl_late.append(d * DAY_S + late)
                cl_serv.append(serv)
                cl_prize.append(b.priority * prize_unit - penalty)
                cl_meta.append((pi, d, slot, penalty))
        if not members:
            lo = min(problem.am_s[0], problem.pm_s[0])
            hi = max(problem.am_s[1], problem.pm_s[1])
            part_reason[pi] = (
                "time_window",
                f"service takes {serv / 60:.0f} min ({part.workers} workers, package "
                f"{b.package_id}); it fits in none of the allowed slots "
                f"{_slots_text(problem.allowed_slots(b))} (slots {_hhmm(lo)}–{_hhmm(hi)}"
                + (
                    f", window {_hhmm(b.window_s[0])}–{_hhmm(b.window_s[1])})"
                    if b.window_s
                    else ")"
                ),
            )
            continue
        groups.append(tuple(members))

    routes_out: list[VehicleDayRoute] = []
    total_travel = total_dist = 0.0
    served_parts: set[int] = set()
    if cl_loc and vt_list:
        fin_dur = np.where(reachable_mat, duration_s, 10.0 * DAY_S * max(problem.n_days, 1))
        core = VrptwProblem(
            distance=fin_dur,
            duration=fin_dur,
            client_location=np.asarray(cl_loc),
            demand=np.asarray(cl_dem, dtype=np.int64),
            tw_early=np.asarray(cl_early, float),
            tw_late=np.asarray(cl_late, float),
            service=np.asarray(cl_serv, float),
            vehicle_types=tuple(
                VehicleType(
                    count=vt.count,
                    capacity=vt.capacity,
                    depot=vt.depot,
                    tw_early=vt.tw_early,
                    tw_late=vt.tw_late,
                    name=vt.name,
                    forbidden=frozenset(
                        c
                        for c, (pi, _d, _s, _p) in enumerate(cl_meta)
                        if not problem.package(
                            problem.bookings[parts[pi].booking].package_id
                        ).skills
                        <= vt_meta[k][0].skills
                    ),
                )
                for k, vt in enumerate(vt_list)
            ),
            required=np.zeros(len(cl_loc), dtype=bool),
            prize=np.asarray(cl_prize, float),
            groups=tuple(groups),
            name="checkup",
        )
        remaining = max(0.5, time_limit_s - (time.perf_counter() - start))
        sol = solve_vrptw(
            core,
            remaining,
            seed=seed,
            n_workers=n_workers,
            scaling=Scaling(1, 1),
            on_progress=on_progress,
        )
        for rp in sol.routes:
            route = _build_route(problem, parts, cl_meta, vt_meta, rp, duration_s, distance_m)
            routes_out.append(route)
            total_travel += route.travel_s
            total_dist += route.distance_m
            served_parts.update(cl_meta[c][0] for c in rp.clients)
        routes_out.sort(key=lambda r: (r.day, r.vehicle_id))

    for pi, part in enumerate(parts):
        if pi in served_parts:
            continue
        b = problem.bookings[part.booking]
        reason, message = part_reason.get(pi) or _explain(problem, part, duration_s)
        unassigned.append(
            UnassignedBooking(b.id, part.part, part.n_parts, part.workers, reason, message)
        )
    served = sum(s.workers for r in routes_out for s in r.stops)
    return CheckupPlan(
        routes=routes_out,
        unassigned=unassigned,
        total_travel_s=total_travel,
        total_distance_m=total_dist,
        served_workers=served,
        total_workers=sum(b.workers for b in problem.bookings),
        runtime_s=time.perf_counter() - start,
        leg_method=leg_method,
    )


def _slots_text(slots: tuple[tuple[int, str], ...]) -> str:
    text = ", ".join(f"day {d} {s}" for d, s in slots[:6])
    return text + (f" (+{len(slots) - 6} more)" if len(slots) > 6 else "") if slots else "none"


def _explain(problem: CheckupProblem, part: _Part, duration_s: np.ndarray) -> tuple[str, str]:
    """Why an alternative-rich part was left out: alone it fits (capacity) or not (window)."""
    b = problem.bookings[part.booking]
    serv = problem.service_s(b, part.workers)
    need = problem.package(b.package_id).skills
    loc = len(problem.depots) + part.booking
    depot_idx = {d.id: k for k, d in enumerate(problem.depots)}
    slots = problem.allowed_slots(b)
    for v in problem.vehicles:
        if not need <= v.skills:
            continue
        dep = depot_idx[v.depot_id]
        go, back = duration_s[dep, loc], duration_s[loc, dep]
        for d, slot in slots:
            if d not in problem.vehicle_days(v):
                continue
            for early, late, _pen in _windows(problem, b, slot, serv):
                begin = max(early, v.shift_start_s + go)
                if begin <= late and begin + serv + back <= v.shift_end_s:
                    cap = v.capacity_half_day
                    return (
                        "capacity",
                        f"{part.workers} workers would fit a vehicle alone (e.g. {v.id}, day "
                        f"{d} {slot}, {cap} per half-day), but every capable vehicle's capacity "
                        f"or time in the allowed slots {_slots_text(slots)} is taken by other "
                        "bookings; add a vehicle-day or allow more slots",
                    )
    return (
        "time_window",
        f"no capable vehicle can reach {b.id} in the allowed slots {_slots_text(slots)}"
        f" within its shift and the {serv / 60:.0f} min service"
        + (f" (window {_hhmm(b.window_s[0])}–{_hhmm(b.window_s[1])})" if b.window_s else ""),
    )


def _build_route(
    problem: CheckupProblem,
    parts: list[_Part],
    cl_meta: list[tuple[int, int, str, float]],
    vt_meta: list[tuple[Vehicle, int]],
    rp: RoutePlan,
    duration_s: np.ndarray,
    distance_m: np.ndarray,
) -> VehicleDayRoute:
    """Schedule a route (earliest starts, departure delayed to avoid waiting at stop 1)."""
    vehicle, day = vt_meta[rp.vehicle_type]
    depot_idx = {d.id: k for k, d in enumerate(problem.depots)}
    dep = depot_idx[vehicle.depot_id]
    n_dep = len(problem.depots)
    locs = [n_dep + parts[cl_meta[c][0]].booking for c in rp.clients]
    windows = []
    for c in rp.clients:
        pi, _d, slot, _pen = cl_meta[c]
        part = parts[pi]
        b = problem.bookings[part.booking]
        serv = problem.service_s(b, part.workers)
        lo = problem.slot_bounds(slot)[0]
        early = max(lo, b.window_s[0]) if b.window_s else lo
        windows.append((early, serv, slot, part, b))
    first_travel = float(duration_s[dep, locs[0]])
    t = max(float(vehicle.shift_start_s), windows[0][0] - first_travel)
    depart = t
    prev = dep
    stops = []
    travel = dist = 0.0
    load = {"AM": 0, "PM": 0}
    for loc, (early, serv, slot, part, b) in zip(locs, windows, strict=True):
        leg = float(duration_s[prev, loc])
        travel += leg
        dist += float(distance_m[prev, loc])
        arrival = t + leg
        begin = max(arrival, float(early))
        lateness = max(0.0, begin - b.window_s[1]) if b.window_s else 0.0
        stops.append(
            Stop(
                b.id,
                part.part,
                part.n_parts,
                part.workers,
                b.package_id,
                slot,
                leg,
                arrival,
                begin,
                begin + serv,
                lateness,
                b.lon,
                b.lat,
            )
        )
        load[slot] += part.workers
        t = begin + serv
        prev = loc
    leg = float(duration_s[prev, dep])
    travel += leg
    dist += float(distance_m[prev, dep])
    return VehicleDayRoute(
        vehicle_id=vehicle.id,
        day=day,
        depot_id=vehicle.depot_id,
        depart_s=depart,
        return_s=t + leg,
        stops=tuple(stops),
        load_am=load["AM"],
        load_pm=load["PM"],
        travel_s=travel,
        distance_m=dist,
    )

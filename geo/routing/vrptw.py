"""The VRPTW core: a problem over distance/duration matrices, solved with PyVRP.

The model is deliberately small and solver-neutral (plain numpy arrays and dataclasses):

* ``L`` *locations* with a float ``distance`` matrix (the objective) and a float
  ``duration`` matrix (travel time), both ``(L, L)``;
* ``C`` *clients* (visits), each at a location, with a demand vector over ``D`` load
  dimensions, a window ``[tw_early, tw_late]`` on the **start** of service and a service
  duration. Clients may be optional (``required=False``) with a ``prize`` (the objective
  gain of serving them) and may belong to a mutually exclusive *group* (serve at most one
  member; used for alternative days/slots of one booking);
* vehicle types: a count, a capacity per load dimension, a start/end depot location, a
  shift ``[tw_early, tw_late]`` (leave the depot no earlier, be back no later), a maximum
  route duration, and a set of clients they may not serve (missing skills).

The objective is the total distance of the routes minus the prizes collected. PyVRP works
on integers: :func:`to_pyvrp` scales distances (rounded) and durations (rounded **up**, so
every schedule PyVRP accepts is also feasible with the exact float durations). Reported
distances are always recomputed from the float matrix, so they are unrounded.

Forbidden client/vehicle pairs (skills) are mapped onto PyVRP *routing profiles*: in the
profile of a vehicle type, every edge into a forbidden client's location gets a duration
longer than any horizon, so a route through it can never be time-feasible.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from geo.routing.errors import ProblemValidationError

logger = logging.getLogger(__name__)

INF = math.inf


@dataclass(frozen=True)
class VehicleType:
    """A group of identical vehicles.

    Attributes
    ----------
    count
        Number of vehicles of this type.
    capacity
        Capacity per load dimension (same length as the problem's demand columns).
    depot
        Location index where the routes start.
    end_depot
        Location index where the routes end (``None``: back at ``depot``).
    tw_early, tw_late
        Shift: earliest departure from and latest return to the depot (duration units).
    max_duration
        Longest allowed route duration (duration units), ``inf`` if unbounded.
    forbidden
        Client indices this vehicle type may not serve (missing equipment/skills).
    name
        Free text, carried to the output.
    """

    count: int
    capacity: tuple[int, ...]
    depot: int
    end_depot: int | None = None
    tw_early: float = 0.0
    tw_late: float = INF
    max_duration: float = INF
    forbidden: frozenset[int] = frozenset()
    name: str = ""

    @property
    def end(self) -> int:
        """End depot location index."""
        return self.depot if self.end_depot is None else self.end_depot


@dataclass(frozen=True)
class VrptwProblem:
    """A vehicle-routing problem with time windows over matrices.

    Attributes
    ----------
    distance, duration
        ``(L, L)`` float matrices between locations (objective units, time units).
    client_location
        ``(C,)`` location index of each client.
    demand
        ``(C, D)`` integer demand per load dimension.
    tw_early, tw_late
        ``(C,)`` window on the start of service (``inf`` allowed for ``tw_late``).
    service
        ``(C,)`` service duration.
    vehicle_types
        The fleet.
    required
        ``(C,)`` whether each client must be served; ``None`` means all required.
    prize
        ``(C,)`` objective gain of serving an optional client (objective units).
    groups
        Mutually exclusive groups of optional clients: at most one member is served.
    name
        Free text.
    """

    distance: np.ndarray
    duration: np.ndarray
    client_location: np.ndarray
    demand: np.ndarray
    tw_early: np.ndarray
    tw_late: np.ndarray
    service: np.ndarray
    vehicle_types: tuple[VehicleType, ...]
    required: np.ndarray | None = None
    prize: np.ndarray | None = None
    groups: tuple[tuple[int, ...], ...] = ()
    name: str = ""

    @property
    def n_clients(self) -> int:
        """Number of clients ``C``."""
        return len(self.client_location)

    @property
    def n_dims(self) -> int:
        """Number of load dimensions ``D``."""
        return int(self.demand.shape[1])

    def is_required(self, client: int) -> bool:
        """Whether ``client`` must be served."""
        return True if self.required is None else bool(self.required[client])

    def validate(self) -> None:
        """Check shapes, indices and windows.

        Raises
        ------
        ProblemValidationError
            Listing every inconsistency found.
        """
        problems: list[str] = []
        n_loc = self.distance.shape[0]
        if self.distance.shape != (n_loc, n_loc) or self.duration.shape != (n_loc, n_loc):
            problems.append(
                f"distance {self.distance.shape} and duration {self.duration.shape} "
                "must be the same square shape"
            )
        n = self.n_clients
        if self.demand.ndim != 2 or self.demand.shape[0] != n:
            problems.append(f"demand shape {self.demand.shape} != ({n}, D)")
        for name in ("tw_early", "tw_late", "service"):
            arr = getattr(self, name)
            if arr.shape != (n,):
                problems.append(f"{name} shape {arr.shape} != ({n},)")
        if n and (self.client_location.min() < 0 or self.client_location.max() >= n_loc):
            problems.append(f"client locations must lie in 0..{n_loc - 1}")
        bad_tw = np.flatnonzero(self.tw_early > self.tw_late)
        if bad_tw.size:
            i = int(bad_tw[0])
            problems.append(
                f"{bad_tw.size} client(s) with tw_early > tw_late, e.g. client {i}: "
                f"{self.tw_early[i]} > {self.tw_late[i]}"
            )
        if not self.vehicle_types:
            problems.append("no vehicle types")
        for k, vt in enumerate(self.vehicle_types):
            if vt.count < 1:
                problems.append(f"vehicle type {k}: count {vt.count} < 1")
            if len(vt.capacity) != self.demand.shape[1]:
                problems.append(
                    f"vehicle type {k}: {len(vt.capacity)} capacity dims != "
                    f"{self.demand.shape[1]} demand dims"
                )
            if not (0 <= vt.depot < n_loc and 0 <= vt.end < n_loc):
                problems.append(f"vehicle type {k}: depot outside 0..{n_loc - 1}")
            if vt.tw_early > vt.tw_late:
                problems.append(f"vehicle type {k}: shift {vt.tw_early} > {vt.tw_late}")
        seen: set[int] = set()
        for g, members in enumerate(self.groups):
            for c in members:
                if c in seen:
                    problems.append(f"client {c} is in more than one group")
                seen.add(c)
                if self.is_required(c):
                    problems.append(f"group {g}: client {c} must be optional")
        if problems:
            msg = f"invalid routing problem {self.name!r}"
            raise ProblemValidationError(msg, problems)


@dataclass(frozen=True)
class RoutePlan:
    """One vehicle's route: its type and the ordered client indices."""

    vehicle_type: int
    clients: tuple[int, ...]


@dataclass
class VrptwSolution:
    """A solution of a :class:`VrptwProblem`.

    Attributes
    ----------
    routes
        Non-empty routes.
    distance
        Total route distance from the float matrix (unrounded).
    unassigned
        Clients not served (a group counts as served when one member is).
    feasible
        Whether the routes keep every rule and serve every required client (checked with
        exact arithmetic; an infeasible search result is repaired first, so ``False`` means
        some required client could not be placed).
    runtime_s
        Wall-clock time spent.
    iterations
        Search iterations done (summed over workers).
    seed
        The seed that produced it.
    """

    routes: list[RoutePlan]
    distance: float
    unassigned: list[int] = field(default_factory=list)
    feasible: bool = True
    runtime_s: float = 0.0
    iterations: int = 0
    seed: int = 0

    @property
    def n_vehicles(self) -> int:
        """Number of routes used."""
        return len(self.routes)


@dataclass(frozen=True)
class Scaling:
    """Integer scaling of the float matrices for PyVRP.

    Attributes
    ----------
    distance
        Factor applied to distances before rounding.
    duration
        Factor applied to durations and times before rounding (durations up).
    load
        Factor applied to demands and capacities (``None``: the distance factor).
    """

    distance: float = 1.0
    duration: float = 1.0
    load: float | None = None

    @property
    def load_factor(self) -> int:
        """Factor on demands and capacities (default: the distance factor).

        PyVRP's penalty parameters are absolute numbers per unit of excess load, time warp
        and distance; scaling every dimension by the same factor keeps their balance as in
        the unscaled instance (otherwise an overload of one unit would cost a fraction of
        a distance unit and capacity would barely be enforced during the search).
        """
        return max(1, round(self.distance if self.load is None else self.load))


def route_distance(problem: VrptwProblem, route: RoutePlan) -> float:
    """Return the unrounded distance of ``route`` (depot, clients, end depot)."""
    vt = problem.vehicle_types[route.vehicle_type]
    if not route.clients:
        return 0.0
    locs = [vt.depot, *problem.client_location[list(route.clients)].tolist(), vt.end]
    return float(problem.distance[locs[:-1], locs[1:]].sum())


def solution_distance(problem: VrptwProblem, routes: Sequence[RoutePlan]) -> float:
    """Return the unrounded total distance of ``routes``."""
    return float(sum(route_distance(problem, r) for r in routes))


def unassigned_clients(problem: VrptwProblem, routes: Sequence[RoutePlan]) -> list[int]:
    """Clients not served; a group member counts as served when its group is."""
    served = {c for r in routes for c in r.clients}
    group_of = {c: g for g, members in enumerate(problem.groups) for c in members}
    served_groups = {group_of[c] for c in served if c in group_of}
    out = []
    for c in range(problem.n_clients):
        if c in served:
            continue
        g = group_of.get(c)
        if g is not None and g in served_groups:
            continue
        out.append(c)
    return out


def _int_or_max(value: float, factor: float, up: bool) -> int:
    from pyvrp.constants import MAX_VALUE

    if not math.isfinite(value):
        return int(MAX_VALUE)
    scaled = value * factor
    return int(math.ceil(scaled - 1e-9) if up else math.floor(scaled + 1e-9))


@dataclass
class PyvrpMapping:
    """How a :class:`VrptwProblem` was laid out in a PyVRP ``ProblemData``."""

    data: object
    scaling: Scaling
    client_of_pyvrp: list[int]
    n_depots: int


def default_scaling(problem: VrptwProblem) -> Scaling:
    """Choose integer scaling factors keeping ~5 significant digits per leg.

    The factor is a power of ten such that the largest finite matrix entry becomes at
    most about 10^7 (so sums over long routes stay far from int64 limits) while keeping
    sub-unit precision for small-unit instances such as Solomon's.
    """

    def factor(mat: np.ndarray) -> float:
        finite = mat[np.isfinite(mat)]
        top = float(finite.max()) if finite.size else 1.0
        top = max(top, 1e-9)
        exp = math.floor(math.log10(1e7 / top))
        return float(10 ** max(0, min(exp, 6)))

    return Scaling(distance=factor(problem.distance), duration=factor(problem.duration))


def to_pyvrp(problem: VrptwProblem, scaling: Scaling | None = None) -> PyvrpMapping:
    """Build PyVRP ``ProblemData`` for ``problem``.

    PyVRP depots come first (one per distinct depot location), then one PyVRP location per
    distinct (location, set of vehicle types forbidden there) pair, shared by the clients
    at that location (alternatives of one booking share a location).
    """
    import pyvrp

    problem.validate()
    sc = scaling or default_scaling(problem)
    depot_locs: list[int] = []
    for vt in problem.vehicle_types:
        for loc in (vt.depot, vt.end):
            if loc not in depot_locs:
                depot_locs.append(loc)

    forbidden_by: dict[int, frozenset[int]] = {}
    for k, vt in enumerate(problem.vehicle_types):
        for c in vt.forbidden:
            forbidden_by[c] = forbidden_by.get(c, frozenset()) | {k}

    keys: dict[tuple[int, frozenset[int]], int] = {}
    pv_loc_src: list[int] = list(depot_locs)
    pv_loc_forbid: list[frozenset[int]] = [frozenset()] * len(depot_locs)
    client_pv_loc: list[int] = []
    for c in range(problem.n_clients):
        key = (int(problem.client_location[c]), forbidden_by.get(c, frozenset()))
        if key not in keys:
            keys[key] = len(pv_loc_src)
            pv_loc_src.append(key[0])
            pv_loc_forbid.append(key[1])
        client_pv_loc.append(keys[key])

    src = np.asarray(pv_loc_src)
    dist = problem.distance[np.ix_(src, src)]
    dur = problem.duration[np.ix_(src, src)]
    if not (np.isfinite(dist).all() and np.isfinite(dur).all()):
        msg = "distance/duration matrices must be finite between used locations"
        raise ProblemValidationError(msg)
    dist_i = np.round(dist * sc.distance).astype(np.int64)
    dur_i = np.ceil(dur * sc.duration - 1e-9).astype(np.int64)
    np.fill_diagonal(dist_i, 0)
    np.fill_diagonal(dur_i, 0)

    finite_times = [t for t in problem.tw_late if math.isfinite(t)]
    finite_times += [vt.tw_late for vt in problem.vehicle_types if math.isfinite(vt.tw_late)]
    horizon = max(finite_times, default=0.0) * sc.duration + float(dur_i.sum(axis=1).max())
    big = int(min(4e15, max(10 * horizon, 1e9)))

    profiles: dict[frozenset[int], int] = {frozenset(): 0}
    dist_mats = [dist_i]
    dur_mats = [dur_i]
    vt_profile: list[int] = []
    for k, _vt in enumerate(problem.vehicle_types):
        cols = [j for j, f in enumerate(pv_loc_forbid) if k in f]
        key = frozenset(cols)
        if key not in profiles:
            profiles[key] = len(dist_mats)
            d2, t2 = dist_i.copy(), dur_i.copy()
            d2[:, cols] = big
            t2[:, cols] = big
            np.fill_diagonal(d2, 0)
            np.fill_diagonal(t2, 0)
            dist_mats.append(d2)
            dur_mats.append(t2)
        vt_profile.append(profiles[key])

    locations = [pyvrp.Location(x=0.0, y=0.0) for _ in pv_loc_src]
    depots = [pyvrp.Depot(location=j) for j in range(len(depot_locs))]
    group_of = {c: g for g, members in enumerate(problem.groups) for c in members}
    prize = problem.prize if problem.prize is not None else np.zeros(problem.n_clients)
    clients = []
    for c in range(problem.n_clients):
        required = problem.is_required(c)
        clients.append(
            pyvrp.Client(
                location=client_pv_loc[c],
                delivery=[int(v) * sc.load_factor for v in problem.demand[c]],
                service_duration=_int_or_max(float(problem.service[c]), sc.duration, True),
                tw_early=_int_or_max(float(problem.tw_early[c]), sc.duration, True),
                tw_late=_int_or_max(float(problem.tw_late[c]), sc.duration, False),
                prize=0 if required else round(float(prize[c]) * sc.distance),
                required=required,
                group=group_of.get(c),
            )
        )
    groups = [pyvrp.ClientGroup(list(m), required=False) for m in problem.groups]
    vehicle_types = []
    for k, vt in enumerate(problem.vehicle_types):
        kwargs = {}
        if math.isfinite(vt.max_duration):
            kwargs["shift_duration"] = _int_or_max(vt.max_duration, sc.duration, False)
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=vt.count,
                capacity=[int(v) * sc.load_factor for v in vt.capacity],
                start_depot=depot_locs.index(vt.depot),
                end_depot=depot_locs.index(vt.end),
                tw_early=_int_or_max(vt.tw_early, sc.duration, True),
                tw_late=_int_or_max(vt.tw_late, sc.duration, False),
                profile=vt_profile[k],
                name=str(k),
                **kwargs,
            )
        )
    data = pyvrp.ProblemData(
        locations, clients, depots, vehicle_types, dist_mats, dur_mats, groups=groups
    )
    return PyvrpMapping(
        data=data,
        scaling=sc,
        client_of_pyvrp=list(range(problem.n_clients)),
        n_depots=len(depot_locs),
    )


def routes_from_pyvrp(mapping: PyvrpMapping, solution: object) -> list[RoutePlan]:
    """Convert a PyVRP ``Solution`` into :class:`RoutePlan` objects (empty routes dropped)."""
    out = []
    for route in solution.routes():  # type: ignore[attr-defined]
        visits = [mapping.client_of_pyvrp[a.idx] for a in route if a.is_client()]
        if visits:
            out.append(RoutePlan(vehicle_type=int(route.vehicle_type()), clients=tuple(visits)))
    return out


def routes_to_pyvrp(mapping: PyvrpMapping, routes: Sequence[RoutePlan]) -> object:
    """Build a PyVRP ``Solution`` from :class:`RoutePlan` objects (warm start)."""
    import pyvrp

    pv = [
        pyvrp.Route(mapping.data, [int(c) for c in r.clients], r.vehicle_type)  # type: ignore[arg-type]
        for r in routes
        if r.clients
    ]
    return pyvrp.Solution(mapping.data, pv)  # type: ignore[arg-type]


def solve_vrptw(
    problem: VrptwProblem,
    time_limit_s: float = 10.0,
    seed: int = 0,
    n_workers: int | None = None,
    scaling: Scaling | None = None,
    on_progress: Callable[[float, int], None] | None = None,
) -> VrptwSolution:
    """Solve ``problem`` within ``time_limit_s`` of wall-clock time.

    Runs the PyVRP portfolio (:func:`geo.routing.portfolio.solve_portfolio`) on
    ``n_workers`` processes (default: the number of CPUs, at most 2 per default) and
    returns the best solution found. The result is reproducible for a fixed ``seed``
    given the same number of search iterations; with a wall-clock limit the number of
    iterations depends on machine load.

    Parameters
    ----------
    problem
        The problem.
    time_limit_s
        Wall-clock budget in seconds, including process start-up.
    seed
        Base seed of the portfolio.
    n_workers
        Worker processes; ``None`` picks ``min(2, cpu_count)``.
    scaling
        Integer scaling for PyVRP; ``None`` picks :func:`default_scaling`.
    on_progress
        Called about every 0.25 s with ``(elapsed_s, best scaled cost)`` (``-1`` while no
        feasible solution is known); the best-so-far is thus observable during the search.

    Returns
    -------
    VrptwSolution
        The best solution; ``unassigned`` lists unserved clients.
    """
    from geo.routing.feasibility import check_vrptw
    from geo.routing.portfolio import solve_portfolio
    from geo.routing.repair import repair_routes

    start = time.perf_counter()
    mapping = to_pyvrp(problem, scaling)
    budget_s = max(0.1, time_limit_s - (time.perf_counter() - start))
    result = solve_portfolio(
        mapping.data,
        time_limit_s=budget_s,
        seed=seed,
        n_workers=n_workers,
        sync_s=max(0.5, budget_s / 3),
        on_progress=on_progress,
    )
    routes = routes_from_pyvrp(mapping, result.solution)
    feasible = bool(result.solution.is_feasible())  # type: ignore[attr-defined]
    if feasible:  # the scaled model says so: confirm with exact arithmetic
        feasible = not check_vrptw(problem, routes)
    if not feasible:
        # never hand back a solution that breaks a rule: repair it (drop and re-insert)
        logger.warning("no feasible solution within %.2f s; repairing the best one", budget_s)
        left_s = max(0.3, time_limit_s - (time.perf_counter() - start))
        routes = repair_routes(problem, routes, deadline=time.monotonic() + left_s)
        feasible = not check_vrptw(problem, routes)
    return VrptwSolution(
        routes=routes,
        distance=solution_distance(problem, routes),
        unassigned=unassigned_clients(problem, routes),
        feasible=feasible,
        runtime_s=time.perf_counter() - start,
        iterations=result.iterations,
        seed=result.seed,
    )

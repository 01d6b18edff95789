"""Mobile health check-up vehicles: the problem model (pure data).

Entities of a check-up request — depots, vehicles, packages, bookings, the horizon with
its AM/PM slots — and of a plan — stops, vehicle-day routes, unassigned bookings with
reasons — as frozen dataclasses, plus the straight-line travel-time estimate used when no
network matrix is given. The solver is :mod:`geo.routing.checkup`; see there for the
model's rules and its mapping onto the VRPTW core.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geo.routing.errors import ProblemValidationError

DAY_S = 86_400
SLOTS = ("AM", "PM")
REASONS = ("capacity", "time_window", "skill", "unreachable")


@dataclass(frozen=True)
class Depot:
    """A place where vehicles start and end their day (lon/lat WGS84)."""

    id: str
    lon: float
    lat: float
    name: str = ""


@dataclass(frozen=True)
class Package:
    """An examination package.

    Attributes
    ----------
    id
        e.g. ``"L1"`` … ``"L4"`` or a special screening pack.
    setup_s
        Set-up time at a workplace, seconds.
    per_worker_s
        Examination time per worker, seconds.
    skills
        Equipment the vehicle must carry.
    """

    id: str
    setup_s: int
    per_worker_s: int
    skills: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Vehicle:
    """A check-up vehicle.

    Attributes
    ----------
    id
        Identifier.
    depot_id
        Start and end depot.
    capacity_half_day
        Examinations per half-day slot.
    capacity_day
        Examinations per day (``None``: twice the half-day capacity).
    shift_start_s, shift_end_s
        Shift hours, seconds since midnight.
    skills
        Equipment carried.
    break_start_s, break_end_s
        Lunch break: no examination runs in it.
    days
        Days the vehicle works (``None``: every day of the horizon).
    """

    id: str
    depot_id: str
    capacity_half_day: int
    capacity_day: int | None = None
    shift_start_s: int = 7 * 3600 + 30 * 60
    shift_end_s: int = 17 * 3600 + 30 * 60
    skills: frozenset[str] = frozenset()
    break_start_s: int = 11 * 3600 + 30 * 60
    break_end_s: int = 13 * 3600
    days: tuple[int, ...] | None = None

    @property
    def day_capacity(self) -> int:
        """Examinations per day."""
        return 2 * self.capacity_half_day if self.capacity_day is None else self.capacity_day


@dataclass(frozen=True)
class Booking:
    """A workplace that booked a check-up.

    Attributes
    ----------
    id
        Identifier.
    lon, lat
        Location (WGS84).
    workers
        Workers to examine.
    package_id
        The package.
    slots
        Allowed ``(day, "AM"|"PM")`` pairs; ``None`` allows every slot of the horizon.
    window_s
        Optional ``(earliest, latest)`` start of service, seconds since midnight.
    soft
        Whether the window's end may be exceeded (until the slot end) at a penalty.
    priority
        Weight ≥ 1: when not everything fits, higher priorities are served first.
    name
        Free text (workplace name).
    """

    id: str
    lon: float
    lat: float
    workers: int
    package_id: str
    slots: tuple[tuple[int, str], ...] | None = None
    window_s: tuple[int, int] | None = None
    soft: bool = False
    priority: int = 1
    name: str = ""


@dataclass(frozen=True)
class CheckupProblem:
    """A week (or any horizon) of check-up bookings and the fleet to serve them.

    Attributes
    ----------
    depots, vehicles, packages, bookings
        The entities.
    n_days
        Days in the horizon (day indices ``0 .. n_days - 1``).
    am_s, pm_s
        Slot bounds, seconds since midnight.
    lateness_penalty_per_min
        Objective seconds charged per minute of lateness on a soft window.
    split_large
        Split bookings larger than any capable vehicle's half-day capacity (else refuse).
    """

    depots: tuple[Depot, ...]
    vehicles: tuple[Vehicle, ...]
    packages: tuple[Package, ...]
    bookings: tuple[Booking, ...]
    n_days: int = 5
    am_s: tuple[int, int] = (8 * 3600, 11 * 3600 + 30 * 60)
    pm_s: tuple[int, int] = (13 * 3600, 16 * 3600 + 30 * 60)
    lateness_penalty_per_min: float = 60.0
    split_large: bool = True

    def slot_bounds(self, slot: str) -> tuple[int, int]:
        """Bounds of ``"AM"`` or ``"PM"``, seconds since midnight."""
        return self.am_s if slot == "AM" else self.pm_s

    def package(self, package_id: str) -> Package:
        """The package with this id."""
        return {p.id: p for p in self.packages}[package_id]

    def service_s(self, booking: Booking, workers: int | None = None) -> int:
        """Service time of (part of) a booking: set-up + workers x per-worker time."""
        pkg = self.package(booking.package_id)
        n = booking.workers if workers is None else workers
        return int(pkg.setup_s + n * pkg.per_worker_s)

    def vehicle_days(self, vehicle: Vehicle) -> tuple[int, ...]:
        """Days on which ``vehicle`` works."""
        days = range(self.n_days) if vehicle.days is None else vehicle.days
        return tuple(d for d in days if 0 <= d < self.n_days)

    def allowed_slots(self, booking: Booking) -> tuple[tuple[int, str], ...]:
        """The booking's allowed ``(day, slot)`` pairs inside the horizon."""
        if booking.slots is None:
            return tuple((d, s) for d in range(self.n_days) for s in SLOTS)
        return tuple((d, s) for d, s in booking.slots if 0 <= d < self.n_days)

    def validate(self) -> None:
        """Check references, times and quantities; list every problem found.

        Raises
        ------
        ProblemValidationError
            With one message per problem (status 422).
        """
        problems: list[str] = []

        def dup(kind: str, ids: list[str]) -> None:
            seen: set[str] = set()
            for i in ids:
                if i in seen:
                    problems.append(f"duplicate {kind} id {i!r}")
                seen.add(i)

        dup("depot", [d.id for d in self.depots])
        dup("vehicle", [v.id for v in self.vehicles])
        dup("package", [p.id for p in self.packages])
        dup("booking", [b.id for b in self.bookings])
        if self.n_days < 1:
            problems.append(f"n_days {self.n_days} < 1")
        for name, (a, b) in (("AM", self.am_s), ("PM", self.pm_s)):
            if not 0 <= a < b <= DAY_S:
                problems.append(f"{name} slot {_hhmm(a)}–{_hhmm(b)} is not a valid interval")
        if self.am_s[1] > self.pm_s[0]:
            problems.append(
                f"AM slot ends {_hhmm(self.am_s[1])} after PM starts {_hhmm(self.pm_s[0])}"
            )
        if not self.depots:
            problems.append("no depots")
        if not self.vehicles:
            problems.append("no vehicles")
        depot_ids = {d.id for d in self.depots}
        for d in self.depots:
            if not (-180 <= d.lon <= 180 and -90 <= d.lat <= 90):
                problems.append(f"depot {d.id!r}: lon/lat {d.lon}, {d.lat} out of range")
        for p in self.packages:
            if p.setup_s < 0 or p.per_worker_s < 0:
                problems.append(f"package {p.id!r}: negative set-up or per-worker time")
        for v in self.vehicles:
            if v.depot_id not in depot_ids:
                problems.append(f"vehicle {v.id!r}: unknown depot {v.depot_id!r}")
            if v.capacity_half_day < 1:
                problems.append(f"vehicle {v.id!r}: capacity_half_day {v.capacity_half_day} < 1")
            if v.day_capacity < 1:
                problems.append(f"vehicle {v.id!r}: capacity_day {v.day_capacity} < 1")
            if not 0 <= v.shift_start_s < v.shift_end_s <= DAY_S:
                problems.append(
                    f"vehicle {v.id!r}: shift {_hhmm(v.shift_start_s)}–{_hhmm(v.shift_end_s)}"
                    " is not a valid interval"
                )
            if not v.break_start_s <= v.break_end_s:
                problems.append(
                    f"vehicle {v.id!r}: break {_hhmm(v.break_start_s)}–{_hhmm(v.break_end_s)}"
                    " ends before it starts"
                )
            elif v.break_start_s < self.am_s[1] or v.break_end_s > self.pm_s[0]:
                problems.append(
                    f"vehicle {v.id!r}: lunch break {_hhmm(v.break_start_s)}–"
                    f"{_hhmm(v.break_end_s)} overlaps the AM ({_hhmm(self.am_s[1])}) or PM "
                    f"({_hhmm(self.pm_s[0])}) slot"
                )
            for d in v.days or ():
                if not 0 <= d < self.n_days:
                    problems.append(f"vehicle {v.id!r}: day {d} outside 0..{self.n_days - 1}")
        pkg_ids = {p.id for p in self.packages}
        for b in self.bookings:
            if b.package_id not in pkg_ids:
                problems.append(f"booking {b.id!r}: unknown package {b.package_id!r}")
            if b.workers < 1:
                problems.append(f"booking {b.id!r}: workers {b.workers} < 1")
            if b.priority < 1:
                problems.append(f"booking {b.id!r}: priority {b.priority} < 1")
            if not (-180 <= b.lon <= 180 and -90 <= b.lat <= 90):
                problems.append(f"booking {b.id!r}: lon/lat {b.lon}, {b.lat} out of range")
            if b.window_s is not None and not 0 <= b.window_s[0] <= b.window_s[1] <= DAY_S:
                problems.append(
                    f"booking {b.id!r}: time window {_hhmm(b.window_s[0])}–"
                    f"{_hhmm(b.window_s[1])} is not a valid interval"
                )
            for d, s in b.slots or ():
                if s not in SLOTS:
                    problems.append(f"booking {b.id!r}: slot {s!r} is not AM or PM")
                if not 0 <= d < self.n_days:
                    problems.append(f"booking {b.id!r}: day {d} outside 0..{self.n_days - 1}")
        if problems:
            msg = f"{len(problems)} problem(s) in the check-up request"
            raise ProblemValidationError(msg, problems)


@dataclass(frozen=True)
class Stop:
    """One visit on a vehicle-day route (times: seconds since midnight of ``day``)."""

    booking_id: str
    part: int
    n_parts: int
    workers: int
    package_id: str
    slot: str
    travel_s: float
    arrival_s: float
    start_s: float
    end_s: float
    lateness_s: float
    lon: float
    lat: float


@dataclass(frozen=True)
class VehicleDayRoute:
    """One vehicle's route on one day."""

    vehicle_id: str
    day: int
    depot_id: str
    depart_s: float
    return_s: float
    stops: tuple[Stop, ...]
    load_am: int
    load_pm: int
    travel_s: float
    distance_m: float


@dataclass(frozen=True)
class UnassignedBooking:
    """A booking (or part of one) that could not be served, and why."""

    booking_id: str
    part: int
    n_parts: int
    workers: int
    reason: str
    message: str


@dataclass
class CheckupPlan:
    """The plan: routes per vehicle and day, and what could not be fitted."""

    routes: list[VehicleDayRoute]
    unassigned: list[UnassignedBooking]
    total_travel_s: float
    total_distance_m: float
    served_workers: int
    total_workers: int
    runtime_s: float
    leg_method: str = "matrix"
    notes: list[str] = field(default_factory=list)


def _hhmm(t_s: float) -> str:
    t = round(t_s)
    return f"{t // 3600:02d}:{(t % 3600) // 60:02d}"


def haversine_m(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in metres (vectorised, WGS84 sphere radius 6 371 km)."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def estimate_matrices(
    problem: CheckupProblem, detour: float = 1.35, speed_kmh: float = 25.0
) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line estimate of drive distance and time, for when no network matrix is given.

    Distance = great-circle distance x ``detour``; time = distance / ``speed_kmh``. Order of
    rows/columns: depots, then bookings.

    Returns
    -------
    tuple
        ``(duration_s, distance_m)`` float matrices.
    """
    lon = np.array([d.lon for d in problem.depots] + [b.lon for b in problem.bookings])
    lat = np.array([d.lat for d in problem.depots] + [b.lat for b in problem.bookings])
    dist = haversine_m(lon[:, None], lat[:, None], lon[None, :], lat[None, :]) * detour
    return dist / (speed_kmh / 3.6), dist

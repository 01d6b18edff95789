"""The Shanghai site-planning service: where should new health points (or other stations) go.

:class:`PlanService` turns a planner's question -- "20 new health points, at least one per
district, among the relay stations, service centres, rest rooms and fitness stations,
keeping the existing ones: maximise the workers within a 15-minute walk" -- into an exact
facility-location problem for :mod:`geo.location` and back into an answer with names,
districts and workers:

* **demand** -- the deduplicated workplaces (parks and buildings) with their estimated
  workers, loaded by the coverage-gap service (:mod:`layers.gaps.service`, :mod:`layers.gaps.data`);
* **existing sites** -- the planned layer's located, serving facilities (status new, active,
  upgraded, yellow card): always open, never counted as new, no cost; demonstration
  records (``demo=True``) only with ``include_demo``;
* **candidates** -- the located, serving facilities of the host layers whose host type the
  planner allows (:mod:`layers.plans.hosts`: by default no public toilet or fuel station
  for a health point); each new site is placed in one of them, in the district its record
  names;
* **costs** -- sparse walking minutes workplace × site within a cutoff
  (:mod:`layers.plans.costs`: network times where both ends are on a walk network, the
  calibrated great-circle estimate elsewhere);
* **rules** -- number of new sites, per-district minimum/maximum, a budget (¥15,000 per new
  point, ¥10,000 per upgrade) and optionally upgrades of existing points (with their own
  per-district minimum), chosen to maximise the workers within reach of an upgraded point.

Models: ``mclp`` (maximise workers within ``max_minutes``; workers already within reach of an
existing site count as covered), ``pmedian`` (minimise worker-weighted minutes, pairs beyond
the horizon charged the horizon), ``lscp`` (fewest new sites covering every workplace that
any site can cover), ``pcenter`` (minimise the longest walk of the workplaces within the
horizon). Any model can add a coverage curve: MCLP solved for several numbers of new sites.

Requests that cannot be satisfied are refused before any solving (:meth:`PlanService.check`)
with :class:`PlanRequestError` (HTTP 422) and the numbers in the message.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from geo._once import once_property
from geo.coverage.reach import ReachModel
from geo.location import (
    InfeasibleProblemError,
    LocationError,
    LocationProblem,
    LocationResult,
    SolveOptions,
    solve_lscp,
    solve_mclp,
    solve_pcenter,
    solve_pmedian,
)
from geo.location.validate import check_problem, check_site_count
from layers.gaps.service import FacilitySource, GapService
from layers.plans.costs import PlanCosts, walking_costs
from layers.plans.errors import PlanInfeasibleError, PlanRequestError
from layers.plans.hosts import allowed_host_types, count_host_types, host_type
from layers.plans.result import PlanResult, build_result
from layers.registry.catalog import LAYERS
from layers.registry.schema import Facility, FacilityStatus

logger = logging.getLogger(__name__)

MODELS: tuple[str, ...] = ("mclp", "pmedian", "lscp", "pcenter")
#: Host layers of new health points in the documents (party-mass and worker service
#: stations are not separate layers; service centres, rest rooms, relay stations and
#: fitness stations are the registries that host them).
DEFAULT_CANDIDATE_LAYERS: tuple[str, ...] = (
    "relay_station", "service_centre", "rest_room", "fitness_station",
)  # fmt: skip
NEW_SITE_COST_YUAN = 15_000.0
UPGRADE_COST_YUAN = 10_000.0
#: Longest walk accepted as a coverage threshold or horizon (minutes).
MAX_MINUTES_LIMIT = 60.0
#: Existing points that may be upgraded (new, upgraded and yellow-card points may not).
UPGRADABLE_STATUSES = frozenset({FacilityStatus.ACTIVE})
ALREADY_UPGRADED = frozenset({FacilityStatus.UPGRADED})

Progress = Callable[..., None]


@dataclass(frozen=True)
class PlanRequest:
    """A planner's question.

    Parameters
    ----------
    model
        ``mclp``, ``pmedian``, ``lscp`` or ``pcenter``.
    layer
        The planned layer (its serving facilities are the existing sites).
    candidates
        Host layers whose facilities may receive a new site.
    n_new
        Number of new sites (not used by ``lscp``).
    max_minutes
        Coverage threshold: a workplace is covered within this walk.
    district_min, district_max
        New sites per district (every district that has a candidate).
    budget_yuan
        Budget for new sites and upgrades, or ``None``.
    curve
        Numbers of new sites for the coverage curve (MCLP at ``max_minutes``).
    n_upgrade, upgrade_district_min
        Existing points to upgrade and the minimum per district.
    horizon_minutes
        p-median / p-center horizon: pairs beyond it are not stored and cost the horizon
        (default ``max(30, 2 × max_minutes)``).
    time_limit_s
        Time limit of each solve.
    new_cost_yuan, upgrade_cost_yuan
        Subsidy per new point and per upgrade.
    host_types
        Host types of the candidates that may receive a new site (``None``: every type but
        the planned layer's default exclusions, :data:`layers.plans.hosts.EXCLUDED_BY_DEFAULT`).
    include_demo
        Count demonstration records of the planned layer as existing sites.
    """

    model: str = "mclp"
    layer: str = "health_point"
    candidates: tuple[str, ...] = DEFAULT_CANDIDATE_LAYERS
    n_new: int | None = 20
    max_minutes: float = 15.0
    district_min: int = 0
    district_max: int | None = None
    budget_yuan: float | None = None
    curve: tuple[int, ...] = ()
    n_upgrade: int = 0
    upgrade_district_min: int = 0
    horizon_minutes: float | None = None
    time_limit_s: float = 120.0
    new_cost_yuan: float = NEW_SITE_COST_YUAN
    upgrade_cost_yuan: float = UPGRADE_COST_YUAN
    host_types: tuple[str, ...] | None = None
    include_demo: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "candidates", tuple(self.candidates))
        if self.host_types is not None:
            object.__setattr__(self, "host_types", tuple(sorted({str(t) for t in self.host_types})))
        object.__setattr__(self, "curve", tuple(int(n) for n in self.curve))

    @property
    def cutoff_minutes(self) -> float:
        """Largest walking time the cost matrix stores for this model."""
        if self.model in ("pmedian", "pcenter"):
            return float(self.horizon_minutes or max(30.0, 2.0 * self.max_minutes))
        return float(self.max_minutes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready echo of the request."""
        return {
            "model": self.model, "layer": self.layer, "candidates": list(self.candidates),
            "n_new": self.n_new, "max_minutes": self.max_minutes,
            "district_min": self.district_min, "district_max": self.district_max,
            "budget": self.budget_yuan, "curve": list(self.curve),
            "n_upgrade": self.n_upgrade, "upgrade_district_min": self.upgrade_district_min,
            "horizon_minutes": self.cutoff_minutes if self.model in ("pmedian", "pcenter")
            else None,
            "time_limit_s": self.time_limit_s,
            "host_types": None if self.host_types is None else list(self.host_types),
            "include_demo": self.include_demo,
        }  # fmt: skip


@dataclass(frozen=True)
class Demand:
    """Workplaces (rows of the cost matrix) with their workers and walking model."""

    id: np.ndarray
    name: np.ndarray
    district: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    workers: np.ndarray
    reach: ReachModel
    #: What each workplace's workers figure rests on (``registry``, ``footprints``, ...;
    #: :data:`geo.coverage.allocation.BASES`); None where the caller gave plain weights.
    basis: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.id.shape[0])

    @classmethod
    def from_gap_service(cls, gaps: GapService) -> Demand:
        """The gap service's deduplicated workplaces, allocated workers and walking model."""
        wp = gaps.workplaces
        allocation = gaps.allocation
        return cls(wp.id, wp.name, wp.district, wp.lon, wp.lat,
                   np.asarray(allocation.workers, dtype=np.float64), gaps.reach_model,
                   allocation.basis)  # fmt: skip


@dataclass(frozen=True)
class Sites:
    """Columns of the problem: existing facilities first, then candidates."""

    facilities: tuple[Facility, ...]
    n_existing: int
    lon: np.ndarray = field(repr=False)
    lat: np.ndarray = field(repr=False)
    #: Demonstration records of the planned layer not counted as existing sites.
    existing_demo_left_out: int = 0
    #: Allowed host types, and candidates left out per host type that is not allowed.
    host_types: tuple[str, ...] = ()
    host_types_left_out: dict[str, int] = field(default_factory=dict)

    @property
    def existing(self) -> np.ndarray:
        """Columns of the existing sites."""
        return np.arange(self.n_existing)

    @property
    def candidates(self) -> np.ndarray:
        """Columns of the candidate hosts."""
        return np.arange(self.n_existing, len(self.facilities))

    def districts(self, columns: np.ndarray) -> list[str | None]:
        """District of each given column (from its record)."""
        return [self.facilities[int(j)].district for j in columns]


def _reword(message: str, what: str = "new sites") -> str:
    """Engine wording (groups, candidate sites) in the planner's terms (districts)."""
    message = re.sub(r"\bgroups?\b", lambda m: "district" + m.group(0)[5:], message)
    if what != "new sites":
        message = message.replace("new sites", what).replace("new site", what)
        message = message.replace("eligible candidate site(s)", "existing point(s) to upgrade")
    return message


class PlanService:
    """Site planning over the registry's facilities and the gap service's workplaces.

    Parameters
    ----------
    source
        Where facilities come from (a registry or the shipped files).
    demand
        The workplaces, or a function returning them (called once, on first use).
    """

    def __init__(self, source: FacilitySource, demand: Demand | Callable[[], Demand]) -> None:
        self.source = source
        self._demand = demand
        self._gaps: GapService | None = None
        self._gaps_demand: tuple[object, Demand] | None = None

    @classmethod
    def from_gap_service(cls, gaps: GapService) -> PlanService:
        """A planning service sharing the gap service's facilities, workplaces and workers.

        Its demand follows the gap service's allocation (registry overrides of 职工数).
        """
        service = cls(gaps.source, lambda: Demand.from_gap_service(gaps))
        service._gaps = gaps
        return service

    @property
    def demand(self) -> Demand:
        """The workplaces (loaded on first use; renewed when the gap service re-allocates)."""
        if self._gaps is not None:
            allocation = self._gaps.allocation
            cached = self._gaps_demand
            if cached is None or cached[0] is not allocation:
                cached = (allocation, Demand.from_gap_service(self._gaps))
                self._gaps_demand = cached
            return cached[1]
        return self._fixed_demand

    @once_property
    def _fixed_demand(self) -> Demand:
        return self._demand() if callable(self._demand) else self._demand

    # ----------------------------------------------------------------- checks
    def sites(self, request: PlanRequest) -> Sites:
        """Existing and candidate sites of a request, each sorted by id.

        Raises
        ------
        PlanRequestError
            For a host type that neither the vocabulary nor any candidate has (422).
        """
        serving = self._serving(request.layer)
        existing = sorted((f for f in serving if request.include_demo or not f.demo),
                          key=lambda f: f.id)  # fmt: skip
        hosts: dict[str, Facility] = {}
        for layer in request.candidates:
            for f in self._serving(layer):
                hosts.setdefault(f.id, f)
        counts = count_host_types(hosts.values())
        allowed = allowed_host_types(request.layer, request.host_types, counts)
        candidates = [f for f in hosts.values() if host_type(f) in allowed]
        left_out = {k: v for k, v in sorted(counts.items()) if k not in allowed}
        every = (*existing, *sorted(candidates, key=lambda f: f.id))
        lon = np.array([f.lon for f in every], dtype=np.float64)
        lat = np.array([f.lat for f in every], dtype=np.float64)
        return Sites(every, len(existing), lon, lat, len(serving) - len(existing),
                     tuple(sorted(allowed)), left_out)  # fmt: skip

    def host_types(self, layer: str, candidates: Sequence[str]) -> Counter[str]:
        """Located, serving candidate records per host type (for the planner's choice)."""
        hosts: dict[str, Facility] = {}
        for name in candidates:
            for f in self._serving(name):
                hosts.setdefault(f.id, f)
        return count_host_types(hosts.values())

    def _serving(self, layer: str) -> list[Facility]:
        return [f for f in self.source.facilities(layer) if f.located and f.serving]

    def check(self, request: PlanRequest) -> Sites:
        """Refuse impossible requests before any solving; return the sites.

        Raises
        ------
        PlanRequestError
            Unknown model or layer, no candidate, thresholds out of range (422).
        PlanInfeasibleError
            District minimums above the number of new sites, a district without
            candidates, a budget below the cost of the sites, more sites or upgrades than
            candidates (422, with the numbers).
        """
        _check_fields(request)
        sites = self.sites(request)
        if not len(sites.candidates):
            message = (f"no located, serving facility in the candidate layers "
                       f"{', '.join(request.candidates)}")  # fmt: skip
            if sites.host_types_left_out:
                message += (" of the allowed host types (left out: " + ", ".join(
                    f"{k} {v}" for k, v in sites.host_types_left_out.items()) + ")")
            raise PlanRequestError(message)
        if request.district_min > 0:
            have = {d for d in sites.districts(sites.candidates) if d}
            every = {d for d in sites.districts(np.arange(len(sites.facilities))) if d}
            # the planned layer's districts count even where its demonstration records are
            # not existing sites (they still say where the layer belongs)
            every |= {f.district for f in self._serving(request.layer) if f.district}
            missing = sorted(every - have)
            if missing:
                message = (f"{len(missing)} district(s) have no candidate site in "
                           f"{', '.join(request.candidates)} but need at least "
                           f"{request.district_min}: {', '.join(missing)}")  # fmt: skip
                raise PlanInfeasibleError(message, {"districts": missing})
        upgrade_spend = request.n_upgrade * request.upgrade_cost_yuan
        new_budget = None
        if request.budget_yuan is not None:
            new_budget = request.budget_yuan - upgrade_spend
            if new_budget < 0:
                message = (f"budget {request.budget_yuan:,.0f} < {upgrade_spend:,.0f}, the cost "
                           f"of {request.n_upgrade} upgrades at {request.upgrade_cost_yuan:,.0f}")  # fmt: skip
                raise PlanInfeasibleError(message, {"budget": request.budget_yuan,
                                                    "cheapest": upgrade_spend})  # fmt: skip
        skeleton = self._problem(request, sites, sp.csr_array((1, len(sites.facilities))),
                                 np.ones(1), new_budget)  # fmt: skip
        n_new = None if request.model == "lscp" else request.n_new
        try:
            groups = check_problem(skeleton)
            check_site_count(skeleton, groups, n_new)
        except LocationError as error:
            message = _reword(error.message)
            if request.n_upgrade and request.budget_yuan is not None and "budget" in message:
                message += (f" (the budget {request.budget_yuan:,.0f} less "
                            f"{upgrade_spend:,.0f} for {request.n_upgrade} upgrades)")  # fmt: skip
            raise PlanInfeasibleError(message, error.details) from None
        if request.n_upgrade or request.upgrade_district_min:
            self._check_upgrades(request, sites)
        return sites

    def _check_upgrades(self, request: PlanRequest, sites: Sites) -> None:
        problem = self._upgrade_problem(request, sites, sp.csr_array((1, sites.n_existing)),
                                        np.ones(1))  # fmt: skip
        try:
            groups = check_problem(problem)
            check_site_count(problem, groups, request.n_upgrade)
        except LocationError as error:
            raise PlanInfeasibleError(_reword(error.message, "upgrades"), error.details) from None

    # ---------------------------------------------------------------- problems
    def _problem(
        self, request: PlanRequest, sites: Sites, cost: Any, weight: np.ndarray,
        budget: float | None,
    ) -> LocationProblem:  # fmt: skip
        n = len(sites.facilities)
        group: list[str | None] = [None] * sites.n_existing + sites.districts(sites.candidates)
        site_cost = np.full(n, float(request.new_cost_yuan))
        return LocationProblem(
            cost, demand_weight=weight, fixed_sites=sites.existing,
            eligible_sites=sites.candidates, site_cost=site_cost, budget=budget,
            site_group=group if (request.district_min or request.district_max is not None)
            else None,
            group_min=request.district_min or None, group_max=request.district_max,
        )  # fmt: skip

    def _upgrade_problem(
        self, request: PlanRequest, sites: Sites, cost: Any, weight: np.ndarray
    ) -> LocationProblem:
        existing = sites.facilities[: sites.n_existing]
        fixed = [j for j, f in enumerate(existing) if f.status in ALREADY_UPGRADED]
        eligible = [j for j, f in enumerate(existing) if f.status in UPGRADABLE_STATUSES]
        return LocationProblem(
            cost, demand_weight=weight, fixed_sites=np.array(fixed, dtype=np.int64),
            eligible_sites=np.array(eligible, dtype=np.int64),
            site_group=[f.district for f in existing] if request.upgrade_district_min else None,
            group_min=request.upgrade_district_min or None,
        )  # fmt: skip

    # ------------------------------------------------------------------ solve
    def costs(self, request: PlanRequest, sites: Sites) -> PlanCosts:
        """Walking minutes from every workplace to every site within the request's cutoff."""
        return walking_costs(self.demand.reach, sites.lon, sites.lat, request.cutoff_minutes)

    def solve(self, request: PlanRequest, progress_cb: Progress | None = None) -> PlanResult:
        """Answer a planning request (checks first, then solves; see the module docstring).

        Parameters
        ----------
        request
            The question.
        progress_cb
            Called as ``progress_cb(message, fraction)`` while working.

        Returns
        -------
        PlanResult
            With status ``optimal``, ``feasible`` (and the gap) or ``infeasible`` (and the
            reason) when only the solver could prove that no answer exists.

        Raises
        ------
        PlanRequestError
            Refused up front (422), see :meth:`check`.
        """
        report = progress_cb or (lambda message, fraction=None: None)
        started = time.perf_counter()
        report("checking the request", 0.0)
        sites = self.check(request)
        report("loading workplaces and their workers", 0.02)
        demand = self.demand
        report(f"walking times: {len(demand):,} workplaces × {len(sites.facilities):,} sites",
               0.05)  # fmt: skip
        costs = self.costs(request, sites)
        new_budget = None
        if request.budget_yuan is not None:
            new_budget = request.budget_yuan - request.n_upgrade * request.upgrade_cost_yuan
        problem = self._problem(request, sites, costs.minutes, demand.workers, new_budget)
        options = SolveOptions(time_limit_s=float(request.time_limit_s))
        steps = 1 + bool(request.n_upgrade) + len(request.curve)
        report(f"solving {request.model} ({costs.n_pairs:,} pairs)", 0.1)
        main = _solve_model(request, problem, options)
        upgrade = None
        if request.n_upgrade:
            report(f"choosing {request.n_upgrade} upgrades", 0.1 + 0.8 / steps)
            upgrade = _solve_model(
                PlanRequest(model="mclp", n_new=request.n_upgrade,
                            max_minutes=request.max_minutes, time_limit_s=request.time_limit_s),
                self._upgrade_problem(request, sites, costs.columns(sites.existing).minutes,
                                      demand.workers), options)  # fmt: skip
        curve = []
        for k, n in enumerate(request.curve):
            report(f"coverage curve: {n} new sites ({k + 1}/{len(request.curve)})",
                   0.1 + 0.8 * (1 + bool(request.n_upgrade) + k) / steps)  # fmt: skip
            curve.append(_curve_point(problem, n, request.max_minutes, options))
        report("writing the answer", 0.95)
        return build_result(request, demand, sites, costs, main, upgrade, curve,
                            time.perf_counter() - started)  # fmt: skip


def _check_fields(request: PlanRequest) -> None:
    if request.model not in MODELS:
        message = f"unknown model {request.model!r}; valid models: {', '.join(MODELS)}"
        raise PlanRequestError(message)
    for name in (request.layer, *request.candidates):
        if name not in LAYERS:
            message = f"unknown layer {name!r}; valid layers: {', '.join(LAYERS)}"
            raise PlanRequestError(message, {"layer": name})
    if not request.candidates:
        raise PlanRequestError("give at least one candidate host layer (candidates is empty)")
    if request.layer in request.candidates:
        message = (f"the planned layer {request.layer!r} cannot also be a candidate host layer "
                   "(its facilities are the existing sites)")  # fmt: skip
        raise PlanRequestError(message)
    if not (0 < request.max_minutes <= MAX_MINUTES_LIMIT):
        message = (f"max_minutes must be above 0 and at most {MAX_MINUTES_LIMIT:g}, "
                   f"got {request.max_minutes:g}")  # fmt: skip
        raise PlanRequestError(message)
    horizon = request.cutoff_minutes
    if not (request.max_minutes <= horizon <= 2 * MAX_MINUTES_LIMIT):
        message = (f"horizon_minutes must lie between max_minutes {request.max_minutes:g} and "
                   f"{2 * MAX_MINUTES_LIMIT:g}, got {horizon:g}")  # fmt: skip
        raise PlanRequestError(message)
    if request.model != "lscp" and request.n_new is None:
        raise PlanRequestError(f"model {request.model} needs the number of new sites (n_new)")
    counts = {"n_new": request.n_new or 0, "district_min": request.district_min,
              "n_upgrade": request.n_upgrade,
              "upgrade_district_min": request.upgrade_district_min}  # fmt: skip
    for name, value in counts.items():
        if value < 0:
            raise PlanRequestError(f"{name} must be 0 or more, got {value}")
    if request.district_max is not None and request.district_max < request.district_min:
        message = (f"district_max {request.district_max} < district_min "
                   f"{request.district_min}")  # fmt: skip
        raise PlanRequestError(message)
    if request.budget_yuan is not None and request.budget_yuan < 0:
        raise PlanRequestError(f"budget must be 0 or more, got {request.budget_yuan:g}")
    if request.time_limit_s <= 0:
        raise PlanRequestError(f"time_limit_s must be positive, got {request.time_limit_s:g}")
    bad = [n for n in request.curve if n < 0]
    if bad:
        raise PlanRequestError(f"curve points must be 0 or more, got {bad[0]}")


def _solve_model(
    request: PlanRequest, problem: LocationProblem, options: SolveOptions
) -> LocationResult:
    """Run the requested model; an infeasibility proven by the solver becomes a result."""
    started = time.perf_counter()
    try:
        if request.model == "mclp":
            assert request.n_new is not None
            return solve_mclp(problem, int(request.n_new), request.max_minutes, options=options)
        if request.model == "pmedian":
            assert request.n_new is not None
            return solve_pmedian(problem, int(request.n_new),
                                 unreachable_cost=request.cutoff_minutes, options=options)  # fmt: skip
        reachable = _reachable_rows(problem, request)
        weight = np.where(reachable, problem.demand_weight, 0.0)
        sub = _with_weight(problem, weight)
        if request.model == "lscp":
            return solve_lscp(sub, request.max_minutes, options=options)
        assert request.n_new is not None
        return solve_pcenter(sub, int(request.n_new), options=options)
    except InfeasibleProblemError as error:
        return LocationResult.infeasible(request.model, _reword(error.message),
                                         time.perf_counter() - started)  # fmt: skip


def _reachable_rows(problem: LocationProblem, request: PlanRequest) -> np.ndarray:
    """Rows with a stored pair to some usable site (within ``max_minutes`` for LSCP)."""
    cost = sp.csr_array(problem.cost)
    usable = np.zeros(problem.n_sites, dtype=bool)
    usable[problem.fixed_sites] = True
    usable[problem.eligible_sites] = True
    ok = usable[cost.indices]
    if request.model == "lscp":
        ok &= cost.data <= request.max_minutes
    rows = np.repeat(np.arange(problem.n_demand), np.diff(cost.indptr))
    return np.bincount(rows[ok], minlength=problem.n_demand) > 0


def _with_weight(problem: LocationProblem, weight: np.ndarray) -> LocationProblem:
    return LocationProblem(
        problem.cost, demand_weight=weight, fixed_sites=problem.fixed_sites,
        eligible_sites=problem.eligible_sites, site_cost=problem.site_cost,
        budget=problem.budget, site_group=problem.site_group, group_min=problem.group_min,
        group_max=problem.group_max, capacity=problem.capacity,
    )  # fmt: skip


def _curve_point(
    problem: LocationProblem, n_new: int, max_minutes: float, options: SolveOptions
) -> dict[str, Any]:
    """One point of the coverage curve (MCLP with ``n_new`` new sites)."""
    try:
        result = solve_mclp(problem, n_new, max_minutes, options=options)
    except InfeasibleProblemError as error:
        return {"n_new": n_new, "status": "infeasible", "reason": _reword(error.message),
                "workers_covered": None, "workers_newly_covered": None, "gap": None,
                "seconds": 0.0}  # fmt: skip
    return {"n_new": n_new, "status": str(result.status), "reason": None,
            "workers_covered": round(float(result.objective or 0.0)),
            "workers_newly_covered": round(float(result.stats["newly_covered"])),
            "gap": result.gap, "seconds": round(result.seconds, 3)}  # fmt: skip


def parse_int_list(text: str | Sequence[int] | None, name: str = "curve") -> tuple[int, ...]:
    """``"0,5,10"`` (or a list) as sorted distinct non-negative integers.

    Raises
    ------
    PlanRequestError
        For anything else, with the offending text.
    """
    if text is None or text == "":
        return ()
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        values = sorted({int(str(p).strip()) for p in parts if str(p).strip()})
    except ValueError:
        raise PlanRequestError(f"{name} must be comma-separated integers, got {text!r}") from None
    if any(v < 0 for v in values):
        raise PlanRequestError(f"{name} values must be 0 or more, got {text!r}")
    return tuple(values)

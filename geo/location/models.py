"""Problem and result dataclasses shared by all facility-location models.

The problem is always a cost matrix between *demand points* (rows: workplaces, OR-Library
vertices) and *sites* (columns: existing facilities and candidate hosts), plus the planning
rules: which sites already exist (fixed, always open, not counted as new), which may be
opened, per-site costs and a budget, per-group (district) minimum and maximum numbers of new
sites and optional capacities. Costs are in any additive unit (seconds, minutes, metres); the
models only compare and add them.

A dense ``numpy`` matrix means every pair is usable. A ``scipy.sparse`` matrix means that only
the *stored* pairs exist (e.g. pairs within a travel-time cutoff, or k-nearest pairs); a
missing pair can never serve or cover. Explicitly stored zeros are valid zero costs.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["LocationProblem", "LocationResult", "SolveOptions", "Status"]

GroupLimit = int | Mapping[Hashable, int] | None


class Status(enum.StrEnum):
    """Outcome of a solve."""

    OPTIMAL = "optimal"
    """Proven optimal (within ``SolveOptions.rel_gap``, zero by default)."""
    FEASIBLE = "feasible"
    """A feasible answer with a proven lower/upper bound; ``gap`` says how far it may be."""
    INFEASIBLE = "infeasible"
    """No answer satisfies the rules; ``message`` says why, with the numbers."""



def settle(value: float, bound: float, proven: bool, *, maximize: bool = False
           ) -> tuple[float, float, Status]:
    """The reported bound, relative gap and status of a solve.

    A proven solve reports its own value as the bound and gap 0 (``optimal``); otherwise
    the gap is the distance to the bound relative to the value (``feasible``).
    """
    if proven:
        return value, 0.0, Status.OPTIMAL
    distance = bound - value if maximize else value - bound
    return bound, distance / max(abs(value), 1e-9), Status.FEASIBLE

@dataclass(frozen=True)
class SolveOptions:
    """Solver settings shared by every model.

    Parameters
    ----------
    time_limit_s
        Wall-clock limit for the whole solve. On expiry the best answer found so far is
        returned with status ``feasible`` and its gap.
    rel_gap
        Relative optimality gap at which the MIP solver stops. ``0`` asks for a proof of
        optimality (up to floating-point tolerance).
    seed
        Random seed passed to HiGHS; with a fixed seed results are reproducible.
    threads
        Threads for HiGHS (``0`` = HiGHS default). HiGHS fixes its thread pool once per
        process, so keep this constant within a process.
    log
        Show the HiGHS log on stdout (for debugging; library code never prints otherwise).
    """

    time_limit_s: float = 600.0
    rel_gap: float = 0.0
    seed: int = 0
    threads: int = 0
    log: bool = False


def _as_index_array(values: Any, name: str) -> np.ndarray:
    if values is None:
        return np.zeros(0, dtype=np.int64)
    arr = np.asarray(values)
    if arr.dtype == bool:
        arr = np.flatnonzero(arr)
    if (
        arr.size
        and not np.issubdtype(arr.dtype, np.integer)
        and not np.all(np.equal(np.mod(arr, 1), 0))
    ):
        msg = f"{name} must be integer column indices"
        raise TypeError(msg)
    return np.unique(arr.astype(np.int64).ravel())


@dataclass(frozen=True)
class LocationProblem:
    """A facility-location instance: costs, demand and planning rules.

    Parameters
    ----------
    cost
        ``(n_demand, n_sites)`` travel costs from each demand point to each site. Dense: all
        pairs usable. ``scipy.sparse``: only stored pairs usable (see module docstring).
    demand_weight
        ``(n_demand,)`` non-negative weights (workers per workplace). Defaults to ones.
    fixed_sites
        Column indices (or a boolean mask) of existing facilities: always open, never
        counted among the new sites, no cost against the budget.
    eligible_sites
        Column indices (or mask) of sites that may be opened. Defaults to every non-fixed
        column. Use it to restrict candidates to host layers.
    site_cost
        ``(n_sites,)`` cost of opening each site (e.g. ¥15,000 new, ¥10,000 upgrade).
    budget
        Maximum total ``site_cost`` of the new sites.
    site_group
        ``(n_sites,)`` group label (district) of each site; ``None`` entries belong to no
        group.
    group_min, group_max
        Minimum / maximum number of *new* sites per group: one integer for every group that
        has an eligible site, or a mapping ``label -> count``.
    capacity
        ``(n_sites,)`` demand (in ``demand_weight`` units) each site can serve; ``inf``
        for unlimited. Used by p-median (all demand must be served, possibly split) and
        MCLP (covered demand is limited by capacity).
    """

    cost: np.ndarray | sp.sparray | sp.spmatrix
    demand_weight: np.ndarray | None = None
    fixed_sites: Any = None
    eligible_sites: Any = None
    site_cost: np.ndarray | None = None
    budget: float | None = None
    site_group: Sequence[Hashable] | np.ndarray | None = None
    group_min: GroupLimit = None
    group_max: GroupLimit = None
    capacity: np.ndarray | None = None

    def __post_init__(self) -> None:
        cost = self.cost
        if sp.issparse(cost):
            cost = sp.csr_array(cost, dtype=np.float64)
            cost.sort_indices()
        else:
            cost = np.asarray(cost, dtype=np.float64)
        object.__setattr__(self, "cost", cost)
        n_demand = cost.shape[0] if cost.ndim == 2 else 0
        n_sites = cost.shape[1] if cost.ndim == 2 else 0
        weight = (
            np.ones(n_demand)
            if self.demand_weight is None
            else np.asarray(self.demand_weight, dtype=np.float64).ravel()
        )
        object.__setattr__(self, "demand_weight", weight)
        fixed = _as_index_array(self.fixed_sites, "fixed_sites")
        object.__setattr__(self, "fixed_sites", fixed)
        if self.eligible_sites is None:
            eligible = np.setdiff1d(np.arange(n_sites), fixed)
        else:
            eligible = np.setdiff1d(_as_index_array(self.eligible_sites, "eligible_sites"), fixed)
        object.__setattr__(self, "eligible_sites", eligible)
        for name in ("site_cost", "capacity"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, np.asarray(value, dtype=np.float64).ravel())

    @property
    def n_demand(self) -> int:
        """Number of demand points (rows)."""
        return int(self.cost.shape[0])

    @property
    def n_sites(self) -> int:
        """Number of sites (columns)."""
        return int(self.cost.shape[1])

    @property
    def is_sparse(self) -> bool:
        """Whether only stored pairs of ``cost`` are usable."""
        return sp.issparse(self.cost)


@dataclass(frozen=True)
class LocationResult:
    """Answer of a facility-location model.

    Attributes
    ----------
    model
        ``"pmedian"``, ``"mclp"``, ``"lscp"`` or ``"pcenter"``.
    status
        See :class:`Status`.
    objective
        Objective of the returned sites (total weighted cost, covered weight, number of
        sites or maximum cost, depending on the model); ``None`` when infeasible.
    bound
        Best proven bound on the optimum (lower for minimisation, upper for maximisation).
    gap
        ``|objective - bound| / max(|objective|, 1e-9)``; ``0`` when proven optimal.
    new_sites
        Column indices of the chosen new sites, ascending.
    fixed_sites
        Column indices of the existing sites (always part of the answer).
    assignment
        ``(n_demand,)`` column serving each demand point (p-median, p-center, capacitated
        models: the largest share), ``-1`` when none.
    covered
        ``(n_demand,)`` whether each demand point is covered (MCLP, LSCP), else ``None``.
    seconds
        Wall-clock time of the solve.
    message
        Human-readable summary or reason for infeasibility.
    stats
        Model sizes and solver counters (variables, rows, non-zeros, rounds, nodes).
    """

    model: str
    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    new_sites: tuple[int, ...] = ()
    fixed_sites: tuple[int, ...] = ()
    assignment: np.ndarray | None = None
    covered: np.ndarray | None = None
    seconds: float = 0.0
    message: str = ""
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def sites(self) -> tuple[int, ...]:
        """All open sites: fixed and new, ascending."""
        return tuple(sorted({*self.fixed_sites, *self.new_sites}))

    @property
    def is_optimal(self) -> bool:
        """Whether optimality was proven."""
        return self.status is Status.OPTIMAL

    def to_dict(self, index_base: int = 0) -> dict[str, Any]:
        """JSON-ready summary (no per-demand arrays).

        Parameters
        ----------
        index_base
            Added to every site index (``1`` for OR-Library vertex ids).
        """

        def _num(value: float | None) -> float | int | None:
            if value is None or not math.isfinite(value):
                return None
            return int(value) if float(value).is_integer() else float(value)

        return {
            "model": self.model,
            "status": str(self.status),
            "objective": _num(self.objective),
            "bound": _num(self.bound),
            "gap": None if self.gap is None else float(self.gap),
            "sites": [int(s) + index_base for s in self.new_sites],
            "fixed_sites": [int(s) + index_base for s in self.fixed_sites],
            "seconds": round(self.seconds, 3),
            "message": self.message,
        }

    @classmethod
    def infeasible(cls, model: str, message: str, seconds: float = 0.0) -> LocationResult:
        """Result for an instance refused as infeasible (for callers that prefer values)."""
        return cls(model, Status.INFEASIBLE, None, None, None, seconds=seconds, message=message)

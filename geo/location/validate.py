"""Up-front checks: malformed input and infeasible rule combinations.

Everything here runs before a model is built, so a planner asking for something impossible
("district minimums add up to 18 but only 16 new sites") gets an immediate answer with the
numbers, instead of a solver status.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._rules import Groups, resolve_groups
from .errors import InfeasibleProblemError, InvalidProblemError
from .models import LocationProblem

__all__ = [
    "check_capacity",
    "check_coverable",
    "check_problem",
    "check_site_count",
    "min_cost_of_sites",
]


def _examples(indices: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in indices[:limit])
    return shown + (", …" if len(indices) > limit else "")


def check_problem(problem: LocationProblem) -> Groups:
    """Check shapes and values of a problem; return its resolved groups.

    Raises
    ------
    InvalidProblemError
        On wrong shapes, NaN or negative costs, out-of-range indices, and the like.
    InfeasibleProblemError
        When a group minimum exceeds the number of eligible sites in that group.
    """
    cost = problem.cost
    if cost.ndim != 2:
        msg = f"cost must be a 2-D matrix, got {cost.ndim} dimension(s)"
        raise InvalidProblemError(msg)
    n_demand, n_sites = cost.shape
    if n_demand == 0 or n_sites == 0:
        msg = f"cost matrix is empty ({n_demand} demand points x {n_sites} sites)"
        raise InvalidProblemError(msg)
    values = cost.data if sp.issparse(cost) else cost
    if values.size and (np.isnan(values).any() or np.isinf(values).any()):
        msg = "cost contains NaN or infinite values; leave unusable pairs out of a sparse matrix"
        raise InvalidProblemError(msg)
    if values.size and values.min() < 0:
        msg = f"cost must be non-negative, minimum is {values.min():g}"
        raise InvalidProblemError(msg)
    weight = problem.demand_weight
    assert weight is not None
    if weight.shape != (n_demand,):
        msg = f"demand_weight has {weight.size} values for {n_demand} demand points"
        raise InvalidProblemError(msg)
    if not np.all(np.isfinite(weight)) or weight.min() < 0:
        msg = "demand_weight must be finite and non-negative"
        raise InvalidProblemError(msg)
    for name in ("fixed_sites", "eligible_sites"):
        idx = getattr(problem, name)
        if idx.size and (idx.min() < 0 or idx.max() >= n_sites):
            msg = f"{name} has indices outside 0..{n_sites - 1}: {_examples(idx[(idx < 0) | (idx >= n_sites)])}"
            raise InvalidProblemError(msg)
    for name in ("site_cost", "capacity"):
        arr = getattr(problem, name)
        if arr is None:
            continue
        if arr.shape != (n_sites,):
            msg = f"{name} has {arr.size} values for {n_sites} sites"
            raise InvalidProblemError(msg)
        if np.isnan(arr).any() or arr.min() < 0:
            msg = f"{name} must be non-negative numbers"
            raise InvalidProblemError(msg)
    if problem.site_cost is not None and not np.all(np.isfinite(problem.site_cost)):
        msg = "site_cost must be finite"
        raise InvalidProblemError(msg)
    if problem.budget is not None:
        if problem.site_cost is None:
            msg = "a budget needs site_cost (the cost of opening each site)"
            raise InvalidProblemError(msg)
        if not np.isfinite(problem.budget) or problem.budget < 0:
            msg = f"budget must be a non-negative number, got {problem.budget}"
            raise InvalidProblemError(msg)
    groups = resolve_groups(problem)
    bad = np.flatnonzero(groups.minimum > groups.maximum)
    if bad.size:
        g = int(bad[0])
        msg = (
            f"group {groups.labels[g]!s}: minimum {groups.minimum[g]:g} new sites "
            f"> maximum {groups.maximum[g]:g}"
        )
        raise InvalidProblemError(msg)
    if groups.labels:
        per_group = np.bincount(
            groups.code_of_site[problem.eligible_sites][
                groups.code_of_site[problem.eligible_sites] >= 0
            ],
            minlength=len(groups.labels),
        )
        short = np.flatnonzero(groups.minimum > per_group)
        if short.size:
            g = int(short[0])
            msg = (
                f"group {groups.labels[g]!s} needs at least {groups.minimum[g]:g} new sites "
                f"but has only {per_group[g]} eligible candidate site(s)"
            )
            if short.size > 1:
                msg += f" ({short.size} groups are short)"
            raise InfeasibleProblemError(
                msg,
                {
                    "group": str(groups.labels[g]),
                    "minimum": float(groups.minimum[g]),
                    "eligible": int(per_group[g]),
                },
            )
    return groups


def min_cost_of_sites(problem: LocationProblem, groups: Groups, n_sites: int) -> float:
    """Smallest total ``site_cost`` of ``n_sites`` eligible sites meeting the group limits.

    Takes the cheapest ``group_min`` sites of every group, then fills up greedily with the
    cheapest remaining sites under the group maximums (greedy is exact on this partition
    matroid). Returns ``inf`` if the group maximums leave fewer than ``n_sites`` sites.
    """
    eligible = problem.eligible_sites
    cost = np.zeros(len(eligible)) if problem.site_cost is None else problem.site_cost[eligible]
    codes = groups.code_of_site[eligible] if groups.labels else np.full(len(eligible), -1)
    order = np.lexsort((eligible, cost))
    taken = np.zeros(len(eligible), dtype=bool)
    total = 0.0
    count = np.zeros(len(groups.labels), dtype=np.int64)
    for pos in order:
        g = codes[pos]
        if g >= 0 and count[g] < groups.minimum[g]:
            taken[pos] = True
            count[g] += 1
            total += cost[pos]
    chosen = int(taken.sum())
    for pos in order:
        if chosen >= n_sites:
            break
        if taken[pos]:
            continue
        g = codes[pos]
        if g >= 0 and count[g] >= groups.maximum[g]:
            continue
        taken[pos] = True
        if g >= 0:
            count[g] += 1
        total += cost[pos]
        chosen += 1
    return total if chosen >= n_sites else float("inf")


def check_site_count(problem: LocationProblem, groups: Groups, n_new_sites: int | None) -> None:
    """Check the number of new sites against candidates, group limits and budget.

    Parameters
    ----------
    problem, groups
        The instance and its resolved groups.
    n_new_sites
        Requested number of new sites, or ``None`` (LSCP: as few as needed).

    Raises
    ------
    InvalidProblemError
        For a negative or non-integer count.
    InfeasibleProblemError
        With the numbers, when no choice of sites can satisfy all rules.
    """
    n_eligible = len(problem.eligible_sites)
    required = int(groups.minimum.sum()) if groups.labels else 0
    if n_new_sites is not None:
        if int(n_new_sites) != n_new_sites or n_new_sites < 0:
            msg = f"number of new sites must be a non-negative integer, got {n_new_sites}"
            raise InvalidProblemError(msg)
        if n_new_sites > n_eligible:
            msg = (
                f"{n_new_sites} new sites requested but only {n_eligible} eligible "
                "candidate site(s)"
            )
            raise InfeasibleProblemError(msg, {"n_new_sites": n_new_sites, "eligible": n_eligible})
        if required > n_new_sites:
            msg = (
                f"group minimums add up to {required} new sites > {n_new_sites} new sites requested"
            )
            raise InfeasibleProblemError(
                msg, {"group_minimum_total": required, "n_new_sites": n_new_sites}
            )
    target = required if n_new_sites is None else int(n_new_sites)
    if groups.labels:
        codes = groups.code_of_site[problem.eligible_sites]
        per_group = np.bincount(codes[codes >= 0], minlength=len(groups.labels))
        reachable = int(np.minimum(per_group, groups.maximum).sum()) + int((codes < 0).sum())
        if reachable < target:
            msg = f"group maximums allow at most {reachable} new sites < {target} requested"
            raise InfeasibleProblemError(msg, {"max_sites": reachable, "n_new_sites": target})
    if problem.budget is not None and problem.site_cost is not None:
        cheapest = min_cost_of_sites(problem, groups, target)
        if cheapest > problem.budget + 1e-9:
            what = f"{target} new sites" if n_new_sites is not None else "the group minimums"
            msg = f"budget {problem.budget:g} < {cheapest:g}, the cheapest cost of {what}" + (
                " meeting the group limits" if groups.active and n_new_sites else ""
            )
            raise InfeasibleProblemError(
                msg, {"budget": float(problem.budget), "cheapest": float(cheapest)}
            )


def check_capacity(problem: LocationProblem, n_new_sites: int | None) -> None:
    """Refuse when even the largest sites cannot serve the total demand (p-median).

    Raises
    ------
    InfeasibleProblemError
        ``capacity X < demand Y`` with the capacities of the fixed sites plus the
        ``n_new_sites`` largest eligible ones.
    """
    if problem.capacity is None:
        return
    weight = problem.demand_weight
    assert weight is not None
    demand = float(weight.sum())
    fixed_cap = float(problem.capacity[problem.fixed_sites].sum())
    cand = np.sort(problem.capacity[problem.eligible_sites])[::-1]
    k = len(cand) if n_new_sites is None else int(n_new_sites)
    best = fixed_cap + float(cand[:k].sum())
    if best < demand - 1e-9:
        msg = f"capacity {best:g} (existing {fixed_cap:g} + largest {k} new) < demand {demand:g}"
        raise InfeasibleProblemError(msg, {"capacity": best, "demand": demand})


def check_coverable(problem: LocationProblem, usable: sp.csr_array | np.ndarray, what: str) -> None:
    """Refuse when positive-weight demand points have no usable site at all.

    Parameters
    ----------
    problem
        The instance.
    usable
        ``(n_demand, n_sites)`` boolean matrix (sparse or dense) of usable pairs.
    what
        Phrase for the message, e.g. ``"within cost 15"``.

    Raises
    ------
    InfeasibleProblemError
        Naming how many demand points (and their total weight) cannot be served.
    """
    sites = np.union1d(problem.fixed_sites, problem.eligible_sites)
    sub = usable[:, sites]
    counts = np.asarray(sub.sum(axis=1)).ravel() if sp.issparse(sub) else sub.sum(axis=1)
    weight = problem.demand_weight
    assert weight is not None
    lonely = np.flatnonzero((counts == 0) & (weight > 0))
    if lonely.size:
        msg = (
            f"{lonely.size} demand point(s) with total weight {weight[lonely].sum():g} have "
            f"no existing or candidate site {what} (rows {_examples(lonely)})"
        )
        raise InfeasibleProblemError(
            msg, {"demand_points": lonely[:100].tolist(), "weight": float(weight[lonely].sum())}
        )

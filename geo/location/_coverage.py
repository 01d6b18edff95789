"""Coverage sets shared by MCLP, LSCP and p-center: which sites reach which demand."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .models import LocationProblem


def coverage_matrix(problem: LocationProblem, max_cost: float) -> sp.csr_array:
    """Boolean ``(n_demand, n_sites)`` matrix of pairs with ``cost <= max_cost``.

    For a sparse cost matrix only stored pairs can cover.
    """
    if problem.is_sparse:
        cost = problem.cost
        keep = cost.data <= max_cost
        rows = np.repeat(np.arange(cost.shape[0]), np.diff(cost.indptr))[keep]
        return sp.csr_array(
            (np.ones(int(keep.sum()), dtype=bool), (rows, cost.indices[keep])), shape=cost.shape
        )
    return sp.csr_array(np.asarray(problem.cost) <= max_cost)


@dataclass(frozen=True)
class CoverSets:
    """Demand rows still to cover, merged by identical sets of covering candidates.

    Attributes
    ----------
    covered_by_fixed
        ``(n_demand,)`` rows already covered by an existing site.
    group_of_row
        ``(n_demand,)`` merged group of every row, ``-1`` for rows not in any group
        (covered by an existing site, zero weight, or no covering candidate).
    weight
        Total demand weight of every merged group.
    matrix
        ``(n_groups, n_eligible)`` CSR incidence of groups and covering eligible sites.
    uncoverable
        Positive-weight rows that neither an existing nor a candidate site covers.
    """

    covered_by_fixed: np.ndarray
    group_of_row: np.ndarray
    weight: np.ndarray
    matrix: sp.csr_array
    uncoverable: np.ndarray


def cover_sets(problem: LocationProblem, cover: sp.csr_array) -> CoverSets:
    """Merge the positive-weight rows not covered by existing sites by their cover sets."""
    weight = problem.demand_weight
    assert weight is not None
    n = problem.n_demand
    fixed = problem.fixed_sites
    if fixed.size:
        covered_by_fixed = np.asarray(cover[:, fixed].sum(axis=1)).ravel() > 0
    else:
        covered_by_fixed = np.zeros(n, dtype=bool)
    sub = sp.csr_array(cover[:, problem.eligible_sites])
    sub.sort_indices()
    counts = np.diff(sub.indptr)
    todo = np.flatnonzero((weight > 0) & ~covered_by_fixed & (counts > 0))
    uncoverable = np.flatnonzero((weight > 0) & ~covered_by_fixed & (counts == 0))
    index: dict[bytes, int] = {}
    group_of_row = np.full(n, -1, dtype=np.int64)
    first_row: list[int] = []
    for i in todo:
        key = sub.indices[sub.indptr[i] : sub.indptr[i + 1]].tobytes()
        g = index.get(key)
        if g is None:
            g = len(first_row)
            index[key] = g
            first_row.append(int(i))
        group_of_row[i] = g
    group_weight = np.bincount(group_of_row[todo], weights=weight[todo], minlength=len(first_row))
    matrix = (
        sp.csr_array(sub[np.asarray(first_row, dtype=np.int64)])
        if first_row
        else (sp.csr_array((0, len(problem.eligible_sites)), dtype=bool))
    )
    return CoverSets(covered_by_fixed, group_of_row, group_weight, matrix, uncoverable)

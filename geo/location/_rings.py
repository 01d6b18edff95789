"""Per-demand sorted site lists and distance levels (the basis of the radius formulations).

For every demand point the usable sites are sorted by cost and grouped into *levels* of
equal cost ``D_i^1 < D_i^2 < … < D_i^{K_i}``. Sites farther than the nearest existing (fixed)
site are dropped: a demand point never travels past an open site, so they cannot matter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from geo._once import once_property

from .models import LocationProblem


@dataclass(frozen=True)
class Rings:
    """Sorted usable pairs and their cost levels, for the demand rows kept.

    Local site numbering: ``0 .. n_eligible-1`` are ``problem.eligible_sites`` (in order),
    ``n_eligible ..`` are ``problem.fixed_sites``.

    Attributes
    ----------
    rows
        Original demand row of each kept row.
    weight
        Demand weight of each kept row.
    entry_ptr
        CSR pointer of entries per kept row.
    entry_site
        Local site of each entry (sorted by cost within a row).
    entry_cost
        Cost of each entry.
    entry_level
        Global level id of each entry.
    level_ptr
        CSR pointer of levels per kept row.
    level_cost
        Cost ``D`` of each level.
    complete
        Per kept row: true if the listed sites include an existing site or every usable
        site (the row's last level can never be passed), false if farther sites are simply
        missing from a sparse matrix.
    n_eligible, sites
        Number of eligible sites and the global column of every local site.
    """

    rows: np.ndarray
    weight: np.ndarray
    entry_ptr: np.ndarray
    entry_site: np.ndarray
    entry_cost: np.ndarray
    entry_level: np.ndarray
    level_ptr: np.ndarray
    level_cost: np.ndarray
    complete: np.ndarray
    n_eligible: int
    sites: np.ndarray

    @property
    def n_rows(self) -> int:
        """Number of kept demand rows."""
        return len(self.rows)

    @property
    def n_levels(self) -> np.ndarray:
        """Number of levels of each kept row."""
        return np.diff(self.level_ptr)

    @once_property
    def entry_row(self) -> np.ndarray:
        """Kept row of every entry."""
        return np.repeat(np.arange(self.n_rows), np.diff(self.entry_ptr))

    @once_property
    def _search_keys(self) -> tuple[np.ndarray, np.ndarray, float, float]:
        """Entry costs offset per row into disjoint ranges, for one vectorised search."""
        if self.entry_cost.size == 0:
            return self.entry_cost, np.zeros(self.n_rows), 0.0, 1.0
        low = float(self.entry_cost.min())
        span = float(self.entry_cost.max() - low + 1.0)
        row_base = np.arange(self.n_rows, dtype=np.float64) * (2.0 * span + 2.0)
        keys = self.entry_cost - low + row_base[self.entry_row]
        return keys, row_base, low, span

    def prefix_below(self, threshold: np.ndarray, inclusive: bool = False) -> np.ndarray:
        """Entries whose cost is below ``threshold[row]`` (a prefix of every sorted row)."""
        keys, row_base, low, span = self._search_keys
        lim = np.clip(threshold - low, -1.0, span)
        side = "right" if inclusive else "left"
        ends = np.searchsorted(keys, row_base + lim, side=side)
        ends = np.clip(ends, self.entry_ptr[:-1], self.entry_ptr[1:])
        lengths = ends - self.entry_ptr[:-1]
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64)
        starts = np.repeat(self.entry_ptr[:-1] - np.cumsum(lengths) + lengths, lengths)
        return starts + np.arange(total)

    @once_property
    def site_entries(self) -> tuple[np.ndarray, np.ndarray]:
        """Entries grouped by local site: ``(ptr, entry)``, site ``s`` owns
        ``entry[ptr[s]:ptr[s+1]]`` (ascending row order)."""
        order = np.argsort(self.entry_site, kind="stable")
        counts = np.bincount(self.entry_site, minlength=len(self.sites))
        return np.concatenate([[0], np.cumsum(counts)]), order

    def row_entries(self, rows: np.ndarray) -> np.ndarray:
        """All entries of the given rows, row after row (each row in cost order)."""
        starts = self.entry_ptr[rows]
        lengths = self.entry_ptr[rows + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64)
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        return offsets + np.arange(total)

    def level_rank(self) -> np.ndarray:
        """Rank (0-based) of every level within its row."""
        row_of_level = np.repeat(np.arange(self.n_rows), self.n_levels)
        return np.arange(len(self.level_cost)) - self.level_ptr[row_of_level]

    def first_open(self, open_local: np.ndarray) -> np.ndarray:
        """Index of the first entry of each row whose site is open, ``-1`` if none."""
        hit = np.flatnonzero(open_local[self.entry_site])
        out = np.full(self.n_rows, -1, dtype=np.int64)
        if hit.size == 0:
            return out
        pos = np.searchsorted(hit, self.entry_ptr[:-1])
        cand = hit[np.minimum(pos, hit.size - 1)]
        ok = (pos < hit.size) & (cand < self.entry_ptr[1:])
        out[ok] = cand[ok]
        return out


def build_rings(problem: LocationProblem, keep_rows: np.ndarray | None = None) -> Rings:
    """Sort the usable pairs of every demand row and group them into cost levels.

    Parameters
    ----------
    problem
        The instance; its eligible and fixed sites are the usable columns.
    keep_rows
        Demand rows to include (default: rows with positive weight).

    Returns
    -------
    Rings
        The sorted, truncated pairs.
    """
    weight = problem.demand_weight
    assert weight is not None
    if keep_rows is None:
        keep_rows = np.flatnonzero(weight > 0)
    eligible = problem.eligible_sites
    fixed = problem.fixed_sites
    sites = np.concatenate([eligible, fixed])
    n_elig = len(eligible)
    n_rows = len(keep_rows)
    m = len(sites)
    if problem.is_sparse:
        sub = sp.csr_array(problem.cost[keep_rows][:, sites])
        row_of = np.repeat(np.arange(n_rows), np.diff(sub.indptr))
        order = np.lexsort((sub.indices, sub.data, row_of))
        e_row = row_of[order]
        e_site = sub.indices[order].astype(np.int64)
        e_cost = sub.data[order]
        counts = np.bincount(e_row, minlength=n_rows)
    else:
        dense = np.asarray(problem.cost)[np.ix_(keep_rows, sites)]
        order2 = np.argsort(dense, axis=1, kind="stable")
        e_site = order2.ravel().astype(np.int64)
        e_cost = np.take_along_axis(dense, order2, axis=1).ravel()
        e_row = np.repeat(np.arange(n_rows), m)
        counts = np.full(n_rows, m, dtype=np.int64)
    # Nearest existing site per row: nothing beyond it matters.
    is_fixed = e_site >= n_elig
    nearest_fixed = np.full(n_rows, np.inf)
    np.minimum.at(nearest_fixed, e_row[is_fixed], e_cost[is_fixed])
    keep = e_cost <= nearest_fixed[e_row]
    complete = np.isfinite(nearest_fixed) | (counts == m)
    e_row, e_site, e_cost = e_row[keep], e_site[keep], e_cost[keep]
    counts = np.bincount(e_row, minlength=n_rows)
    entry_ptr = np.concatenate([[0], np.cumsum(counts)])
    new_level = np.ones(len(e_cost), dtype=bool)
    if len(e_cost) > 1:
        new_level[1:] = (e_row[1:] != e_row[:-1]) | (e_cost[1:] != e_cost[:-1])
    entry_level = np.cumsum(new_level) - 1
    level_cost = e_cost[new_level]
    level_row = e_row[new_level]
    level_counts = np.bincount(level_row, minlength=n_rows)
    level_ptr = np.concatenate([[0], np.cumsum(level_counts)])
    return Rings(
        rows=np.asarray(keep_rows, dtype=np.int64),
        weight=weight[keep_rows],
        entry_ptr=entry_ptr,
        entry_site=e_site,
        entry_cost=e_cost,
        entry_level=entry_level,
        level_ptr=level_ptr,
        level_cost=level_cost,
        complete=complete,
        n_eligible=n_elig,
        sites=sites,
    )

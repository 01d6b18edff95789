"""Fast p-median heuristics on :class:`~geo.location._rings.Rings`: greedy and interchange.

Used for an incumbent (upper bound, MIP warm start) and for Lagrangian variable fixing.
They ignore group and budget rules, so they are only called when there are none. All
operations are vectorised over the sorted pairs; one interchange step costs
``O(pairs cheaper than the second-nearest open site + n_candidates · p)``.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from ._rings import Rings

logger = logging.getLogger(__name__)


def base_cost(rings: Rings, unreachable_cost: float | None) -> float:
    """Cost used for a demand point with no open listed site."""
    if unreachable_cost is not None:
        return float(unreachable_cost)
    top = float(rings.entry_cost.max()) if rings.entry_cost.size else 1.0
    # Large enough to dominate any real cost, small enough for exact float sums.
    return 1e3 * (top + 1.0) * max(1.0, float(rings.weight.sum()))


def nearest_two(
    rings: Rings, open_local: np.ndarray, base: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest and second-nearest open site of every row.

    Returns
    -------
    d1, c1, d2
        Cost of the nearest open site (``base`` if none), its local site (``-1`` if none)
        and the cost of the second-nearest (``base`` if none).
    """
    n = rings.n_rows
    hit = np.flatnonzero(open_local[rings.entry_site])
    d1 = np.full(n, base)
    d2 = np.full(n, base)
    c1 = np.full(n, -1, dtype=np.int64)
    if hit.size == 0:
        return d1, c1, d2
    row = rings.entry_row[hit]
    first = np.ones(hit.size, dtype=bool)
    first[1:] = row[1:] != row[:-1]
    d1[row[first]] = rings.entry_cost[hit[first]]
    c1[row[first]] = rings.entry_site[hit[first]]
    second = np.zeros(hit.size, dtype=bool)
    second[1:] = first[:-1] & ~first[1:]
    d2[row[second]] = rings.entry_cost[hit[second]]
    return np.minimum(d1, base), c1, np.minimum(d2, base)


def objective(rings: Rings, open_local: np.ndarray, base: float) -> float:
    """Weighted cost of an open set (``base`` for rows without an open listed site)."""
    d1, _, _ = nearest_two(rings, open_local, base)
    return float(np.dot(rings.weight, d1))


def greedy(rings: Rings, n_new_sites: int, base: float) -> np.ndarray:
    """Greedy construction: repeatedly open the site that lowers the cost the most."""
    m = len(rings.sites)
    n_elig = rings.n_eligible
    open_local = np.zeros(m, dtype=bool)
    open_local[n_elig:] = True
    d1, _, _ = nearest_two(rings, open_local, base)
    row = rings.entry_row
    for _ in range(n_new_sites):
        idx = rings.prefix_below(d1)
        gain = np.bincount(
            rings.entry_site[idx],
            weights=rings.weight[row[idx]] * (rings.entry_cost[idx] - d1[row[idx]]),
            minlength=m,
        )[:n_elig]
        gain[open_local[:n_elig]] = np.inf
        j = int(np.argmin(gain))
        if not np.isfinite(gain[j]):
            break
        open_local[j] = True
        mine = idx[rings.entry_site[idx] == j]
        d1[row[mine]] = rings.entry_cost[mine]
    return open_local


def _two_nearest_rows(
    rings: Rings, open_local: np.ndarray, rows: np.ndarray, base: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest and second-nearest open site (cost and local site) of the given rows."""
    d1 = np.full(rows.size, base)
    d2 = np.full(rows.size, base)
    c1 = np.full(rows.size, -1, dtype=np.int64)
    c2 = np.full(rows.size, -1, dtype=np.int64)
    if rows.size == 0:
        return d1, c1, d2, c2
    entries = rings.row_entries(rows)
    hit = entries[open_local[rings.entry_site[entries]]]
    if hit.size == 0:
        return d1, c1, d2, c2
    pos = np.searchsorted(rings.entry_ptr[rows], hit, side="right") - 1
    first = np.ones(hit.size, dtype=bool)
    first[1:] = pos[1:] != pos[:-1]
    second = np.zeros(hit.size, dtype=bool)
    second[1:] = first[:-1] & ~first[1:]
    d1[pos[first]] = rings.entry_cost[hit[first]]
    c1[pos[first]] = rings.entry_site[hit[first]]
    d2[pos[second]] = rings.entry_cost[hit[second]]
    c2[pos[second]] = rings.entry_site[hit[second]]
    return np.minimum(d1, base), c1, np.minimum(d2, base), c2


def interchange(
    rings: Rings, open_local: np.ndarray, base: float, max_swaps: int = 10_000
) -> np.ndarray:
    """Best-improvement 1-swap local search (Teitz–Bart / Whitaker) from ``open_local``.

    Swap gain of closing new site ``f`` and opening candidate ``j``::

        Δ(j, f) = Σ_i w_i min(0, d_ij − d1_i)                       (gain of adding j)
                + Σ_{i: c1_i = f} w_i (d2_i − d1_i)                  (loss of removing f)
                + Σ_{i: c1_i = f, d_ij < d2_i} w_i (max(d_ij, d1_i) − d2_i)

    The nearest and second-nearest open sites are updated incrementally after every swap
    (only rows that lose one of them are rescanned; Whitaker's fast interchange).
    Returns the locally optimal open mask (fixed sites stay open).
    """
    open_local = open_local.copy()
    n_elig = rings.n_eligible
    m = len(rings.sites)
    row = rings.entry_row
    w = rings.weight
    all_rows = np.arange(rings.n_rows)
    d1, c1, d2, c2 = _two_nearest_rows(rings, open_local, all_rows, base)
    site_ptr, site_entry = rings.site_entries
    for _ in range(max_swaps):
        new_open = np.flatnonzero(open_local[:n_elig])
        closed = ~open_local[:n_elig]
        if new_open.size == 0 or not closed.any():
            break
        slot = np.full(m, -1, dtype=np.int64)
        slot[new_open] = np.arange(new_open.size)
        idx = rings.prefix_below(d2)
        e_site = rings.entry_site[idx]
        e_row = row[idx]
        e_cost = rings.entry_cost[idx]
        ew = w[e_row]
        add_gain = np.bincount(
            e_site, weights=ew * np.minimum(0.0, e_cost - d1[e_row]), minlength=m
        )[:n_elig]
        row_slot = np.where(c1 >= 0, slot[np.maximum(c1, 0)], -1)
        swappable_row = row_slot >= 0
        loss = np.bincount(
            row_slot[swappable_row],
            weights=w[swappable_row] * (d2 - d1)[swappable_row],
            minlength=new_open.size,
        )
        sel = (row_slot[e_row] >= 0) & (e_site < n_elig)
        extra = sp.coo_array(
            (
                ew[sel] * (np.maximum(e_cost[sel], d1[e_row[sel]]) - d2[e_row[sel]]),
                (e_site[sel], row_slot[e_row[sel]]),
            ),
            shape=(n_elig, new_open.size),
        ).toarray()
        delta = add_gain[:, None] + loss[None, :] + extra
        delta[~closed, :] = np.inf
        flat = int(np.argmin(delta))
        j, f = divmod(flat, new_open.size)
        scale = max(1.0, float(np.dot(w, d1)))
        if not delta[j, f] < -1e-9 * scale:
            break
        gone = int(new_open[f])
        open_local[gone] = False
        open_local[j] = True
        # Rows that lose their nearest or second-nearest site are rescanned ...
        lost = (c1 == gone) | (c2 == gone)
        # ... the others may only gain the new site j.
        mine = site_entry[site_ptr[j] : site_ptr[j + 1]]
        j_rows = row[mine]
        j_cost = rings.entry_cost[mine]
        keep = ~lost[j_rows]
        j_rows, j_cost = j_rows[keep], j_cost[keep]
        first = j_cost < d1[j_rows]
        r = j_rows[first]
        d2[r], c2[r] = d1[r], c1[r]
        d1[r], c1[r] = j_cost[first], j
        second = ~first & (j_cost < d2[j_rows])
        r = j_rows[second]
        d2[r], c2[r] = j_cost[second], j
        rescan = np.flatnonzero(lost)
        d1[rescan], c1[rescan], d2[rescan], c2[rescan] = _two_nearest_rows(
            rings, open_local, rescan, base
        )
    return open_local

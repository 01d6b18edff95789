"""Walking-time cost matrices for site planning: workplaces × sites, sparse, with a cutoff.

The matrix has one row per workplace (the demand) and one column per site (existing
facilities and candidate hosts). Only pairs within ``cutoff_minutes`` are stored, so the
city-wide matrix (5,426 workplaces × about 1,900 sites) keeps a few ten thousand pairs at a
15-minute walk instead of ten million. The pairs come from the coverage engine's
:class:`geo.coverage.reach.ReachModel`, the same walking model as the gap analysis:

* candidate pairs are found first by a KD-tree radius search (unit vectors on the sphere,
  radius = the cutoff at the calibrated crow-fly walking speed), so far pairs are never
  computed;
* ``network`` -- both ends inside the coverage of the same walk network and near a street:
  the shortest walking time on it, door to door (bounded Dijkstra; the walk from each point
  to its street and the partial edges at both ends included); a pair the network cannot
  connect is left out (unreachable);
* ``estimated`` -- any other pair: great-circle distance ÷ ``calibration.crow_speed_mps``
  (the network's calibrated detour applied to the walking speed);
* ``inside`` -- the site lies inside the workplace polygon: 0 minutes (an explicit zero).

The method of every stored pair is kept alongside, in the same sparsity pattern.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from geo.coverage.reach import METHOD_NAMES, ReachModel

logger = logging.getLogger(__name__)

__all__ = ["PlanCosts", "nearest_open", "walking_costs"]


@dataclass(frozen=True)
class PlanCosts:
    """Sparse walking times between workplaces (rows) and sites (columns).

    Attributes
    ----------
    minutes
        ``(n_workplaces, n_sites)`` CSR matrix of walking minutes; only pairs within
        ``cutoff_minutes`` are stored (explicit zeros are real 0-minute pairs).
    method
        Same shape and sparsity pattern: the method code of each stored pair, an index
        into :data:`geo.coverage.reach.METHOD_NAMES` (network, estimated, inside).
    cutoff_minutes
        Largest time stored.
    seconds
        Time taken to compute the pairs.
    """

    minutes: sp.csr_array
    method: sp.csr_array
    cutoff_minutes: float
    seconds: float

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_workplaces, n_sites)``."""
        return (int(self.minutes.shape[0]), int(self.minutes.shape[1]))

    @property
    def n_pairs(self) -> int:
        """Number of stored pairs."""
        return int(self.minutes.nnz)

    def method_counts(self) -> dict[str, int]:
        """Stored pairs per method name."""
        counts = np.bincount(self.method.data.astype(np.int64), minlength=len(METHOD_NAMES))
        return {name: int(counts[k]) for k, name in enumerate(METHOD_NAMES)}

    def columns(self, sites: np.ndarray) -> PlanCosts:
        """The matrix restricted to some columns (in the given order)."""
        sites = np.asarray(sites, dtype=np.int64)
        return PlanCosts(sp.csr_array(self.minutes[:, sites]), sp.csr_array(self.method[:, sites]),
                         self.cutoff_minutes, self.seconds)  # fmt: skip


def walking_costs(
    reach: ReachModel, site_lon: np.ndarray, site_lat: np.ndarray, cutoff_minutes: float
) -> PlanCosts:
    """Walking minutes from every workplace of ``reach`` to every site within a cutoff.

    Parameters
    ----------
    reach
        The walking model over the workplaces (rows, in its order).
    site_lon, site_lat
        Site positions, WGS84 degrees (columns, in this order).
    cutoff_minutes
        Pairs slower than this are not stored.

    Returns
    -------
    PlanCosts
    """
    started = time.perf_counter()
    site_lon = np.asarray(site_lon, dtype=np.float64)
    site_lat = np.asarray(site_lat, dtype=np.float64)
    shape = (reach.n_workplaces, int(site_lon.shape[0]))
    pairs = reach.reach(site_lon, site_lat, float(cutoff_minutes) * 60.0)
    order = np.lexsort((pairs.facility, pairs.workplace))
    rows = pairs.workplace[order]
    cols = pairs.facility[order]
    indptr = np.searchsorted(rows, np.arange(shape[0] + 1)).astype(np.int64)
    minutes = sp.csr_array((pairs.time_s[order] / 60.0, cols, indptr), shape=shape)
    method = sp.csr_array((pairs.method[order].astype(np.int8), cols.copy(), indptr.copy()),
                          shape=shape)  # fmt: skip
    seconds = time.perf_counter() - started
    logger.info("walking costs: %d workplaces x %d sites, %d pairs within %g min (%.2f s)",
                shape[0], shape[1], minutes.nnz, cutoff_minutes, seconds)  # fmt: skip
    return PlanCosts(minutes, method, float(cutoff_minutes), seconds)


@dataclass(frozen=True)
class NearestOpen:
    """The nearest open site of every workplace among the stored pairs.

    Attributes
    ----------
    site
        ``(n_workplaces,)`` column of the nearest open site, ``-1`` when none is stored.
    minutes
        Walking minutes to it (``inf`` when none).
    method
        Method name of that pair (``"none"`` when none).
    """

    site: np.ndarray
    minutes: np.ndarray
    method: np.ndarray


def nearest_open(costs: PlanCosts, open_sites: np.ndarray) -> NearestOpen:
    """Nearest of ``open_sites`` for every workplace (ties: the lower column)."""
    n = costs.shape[0]
    is_open = np.zeros(costs.shape[1], dtype=bool)
    is_open[np.asarray(open_sites, dtype=np.int64)] = True
    m = costs.minutes
    rows = np.repeat(np.arange(n), np.diff(m.indptr))
    keep = is_open[m.indices]
    r, c, t = rows[keep], m.indices[keep], m.data[keep]
    code = costs.method.data[keep]
    order = np.lexsort((c, t, r))
    r, c, t, code = r[order], c[order], t[order], code[order]
    first = np.r_[True, r[1:] != r[:-1]] if r.size else np.zeros(0, dtype=bool)
    site = np.full(n, -1, dtype=np.int64)
    minutes = np.full(n, np.inf)
    method = np.full(n, "none", dtype=object)
    site[r[first]] = c[first]
    minutes[r[first]] = t[first]
    method[r[first]] = np.array(METHOD_NAMES, dtype=object)[code[first]]
    return NearestOpen(site, minutes, method)

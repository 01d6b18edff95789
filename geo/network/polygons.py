"""Buffered street polygons with cached unions of spatial clusters of street pieces.

An isochrone or a service area is the union of the buffered street stretches reached in
time. Inside the reached area almost every piece is reached whole, and the union of many
heavily overlapping buffers (dense footway networks) is what costs. So pieces are grouped
into compact clusters along a Z-order curve -- 4, 16, 64 and 256 pieces, nested -- and
the union of a cluster's whole-piece buffers is computed once per network and buffer width
and cached. A query takes a cached polygon for every cluster whose pieces are all reached
whole, buffers only the remaining whole pieces and the partial stretches, and unions those
far fewer inputs. The result is the same area (a union of the same buffers), up to
floating-point noise.

Clusters are unioned lazily on first use, each once even when many threads need it at the
same time (:class:`geo._once.OnceMap`); :func:`prepare_clusters` builds them all at once
(about a second for the central walking network).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import shapely

from geo._once import OnceMap, freeze_arrays, once_per_object, once_property
from geo.network.csr import Network

logger = logging.getLogger(__name__)

#: Cluster sizes (pieces), smallest first; each must divide the next.
CLUSTER_SIZES = (4, 16, 64, 256)
#: Segments per quarter circle of the buffers.
QUAD_SEGS = 3


def _morton_rank(x: np.ndarray, y: np.ndarray, bits: int = 16) -> np.ndarray:
    """Rank of each point along a Z-order curve."""
    span_x = max(float(np.ptp(x)), 1e-9)
    span_y = max(float(np.ptp(y)), 1e-9)
    xi = ((x - x.min()) / span_x * (2**bits - 1)).astype(np.int64)
    yi = ((y - y.min()) / span_y * (2**bits - 1)).astype(np.int64)
    code = np.zeros_like(xi)
    for i in range(bits):
        code |= ((xi >> i) & 1) << (2 * i) | ((yi >> i) & 1) << (2 * i + 1)
    rank = np.empty(x.shape[0], dtype=np.int64)
    rank[np.argsort(code, kind="stable")] = np.arange(x.shape[0])
    return rank


@dataclass(eq=False)
class PieceClusters:
    """Cached cluster unions of whole-piece buffers for one network and buffer width."""

    net: Network
    buffer_m: float
    _unions: OnceMap[tuple[int, int], shapely.Geometry] = field(default_factory=OnceMap)

    @once_property
    def lines(self) -> np.ndarray:
        """Whole-piece linestrings in EPSG:32651, indexed by piece id."""
        seg = self.net.segments
        off = seg["offsets"]
        piece = np.repeat(np.arange(self.net.n_geo), np.diff(off))
        return shapely.linestrings(seg["xy"], indices=piece)

    @once_property
    def members(self) -> np.ndarray:
        """Pieces in Z-order of their mid-points (cluster ``c`` of size ``k``: ``[c*k:(c+1)*k]``)."""
        seg = self.net.segments
        off = seg["offsets"]
        n = np.diff(off)
        mx = np.add.reduceat(seg["xy"][:, 0], off[:-1]) / n
        my = np.add.reduceat(seg["xy"][:, 1], off[:-1]) / n
        return freeze_arrays(np.argsort(_morton_rank(mx, my), kind="stable"))

    @once_property
    def rank(self) -> np.ndarray:
        """Position of each piece in :attr:`members`."""
        rank = np.empty(self.net.n_geo, dtype=np.int64)
        rank[self.members] = np.arange(self.net.n_geo)
        return freeze_arrays(rank)

    def polygon(self, level: int, cluster: int) -> shapely.Geometry:
        """Union of the buffers of the pieces of one cluster (cached, built once)."""
        key = (level, cluster)
        geom = self._unions.peek(key)
        if geom is not None:
            return geom
        return self._unions.get(key, lambda: self._union(level, cluster))

    def _union(self, level: int, cluster: int) -> shapely.Geometry:
        size = CLUSTER_SIZES[level]
        if level == 0:
            pieces = self.members[cluster * size : (cluster + 1) * size]
            parts = shapely.buffer(self.lines[pieces], self.buffer_m, quad_segs=QUAD_SEGS)
        else:
            ratio = size // CLUSTER_SIZES[level - 1]
            n_sub = -(-self.net.n_geo // CLUSTER_SIZES[level - 1])
            subs = range(cluster * ratio, min((cluster + 1) * ratio, n_sub))
            parts = [self.polygon(level - 1, c) for c in subs]
        return shapely.union_all(parts)

    def covered(self, whole: np.ndarray) -> tuple[list[shapely.Geometry], np.ndarray]:
        """Cached polygons for the clusters made only of ``whole`` pieces, and the rest.

        Parameters
        ----------
        whole
            Ids of the pieces reached whole.

        Returns
        -------
        polygons, remaining
            Cluster polygons (largest clusters first) and the whole pieces not covered.
        """
        remaining = np.asarray(whole, dtype=np.int64)
        polygons: list[shapely.Geometry] = []
        n = self.net.n_geo
        for level in range(len(CLUSTER_SIZES) - 1, -1, -1):
            size = CLUSTER_SIZES[level]
            if remaining.size < size:
                continue
            cid = self.rank[remaining] // size
            full_size = np.minimum(size, n - np.arange(-(-n // size)) * size)
            complete = np.flatnonzero(np.bincount(cid, minlength=full_size.size) == full_size)
            if complete.size == 0:
                continue
            polygons.extend(self.polygon(level, int(c)) for c in complete.tolist())
            remaining = remaining[~np.isin(cid, complete)]
        return polygons, remaining


def piece_clusters(net: Network, buffer_m: float) -> PieceClusters:
    """The cached :class:`PieceClusters` of a network and buffer width."""
    return _piece_clusters(net, float(buffer_m))


@once_per_object
def _piece_clusters(net: Network, buffer_m: float) -> PieceClusters:
    return PieceClusters(net=net, buffer_m=buffer_m)


def prepare_clusters(net: Network, buffer_m: float) -> PieceClusters:
    """Union every cluster now (instead of on first use)."""
    pc = piece_clusters(net, buffer_m)
    top = len(CLUSTER_SIZES) - 1
    for c in range(-(-net.n_geo // CLUSTER_SIZES[top])):
        pc.polygon(top, c)
    logger.info("street clusters of %s unioned for a %.0f m buffer", net.name, buffer_m)
    return pc


def street_area(
    net: Network,
    whole: np.ndarray,
    stretches: np.ndarray,
    points_xy: np.ndarray,
    buffer_m: float,
) -> shapely.Geometry:
    """Union of buffered whole pieces, partial stretches and points, in EPSG:32651.

    Parameters
    ----------
    net
        The network.
    whole
        Ids of the pieces reached whole.
    stretches
        Linestrings of the partially reached stretches.
    points_xy
        ``(P, 2)`` points to include (for example the start), buffered too.
    buffer_m
        Buffer width.
    """
    pc = piece_clusters(net, buffer_m)
    polygons, rest = pc.covered(whole)
    inputs = [np.asarray(polygons, dtype=object),
              shapely.buffer(pc.lines[rest], buffer_m, quad_segs=QUAD_SEGS),
              shapely.buffer(stretches, buffer_m, quad_segs=QUAD_SEGS)]  # fmt: skip
    if points_xy.shape[0]:
        inputs.append(shapely.buffer(shapely.points(points_xy), buffer_m, quad_segs=QUAD_SEGS))
    return shapely.union_all(np.concatenate(inputs))

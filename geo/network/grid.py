"""Uniform-grid index for exact nearest-segment lookups of single points.

The batched snapping path (:func:`geo.network.snap.nearest_segments`) is a KD-tree with an
exactness test; for one point its fixed overhead (tens of microseconds) dominates. This grid
answers one point with a couple of array look-ups and a short pure-Python loop.

Construction (vectorised, once per network):

1. Every segment is sampled every ``cell_m / 2`` metres and registered in the cells of its
   samples, so every point of a segment is within ``cell_m / 4`` of a registered cell.
2. The candidates of a cell are the segments registered in the ``(2 ring + 1)^2`` block of
   cells around it. A segment missing from that list is at least
   ``ring * cell_m - cell_m / 4`` from any point of the cell (the *reach*).
3. ``U`` is the smallest, over the candidates, of the largest distance from a corner of the
   cell to the segment (distance to a segment is convex, so its maximum over the cell is at
   a corner): every point of the cell is within ``U`` of some street. Candidates whose
   distance to the cell exceeds ``U`` can never be nearest and are dropped.
4. A cell is *exact* when ``U`` is below the reach: the nearest segment of any point in it
   is then among its candidates.

There are two levels: fine cells (40 m on the central networks), then cells four times
larger for the areas where a fine cell is not exact (points 70-300 m from the streets).
Points in neither (farther still, or outside the grid) are left to the batched path.
Candidates are stored nearest-to-the-cell first with that distance, so the query loop stops
as soon as the next candidate cannot beat the best.

Ties (a point nearest to a vertex shared by several segments) are broken the same way as the
batched path: the smallest segment id among those within ``TIE_M`` of the best distance.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer

from geo._once import freeze_arrays, once_per_object
from geo.network.csr import Network

logger = logging.getLogger(__name__)

#: Distances within this many metres of the best count as ties (smallest segment id wins).
TIE_M = 1e-6
#: Default cell size in metres (grown for very large extents, see ``MAX_CELLS``).
CELL_M = 40.0
#: Block radius in cells.
RING = 2
#: Size ratio of the coarse cells (second level) to the fine cells.
COARSE = 4
#: Upper bound on the number of grid cells (the dense cell table is int32).
MAX_CELLS = 4_000_000


@dataclass(frozen=True, eq=False)
class GridLevel:
    """One level of the grid: cells of one size with their candidate segments.

    Attributes
    ----------
    x_min, y_min, cell_m
        Grid origin and cell size (EPSG:32651 metres).
    n_cols, n_rows
        Grid shape.
    cell_span
        ``(n_rows * n_cols, 2)`` int32 per cell: ``a, b`` such that its candidates are
        ``cand[a:b]``; ``a = -1`` for cells that are not exact, and ``b`` is stored as
        ``-b - 1`` when the cell is not wholly inside the coverage polygon.
    cand
        Candidate segment ids, grouped by cell, nearest to the cell first.
    cand_low_m
        Distance from the cell to each candidate (a lower bound for any point in the cell).
    """

    x_min: float
    y_min: float
    cell_m: float
    n_cols: int
    n_rows: int
    cell_span: np.ndarray
    cand: np.ndarray
    cand_low_m: np.ndarray

    @property
    def n_exact_cells(self) -> int:
        """Number of cells answered by this level."""
        return int((self.cell_span[:, 0] >= 0).sum())

    def span(self, px: float, py: float) -> tuple[int, int, bool] | None:
        """``(a, b, inside)`` of the cell holding ``(px, py)``, or None if it is not exact.

        ``inside``: the cell lies wholly inside the coverage polygon (a point in it needs
        no point-in-polygon test).
        """
        col = math.floor((px - self.x_min) / self.cell_m)
        row = math.floor((py - self.y_min) / self.cell_m)
        if not (0 <= col < self.n_cols and 0 <= row < self.n_rows):
            return None
        a, b = self.cell_span[row * self.n_cols + col].tolist()
        if a < 0:
            return None
        return (a, b, True) if b >= 0 else (a, -b - 1, False)


@dataclass(frozen=True, eq=False)
class SnapGrid:
    """Grid levels, finest first, over one table of segments.

    Attributes
    ----------
    levels
        A point is looked up in the first level whose cell is exact.
    table
        ``(S, 9)`` float64 per segment: ``x0, y0, dx, dy, len2, segment id, piece id,
        metres along the piece at the segment start, segment length``.
    pieces
        ``(G, 9)`` float64 per street piece: ``geo_fwd, geo_bwd (-1 if one-way), head node,
        tail node, time_s`` forward and backward, ``length_m`` forward and backward
        (backward ``inf`` if one-way), projected length. One row gives the single-point
        path everything it needs about a piece.
    """

    levels: tuple[GridLevel, ...]
    table: np.ndarray
    pieces: np.ndarray

    def candidates(
        self, px: float, py: float
    ) -> tuple[list[list[float]], list[float], bool] | None:
        """Rows of ``table``, lower bounds and the ``inside`` flag of the cell holding
        ``(px, py)``; None if no level has an exact cell there."""
        for level in self.levels:
            span = level.span(px, py)
            if span is not None:
                a, b, inside = span
                rows: list[list[float]] = self.table[level.cand[a:b]].tolist()
                return rows, level.cand_low_m[a:b].tolist(), inside
        return None

    def nbytes(self) -> int:
        """Bytes held by the grid arrays."""
        arrays = [self.table, self.pieces] + [getattr(lv, k) for lv in self.levels
                                 for k in ("cell_span", "cand", "cand_low_m")]  # fmt: skip
        return int(sum(a.nbytes for a in arrays))


def nearest_segment_scalar(
    grid: SnapGrid, px: float, py: float
) -> tuple[list[float], float, float, float, float, bool] | None:
    """Exactly nearest segment of one projected point (pure Python over the cell's candidates).

    Candidates come nearest-to-the-cell first and the loop stops once the next one cannot
    beat the best. The arithmetic repeats :func:`geo.network.snap._project` operation by
    operation, so the fraction and the snapped position are bit-identical to the batched
    path.

    Returns
    -------
    (row, t, sx, sy, distance_m, inside) or None
        The segment's row of ``table``; ``inside``: the point is certainly inside the
        coverage polygon. None when the point's cell is not exact (use the batched path).
    """
    found = grid.candidates(px, py)
    if found is None:
        return None
    rows, lows, inside = found
    best = math.inf
    hits: list[tuple[float, float, float, float, list[float]]] = []
    for row, low in zip(rows, lows, strict=True):
        if low > best + TIE_M:
            break
        x0, y0, dx, dy, len2 = row[:5]
        t = ((px - x0) * dx + (py - y0) * dy) / len2 if len2 > 0 else 0.0
        t = 0.0 if t < 0.0 else (1.0 if t > 1.0 else t)
        sx, sy = x0 + t * dx, y0 + t * dy
        d = math.hypot(px - sx, py - sy)
        if d <= best + TIE_M:
            hits.append((d, t, sx, sy, row))
            best = min(best, d)
    if len(hits) > 1:  # ties: the smallest segment id
        hits = [min((h for h in hits if h[0] <= best + TIE_M), key=lambda h: h[4][5])]
    d, t, sx, sy, row = hits[0]
    return row, t, sx, sy, d, inside


def _point_segment_distance(
    px: np.ndarray, py: np.ndarray, x0: np.ndarray, y0: np.ndarray, dx: np.ndarray,
    dy: np.ndarray, len2: np.ndarray,
) -> np.ndarray:  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(len2 > 0, ((px - x0) * dx + (py - y0) * dy) / len2, 0.0)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(px - (x0 + t * dx), py - (y0 + t * dy))


def _box_segment_distance(
    bx0: np.ndarray, by0: np.ndarray, size: float, x0: np.ndarray, y0: np.ndarray,
    dx: np.ndarray, dy: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Distance between axis-aligned squares and segments (0 where they intersect)."""
    bx1, by1 = bx0 + size, by0 + size
    # Liang-Barsky clipping of the segment against the box
    lo = np.zeros_like(x0)
    hi = np.ones_like(x0)
    for p0, dp, b0, b1 in ((x0, dx, bx0, bx1), (y0, dy, by0, by1)):
        with np.errstate(invalid="ignore", divide="ignore"):
            ta, tb = (b0 - p0) / dp, (b1 - p0) / dp
        flat = dp == 0
        inside = (p0 >= b0) & (p0 <= b1)
        lo = np.maximum(lo, np.where(flat, np.where(inside, -np.inf, np.inf), np.minimum(ta, tb)))
        hi = np.minimum(hi, np.where(flat, np.where(inside, np.inf, -np.inf), np.maximum(ta, tb)))
    hit = lo <= hi
    # otherwise the nearest pair has an end point of the segment or a corner of the box
    ends = []
    for ex, ey in ((x0, y0), (x0 + dx, y0 + dy)):
        gx = np.maximum(np.maximum(bx0 - ex, ex - bx1), 0.0)
        gy = np.maximum(np.maximum(by0 - ey, ey - by1), 0.0)
        ends.append(np.hypot(gx, gy))
    len2 = dx * dx + dy * dy
    corner_min = np.minimum.reduce([
        _point_segment_distance(bx0 + ox, by0 + oy, x0, y0, dx, dy, len2)
        for ox in (0.0, size) for oy in (0.0, size)
    ])  # fmt: skip
    return np.where(hit, 0.0, np.minimum(np.minimum(ends[0], ends[1]), corner_min))


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if a.size else a


def _prune(
    cells: np.ndarray, sid: np.ndarray, grid: tuple[float, float, float, int], seg: tuple[np.ndarray, ...],
    reach: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Steps 3-4 of the module docstring for (cell, segment) pairs sorted by cell.

    The distance from the cell centre bounds everything cheaply first (within half a
    diagonal), so the corner and box distances are only computed for the few pairs that
    matter.

    Returns
    -------
    cells, segments, box_distance, exact_cells
        The kept pairs of exact cells with their cell-to-segment distance, and the exact
        cells.
    """
    x_min, y_min, cell, n_cols = grid
    x0, y0, dx, dy, len2 = seg
    half_diag = cell * math.sqrt(0.5)
    row, col = np.divmod(cells, n_cols)
    bx0, by0 = x_min + col * cell, y_min + row * cell
    dc = _point_segment_distance(bx0 + cell / 2, by0 + cell / 2, x0[sid], y0[sid], dx[sid],
                                 dy[sid], len2[sid])  # fmt: skip
    bounds = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
    sizes = np.diff(np.r_[bounds, cells.size])
    u_loose = np.repeat(np.minimum.reduceat(dc, bounds) + half_diag, sizes)
    # U = min over segments of the largest corner distance; only segments with dc <= U' count
    near = np.flatnonzero(dc <= u_loose)
    s_n = sid[near]
    corner_max = np.maximum.reduce([
        _point_segment_distance(bx0[near] + ox, by0[near] + oy, x0[s_n], y0[s_n], dx[s_n],
                                dy[s_n], len2[s_n])
        for ox in (0.0, cell) for oy in (0.0, cell)
    ])  # fmt: skip
    u_cell = np.full(cells.size, np.inf)
    np.minimum.at(u_cell, np.searchsorted(bounds, near, side="right") - 1, corner_max)
    u_cell = u_cell[: bounds.size]
    u_pair = np.repeat(u_cell, sizes)
    maybe = np.flatnonzero((u_pair + TIE_M < reach) & (dc - half_diag <= u_pair + TIE_M))
    s_m = sid[maybe]
    box = _box_segment_distance(bx0[maybe], by0[maybe], cell, x0[s_m], y0[s_m], dx[s_m],
                                dy[s_m])  # fmt: skip
    keep = box <= u_pair[maybe] + TIE_M
    kept = maybe[keep]
    return cells[kept], sid[kept], box[keep], cells[bounds][u_cell + TIE_M < reach]


def _build_level(
    seg: tuple[np.ndarray, ...],
    seg_len: np.ndarray,
    origin: tuple[float, float, float, int, int],
    ring: int,
    allowed: np.ndarray | None,
    chunk_cells: int,
    coverage_contains: Callable[[np.ndarray], np.ndarray | bool] | None,
    to_lonlat: Transformer,
) -> GridLevel:
    """One :class:`GridLevel`: steps 1-4 of the module docstring, for ``allowed`` cells only.

    ``coverage_contains`` tests polygons against the coverage polygon (thread-safe, see
    :meth:`Network.coverage_contains`); None when the network has none.
    """
    from scipy import ndimage

    x0, y0, dx, dy, _ = seg
    x_min, y_min, cell, n_cols, n_rows = origin
    n_seg = x0.shape[0]
    spacing = cell / 2
    # 1. register samples: CSR cell -> segments
    n_s = np.maximum(np.ceil(seg_len / spacing).astype(np.int64), 1) + 1
    sid = np.repeat(np.arange(n_seg), n_s)
    first = np.cumsum(n_s) - n_s
    frac = (np.arange(int(n_s.sum())) - np.repeat(first, n_s)) / np.repeat(n_s - 1, n_s)
    col = ((x0[sid] + frac * dx[sid] - x_min) // cell).astype(np.int64)
    row = ((y0[sid] + frac * dy[sid] - y_min) // cell).astype(np.int64)
    reg_cell, reg_seg = np.divmod(_sorted_unique((row * n_cols + col) * n_seg + sid), n_seg)
    del sid, frac, col, row
    reg_count = np.bincount(reg_cell, minlength=n_rows * n_cols)
    reg_start = np.cumsum(reg_count) - reg_count
    # 2. candidates from the block around each cell near a street, chunk by chunk
    near = ndimage.maximum_filter((reg_count > 0).reshape(n_rows, n_cols), size=2 * ring + 1)
    todo = np.flatnonzero(near.ravel() & (True if allowed is None else allowed))
    o_row, o_col = np.divmod(np.arange((2 * ring + 1) ** 2), 2 * ring + 1)
    offsets = (o_row - ring) * n_cols + (o_col - ring)
    reach = ring * cell - spacing / 2
    step = max(1, chunk_cells * 25 // offsets.size)
    out_cells, out_sid, out_low = [], [], []
    for a in range(0, todo.size, step):
        cells = todo[a : a + step]
        nb = (cells[:, None] + offsets[None, :]).ravel()
        cnt = reg_count[nb]
        owner = np.repeat(np.repeat(cells, offsets.size), cnt)
        pos = np.repeat(reg_start[nb] - (np.cumsum(cnt) - cnt), cnt) + np.arange(int(cnt.sum()))
        pc, ps = np.divmod(_sorted_unique(owner * n_seg + reg_seg[pos]), n_seg)
        # 3-4. prune, keep exact cells
        kc, ks, kd, _ = _prune(pc, ps, (x_min, y_min, cell, n_cols), seg, reach)
        out_cells.append(kc)
        out_sid.append(ks)
        out_low.append(kd)
    cell_id = np.concatenate(out_cells) if out_cells else np.empty(0, np.int64)
    sid = np.concatenate(out_sid) if out_sid else np.empty(0, np.int64)
    low = np.concatenate(out_low) if out_low else np.empty(0)
    order = np.lexsort((sid, low, cell_id))  # by cell, nearest to the cell first
    cell_id, sid, low = cell_id[order], sid[order], low[order]
    low32 = low.astype(np.float32)  # rounded down, so it stays a lower bound
    low32 = np.where(low32 > low, np.nextafter(low32, np.float32(-np.inf)), low32)
    cells, counts = np.unique(cell_id, return_counts=True)
    if sid.size >= 2**31:
        msg = f"snap grid too large ({sid.size} candidates)"
        raise ValueError(msg)
    end = np.cumsum(counts)
    inside = np.zeros(cells.size, dtype=bool)
    if coverage_contains is not None and cells.size:
        # the cell grown by 0.5 m, corners to lon/lat (edges stay straight to far below that)
        row, col = np.divmod(cells, n_cols)
        cx = x_min + col[:, None] * cell + np.array([-0.5, cell + 0.5, cell + 0.5, -0.5, -0.5])
        cy = y_min + row[:, None] * cell + np.array([-0.5, -0.5, cell + 0.5, cell + 0.5, -0.5])
        lon, lat = to_lonlat.transform(cx.ravel(), cy.ravel())
        ring_ll = np.stack([np.reshape(lon, cx.shape), np.reshape(lat, cx.shape)], axis=-1)
        inside = np.asarray(coverage_contains(shapely.polygons(ring_ll)), dtype=bool)
    cell_span = np.full((n_rows * n_cols, 2), -1, dtype=np.int32)
    cell_span[cells, 0] = end - counts
    cell_span[cells, 1] = np.where(np.asarray(inside, dtype=bool), end, -end - 1)
    return GridLevel(x_min=x_min, y_min=y_min, cell_m=cell, n_cols=n_cols, n_rows=n_rows,
                     cell_span=cell_span, cand=sid.astype(np.int32),
                     cand_low_m=np.maximum(low32, 0).astype(np.float32))  # fmt: skip


def build_snap_grid(
    net: Network,
    *,
    cell_m: float = CELL_M,
    ring: int = RING,
    coarse: int = COARSE,
    max_cells: int = MAX_CELLS,
    chunk_cells: int = 40_000,
) -> SnapGrid:
    """Build the grid of a network (see the module docstring).

    Two levels: cells of ``cell_m`` (grown so there are at most ``max_cells``), then cells
    ``coarse`` times larger for the coarse cells holding a fine cell that is not exact.

    Parameters
    ----------
    net
        The network.
    cell_m
        Fine cell size in metres.
    ring
        Block radius in cells.
    coarse
        Size ratio of the coarse cells.
    max_cells
        Largest number of fine cells.
    chunk_cells
        Cells processed per vectorised step (bounds the temporary memory).
    """
    s = net.segments
    x0, y0, x1, y1 = s["x0"], s["y0"], s["x1"], s["y1"]
    dx, dy = x1 - x0, y1 - y0
    len2 = dx * dx + dy * dy
    seg = (x0, y0, dx, dy, len2)
    table = np.column_stack([x0, y0, dx, dy, len2, np.arange(x0.shape[0], dtype=np.float64),
                             s["geo"], s["cum0"], s["seg_len"]])  # fmt: skip
    fwd, bwd = net.geo_fwd.astype(np.int64), net.geo_bwd.astype(np.int64)
    has_bwd = bwd >= 0
    back = np.maximum(bwd, 0)
    pieces = np.column_stack([
        fwd, bwd, net.indices[fwd], net.edge_src[fwd], net.time_s[fwd],
        np.where(has_bwd, net.time_s[back], np.inf), net.length_m[fwd],
        np.where(has_bwd, net.length_m[back], np.inf), s["geo_len"],
    ]).astype(np.float64)  # fmt: skip
    x_lo, x_hi = float(min(x0.min(), x1.min())), float(max(x0.max(), x1.max()))
    y_lo, y_hi = float(min(y0.min(), y1.min())), float(max(y0.max(), y1.max()))
    cell = max(cell_m, math.sqrt((x_hi - x_lo) * (y_hi - y_lo) / max_cells) * 1.05)
    big = cell * coarse
    pad = 2 * ring + 1
    x_min, y_min = x_lo - pad * big, y_lo - pad * big
    n_cols_c = int((x_hi - x_min) // big) + pad + 1
    n_rows_c = int((y_hi - y_min) // big) + pad + 1
    n_cols, n_rows = n_cols_c * coarse, n_rows_c * coarse
    cover = (None if net.coverage is None else net.coverage_contains, net._to_lonlat)
    fine = _build_level(seg, s["seg_len"], (x_min, y_min, cell, n_cols, n_rows), ring, None,
                        chunk_cells, *cover)  # fmt: skip
    missing = (
        (fine.cell_span[:, 0] < 0).reshape(n_rows_c, coarse, n_cols_c, coarse).any(axis=(1, 3))
    )
    wide = _build_level(seg, s["seg_len"], (x_min, y_min, big, n_cols_c, n_rows_c), ring,
                        missing.ravel(), chunk_cells, *cover)  # fmt: skip
    grid = freeze_arrays(SnapGrid(levels=(fine, wide), table=table, pieces=pieces))
    logger.info("snap grid of %s: %d cells of %.0f m and %d of %.0f m exact, %.1f MB",
                net.name, fine.n_exact_cells, cell, wide.n_exact_cells, big,
                grid.nbytes() / 1e6)  # fmt: skip
    return grid


@once_per_object
def snap_grid(net: Network) -> SnapGrid:
    """The cached :class:`SnapGrid` of a network (built on first use, once across threads)."""
    return build_snap_grid(net)

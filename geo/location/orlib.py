"""Reader for OR-Library p-median instances (``pmed1.txt`` … ``pmed40.txt``).

Format (J.E. Beasley, OR-Library): the first line holds ``n_vertices n_edges p``; each
following line an undirected edge ``i j cost`` with 1-based vertex ids. When an edge appears
more than once, the *last* occurrence counts. Every vertex is both a demand point (weight 1)
and a candidate site; costs are all-pairs shortest-path lengths over the edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from .errors import InvalidProblemError

__all__ = ["OrlibInstance", "read_orlib_pmedian", "shortest_path_costs"]


@dataclass(frozen=True)
class OrlibInstance:
    """An OR-Library p-median instance.

    Attributes
    ----------
    name
        File stem, e.g. ``"pmed1"``.
    n_vertices, p
        Number of vertices and of medians.
    edges
        ``(n_edges_kept, 3)`` array ``(i, j, cost)`` with 0-based ids after de-duplication.
    cost
        ``(n, n)`` all-pairs shortest-path costs.
    """

    name: str
    n_vertices: int
    p: int
    edges: np.ndarray
    cost: np.ndarray


def shortest_path_costs(n_vertices: int, edges: np.ndarray) -> np.ndarray:
    """All-pairs shortest-path lengths of an undirected graph.

    Parameters
    ----------
    n_vertices
        Number of vertices.
    edges
        ``(m, 3)`` rows ``(i, j, cost)``, 0-based, already de-duplicated.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` costs; ``inf`` between disconnected vertices.
    """
    i = edges[:, 0].astype(np.int64)
    j = edges[:, 1].astype(np.int64)
    w = edges[:, 2].astype(np.float64)
    loops = i == j
    i, j, w = i[~loops], j[~loops], w[~loops]
    graph = sp.csr_array((w, (i, j)), shape=(n_vertices, n_vertices))
    return shortest_path(graph, method="D", directed=False)


def read_orlib_pmedian(path: str | Path) -> OrlibInstance:
    """Read an OR-Library p-median file and compute its shortest-path cost matrix.

    Parameters
    ----------
    path
        The instance file.

    Returns
    -------
    OrlibInstance
        Instance with 0-based edges and the dense cost matrix.

    Raises
    ------
    InvalidProblemError
        If the file is malformed, has out-of-range vertex ids or a disconnected graph.
    """
    path = Path(path)
    tokens = path.read_text().split()
    if len(tokens) < 3:
        msg = f"{path.name}: expected a header 'n_vertices n_edges p'"
        raise InvalidProblemError(msg)
    try:
        n, m, p = (int(t) for t in tokens[:3])
        body = np.array([float(t) for t in tokens[3:]], dtype=np.float64)
    except ValueError as exc:
        msg = f"{path.name}: non-numeric value ({exc})"
        raise InvalidProblemError(msg) from exc
    if body.size != 3 * m:
        msg = f"{path.name}: header announces {m} edges but the file has {body.size / 3:g}"
        raise InvalidProblemError(msg)
    raw = body.reshape(m, 3)
    ids = raw[:, :2].astype(np.int64) - 1
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        msg = f"{path.name}: vertex ids must lie in 1..{n}"
        raise InvalidProblemError(msg)
    if not 1 <= p <= n:
        msg = f"{path.name}: p={p} must lie in 1..{n}"
        raise InvalidProblemError(msg)
    lo = np.minimum(ids[:, 0], ids[:, 1])
    hi = np.maximum(ids[:, 0], ids[:, 1])
    key = lo * n + hi
    # Keep the last occurrence of every undirected edge.
    _, last_rev = np.unique(key[::-1], return_index=True)
    keep = np.sort(m - 1 - last_rev)
    edges = np.column_stack([lo[keep], hi[keep], raw[keep, 2]])
    cost = shortest_path_costs(n, edges)
    if not np.all(np.isfinite(cost)):
        msg = f"{path.name}: the graph is not connected"
        raise InvalidProblemError(msg)
    return OrlibInstance(name=path.stem, n_vertices=n, p=p, edges=edges, cost=cost)

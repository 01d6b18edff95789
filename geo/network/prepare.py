"""Build a network's lazily derived query structures up front (for server start-up)."""

from __future__ import annotations

import logging
import time

from geo.network.csr import Network
from geo.network.geometry import edge_vertex_span
from geo.network.grid import snap_grid
from geo.network.isochrones import DEFAULT_BUFFER_M
from geo.network.polygons import prepare_clusters
from geo.network.snap import _samples, _tree

logger = logging.getLogger(__name__)

#: Networks with at most this many segments also get the STRtree fallback built up front.
STRTREE_PREPARE_MAX_SEGMENTS = 500_000


def prepare_network(
    net: Network, *, isochrone_buffer_m: float | None = DEFAULT_BUFFER_M
) -> Network:
    """Build the snapping indexes, route helpers and isochrone cluster polygons now.

    Everything here is otherwise built on first use, which would make the first queries of
    a server slow (about 1-2 s for the central networks, several seconds for the citywide
    drive network).

    Parameters
    ----------
    net
        The network.
    isochrone_buffer_m
        Buffer width whose isochrone clusters to union (None skips them).

    Returns
    -------
    Network
        ``net`` itself.
    """
    t0 = time.perf_counter()
    _samples(net)
    if net.segments["x0"].shape[0] <= STRTREE_PREPARE_MAX_SEGMENTS:
        _tree(net)  # the rare snapping fallback; left lazy on very large networks (memory)
    snap_grid(net)
    _ = net.vertex_cum_m, net.edge_src, net.graph("time"), net.reverse_graph("time")
    edge_vertex_span(net)
    if isochrone_buffer_m is not None:
        prepare_clusters(net, isochrone_buffer_m)
    logger.info("prepared network %s in %.1f s", net.name, time.perf_counter() - t0)
    return net

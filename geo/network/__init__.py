"""Street-network engine: build from OSM, compact CSR graphs, snapping, nearest, isochrones.

Request-time modules (numpy/scipy/shapely only, no networkx): :mod:`.csr`, :mod:`.snap`,
:mod:`.search`, :mod:`.nearest`, :mod:`.isochrones`, :mod:`.matrix`, :mod:`.estimate`,
:mod:`.route`; single-point fast path :mod:`.grid`, :mod:`.single`, :mod:`.geometry`;
cached isochrone clusters :mod:`.polygons`; :func:`prepare_network` builds them up front.
Build-time modules: :mod:`.build`, :mod:`.major`, :mod:`.convert`, :mod:`.profiles`.
See ``docs/network.md``.
"""

from geo.network.csr import Network, load_network, save_network
from geo.network.errors import (
    InvalidQueryError,
    NetworkBuildError,
    NetworkError,
    NetworkFormatError,
    OutOfCoverageError,
    SnapTooFarError,
)
from geo.network.estimate import Calibration, calibrate, in_coverage, network_calibration
from geo.network.isochrones import Isochrone, isochrones, service_area
from geo.network.matrix import TravelMatrix, node_matrix, travel_matrix
from geo.network.nearest import FacilityIndex, NearestResult, build_facility_index, nearest
from geo.network.prepare import prepare_network
from geo.network.route import Route, route
from geo.network.snap import Snapped, snap, snap_one

__all__ = [
    "Calibration", "FacilityIndex", "InvalidQueryError", "Isochrone", "NearestResult",
    "Network", "NetworkBuildError", "NetworkError", "NetworkFormatError", "OutOfCoverageError",
    "Route", "SnapTooFarError", "Snapped", "TravelMatrix", "build_facility_index", "calibrate",
    "in_coverage", "isochrones", "load_network", "nearest", "network_calibration",
    "node_matrix", "prepare_network", "route", "save_network", "service_area", "snap",
    "snap_one", "travel_matrix",
]  # fmt: skip

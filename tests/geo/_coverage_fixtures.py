"""Small hand-built inputs shared by the coverage tests: a straight walkable street and
points at known great-circle distances."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geo.network.build import build_network
from geo.network.csr import Network
from geo.network.estimate import Calibration, great_circle_m

#: Crow-fly speed of the test calibration: 1 m/s, so seconds equal metres.
CAL = Calibration(network="test", profile="walk", detour_median=1.0, detour_p90=1.0,
                  crow_speed_mps=1.0, n_pairs=0, seed=0, min_distance_m=0.0)  # fmt: skip
LAT0 = 31.2


def east_of(lon: float, metres: float, lat: float = LAT0) -> float:
    """The longitude ``metres`` east of ``lon`` along the parallel (great circle, to 1 mm)."""
    step = metres / great_circle_m(lon, lat, lon + 1.0, lat)
    guess = lon + float(step)
    for _ in range(3):  # refine: great_circle along a parallel is not exactly linear
        err = metres - float(great_circle_m(lon, lat, guess, lat))
        guess += err / float(great_circle_m(lon, lat, lon + 1.0, lat))
    return guess


def street_network(tmp: Path, lon0: float = 121.0, n_nodes: int = 21, spacing_m: float = 100.0,
                   lat: float = LAT0) -> tuple[Network, np.ndarray]:
    """A straight east-west residential street of ``n_nodes`` nodes ``spacing_m`` apart.

    Returns the walk network and the node longitudes.
    """
    lons = np.array([east_of(lon0, k * spacing_m, lat) for k in range(n_nodes)])
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    lines += [f'<node id="{k + 1}" lat="{lat}" lon="{lon:.9f}" version="1"/>'
              for k, lon in enumerate(lons)]  # fmt: skip
    nds = "".join(f'<nd ref="{k + 1}"/>' for k in range(n_nodes))
    lines.append(f'<way id="1" version="1">{nds}<tag k="highway" v="residential"/></way>')
    lines.append("</osm>")
    path = tmp / "street.osm"
    path.write_text("\n".join(lines))
    net, _ = build_network([path], "walk", name="street", min_component_nodes=2)
    return net, lons

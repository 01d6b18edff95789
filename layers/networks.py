"""The network service: walking and driving answers for the API on the shipped networks.

Wraps the pure engine in :mod:`geo.network` for the registry's layers: one network per
profile (``walk``: the central walk network; ``drive``: the citywide drive network), one
facility index per (layer, profile, service filter) rebuilt when the layer changes, and the
documented estimate (great-circle distance × the network's calibrated detour factor) for
points and facilities outside the network's coverage. Networks, facility indexes and
component labels are built once per key even when the start-up warm-up and many requests
ask at the same time (:class:`geo._once.OnceMap`).
"""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse.csgraph import connected_components

from geo._once import OnceMap, freeze_arrays
from geo.crs import haversine_m
from geo.nearest import PointIndex
from geo.network import (
    Calibration,
    FacilityIndex,
    Isochrone,
    Network,
    OutOfCoverageError,
    SnapTooFarError,
    build_facility_index,
    in_coverage,
    isochrones,
    load_network,
    nearest,
    network_calibration,
    service_area,
    travel_matrix,
)
from geo.network.prepare import prepare_network
from layers.errors import LayersError
from layers.registry.catalog import get_layer
from layers.registry.schema import Facility
from layers.registry.service import Registry

logger = logging.getLogger(__name__)

#: The shipped network used for each profile.
DEFAULT_PROFILE_NETWORKS: dict[str, str] = {"walk": "central_walk", "drive": "citywide_drive"}
PROFILES: tuple[str, ...] = ("walk", "drive")


class UnknownProfileError(LayersError):
    """A travel profile other than walk or drive."""

    status_code = 422
    code = "unknown_profile"

    def __init__(self, profile: str) -> None:
        super().__init__(f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)}")


class NetworkUnavailableError(LayersError):
    """No network is installed for a profile."""

    status_code = 503
    code = "network_unavailable"


@dataclass(frozen=True)
class NetworkHit:
    """One nearest result by network or estimate.

    ``distance_m`` and ``duration_s`` are the whole trip, door to door. For a network
    answer ``network_m`` is its street part and ``access_m`` the two access legs
    ``(origin to its street, facility's street to the facility)``, so that
    ``distance_m = access_m[0] + network_m + access_m[1]``; an estimate has neither.
    """

    facility: Facility
    distance_m: float
    duration_s: float
    method: str  # "network" or "estimated"
    route: list[list[float]] | None = None
    network_m: float | None = None
    access_m: tuple[float, float] | None = None


@dataclass(frozen=True)
class UnreachableFacility:
    """A facility nearer as the crow flies than the answers but not reachable on the network."""

    facility: Facility
    straight_line_m: float


@dataclass(frozen=True)
class NetworkNearest:
    """The answer to a nearest query on a profile."""

    hits: list[NetworkHit]
    status: str  # "ok", "unreachable" or "none_within_limit"
    network: str
    in_coverage: bool
    snap_distance_m: float | None
    message: str | None = None
    unreachable: list[UnreachableFacility] = field(default_factory=list)


@dataclass
class _Subset:
    version: int
    facilities: list[Facility]
    lon: np.ndarray
    lat: np.ndarray
    points: PointIndex
    index: FacilityIndex
    outside: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    outside_points: PointIndex | None = None
    component: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    position: dict[int, int] = field(default_factory=dict)  # id(facility) -> its index


class NetworkService:
    """Network answers for the registry's layers.

    Parameters
    ----------
    registry
        The facility registry.
    networks_dir
        Folder holding one sub-folder per network (``data/networks``).
    max_snap_m
        Points farther than this from a street inside a network's coverage are refused.
    profile_networks
        Network folder name per profile.
    """

    def __init__(
        self,
        registry: Registry,
        networks_dir: Path,
        max_snap_m: float = 500.0,
        profile_networks: dict[str, str] | None = None,
    ) -> None:
        self.registry = registry
        self.networks_dir = Path(networks_dir)
        self.max_snap_m = max_snap_m
        self.profile_networks = dict(profile_networks or DEFAULT_PROFILE_NETWORKS)
        self._networks: OnceMap[str, Network] = OnceMap()
        self._loads = itertools.count(1)
        self._generations: dict[str, int] = {}  # network name -> how many loads so far
        self._subsets: OnceMap[tuple[str, str, str | None], _Subset] = OnceMap()
        self._component_labels: OnceMap[str, np.ndarray] = OnceMap()

    # --- networks ------------------------------------------------------------------------
    def network(self, profile: str) -> Network:
        """The network serving ``profile`` (loaded once, memory-mapped)."""
        if profile not in PROFILES:
            raise UnknownProfileError(profile)
        name = self.profile_networks[profile]
        net = self._networks.peek(name)
        return net if net is not None else self._networks.get(name, lambda: self._load(profile))

    def _load(self, profile: str) -> Network:
        name = self.profile_networks[profile]
        folder = self.networks_dir / name
        if not (folder / "meta.json").is_file():
            raise NetworkUnavailableError(
                f"no {profile} network installed (expected {name!r} in the networks "
                "folder); build one with `servicemap network build`"
            )
        net = load_network(folder, mmap=True)
        self._generations[name] = next(self._loads)
        return net

    def forget_networks(self) -> None:
        """Drop the loaded networks: the next request loads them again from the folder.

        For a network rebuilt in place (``servicemap network build``); the facility indexes
        and the cached areas of the old networks are no longer used (their keys name the
        old load, see :meth:`network_token`).
        """
        self._networks.clear()
        self._subsets.clear()
        self._component_labels.clear()

    def network_token(self, profile: str) -> tuple[str, int, str]:
        """What identifies the network of ``profile`` in cache keys: its name, its load
        in this process and its build time (loads the network if need be)."""
        net = self.network(profile)
        built = str(net.meta.get("build", {}).get("built_at", ""))
        return net.name, self._generations.get(net.name, 0), built

    def calibration(self, profile: str) -> Calibration:
        """The estimate calibration of the profile's network."""
        calibration = network_calibration(self.network(profile))
        if calibration is None:
            raise NetworkUnavailableError(
                f"the {profile} network has no calibration; run `servicemap network calibrate`"
            )
        return calibration

    def describe(self) -> list[dict[str, Any]]:
        """Every installed network with its size, profile, calibration and coverage."""
        described = []
        for folder in sorted(p for p in self.networks_dir.iterdir() if (p / "meta.json").is_file()):
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            coverage_path = folder / "coverage.geojson"
            coverage = (
                json.loads(coverage_path.read_text(encoding="utf-8"))
                if coverage_path.is_file() else None
            )
            described.append(
                {
                    "name": folder.name,
                    "profile": meta.get("profile"),
                    "default_for_profile": [
                        p for p, n in self.profile_networks.items() if n == folder.name
                    ],
                    "nodes": meta.get("n_nodes"),
                    "edges": meta.get("n_edges"),
                    "calibration": meta.get("calibration"),
                    "walk_speed_mps": meta.get("walk_speed_mps"),
                    "speeds_kmh": meta.get("speeds_kmh"),
                    "licence": meta.get("licence"),
                    "coverage": coverage,
                }
            )
        return described

    def warm_up(self, layers: tuple[str, ...] = ()) -> None:
        """Load and prepare the networks now (called in the background at start-up).

        Builds each network's snapping grid and routing helpers (and, for walking, the
        isochrone street clusters) so the first requests do not pay for them, then the
        facility indexes of ``layers`` on every profile.
        """
        for profile in PROFILES:
            try:
                net = self.network(profile)
            except LayersError as error:
                logger.warning("%s", error.message)
                continue
            prepare_network(net, isochrone_buffer_m=25.0 if profile == "walk" else None)
            for layer in layers:
                self._subset(layer, profile, None)

    def is_ready(self, layer: str, profile: str, service: str | None = None) -> bool:
        """Whether :meth:`nearest` for these arguments would answer from built structures
        alone (network loaded, facility index current, registry checked recently): then it
        takes well under a millisecond and needs no thread."""
        name = self.profile_networks.get(profile)
        if name is None or self._networks.peek(name) is None or not self.registry.is_fresh(layer):
            return False
        cached = self._subsets.peek((layer, profile, service))
        return cached is not None and cached.version == self.registry.serving(layer, service)[0]

    # --- facility subsets ----------------------------------------------------------------
    def _subset(self, layer: str, profile: str, service: str | None) -> _Subset:
        version, facilities = self.registry.serving(layer, service)
        key = (layer, profile, service)
        cached = self._subsets.peek(key)
        if cached is not None and cached.version == version:
            return cached
        return self._subsets.get(
            key, lambda: self._build_subset(key, version, facilities),
            valid=lambda subset: subset.version == version,
        )  # fmt: skip

    def _build_subset(
        self, key: tuple[str, str, str | None], version: int, facilities: list[Facility]
    ) -> _Subset:
        net = self.network(key[1])
        lon = np.array([f.lon for f in facilities], dtype=float)
        lat = np.array([f.lat for f in facilities], dtype=float)
        index = build_facility_index(net, lon, lat, max_snap_m=self.max_snap_m)
        ok = np.asarray(index.fac_snap.ok, dtype=bool)
        outside = np.flatnonzero(~ok)
        component = np.full(len(facilities), -1, dtype=np.int64)
        if ok.any():
            pieces = np.asarray(index.fac_snap.geo)[ok]
            edge = np.where(net.geo_fwd[pieces] >= 0, net.geo_fwd[pieces], net.geo_bwd[pieces])
            component[ok] = self._components(net)[net.edge_src[edge]]
        subset = _Subset(
            version, facilities, lon, lat, PointIndex(lon, lat), index, outside,
            PointIndex(lon[outside], lat[outside]) if outside.size else None, component,
            {id(f): i for i, f in enumerate(facilities)},
        )
        logger.debug("network index %s: %d facilities (%d off-network)", key,
                     len(facilities), outside.size)  # fmt: skip
        return freeze_arrays(subset)

    def _components(self, net: Network) -> np.ndarray:
        """Weakly connected component label of every node of a network (cached)."""

        def label() -> np.ndarray:
            _, labels = connected_components(net.graph("time"), directed=True, connection="weak")
            return labels

        return self._component_labels.get(net.name, label)

    # --- nearest -------------------------------------------------------------------------
    def nearest(
        self,
        lon: float,
        lat: float,
        layer: str,
        profile: str = "walk",
        k: int = 5,
        max_minutes: float | None = None,
        service: str | None = None,
        open_at: datetime | None = None,
        with_route: bool = True,
    ) -> NetworkNearest:
        """The ``k`` facilities of ``layer`` with the shortest travel time on ``profile``.

        Inside the network's coverage the answer is a network route, door to door: from
        the point to its nearest street (refused when farther than ``max_snap_m``), along
        the streets, and from the facility's street to the facility, ranked by that whole
        trip; facilities off the network are added with an estimate. Outside coverage every answer is an estimate
        (great-circle × calibrated detour factor), marked ``estimated``, with no route.

        Raises
        ------
        SnapTooFarError
            When the point is inside coverage but farther than ``max_snap_m`` from a street.
        """
        get_layer(layer)
        net = self.network(profile)
        calibration = self.calibration(profile)
        subset = self._subset(layer, profile, service)
        max_cost_s = None if max_minutes is None else 60.0 * max_minutes
        inside = bool(in_coverage(net, np.array([lon]), np.array([lat]))[0])
        accept = (lambda f: f.hours is not None and f.hours.is_open(open_at)) if open_at else None
        want = k
        while True:
            hits, snap_m = (
                self._network_hits(subset, lon, lat, want, max_cost_s, with_route, calibration)
                if inside
                else (self._estimated_hits(subset, None, lon, lat, want, max_cost_s,
                                           calibration), None)
            )
            chosen = [h for h in hits if accept is None or accept(h.facility)]
            if len(chosen) >= k or want >= len(subset.facilities) or accept is None:
                break
            want = min(len(subset.facilities), want * 4)
        chosen = chosen[:k]
        unreachable = (
            self._unreachable_nearer(subset, lon, lat, chosen) if inside and max_cost_s is None
            else []
        )
        status, message = "ok", None
        if not chosen:
            if max_cost_s is not None and subset.facilities:
                status = "none_within_limit"
                message = f"no facility of {layer} within {max_minutes:g} minutes ({profile})"
            else:
                status = "unreachable"
                message = (
                    f"no facility of {layer} can be reached from this point by {profile} on "
                    "the network (for example across the river on foot, with no bridge or "
                    "ferry in the data)"
                )
        return NetworkNearest(chosen, status, net.name, inside, snap_m, message, unreachable)

    def _unreachable_nearer(
        self, subset: _Subset, lon: float, lat: float, chosen: list[NetworkHit]
    ) -> list[UnreachableFacility]:
        """The straight-line nearest on-network facility, if the network cannot reach it.

        A facility is reachable when it lies in the street component of a facility the
        search reached (walking networks are symmetric); when the search reached none, no
        facility on the network is reachable.
        """
        if not subset.facilities:
            return []
        great_circle, found = subset.points.query(lon, lat, 1)
        if found.shape[1] == 0:
            return []
        idx = int(found[0, 0])
        candidate = subset.facilities[idx]
        if subset.component[idx] < 0 or any(h.facility is candidate for h in chosen):
            return []
        reached = {int(subset.component[subset.position[id(h.facility)]]) for h in chosen
                   if h.method == "network"}
        if int(subset.component[idx]) in reached:
            return []
        return [UnreachableFacility(candidate, float(great_circle[0, 0]))]

    def _network_hits(
        self,
        subset: _Subset,
        lon: float,
        lat: float,
        k: int,
        max_cost_s: float | None,
        with_route: bool,
        calibration: Calibration,
    ) -> tuple[list[NetworkHit], float]:
        result = nearest(subset.index, np.array([lon]), np.array([lat]), k=k,
                         max_cost_s=max_cost_s, with_route=with_route,
                         max_snap_m=self.max_snap_m)
        status = str(result.status[0])
        snap_m = float(result.snap_distance_m[0])
        if status == "snap_too_far":
            raise SnapTooFarError(snap_m, self.max_snap_m, subset.index.net.name)
        hits = []
        access = result.access_m
        for j in range(k):
            idx = int(result.facility[0, j])
            if idx < 0:
                continue
            route = result.routes[0][j] if result.routes is not None else None
            legs = (float(access[0, j, 0]), float(access[0, j, 1]))
            distance = float(result.distance_m[0, j])
            hits.append(NetworkHit(subset.facilities[idx], distance,
                                   float(result.duration_s[0, j]), "network", route,
                                   distance - legs[0] - legs[1], legs))  # fmt: skip
        if subset.outside.size:
            hits += self._estimated_hits(subset, subset.outside, lon, lat, k, max_cost_s,
                                         calibration)
            hits.sort(key=lambda h: h.duration_s)
        return hits[:k], snap_m

    def _estimated_hits(
        self,
        subset: _Subset,
        among: np.ndarray | None,
        lon: float,
        lat: float,
        k: int,
        max_cost_s: float | None,
        calibration: Calibration,
    ) -> list[NetworkHit]:
        points = subset.points if among is None else subset.outside_points
        if points is None or points.size == 0:
            return []
        great_circle, found = points.query(lon, lat, k)
        hits = []
        for metres, position in zip(great_circle[0], found[0], strict=True):
            idx = int(position) if among is None else int(among[int(position)])
            duration = float(metres) / calibration.crow_speed_mps
            if max_cost_s is not None and duration > max_cost_s:
                continue
            hits.append(NetworkHit(subset.facilities[idx], float(metres) * calibration.detour_median,
                                   duration, "estimated"))
        return hits

    # --- areas and matrices --------------------------------------------------------------
    def isochrones(
        self, lon: float, lat: float, profile: str, minutes: list[float]
    ) -> tuple[Network, list[Isochrone]]:
        """Reachable areas around a point, one per threshold (inside coverage only)."""
        net = self.network(profile)
        if not bool(in_coverage(net, np.array([lon]), np.array([lat]))[0]):
            raise OutOfCoverageError(lon, lat, net.name)
        return net, isochrones(net, lon, lat, minutes, max_snap_m=self.max_snap_m)

    def isochrone_key(
        self, lon: float, lat: float, profile: str, minutes: list[float]
    ) -> tuple[object, ...]:
        """The cache key of :meth:`isochrones`: every input its answer depends on.

        The exact start point (WGS84) rather than its snapped street position: the walk
        from the point to its street is part of the area and of every time.
        """
        return ("isochrones", self.network_token(profile), profile, float(lon), float(lat),
                tuple(float(m) for m in sorted(minutes)))  # fmt: skip

    def service_area_key(self, layer: str, profile: str, minutes: float) -> tuple[object, ...]:
        """The cache key of :meth:`service_area`: network, layer and the layer's version."""
        get_layer(layer)
        version, _ = self.registry.serving(layer, None)
        return ("service_area", self.network_token(profile), profile, layer, version,
                float(minutes))  # fmt: skip

    def service_area(self, layer: str, profile: str, minutes: float) -> tuple[Network, Isochrone, int]:
        """The union of the areas reachable within ``minutes`` from the layer's facilities.

        Returns the network, the area and the number of facilities on the network.
        """
        get_layer(layer)
        subset = self._subset(layer, profile, None)
        area = service_area(subset.index, minutes)
        on_network = int(np.count_nonzero(subset.index.fac_snap.ok))
        return subset.index.net, area, on_network

    def matrix(
        self,
        origins: np.ndarray,
        destinations: np.ndarray,
        profile: str,
        cutoff_s: float | None,
    ) -> dict[str, Any]:
        """Travel times (s) and distances (m) from origins to destinations, door to door.

        Pairs with both ends inside the network's coverage are routed on the network (the
        access legs between each point and its street included); any other pair is
        estimated. With a cutoff, only pairs within it are returned (sparse). The answer
        also holds every point's access leg (``origin_access_m``, ``destination_access_m``;
        NaN outside coverage or beyond the snapping limit).
        """
        net = self.network(profile)
        calibration = self.calibration(profile)
        o_in = in_coverage(net, origins[:, 0], origins[:, 1])
        d_in = in_coverage(net, destinations[:, 0], destinations[:, 1])
        by_time = travel_matrix(net, origins[:, 0], origins[:, 1], destinations[:, 0],
                                destinations[:, 1], weight="time", max_snap_m=self.max_snap_m)
        lengths = travel_matrix(net, origins[:, 0], origins[:, 1], destinations[:, 0],
                                destinations[:, 1], weight="length",
                                max_snap_m=self.max_snap_m).values
        times = np.asarray(by_time.values, dtype=float)
        lengths = np.asarray(lengths, dtype=float)
        o_snap, d_snap = by_time.origin_snap, by_time.destination_snap
        o_access = np.where(o_in & o_snap.ok, o_snap.snap_distance_m, np.nan)
        d_access = np.where(d_in & d_snap.ok, d_snap.snap_distance_m, np.nan)
        great_circle = haversine_m(origins[:, 0, None], origins[:, 1, None],
                                   destinations[None, :, 0], destinations[None, :, 1])
        estimated = ~(o_in[:, None] & d_in[None, :])
        times = np.where(estimated, great_circle / calibration.crow_speed_mps, times)
        lengths = np.where(estimated, great_circle * calibration.detour_median, lengths)
        return {"network": net.name, "duration_s": times, "distance_m": lengths,
                "estimated": estimated, "cutoff_s": cutoff_s, "origin_access_m": o_access,
                "destination_access_m": d_access}

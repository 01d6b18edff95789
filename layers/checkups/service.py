"""Mobile health check-up routing for union staff: request in, plan and map out.

:class:`CheckupService` wires the pure routing engine (:mod:`geo.routing`) to the
platform: a request is checked at the edge (:mod:`layers.checkups.request`: CSV bookings,
GCJ-02/BD-09 conversion, service area, equipment, default depots), drive times come from
the network service (:mod:`layers.checkups.travel`: network where covered, the calibrated
estimate elsewhere, the method recorded per leg), :func:`geo.routing.checkup.solve_checkup`
plans the vehicle-days, the independent checker verifies the plan, and
:class:`CheckupResult` renders it: the plan as JSON (routes per vehicle and day, stops with
ETAs and load, unassigned bookings with reasons), GeoJSON (one feature per vehicle-day,
legs along the streets or straight and marked ``estimated``, numbered stops, depots,
unassigned bookings), the printable schedule (HTML) and CSV.

Usage::

    service = CheckupService(registry, networks)
    prepared = service.check(request_json)            # raises CheckupRequestError (422)
    result = service.solve(prepared, time_limit_s=10, seed=0)
    result.to_dict()["geojson"]
"""

from __future__ import annotations

import colorsys
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geo.routing.checkup import CheckupPlan, CheckupProblem, solve_checkup
from geo.routing.checkup_io import plan_to_csv, plan_to_dict, plan_to_html
from geo.routing.feasibility import check_checkup_plan
from layers.checkups.request import (
    CheckupRequestError,
    PreparedRequest,
    prepare_request,
)
from layers.checkups.travel import DriveMatrices, drive_matrices, leg_geometry
from layers.errors import LayersError
from layers.networks import NetworkService
from layers.registry.service import Registry

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "MAX_TIME_LIMIT_S",
    "CheckupRequestError",
    "CheckupResult",
    "CheckupService",
    "PreparedRequest",
    "route_color",
]

logger = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT_S = 10.0
MAX_TIME_LIMIT_S = 120.0
#: Share of the progress bar before the search (travel times) and after it (drawing).
_SEARCH_FROM, _SEARCH_TO = 0.1, 0.9

Progress = Callable[..., None]


def route_color(index: int) -> str:
    """A distinct colour per vehicle-day (golden-angle hues, dark enough on a light map)."""
    hue = (index * 0.381966) % 1.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.42, 0.75)
    return f"#{round(255 * r):02x}{round(255 * g):02x}{round(255 * b):02x}"


@dataclass
class CheckupResult:
    """A solved request with everything needed to present it.

    Attributes
    ----------
    prepared
        The checked request.
    plan
        The engine's plan.
    travel
        The drive matrices used (with the method per pair).
    legs
        ``(from, to) -> (coordinates, along_streets)`` per leg of every route.
    violations
        The independent checker's findings (empty: feasible).
    seconds
        Wall-clock time of the whole job.
    """

    prepared: PreparedRequest
    plan: CheckupPlan
    travel: DriveMatrices
    legs: dict[tuple[int, int], tuple[list[list[float]], bool]]
    violations: list[str]
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def problem(self) -> CheckupProblem:
        """The routing problem."""
        return self.prepared.problem

    # ------------------------------------------------------------------ indexing helpers
    def _locations(self) -> tuple[dict[str, int], dict[str, int], np.ndarray, np.ndarray]:
        p = self.problem
        depot_idx = {d.id: k for k, d in enumerate(p.depots)}
        n_dep = len(p.depots)
        booking_idx = {b.id: n_dep + i for i, b in enumerate(p.bookings)}
        lon = np.array([d.lon for d in p.depots] + [b.lon for b in p.bookings])
        lat = np.array([d.lat for d in p.depots] + [b.lat for b in p.bookings])
        return depot_idx, booking_idx, lon, lat

    def _route_locations(self) -> list[list[int]]:
        depot_idx, booking_idx, _, _ = self._locations()
        out = []
        for r in self.plan.routes:
            dep = depot_idx[r.depot_id]
            out.append([dep, *(booking_idx[s.booking_id] for s in r.stops), dep])
        return out

    def _leg_method(self, a: int, b: int) -> str:
        return "estimated" if bool(self.travel.estimated[a, b]) else "network"

    # ------------------------------------------------------------------ outputs
    def leg_counts(self) -> dict[str, int]:
        """Legs driven on the network and estimated, over all routes."""
        counts = {"network": 0, "estimated": 0}
        for locs in self._route_locations():
            for a, b in itertools.pairwise(locs):
                counts[self._leg_method(a, b)] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON: routes, stops, unassigned with reasons, summary, GeoJSON."""
        p = self.problem
        info = self.prepared.bookings
        body = plan_to_dict(self.plan, self.prepared.start_date)
        depots = {d.id: d for d in p.depots}
        for k, (route, locs) in enumerate(zip(body["routes"], self._route_locations(),
                                              strict=True)):  # fmt: skip
            route["index"] = k
            route["color"] = route_color(k)
            route["depot_name"] = depots[route["depot"]].name or route["depot"]
            legs = []
            for a, b in itertools.pairwise(locs):
                legs.append({
                    "method": self._leg_method(a, b),
                    "minutes": round(float(self.travel.duration_s[a, b]) / 60, 1),
                    "km": round(float(self.travel.distance_m[a, b]) / 1000, 2),
                })  # fmt: skip
            route["legs"] = legs
            load = {"AM": 0, "PM": 0}
            for stop, leg in zip(route["stops"], legs, strict=False):
                b_info = info.get(stop["booking"])
                stop["name"] = b_info.name if b_info else ""
                stop["address"] = b_info.address if b_info else ""
                stop["leg_method"] = leg["method"]
                stop["drive_min"] = leg["minutes"]
                load[stop["slot"]] += stop["workers"]
                stop["load_slot"] = load[stop["slot"]]
            route["return_leg_method"] = legs[-1]["method"] if legs else "network"
        for u in body["unassigned"]:
            b_info = info.get(u["booking"])
            u["name"] = b_info.name if b_info else ""
            booking = next((b for b in p.bookings if b.id == u["booking"]), None)
            if booking is not None:
                u["lon"], u["lat"] = booking.lon, booking.lat
                u["package"] = booking.package_id
        counts = self.leg_counts()
        total_legs = counts["network"] + counts["estimated"]
        reasons: dict[str, int] = {}
        for u in self.plan.unassigned:
            reasons[u.reason] = reasons.get(u.reason, 0) + 1
        body["summary"].update({
            "bookings": len(p.bookings),
            "bookings_served": len({s.booking_id for r in self.plan.routes for s in r.stops}),
            "unassigned_by_reason": reasons,
            "legs_network": counts["network"],
            "legs_estimated": counts["estimated"],
            "network_share": round(counts["network"] / total_legs, 3) if total_legs else None,
            "network": self.travel.network,
            "feasible": not self.violations,
            "violations": self.violations,
            "job_seconds": round(self.seconds, 2),
        })  # fmt: skip
        body["notes"] = list(self.prepared.notes) + list(self.notes)
        body["geojson"] = self.geojson()
        return body

    def geojson(self) -> dict[str, Any]:
        """FeatureCollection: vehicle-day routes, numbered stops, depots, unassigned."""
        p = self.problem
        info = self.prepared.bookings
        _, _, lon, lat = self._locations()
        body = plan_to_dict(self.plan, self.prepared.start_date)
        features: list[dict[str, Any]] = []
        for k, (route, locs) in enumerate(zip(body["routes"], self._route_locations(),
                                              strict=True)):  # fmt: skip
            color = route_color(k)
            lines, methods, along = [], [], []
            for a, b in itertools.pairwise(locs):
                coords, streets = self.legs.get((a, b), ([[lon[a], lat[a]], [lon[b], lat[b]]],
                                                         False))  # fmt: skip
                lines.append(coords)
                methods.append(self._leg_method(a, b))
                along.append(streets)
            features.append({
                "type": "Feature",
                "id": f"route-{k}",
                "geometry": {"type": "MultiLineString", "coordinates": lines},
                "properties": {
                    "kind": "route", "index": k, "color": color, "vehicle": route["vehicle"],
                    "day": route["day"], "date": route["date"], "depot": route["depot"],
                    "depart": route["depart"], "return": route["return"],
                    "stops": len(route["stops"]), "load_am": route["load_am"],
                    "load_pm": route["load_pm"], "distance_km": route["distance_km"],
                    "travel_min": route["travel_min"], "leg_methods": methods,
                    "leg_along_streets": along,
                },
            })  # fmt: skip
            load = {"AM": 0, "PM": 0}
            for stop in route["stops"]:
                load[stop["slot"]] += stop["workers"]
                b_info = info.get(stop["booking"])
                features.append({
                    "type": "Feature",
                    "id": f"stop-{k}-{stop['seq']}",
                    "geometry": {"type": "Point", "coordinates": [stop["lon"], stop["lat"]]},
                    "properties": {
                        "kind": "stop", "route": k, "color": color, "seq": stop["seq"],
                        "vehicle": route["vehicle"], "day": route["day"], "date": route["date"],
                        "booking": stop["booking"], "name": b_info.name if b_info else "",
                        "part": stop["part"], "parts": stop["parts"], "slot": stop["slot"],
                        "eta": stop["eta"], "start": stop["start"], "end": stop["end"],
                        "workers": stop["workers"], "load_slot": load[stop["slot"]],
                        "package": stop["package"], "lateness_min": stop["lateness_min"],
                    },
                })  # fmt: skip
        for d in p.depots:
            features.append({
                "type": "Feature", "id": f"depot-{d.id}",
                "geometry": {"type": "Point", "coordinates": [d.lon, d.lat]},
                "properties": {"kind": "depot", "id": d.id, "name": d.name or d.id},
            })  # fmt: skip
        by_id = {b.id: b for b in p.bookings}
        for u in self.plan.unassigned:
            b = by_id[u.booking_id]
            b_info = info.get(b.id)
            features.append({
                "type": "Feature", "id": f"unassigned-{b.id}-{u.part}",
                "geometry": {"type": "Point", "coordinates": [b.lon, b.lat]},
                "properties": {
                    "kind": "unassigned", "booking": b.id, "name": b_info.name if b_info else "",
                    "part": u.part, "parts": u.n_parts, "workers": u.workers,
                    "reason": u.reason, "message": u.message,
                },
            })  # fmt: skip
        return {"type": "FeatureCollection", "features": features}

    def schedule_html(self) -> str:
        """The printable per-vehicle schedule with ETAs."""
        return plan_to_html(self.plan, self.problem, self.prepared.start_date)

    def plan_csv(self) -> str:
        """One row per stop and one per unassigned booking."""
        return plan_to_csv(self.plan, self.prepared.start_date)


class CheckupService:
    """Checks, solves and renders check-up routing requests.

    Parameters
    ----------
    registry
        The facility registry (service area, default depots).
    networks
        The network service for drive times; ``None`` uses the straight-line estimate.
    n_workers
        Search processes per solve (``None``: up to 2).
    """

    def __init__(
        self,
        registry: Registry,
        networks: NetworkService | None,
        n_workers: int | None = None,
    ) -> None:
        self.registry = registry
        self.networks = networks
        self.n_workers = n_workers

    def check(self, data: Any, *, strict: bool = True) -> PreparedRequest:
        """Check a request and build its routing problem; nothing is solved.

        Raises
        ------
        CheckupRequestError
            Every problem found, with field paths (status 422).
        """
        return prepare_request(data, self.registry, strict=strict)

    def travel(self, prepared: PreparedRequest) -> DriveMatrices:
        """Drive matrices for a prepared request (the request's own matrix if it gave one)."""
        p = prepared.problem
        n_loc = len(p.depots) + len(p.bookings)
        cut = np.array([False] * len(p.depots) + [b.id in prepared.outside for b in p.bookings])
        if prepared.matrix is not None:
            duration, distance, method = prepared.matrix
            duration = np.array(duration, dtype=float)
            distance = np.zeros_like(duration) if distance is None else np.array(distance, float)
            _cut(duration, distance, cut)
            estimated = np.full((n_loc, n_loc), method != "network")
            return DriveMatrices(duration, distance, estimated, None)
        lon = np.array([d.lon for d in p.depots] + [b.lon for b in p.bookings])
        lat = np.array([d.lat for d in p.depots] + [b.lat for b in p.bookings])
        if self.networks is None:
            return _estimate_only(p, cut)
        try:
            return drive_matrices(self.networks, lon, lat, cut)
        except LayersError as error:  # no drive network installed
            logger.warning("drive network unavailable, using the estimate: %s", error.message)
            return _estimate_only(p, cut)

    def solve(
        self,
        prepared: PreparedRequest,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
        seed: int = 0,
        progress_cb: Progress | None = None,
        with_geometry: bool = True,
    ) -> CheckupResult:
        """Plan the vehicle-days of a prepared request.

        Parameters
        ----------
        prepared
            From :meth:`check`.
        time_limit_s
            Budget of the search (travel times and drawing come on top).
        seed
            Search seed (fixed seed and machine load → same plan).
        progress_cb
            ``progress_cb(message, fraction)`` for a background job.
        with_geometry
            Rebuild network legs along the streets (else every leg is straight).

        Returns
        -------
        CheckupResult
        """
        start = time.perf_counter()

        def report(message: str, fraction: float | None) -> None:
            if progress_cb is not None:
                progress_cb(message, fraction)

        p = prepared.problem
        report(f"行车时间 drive times: {len(p.depots) + len(p.bookings)} places", 0.02)
        travel = self.travel(prepared)
        report("搜索 searching", _SEARCH_FROM)

        def on_progress(elapsed_s: float, best_cost: int) -> None:
            share = min(1.0, elapsed_s / max(time_limit_s, 1e-6))
            found = "no plan yet" if best_cost < 0 else "best plan so far kept"
            report(f"搜索 searching {elapsed_s:.0f}/{time_limit_s:.0f} s ({found})",
                   _SEARCH_FROM + (_SEARCH_TO - _SEARCH_FROM) * share)  # fmt: skip

        plan = solve_checkup(
            p, travel.duration_s, travel.distance_m, time_limit_s=time_limit_s, seed=seed,
            n_workers=self.n_workers, leg_method=travel.method, on_progress=on_progress,
        )  # fmt: skip
        violations = check_checkup_plan(p, plan, travel.duration_s)
        notes = []
        if violations:
            logger.error("check-up plan fails the independent check: %s", violations[:5])
            notes.append(
                f"WARNING: the plan breaks {len(violations)} rule(s) ({violations[0]}); the "
                f"search had too little time ({time_limit_s:g} s) to find a plan within every "
                "rule — run it again with a longer time limit"
            )
        report("绘制路线 drawing the routes", _SEARCH_TO)
        result = CheckupResult(prepared, plan, travel, {}, violations, 0.0, notes)
        locs = result._route_locations()
        legs = [(a, b) for seq in locs for a, b in itertools.pairwise(seq)]
        network_legs = {leg for leg in legs if not bool(travel.estimated[leg])}
        _, _, lon, lat = result._locations()
        networks = self.networks if with_geometry and travel.network is not None else None
        result.legs = leg_geometry(networks, lon, lat, legs, network_legs)
        off = [i - len(p.depots) for i in travel.off_street if i >= len(p.depots)]
        if off:
            names = ", ".join(p.bookings[i].id for i in off[:10])
            result.notes.append(
                f"{len(off)} booking(s) lie more than {self.networks.max_snap_m:.0f} m from a "  # type: ignore[union-attr]
                f"street of the drive network; their legs are estimated: {names}"
            )
        result.seconds = time.perf_counter() - start
        report("完成 done", 1.0)
        return result


def _estimate_only(problem: CheckupProblem, cut: np.ndarray) -> DriveMatrices:
    from geo.routing.checkup import estimate_matrices

    duration, distance = estimate_matrices(problem)
    _cut(duration, distance, cut)
    return DriveMatrices(duration, distance, np.ones_like(duration, dtype=bool), None)


def _cut(duration: np.ndarray, distance: np.ndarray, cut: np.ndarray) -> None:
    """Make the ``cut`` locations unreachable (rows and columns ``inf``), in place."""
    for mat in (duration, distance):
        mat[cut, :] = np.inf
        mat[:, cut] = np.inf
        np.fill_diagonal(mat, 0.0)

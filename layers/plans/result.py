"""The answer of a planning request: chosen sites, workers newly covered, GeoJSON.

:func:`build_result` turns the solver's column indices back into facilities (id, name,
layer, district, position) and computes what planners read: workers covered before and
after within ``max_minutes`` (for every model, from the same sparse walking times), the
workplaces newly covered (with the new site that reaches them, the minutes and the method of
that pair), a table per district and the coverage curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from geo.location import LocationResult
from layers.plans.costs import PlanCosts, nearest_open
from layers.registry.catalog import DISTRICTS

if TYPE_CHECKING:
    from layers.plans.service import Demand, PlanRequest, Sites

#: What the objective of each model measures.
OBJECTIVE_UNITS: dict[str, str] = {
    "mclp": "workers within max_minutes (existing and new sites)",
    "pmedian": "worker-minutes to the nearest site (capped at the horizon)",
    "lscp": "new sites",
    "pcenter": "minutes, longest walk to the nearest site",
}
NO_DISTRICT = "—"


def _whole(value: float) -> int:
    """Nearest whole number (workers are whole people)."""
    return int(np.rint(float(value)))


def _num(value: float | None, digits: int = 3) -> float | int | None:
    if value is None or not math.isfinite(value):
        return None
    value = round(float(value), digits)
    return int(value) if value.is_integer() else value


@dataclass(frozen=True)
class PlanResult:
    """Everything a planning answer shows (JSON-ready lists and dicts).

    Attributes
    ----------
    request
        The request echo (:meth:`layers.plans.service.PlanRequest.to_dict`).
    summary
        Model, status, objective, bound, gap, seconds, totals, costs, budget spent.
    sites
        Chosen new sites: id, name, layer, district, lon, lat, cost_yuan, workers newly
        covered with this site as the nearest new one.
    upgrades
        Existing points chosen for an upgrade (same fields).
    existing
        The existing sites (id, name, layer, district, lon, lat, status).
    workplaces
        Newly covered workplaces: id, name, district, workers, workers_basis (what the
        estimate rests on, or ``registry``), lon, lat, minutes, site_id, method.
    districts
        One row per district: new sites, upgrades, existing sites, workers in workplaces,
        covered before, newly covered, covered after.
    curve
        Coverage curve points (n_new, status, workers_covered, workers_newly_covered, gap).
    """

    request: dict[str, Any]
    summary: dict[str, Any]
    sites: list[dict[str, Any]] = field(default_factory=list)
    upgrades: list[dict[str, Any]] = field(default_factory=list)
    existing: list[dict[str, Any]] = field(default_factory=list)
    workplaces: list[dict[str, Any]] = field(default_factory=list)
    districts: list[dict[str, Any]] = field(default_factory=list)
    curve: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``optimal``, ``feasible`` or ``infeasible``."""
        return str(self.summary["status"])

    def to_dict(self) -> dict[str, Any]:
        """Summary, tables and curve (no GeoJSON)."""
        return {"request": self.request, "summary": self.summary, "districts": self.districts,
                "curve": self.curve, "sites": self.sites, "upgrades": self.upgrades}  # fmt: skip

    def sites_collection(self) -> dict[str, Any]:
        """GeoJSON FeatureCollection of the chosen new sites (and upgrades, ``role``)."""
        rows = [{**s, "role": "new"} for s in self.sites]
        rows += [{**s, "role": "upgrade"} for s in self.upgrades]
        return _points(rows)

    def existing_collection(self) -> dict[str, Any]:
        """GeoJSON FeatureCollection of the existing sites."""
        return _points([{**s, "role": "existing"} for s in self.existing])

    def workplaces_collection(self) -> dict[str, Any]:
        """GeoJSON FeatureCollection of the newly covered workplaces (points)."""
        return _points([{**w, "role": "newly_covered"} for w in self.workplaces])

    def geojson(self) -> dict[str, Any]:
        """One FeatureCollection with every feature (``role``: new, upgrade, existing,
        newly_covered) and the summary as a foreign member."""
        features = (self.sites_collection()["features"] + self.existing_collection()["features"]
                    + self.workplaces_collection()["features"])  # fmt: skip
        return {"type": "FeatureCollection", "summary": self.summary, "request": self.request,
                "districts": self.districts, "curve": self.curve, "features": features}  # fmt: skip


def _points(rows: list[dict[str, Any]]) -> dict[str, Any]:
    features = []
    for row in rows:
        props = {k: v for k, v in row.items() if k not in ("lon", "lat")}
        features.append({"type": "Feature", "id": f"{row['role']}:{row['id']}",
                         "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                         "properties": props})  # fmt: skip
    return {"type": "FeatureCollection", "features": features}


def _site_row(sites: Sites, column: int, extra: dict[str, Any]) -> dict[str, Any]:
    f = sites.facilities[column]
    return {"id": f.id, "name": f.name, "layer": f.layer, "district": f.district,
            "lon": round(float(sites.lon[column]), 6), "lat": round(float(sites.lat[column]), 6),
            **extra}  # fmt: skip


def build_result(
    request: PlanRequest,
    demand: Demand,
    sites: Sites,
    costs: PlanCosts,
    main: LocationResult,
    upgrade: LocationResult | None,
    curve: list[dict[str, Any]],
    total_seconds: float,
) -> PlanResult:
    """Assemble the answer from the solver results (see the module docstring)."""
    T = request.max_minutes  # noqa: N806 - the coverage threshold, as in the formulation
    workers = demand.workers
    new_cols = np.asarray(main.new_sites, dtype=np.int64)
    existing = sites.existing
    before = nearest_open(costs, existing)
    after = nearest_open(costs, np.r_[existing, new_cols])
    covered_before = before.minutes <= T
    covered_after = after.minutes <= T
    newly = covered_after & ~covered_before
    reachable = nearest_open(costs, np.arange(len(sites.facilities))).minutes <= T
    per_site = np.bincount(after.site[newly], weights=workers[newly],
                           minlength=len(sites.facilities))  # fmt: skip
    new_rows = [_site_row(sites, int(j), {"kind": "new", "cost_yuan": request.new_cost_yuan,
                                          "workers_newly_covered": _whole(per_site[j])})
                for j in new_cols]  # fmt: skip
    upgrade_rows: list[dict[str, Any]] = []
    if upgrade is not None:
        upgrade_rows = [_site_row(sites, int(j), {"kind": "upgrade",
                                                  "cost_yuan": request.upgrade_cost_yuan})
                        for j in upgrade.new_sites]  # fmt: skip
    existing_rows = [_site_row(sites, int(j), {"status": str(sites.facilities[j].status)})
                     for j in existing]  # fmt: skip
    order = np.flatnonzero(newly)
    order = order[np.lexsort((demand.id[order], -workers[order]))]
    wp_rows = [{"id": str(demand.id[i]), "name": demand.name[i] or "未命名 / unnamed",
                "district": demand.district[i], "workers": _whole(workers[i]),
                "workers_basis": None if demand.basis is None else str(demand.basis[i]),
                "lon": round(float(demand.lon[i]), 6), "lat": round(float(demand.lat[i]), 6),
                "minutes": round(float(after.minutes[i]), 1),
                "minutes_before": _num(before.minutes[i], 1),
                "site_id": sites.facilities[int(after.site[i])].id,
                "method": str(after.method[i])} for i in order.tolist()]  # fmt: skip
    districts = _district_table(demand, sites, new_cols, upgrade, covered_before, newly)
    spent = len(new_cols) * request.new_cost_yuan + len(upgrade_rows) * request.upgrade_cost_yuan
    capped_before = np.minimum(before.minutes, request.cutoff_minutes)
    capped_after = np.minimum(after.minutes, request.cutoff_minutes)
    total_workers = float(workers.sum())
    summary = {
        "model": main.model, "status": str(main.status),
        "objective": _num(main.objective), "bound": _num(main.bound),
        "gap": None if main.gap is None else float(main.gap),
        "objective_unit": OBJECTIVE_UNITS[main.model],
        "message": main.message, "reason": main.message if main.status == "infeasible" else None,
        "seconds": round(main.seconds, 3), "total_seconds": round(total_seconds, 3),
        "n_new": len(new_cols), "n_upgrade": len(upgrade_rows), "n_existing": len(existing),
        "n_candidates": len(sites.candidates), "max_minutes": T,
        "existing_demo_left_out": sites.existing_demo_left_out,
        "host_types": list(sites.host_types),
        "candidates_left_out_by_host_type": dict(sites.host_types_left_out),
        "workers_total": _whole(total_workers),
        "workers_covered_before": _whole(workers[covered_before].sum()),
        "workers_newly_covered": _whole(workers[newly].sum()),
        "workers_covered_after": _whole(workers[covered_after].sum()),
        "workers_not_coverable": _whole(workers[~reachable].sum()),
        "workplaces_newly_covered": int(newly.sum()),
        "mean_minutes_before": _num(float(capped_before @ workers) / max(total_workers, 1.0), 2),
        "mean_minutes_after": _num(float(capped_after @ workers) / max(total_workers, 1.0), 2),
        "spent_yuan": spent, "budget_yuan": request.budget_yuan,
        "costs": {"pairs": costs.n_pairs, "cutoff_minutes": costs.cutoff_minutes,
                  "methods": costs.method_counts(), "seconds": round(costs.seconds, 3)},
        "solver": {k: v for k, v in main.stats.items() if isinstance(v, int | float | str)},
    }  # fmt: skip
    if upgrade is not None:
        summary["upgrade"] = {"status": str(upgrade.status), "objective": _num(upgrade.objective),
                              "gap": upgrade.gap, "seconds": round(upgrade.seconds, 3),
                              "message": upgrade.message,
                              "workers_newly_within_reach": _num(
                                  upgrade.stats.get("newly_covered"))}  # fmt: skip
    return PlanResult(request.to_dict(), summary, new_rows, upgrade_rows, existing_rows,
                      wp_rows, districts, curve)  # fmt: skip


def _district_table(
    demand: Demand,
    sites: Sites,
    new_cols: np.ndarray,
    upgrade: LocationResult | None,
    covered_before: np.ndarray,
    newly: np.ndarray,
) -> list[dict[str, Any]]:
    names = [d or NO_DISTRICT for d in demand.district.tolist()]
    site_d = [f.district or NO_DISTRICT for f in sites.facilities]
    order = [*DISTRICTS, *sorted({*names, *site_d} - set(DISTRICTS))]
    rows = {d: {"district": d, "new_sites": 0, "upgrades": 0, "existing_sites": 0,
                "candidates": 0, "workplaces": 0, "workers": 0.0, "covered_before": 0.0,
                "newly_covered": 0.0, "workplaces_newly_covered": 0} for d in order}  # fmt: skip
    for j in new_cols.tolist():
        rows[site_d[j]]["new_sites"] += 1
    for j in (upgrade.new_sites if upgrade is not None else ()):
        rows[site_d[j]]["upgrades"] += 1
    for j in range(len(sites.facilities)):
        rows[site_d[j]]["existing_sites" if j < sites.n_existing else "candidates"] += 1
    w = demand.workers
    for i, d in enumerate(names):
        row = rows[d]
        row["workplaces"] += 1
        row["workers"] += w[i]
        row["covered_before"] += w[i] if covered_before[i] else 0.0
        if newly[i]:
            row["newly_covered"] += w[i]
            row["workplaces_newly_covered"] += 1
    out = []
    for d in order:
        row = rows[d]
        if not (row["workplaces"] or row["existing_sites"] or row["candidates"]):
            continue
        for key in ("workers", "covered_before", "newly_covered"):
            row[key] = _whole(row[key])
        row["covered_after"] = row["covered_before"] + row["newly_covered"]
        row["share_after"] = round(row["covered_after"] / row["workers"], 4) if row["workers"] else None
        out.append(row)
    return out

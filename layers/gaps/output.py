"""Gap answers as GeoJSON features and flat rows, with one-line reasons in Chinese and English.

Shared by the API (``/api/v1/gaps/*``), the CLI exports and the HTML report. Features are
ordered by rank; each has the workplace id as its stable ``id``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from geo.coverage.lunch import PLAN_TARGET_PLACES, PLAN_TARGET_WORKERS
from layers.gaps.service import GapService, LunchResult, MedicalResult

Geometry = Literal["polygon", "point"]
KIND_ZH = {"park": "园区", "building": "楼宇"}


def _round(value: float, digits: int = 1) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def medical_reason(result: MedicalResult, i: int) -> dict[str, str]:
    """Why workplace ``i`` is (not) flagged, in zh and en."""
    minutes = float(result.gaps.minutes[i])
    workers = int(result.workers[i])
    limit = result.max_minutes
    ref = result.nearest[i]
    name = ref.name if ref is not None else "—"
    if not math.isfinite(minutes):
        zh = f"步行范围内没有医疗资源；约{workers:,}名职工"
        en = f"No medical resource can be reached on foot; about {workers:,} workers"
    elif result.gaps.flagged[i]:
        zh = f"步行至最近医疗资源（{name}）约{minutes:.0f}分钟，超过{limit:g}分钟；约{workers:,}名职工"
        en = (f"Nearest medical resource ({name}) is a {minutes:.0f}-min walk, over the "
              f"{limit:g}-min threshold; about {workers:,} workers")  # fmt: skip
    elif minutes > limit:
        zh = f"步行约{minutes:.0f}分钟，但职工约{workers:,}人，少于{result.min_workers:,.0f}人"
        en = (f"{minutes:.0f}-min walk, but about {workers:,} workers, fewer than "
              f"{result.min_workers:,.0f}")  # fmt: skip
    else:
        zh = f"步行{minutes:.0f}分钟内有医疗资源（{name}）"
        en = f"Medical resource ({name}) within a {minutes:.0f}-min walk"
    return {"zh": zh, "en": en}


def lunch_reason(result: LunchResult, i: int) -> dict[str, str]:
    """Why workplace ``i`` is (not) flagged for lunch, in zh and en."""
    count = int(result.gaps.outlets_reachable[i])
    supply = float(result.gaps.supply_per_1000[i])
    workers = int(result.workers[i])
    walk = result.walk_minutes
    limit = result.min_supply_per_1000
    if count == 0:
        zh = f"步行{walk:g}分钟内没有餐饮网点；约{workers:,}名职工"
        en = f"No food outlet within a {walk:g}-min walk; about {workers:,} workers"
    elif supply < limit:
        zh = (f"步行{walk:g}分钟内{count}个餐饮网点，折合每千名职工{supply:.2f}个，"
              f"低于{limit:g}个；约{workers:,}名职工")  # fmt: skip
        en = (f"{count} food outlets within a {walk:g}-min walk, {supply:.2f} per 1,000 "
              f"workers, below {limit:g}; about {workers:,} workers")  # fmt: skip
    else:
        zh = f"步行{walk:g}分钟内{count}个餐饮网点，每千名职工{supply:.2f}个"
        en = f"{count} food outlets within a {walk:g}-min walk, {supply:.2f} per 1,000 workers"
    if not result.gaps.flagged[i] and count and supply < limit:
        zh += f"（职工少于{result.min_workers:,.0f}人，不计入）"
        en += f" (fewer than {result.min_workers:,.0f} workers: not flagged)"
    return {"zh": zh, "en": en}


def _base(service: GapService, result: MedicalResult | LunchResult, i: int) -> dict[str, Any]:
    wp = service.workplaces
    return {
        "name": wp.name[i],
        "kind": wp.kind[i],
        "category": wp.category[i],
        "district": wp.district[i],
        "subdistrict": wp.subdistrict[i],
        "area_m2": round(float(wp.area_m2[i]), 1),
        "workers": int(result.workers[i]),
        "workers_estimated": result.basis[i] != "registry",
        "workers_basis": str(result.basis[i]),
        "workers_overridden": result.basis[i] == "registry",
        "lon": round(float(wp.lon[i]), 6),
        "lat": round(float(wp.lat[i]), 6),
    }


def medical_properties(service: GapService, result: MedicalResult, i: int) -> dict[str, Any]:
    """Feature properties of workplace ``i`` for the medical answer."""
    ref = result.nearest[i]
    reason = medical_reason(result, i)
    return {
        **_base(service, result, i),
        "flagged": bool(result.gaps.flagged[i]),
        "score": round(float(result.gaps.score[i]), 1),
        "rank": int(result.gaps.rank[i]),
        "minutes_to_medical": _round(float(result.gaps.minutes[i])),
        "excess_minutes": round(float(result.gaps.excess_minutes[i]), 1),
        "nearest_medical": None if ref is None else {"id": ref.id, "name": ref.name,
                                                     "layer": ref.layer},
        "method": result.method[i],
        "reason": reason,
        "reason_zh": reason["zh"],
        "reason_en": reason["en"],
    }


def lunch_properties(service: GapService, result: LunchResult, i: int) -> dict[str, Any]:
    """Feature properties of workplace ``i`` for the lunch answer."""
    reason = lunch_reason(result, i)
    return {
        **_base(service, result, i),
        "flagged": bool(result.gaps.flagged[i]),
        "score": round(float(result.gaps.score[i]), 1),
        "rank": int(result.gaps.rank[i]),
        "outlets_reachable": int(result.gaps.outlets_reachable[i]),
        "supply_per_1000_workers": round(float(result.gaps.supply_per_1000[i]), 4),
        "method": result.method[i],
        "reason": reason,
        "reason_zh": reason["zh"],
        "reason_en": reason["en"],
    }


def _order(rank: np.ndarray, flagged: np.ndarray, flagged_only: bool, limit: int | None) -> list[int]:
    idx = np.flatnonzero(flagged) if flagged_only else np.arange(rank.shape[0])
    idx = idx[np.argsort(rank[idx], kind="stable")]
    return (idx if limit is None else idx[:limit]).tolist()


def _geometry(service: GapService, i: int, geometry: Geometry) -> dict[str, Any]:
    if geometry == "point":
        wp = service.workplaces
        return {"type": "Point", "coordinates": [round(float(wp.lon[i]), 6),
                                                 round(float(wp.lat[i]), 6)]}
    return service.geometry_json[i]


def _collection(service: GapService, order: list[int], props: Any, geometry: Geometry,
                summary: dict[str, Any]) -> dict[str, Any]:
    ids = service.workplaces.id
    return {
        "type": "FeatureCollection",
        "summary": summary,
        "features": [
            {"type": "Feature", "id": str(ids[i]), "geometry": _geometry(service, i, geometry),
             "properties": {"id": str(ids[i]), **props(i)}}
            for i in order
        ],
        "attribution": "© OpenStreetMap contributors, ODbL 1.0; employment: Shanghai 5th "
        "economic census (2023)",
    }


def medical_collection(
    service: GapService, result: MedicalResult, *, flagged_only: bool = False,
    limit: int | None = None, geometry: Geometry = "polygon",
) -> dict[str, Any]:
    """The medical answer as a GeoJSON FeatureCollection (features by rank)."""
    order = _order(result.gaps.rank, result.gaps.flagged, flagged_only, limit)
    summary = {
        "analysis": "medical",
        "max_minutes": result.max_minutes,
        "min_workers": result.min_workers,
        "medical_layers": list(result.layers),
        "supply": medical_supply(result),
        "workplaces": int(result.gaps.flagged.size),
        "flagged": result.n_flagged,
        "workers_flagged": result.workers_flagged,
        "methods": {str(k): int(v) for k, v in zip(*np.unique(result.method.astype(str),
                                                                return_counts=True), strict=True)},
    }
    return _collection(service, order, lambda i: medical_properties(service, result, i),
                       geometry, summary)  # fmt: skip


def medical_supply(result: MedicalResult) -> dict[str, Any]:
    """Which medical layers counted how many facilities and lost how many demo records."""
    return {
        "include_demo": result.include_demo,
        "demo_left_out": result.demo_left_out,
        "layers_with_demo_left_out": [s.layer for s in result.supply if s.demo_left_out],
        "layers": [s.to_dict() for s in result.supply],
    }


def lunch_collection(
    service: GapService, result: LunchResult, *, flagged_only: bool = False,
    limit: int | None = None, geometry: Geometry = "polygon",
) -> dict[str, Any]:
    """The lunch answer as a GeoJSON FeatureCollection (features by rank)."""
    order = _order(result.gaps.rank, result.gaps.flagged, flagged_only, limit)
    worst = result.worst
    names = service.workplaces.name
    summary = {
        "analysis": "lunch",
        "walk_minutes": result.walk_minutes,
        "min_supply_per_1000_workers": result.min_supply_per_1000,
        "min_workers": result.min_workers,
        "workplaces": int(result.gaps.flagged.size),
        "flagged": result.n_flagged,
        "workers_flagged": result.workers_flagged,
        "worst": [
            {"id": str(service.workplaces.id[i]), "name": names[i],
             "district": service.workplaces.district[i], "workers": int(result.workers[i]),
             "workers_basis": str(result.basis[i])}
            for i in worst.index.tolist()
        ],
        "worst_workers_total": worst.workers_total,
        "plan_target": {"places": PLAN_TARGET_PLACES, "workers": PLAN_TARGET_WORKERS,
                        "met_by_worst": worst.meets_target},
    }
    return _collection(service, order, lambda i: lunch_properties(service, result, i),
                       geometry, summary)  # fmt: skip


CSV_COLUMNS = {
    "medical": ("rank", "id", "name", "kind", "district", "subdistrict", "workers",
                "workers_basis", "flagged", "score", "minutes_to_medical", "nearest_medical_id", "nearest_medical_name",
                "nearest_medical_layer", "method", "reason_zh", "reason_en", "lon", "lat"),
    "lunch": ("rank", "id", "name", "kind", "district", "subdistrict", "workers",
              "workers_basis", "flagged", "score", "outlets_reachable", "supply_per_1000_workers", "method", "reason_zh",
              "reason_en", "lon", "lat"),
}  # fmt: skip


def flat_rows(collection: dict[str, Any]) -> list[dict[str, Any]]:
    """CSV rows (one per feature) from a collection made here."""
    rows = []
    for feature in collection["features"]:
        p = dict(feature["properties"])
        near = p.pop("nearest_medical", None) or {}
        p.pop("reason", None)
        p["nearest_medical_id"] = near.get("id", "")
        p["nearest_medical_name"] = near.get("name", "")
        p["nearest_medical_layer"] = near.get("layer", "")
        rows.append(p)
    return rows

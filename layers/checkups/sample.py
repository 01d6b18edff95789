"""Demonstration check-up requests: bookings at real workplace locations (DEMO data).

The union's booking lists are not public, so the examples, tests and the Shanghai
benchmark use a generated request. Everything about the *bookings* is invented with a
fixed seed; only the places are real:

* **where** -- workplaces (industrial and commercial parks and buildings from
  OpenStreetMap, ``data/workplaces/workplaces.parquet`` via :mod:`layers.gaps.data`),
  spread over all 16 districts: every district gets ``max(1, n // 40)`` bookings, the rest
  in proportion to its number of workplaces;
* **who** -- a small firm or site of the groups the 2023 plan names (express delivery,
  freight driving, food delivery, ride-hailing, care work, domestic service, property
  management, construction, sanitation) with 10–120 workers to examine (log-normal,
  median about 18); platform groups get priority 2;
* **what** -- the 2023 packages L1–L4 and two of the special packs: the heart pack
  (心功能专项包, needs an ECG) and the stroke pack (脑卒中专项包, needs carotid ultrasound,
  carried by a third of the vehicles). Set-up and per-worker times are assumptions;
* **when** -- AM only (45 %), PM only (30 %) or either; 30 % name three working days;
  10 % of the single-slot bookings ask for a soft one-hour window; optionally a share of
  the positions come as GCJ-02 (as an Amap-geocoded address would);
* **fleet** -- vehicles starting from district union worker service centres (their
  registry positions), two per depot by default, 50 examinations per half-day and 90 per
  day, shift 07:30–17:30 with lunch 11:30–13:00, working Monday–Friday.

Run ``python -m layers.checkups.sample --bookings 60 --vehicles 4 --working-days 5
--out data/samples/checkup_week.json`` to rebuild the shipped week.
"""

from __future__ import annotations

import argparse
import json
import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from geo.crs import from_wgs84
from layers.gaps.data import load_workplaces
from layers.registry.catalog import DISTRICTS
from layers.registry.shipped import DEFAULT_DATA_DIR, iter_facilities

logger = logging.getLogger(__name__)

DEFAULT_SEED = 20230605
DEFAULT_START = "2023-06-05"  # a Monday
#: Depot districts in the order vehicles are assigned to them.
#: (Only eight of the sixteen service centres have a known position in the registry.)
DEFAULT_DEPOT_DISTRICTS = ("徐汇区", "浦东新区", "闵行区", "杨浦区", "长宁区", "崇明区")

PACKAGES: tuple[dict[str, Any], ...] = (
    {"id": "L1", "name": "L1 常规套餐", "setup_min": 20, "per_worker_min": 1.5},
    {"id": "L2", "name": "L2 常规套餐", "setup_min": 20, "per_worker_min": 2.0},
    {"id": "L3", "name": "L3 常规套餐", "setup_min": 25, "per_worker_min": 2.5},
    {"id": "L4", "name": "L4 常规套餐", "setup_min": 25, "per_worker_min": 3.0},
    {"id": "heart", "name": "心功能专项包", "setup_min": 15, "per_worker_min": 2.0,
     "skills": ["ecg"]},
    {"id": "stroke", "name": "脑卒中专项包", "setup_min": 20, "per_worker_min": 3.0,
     "skills": ["carotid_ultrasound"]},
)  # fmt: skip
PACKAGE_SHARES = (0.35, 0.25, 0.15, 0.10, 0.08, 0.07)
SECTORS = (
    ("物流快递站点", 2), ("货运驾驶员之家", 1), ("网约送餐站点", 2), ("网约车服务站", 2),
    ("护工护理机构", 1), ("家政服务公司", 1), ("物业管理处", 1), ("建筑工地项目部", 1),
    ("环卫作业所", 1),
)  # fmt: skip


def _calendar(working_days: int) -> tuple[int, list[int]]:
    """Horizon length and working-day indices (Monday start, weekends off)."""
    days: list[int] = []
    d = 0
    while len(days) < working_days:
        if d % 7 < 5:
            days.append(d)
        d += 1
    return days[-1] + 1, days


def _quotas(n: int, districts: np.ndarray, rng: np.random.Generator) -> dict[str, int]:
    names = [d for d in DISTRICTS if (districts == d).any()]
    floor = max(1, n // 40)
    quotas = {d: min(floor, int((districts == d).sum())) for d in names}
    rest = n - sum(quotas.values())
    if rest > 0:
        weights = np.array([(districts == d).sum() for d in names], dtype=float)
        extra = rng.multinomial(rest, weights / weights.sum())
        for d, k in zip(names, extra, strict=True):
            quotas[d] += int(k)
    return quotas


def generate_checkup_request(
    data_dir: Path = DEFAULT_DATA_DIR,
    n_bookings: int = 300,
    n_vehicles: int = 6,
    working_days: int = 10,
    n_depots: int = 3,
    seed: int = DEFAULT_SEED,
    start_date: str = DEFAULT_START,
    gcj_share: float = 0.0,
) -> dict[str, Any]:
    """A demonstration check-up request (the JSON format of ``docs/checkups.md``).

    Parameters
    ----------
    data_dir
        The shipped data directory (workplaces, service centres).
    n_bookings
        Bookings, spread over the 16 districts.
    n_vehicles
        Vehicles, assigned in turn to the depots.
    working_days
        Working days (Monday–Friday) from ``start_date``; weekends are in the horizon but
        no vehicle works and no booking asks for them.
    n_depots
        Depots: the service centres of the first ``n_depots`` of
        :data:`DEFAULT_DEPOT_DISTRICTS`.
    seed
        Random seed (same seed, same request).
    start_date
        Day 0 (a Monday).
    gcj_share
        Share of bookings whose position is given in GCJ-02 (``"crs": "gcj02"``), as an
        Amap-geocoded address would be; the API converts them, the plain
        ``servicemap route --problem`` command does not (keep 0 for it).

    Returns
    -------
    dict
        The request, with ``"demo": true`` and a ``"description"``.
    """
    rng = np.random.default_rng(seed)
    wp = load_workplaces(Path(data_dir))
    districts = np.array([d or "" for d in wp.district], dtype=object)
    n_days, work_days = _calendar(working_days)
    quotas = _quotas(n_bookings, districts, rng)
    chosen: list[int] = []
    for district in DISTRICTS:
        pool = np.flatnonzero(districts == district)
        k = quotas.get(district, 0)
        if k:
            chosen += sorted(rng.choice(pool, size=min(k, pool.size), replace=False).tolist())
    centres = {f.district: f for f in iter_facilities(Path(data_dir), "service_centre")
               if f.lon is not None and f.lat is not None}  # some are not located
    depot_districts = [d for d in DEFAULT_DEPOT_DISTRICTS if d in centres][:n_depots]
    depots = [
        {"id": d, "name": centres[d].name, "lon": centres[d].lon, "lat": centres[d].lat,
         "address": centres[d].address or ""}
        for d in depot_districts
    ]  # fmt: skip
    vehicles = []
    for v in range(n_vehicles):
        skills = ["ecg"] + (["carotid_ultrasound"] if v % 3 == 0 else [])
        vehicles.append({
            "id": f"体检车{v + 1:02d}", "depot": depot_districts[v % len(depot_districts)],
            "capacity_half_day": 50, "capacity_day": 90, "shift": ["07:30", "17:30"],
            "lunch_break": ["11:30", "13:00"], "skills": skills, "days": work_days,
        })  # fmt: skip
    bookings = []
    pkg_ids = [p["id"] for p in PACKAGES]
    for k, i in enumerate(chosen):
        sector, priority = SECTORS[int(rng.integers(len(SECTORS)))]
        place = wp.subdistrict[i] or wp.district[i] or ""
        real = wp.name[i] if wp.name[i] and not str(wp.name[i]).startswith("未命名") else None
        name = f"{place}{sector}（示例{k + 1:03d}）"
        workers = int(np.clip(round(rng.lognormal(np.log(18), 0.6)), 10, 120))
        package = pkg_ids[int(rng.choice(len(pkg_ids), p=PACKAGE_SHARES))]
        pref = rng.random()
        slot_names = ["AM"] if pref < 0.45 else (["PM"] if pref < 0.75 else ["AM", "PM"])
        booking: dict[str, Any] = {
            "id": f"B{k + 1:03d}", "name": name, "address": f"{wp.district[i] or ''}{place}" + (f" {real}" if real else ""),
            "district": wp.district[i], "workers": workers, "package": package,
            "priority": priority,
        }  # fmt: skip
        if rng.random() < 0.3:
            days = sorted(rng.choice(work_days, size=min(3, len(work_days)), replace=False))
            booking["slots"] = [[int(d), s] for d in days for s in slot_names]
        elif len(slot_names) == 1:
            booking["slots"] = slot_names
        if len(slot_names) == 1 and rng.random() < 0.1:
            hour = int(rng.integers(8, 10)) if slot_names[0] == "AM" else int(rng.integers(13, 15))
            booking["time_window"] = [f"{hour:02d}:30", f"{hour + 1:02d}:30"]
            booking["soft"] = True
        lon, lat = float(wp.lon[i]), float(wp.lat[i])
        if rng.random() < gcj_share:
            lon, lat = from_wgs84(lon, lat, "gcj02")
            booking["crs"] = "gcj02"
        booking["lon"], booking["lat"] = round(lon, 6), round(lat, 6)
        bookings.append(booking)
    end = date.fromisoformat(start_date) + timedelta(days=n_days - 1)
    return {
        "demo": True,
        "description": (
            f"DEMO data (seed {seed}): {len(bookings)} invented bookings at real workplace "
            f"locations (OpenStreetMap) in the 16 districts, {n_vehicles} vehicles at "
            f"{len(depots)} district service centres, {working_days} working days "
            f"{start_date} – {end.isoformat()}. Not real bookings."
        ),
        "days": n_days,
        "start_date": start_date,
        "slots": {"AM": ["08:00", "11:30"], "PM": ["13:00", "16:30"]},
        "lateness_penalty_per_min": 60,
        "split_large_bookings": True,
        "depots": depots,
        "packages": [dict(p) for p in PACKAGES],
        "vehicles": vehicles,
        "bookings": bookings,
    }


def main(argv: list[str] | None = None) -> int:
    """Write a demonstration request as JSON."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--bookings", type=int, default=300)
    parser.add_argument("--vehicles", type=int, default=6)
    parser.add_argument("--working-days", type=int, default=10)
    parser.add_argument("--depots", type=int, default=3)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--gcj-share", type=float, default=0.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    request = generate_checkup_request(
        args.data_dir, args.bookings, args.vehicles, args.working_days, args.depots, args.seed,
        gcj_share=args.gcj_share,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(request, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

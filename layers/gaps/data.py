"""Inputs of the coverage-gap analysis read from a shipped data directory.

* the workplaces (``workplaces/workplaces.parquet``), deduplicated: buildings inside a
  park are attached to it and left out (:func:`load_workplaces`);
* the official employment figures (``demand/*.csv``) in the form the allocation needs
  (:func:`load_official_employment`);
* the walk networks shipped in ``networks/`` and the calibration of their estimate
  (:func:`load_walk_networks`);
* the workers registry records set for a workplace (:func:`record_overrides`).
"""

from __future__ import annotations

import csv
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from geo.coverage.allocation import (
    ELSEWHERE_SECTIONS,
    OfficialEmployment,
    attach_buildings_to_parks,
    floor_area_proxy,
    park_floor_area,
)
from geo.coverage.density import density_caps, land_uses
from geo.network.csr import Network, load_network
from geo.network.estimate import Calibration, network_calibration
from layers.registry.schema import Facility
from layers.registry.shipped import DEMAND_DIR, WORKPLACES_PATH, ShippedDataError

logger = logging.getLogger(__name__)

NETWORKS_DIR = "networks"
DISTRICT_CSV = "district_employment_2023.csv"
INDUSTRY_CSV = "district_industry_employment_2023.csv"
SUBDISTRICT_CSV = "subdistrict_employment_2023_central.csv"
#: Estimate used when no shipped walk network carries a calibration: detour 1.25 and a
#: crow-fly speed of 1.2 m/s / 1.25 (walking speed over the detour factor).
#: Extra keys a registry record may carry to override a workplace's workers (职工数); a
#: record's ``n_workers`` (职工数 of the application form) does too, for the workplace named
#: by ``extra.workplace_id`` or else the one whose polygon contains the record.
OVERRIDE_WORKPLACE_KEY = "workplace_id"
OVERRIDE_WORKERS_KEY = "workers"
DEFAULT_CALIBRATION = Calibration(
    network="default", profile="walk", detour_median=1.25, detour_p90=1.45,
    crow_speed_mps=0.96, n_pairs=0, seed=0, min_distance_m=0.0,
)  # fmt: skip


@dataclass(frozen=True)
class Workplaces:
    """Deduplicated workplaces (parks, and buildings outside every park), in file order.

    All attributes are ``(N,)`` arrays; ``geometry`` holds shapely polygons (WGS84),
    ``floor_area_m2`` the floor-area proxy (for a park whose buildings are mapped, the
    floor area of its buildings: ``from_footprints``), ``land_use`` the key of its
    employment density (:mod:`geo.coverage.density`), ``capacity`` the most workers it can
    hold at that density (``site_bound`` where the site density cap set it),
    ``attached_buildings`` the number of buildings attached to each park and
    ``footprint_m2`` their total footprint.
    """

    id: np.ndarray
    kind: np.ndarray
    category: np.ndarray
    name: np.ndarray
    district: np.ndarray
    subdistrict: np.ndarray
    area_m2: np.ndarray
    levels: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    geometry: np.ndarray
    floor_area_m2: np.ndarray
    capacity: np.ndarray
    attached_buildings: np.ndarray
    n_buildings_attached: int
    land_use: np.ndarray
    site_bound: np.ndarray
    from_footprints: np.ndarray
    footprint_m2: np.ndarray

    def __len__(self) -> int:
        return int(self.id.shape[0])


def _text(values: object) -> np.ndarray:
    return np.array([None if v is None or v != v else str(v) for v in values], dtype=object)


def load_workplaces(data_dir: Path) -> Workplaces:
    """Read and deduplicate the shipped workplaces.

    Raises
    ------
    ShippedDataError
        When the GeoParquet file is missing.
    """
    import geopandas as gpd

    path = Path(data_dir) / WORKPLACES_PATH
    if not path.exists():
        message = f"workplaces are not shipped (missing {WORKPLACES_PATH}); run `servicemap data build`"
        raise ShippedDataError(message)
    frame = gpd.read_parquet(path)
    is_park = (frame["kind"] == "park").to_numpy()
    parks = np.flatnonzero(is_park)
    buildings = np.flatnonzero(~is_park)
    geometry = frame.geometry.to_numpy()
    lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    park_of = attach_buildings_to_parks(geometry[parks], lon[buildings], lat[buildings])
    keep = np.sort(np.r_[parks, buildings[park_of < 0]])
    all_levels = frame["levels"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    all_kind = frame["kind"].to_numpy(dtype=object)
    all_category = frame["category"].to_numpy(dtype=object)
    all_area = frame["area_m2"].to_numpy(dtype=float)
    all_floor = floor_area_proxy(all_kind, all_category, all_area, all_levels)
    # buildings attached to a park: their count, footprint and floor area per park
    inside = park_of >= 0
    host = parks[park_of[inside]]
    attached = np.zeros(len(frame), dtype=np.int64)
    np.add.at(attached, host, 1)
    footprint = np.zeros(len(frame))
    np.add.at(footprint, host, np.nan_to_num(all_area[buildings[inside]], nan=0.0))
    footprint_floor = np.zeros(len(frame))
    np.add.at(footprint_floor, host, all_floor[buildings[inside]])
    floor = all_floor.copy()
    from_fp = np.zeros(len(frame), dtype=bool)
    floor[parks], from_fp[parks] = park_floor_area(all_area[parks], all_floor[parks],
                                                   footprint[parks], footprint_floor[parks])  # fmt: skip
    sub = frame.iloc[keep]
    kind, category, name = all_kind[keep], all_category[keep], _text(sub["name"])
    use = land_uses(kind, category, name)
    caps = density_caps(kind, use, floor[keep], all_area[keep])
    logger.info("workplaces: %d parks (%d weighted by their buildings), %d buildings (%d "
                "attached to parks)", parks.size, int(from_fp.sum()), buildings.size,
                int(inside.sum()))  # fmt: skip
    return Workplaces(
        id=sub["id"].to_numpy(dtype=str), kind=kind, category=category, name=name,
        district=_text(sub["district"]), subdistrict=_text(sub["subdistrict"]),
        area_m2=all_area[keep], levels=all_levels[keep], lon=lon[keep], lat=lat[keep],
        geometry=geometry[keep], floor_area_m2=floor[keep], capacity=caps.capacity,
        attached_buildings=attached[keep], n_buildings_attached=int(inside.sum()),
        land_use=use, site_bound=caps.site_bound, from_footprints=from_fp[keep],
        footprint_m2=footprint[keep],
    )  # fmt: skip


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        message = f"official employment table {path.name} is not shipped; run `servicemap data build`"
        raise ShippedDataError(message)
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_official_employment(data_dir: Path) -> OfficialEmployment:
    """Official 2023 employment per district and central subdistrict (see ``data/SOURCES.md``).

    Sector figures come from the industry table (sections :data:`ELSEWHERE_SECTIONS`);
    subdistrict units of type ``functional_zone`` have no polygon and form the district-wide
    part.
    """
    demand = Path(data_dir) / DEMAND_DIR
    totals = {r["district"]: int(r["employment"]) for r in _read_csv(demand / DISTRICT_CSV)}
    sector: dict[str, int] = defaultdict(int)
    industry = demand / INDUSTRY_CSV
    if industry.exists():
        for r in _read_csv(industry):
            if r["industry_code"] in ELSEWHERE_SECTIONS:
                sector[r["district"]] += int(r["employment"])
    units: dict[tuple[str, str], int] = {}
    wide: dict[str, int] = defaultdict(int)
    subdistricts = demand / SUBDISTRICT_CSV
    if subdistricts.exists():
        for r in _read_csv(subdistricts):
            if r["control_type"] == "functional_zone":
                wide[r["district"]] += int(r["employment"])
            else:
                units[(r["district"], r["name"])] = int(r["employment"])
        for d in {d for d, _ in units}:
            wide.setdefault(d, 0)
    return OfficialEmployment(totals, dict(sector), units, dict(wide))


def load_walk_networks(data_dir: Path) -> tuple[list[Network], Calibration]:
    """The walk networks in ``networks/`` (profile ``walk``) and the estimate calibration.

    The calibration is that of the largest walk network carrying one, else
    :data:`DEFAULT_CALIBRATION`.
    """
    folder = Path(data_dir) / NETWORKS_DIR
    nets: list[Network] = []
    if folder.is_dir():
        for sub in sorted(p for p in folder.iterdir() if (p / "meta.json").exists()):
            meta = json.loads((sub / "meta.json").read_text(encoding="utf-8"))
            if meta.get("profile") == "walk":
                nets.append(load_network(sub))
    calibrated = [(n.n_nodes, n) for n in nets if network_calibration(n) is not None]
    if calibrated:
        best = max(calibrated, key=lambda item: item[0])[1]
        calibration = network_calibration(best)
        assert calibration is not None
    else:
        calibration = DEFAULT_CALIBRATION
    if not nets:
        logger.warning("no walk network in %s: every walking time is an estimate", folder)
    return nets, calibration


def simplified_geometry(geometry: np.ndarray, tolerance_deg: float = 3e-5) -> list[dict[str, object]]:
    """GeoJSON geometry dicts of the polygons, simplified (about 3 m) and rounded to 1e-6°."""
    simple = shapely.simplify(geometry, tolerance_deg, preserve_topology=True)
    simple = shapely.set_precision(simple, 1e-6)
    return [shapely.geometry.mapping(g) for g in simple]


def record_overrides(
    facilities: Iterable[Facility],
    index: Mapping[str, int],
    locate: Callable[[np.ndarray, np.ndarray], np.ndarray],
    n: int,
) -> np.ndarray:
    """Workers per workplace from registry records (NaN where none).

    A record's figure is ``extra.workers`` or else its ``n_workers`` (职工数); its workplace
    is ``extra.workplace_id`` or else the one whose polygon contains it (``locate``). Where
    several records name one workplace the largest figure counts (two forms of one park
    report the same park's workers).
    """
    values = np.full(n, np.nan)
    pending: list[tuple[float, float, float]] = []
    for f in facilities:
        workers = f.extra.get(OVERRIDE_WORKERS_KEY)
        if not (isinstance(workers, int | float) and not isinstance(workers, bool)
                and np.isfinite(workers) and workers >= 0):  # fmt: skip
            workers = f.n_workers
        if workers is None:
            continue
        wid = f.extra.get(OVERRIDE_WORKPLACE_KEY)
        if isinstance(wid, str):
            if wid in index:
                i = index[wid]
                values[i] = max(float(workers), np.nan_to_num(values[i], nan=-1.0))
        elif f.located:
            pending.append((float(f.lon or 0.0), float(f.lat or 0.0), float(workers)))
    if pending:
        where = locate(np.array([p[0] for p in pending]), np.array([p[1] for p in pending]))
        for i, (_, _, workers) in zip(where.tolist(), pending, strict=True):
            if i >= 0:
                values[i] = max(workers, np.nan_to_num(values[i], nan=-1.0))
    return np.round(values)

"""Estimated workers per workplace: official employment allocated by floor-area proxies.

The rule (documented with its numbers and sources in ``docs/coverage.md``):

1. **Deduplicate.** A work building whose representative point lies inside an
   industrial/business park polygon is attached to that park and not counted on its own
   (:func:`attach_buildings_to_parks`).
2. **Floor-area proxy** (:func:`floor_area_proxy`): footprint (or site) area times the
   number of levels when tagged, else a default per kind and category
   (:data:`DEFAULT_LEVELS`; for park polygons the "levels" act as a plot ratio). A park
   whose attached buildings cover at least :data:`MIN_FOOTPRINT_COVERAGE` of its site takes
   the floor area of those buildings instead (:func:`park_floor_area`): its workers are
   spread by the building footprints inside it, not by its site.
3. **Who works elsewhere.** Employment in education, health and social work, culture and
   sport, and public administration (census sections P, Q, R, S) works in schools,
   hospitals, venues and government offices, not in parks or office buildings; it is
   booked as *elsewhere (sector)*. The rest of each district's employment is *eligible*.
4. **Pools.** Where subdistrict figures exist (the 8 central districts), each street/town
   unit's eligible employment (its total times the district's eligible share) is spread
   over the workplaces in that unit. Units with no mapped workplace, and what a unit's
   mapped floor area cannot hold, are *elsewhere (unmapped)*: shops, schools, unmapped
   offices. Employment not tied to a unit polygon (the functional zones of Pudong) and, in
   the other districts, the whole eligible total form a district pool spread over all the
   district's workplaces.
5. **Capacity** (:mod:`geo.coverage.density`): no workplace gets more than its land use's
   realistic density allows -- floor area / m² per worker, and for parks site hectares x
   workers per hectare; the excess of a pool is elsewhere (unmapped).
6. **Overrides** (registry data: the application forms carry 职工数) replace the estimate of
   a workplace and are taken out of its pool first.

Everything is integer people, so per district
``allocated + elsewhere_sector + elsewhere_unmapped == official`` holds exactly. Each
workplace's figure carries its basis (:data:`BASES`, :func:`workers_basis`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import shapely

from geo.coverage.errors import AllocationError

logger = logging.getLogger(__name__)

#: Default number of levels (for park polygons: plot ratio, floor area / site area) by
#: ``(kind, category)`` when OSM tags none. Shanghai controls industrial plots at a plot
#: ratio of about 1.0-2.0 and business plots at 2.0-4.0; the lower ends are used because
#: landuse polygons include roads, yards and green space.
DEFAULT_LEVELS: dict[tuple[str, str], float] = {
    ("park", "industrial"): 1.0,
    ("park", "commercial"): 2.0,
    ("building", "industrial"): 2.0,
    ("building", "warehouse"): 1.0,
    ("building", "commercial"): 5.0,
}
#: Fallback levels for a kind whose category is not in :data:`DEFAULT_LEVELS`.
FALLBACK_LEVELS: dict[str, float] = {"park": 1.0, "building": 2.0}
#: Smallest share of a park's site its attached building footprints must cover for the park
#: to take its floor area from them (below it OSM maps only some of its buildings).
#: Industrial projects must cover at least 30 % of their plot (建筑系数, 国土资发〔2008〕24号);
#: landuse polygons also hold roads and green space, hence the lower bar.
MIN_FOOTPRINT_COVERAGE = 0.2
#: Basis of each workplace's figure, as reported to users (``workers_basis``).
BASES: tuple[str, ...] = ("registry", "footprints", "site density cap", "floor-area cap",
                          "floor-area share")  # fmt: skip
#: Census sections whose workers are counted elsewhere (schools, hospitals, venues,
#: government offices): education, health and social work, culture/sport/entertainment,
#: public administration.
ELSEWHERE_SECTIONS: tuple[str, ...] = ("P", "Q", "R", "S")


@dataclass(frozen=True)
class OfficialEmployment:
    """Official employment figures (people) that the allocation must reproduce.

    Attributes
    ----------
    district_total
        Workplace employment per district (the census total).
    district_elsewhere_sector
        Part of each district's total in sectors that work outside parks and buildings
        (:data:`ELSEWHERE_SECTIONS`); 0 where unknown.
    subdistrict_total
        Employment per ``(district, unit name)`` for street/town units that have a polygon
        (workplaces carry that unit name in ``subdistrict``).
    district_wide
        Per district, employment of units without a polygon (functional zones), spread over
        all the district's workplaces.
    """

    district_total: Mapping[str, int]
    district_elsewhere_sector: Mapping[str, int]
    subdistrict_total: Mapping[tuple[str, str], int]
    district_wide: Mapping[str, int]


@dataclass(frozen=True)
class DistrictReconciliation:
    """How one district's official employment was booked (people)."""

    district: str
    official: int
    allocated: int
    elsewhere_sector: int
    elsewhere_unmapped: int
    n_workplaces: int
    n_overridden: int

    @property
    def share_allocated(self) -> float:
        """Allocated share of the official total (0-1)."""
        return self.allocated / self.official if self.official else 0.0


@dataclass(frozen=True)
class Allocation:
    """Workers per workplace and the per-district reconciliation.

    Attributes
    ----------
    workers
        ``(N,)`` int64 estimated (or overridden) workers per workplace.
    capacity
        ``(N,)`` int64 cap used (the land use's density, :mod:`geo.coverage.density`).
    overridden
        ``(N,)`` bool, True where registry data set the count.
    districts
        One :class:`DistrictReconciliation` per district of the official table.
    basis
        ``(N,)`` what each figure rests on (:data:`BASES`, :func:`workers_basis`).
    """

    workers: np.ndarray
    capacity: np.ndarray
    overridden: np.ndarray
    districts: tuple[DistrictReconciliation, ...]
    basis: np.ndarray

    def totals(self) -> dict[str, int]:
        """City totals: official, allocated, elsewhere_sector, elsewhere_unmapped."""
        keys = ("official", "allocated", "elsewhere_sector", "elsewhere_unmapped")
        return {k: int(sum(getattr(d, k) for d in self.districts)) for k in keys}


def attach_buildings_to_parks(
    park_polygons: np.ndarray, building_lon: np.ndarray, building_lat: np.ndarray
) -> np.ndarray:
    """The park each building lies in (by its representative point), or -1.

    Parameters
    ----------
    park_polygons
        Shapely polygons of the parks (WGS84).
    building_lon, building_lat
        Representative points of the buildings (WGS84 degrees).

    Returns
    -------
    numpy.ndarray
        ``(B,)`` int64 park index; a building inside nested parks goes to the smallest one.
    """
    n_b = len(building_lon)
    out = np.full(n_b, -1, dtype=np.int64)
    if n_b == 0 or len(park_polygons) == 0:
        return out
    tree = shapely.STRtree(park_polygons)
    points = shapely.points(np.asarray(building_lon, float), np.asarray(building_lat, float))
    b_idx, p_idx = tree.query(points, predicate="within")
    if b_idx.size == 0:
        return out
    area = shapely.area(np.asarray(park_polygons)[p_idx])
    order = np.lexsort((p_idx, area, b_idx))  # per building: smallest park first
    b_sorted, p_sorted = b_idx[order], p_idx[order]
    first = np.r_[True, b_sorted[1:] != b_sorted[:-1]]
    out[b_sorted[first]] = p_sorted[first]
    return out


def floor_area_proxy(
    kind: np.ndarray,
    category: np.ndarray,
    area_m2: np.ndarray,
    levels: np.ndarray,
    default_levels: Mapping[tuple[str, str], float] = DEFAULT_LEVELS,
) -> np.ndarray:
    """Floor area (m²) per workplace: area x tagged levels, else the default for its kind.

    ``levels`` may hold NaN (untagged). Returns float64 ``(N,)``.
    """
    area = np.nan_to_num(np.asarray(area_m2, dtype=float), nan=0.0)
    lv = np.asarray(levels, dtype=float)
    default = np.array(
        [
            default_levels.get((str(k), str(c)), FALLBACK_LEVELS.get(str(k), 1.0))
            for k, c in zip(kind, category, strict=True)
        ],
        dtype=float,
    )
    used = np.where(np.isfinite(lv) & (lv > 0), lv, default)
    return np.maximum(area, 0.0) * used


def park_floor_area(
    site_area_m2: np.ndarray,
    site_floor_m2: np.ndarray,
    footprint_m2: np.ndarray,
    footprint_floor_m2: np.ndarray,
    min_coverage: float = MIN_FOOTPRINT_COVERAGE,
) -> tuple[np.ndarray, np.ndarray]:
    """Floor area of parks: from their buildings where OSM maps enough of them.

    Parameters
    ----------
    site_area_m2, site_floor_m2
        ``(P,)`` site area and its plot-ratio floor area (:func:`floor_area_proxy`).
    footprint_m2, footprint_floor_m2
        ``(P,)`` total footprint and floor area of the buildings attached to each park.
    min_coverage
        Smallest footprint / site share for the footprints to be used.

    Returns
    -------
    floor, from_footprints
        ``(P,)`` float64 floor area and ``(P,)`` bool, True where it is the footprints'.
    """
    site = np.asarray(site_area_m2, dtype=float)
    fp = np.asarray(footprint_m2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(site > 0, fp / site, 0.0)
    used = (fp > 0) & (coverage >= min_coverage)
    floor = np.where(used, np.asarray(footprint_floor_m2, dtype=float),
                     np.asarray(site_floor_m2, dtype=float))  # fmt: skip
    return floor, used


def workers_basis(
    workers: np.ndarray,
    capacity: np.ndarray,
    overridden: np.ndarray,
    site_bound: np.ndarray,
    from_footprints: np.ndarray,
) -> np.ndarray:
    """What each workplace's figure rests on (one of :data:`BASES`).

    ``registry`` where an override set it; where the workplace is full, ``site density
    cap`` or ``floor-area cap`` (whichever cap bound); otherwise ``footprints`` for a park
    weighted by its buildings, else ``floor-area share`` (its share of the pool).
    """
    workers = np.asarray(workers, dtype=np.int64)
    full = (workers >= np.asarray(capacity, dtype=np.int64)) & (workers > 0)
    out = np.full(workers.shape[0], "floor-area share", dtype=object)
    out[np.asarray(from_footprints, dtype=bool)] = "footprints"
    site = np.asarray(site_bound, dtype=bool)
    out[full & site] = "site density cap"
    out[full & ~site] = "floor-area cap"
    out[np.asarray(overridden, dtype=bool)] = "registry"
    return out


def fill_pool(pool: int, weight: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Split ``pool`` people over items in proportion to ``weight``, none above ``cap``.

    Water filling: items whose proportional share exceeds their cap get the cap and the
    rest is re-split; integers by largest remainder. The result sums to
    ``min(pool, cap.sum())`` over items with positive weight.
    """
    weight = np.asarray(weight, dtype=float)
    cap = np.asarray(cap, dtype=np.int64)
    x = np.zeros(weight.shape[0])
    usable = (weight > 0) & (cap > 0)
    target = int(min(max(pool, 0), int(cap[usable].sum())))
    remaining = float(target)
    active = usable.copy()
    while remaining > 1e-9 and active.any():
        share = remaining * weight[active] / weight[active].sum()
        room = cap[active] - x[active]
        over = share >= room
        idx = np.flatnonzero(active)
        if not over.any():
            x[idx] += share
            break
        x[idx[over]] = cap[idx[over]]
        remaining = target - x.sum()
        active[idx[over]] = False
    out = np.floor(x + 1e-9).astype(np.int64)
    short = target - int(out.sum())
    if short > 0:
        frac = x - out
        frac[out + 1 > cap] = -1.0
        frac[~usable] = -1.0
        order = np.lexsort((np.arange(frac.size), -frac))
        out[order[:short]] += 1
    return out


def _round(x: float) -> int:
    return int(np.floor(x + 0.5))


def allocate_workers(
    district: np.ndarray,
    subdistrict: np.ndarray,
    floor_area_m2: np.ndarray,
    capacity: np.ndarray,
    official: OfficialEmployment,
    overrides: np.ndarray | None = None,
    *,
    site_bound: np.ndarray | None = None,
    from_footprints: np.ndarray | None = None,
) -> Allocation:
    """Allocate official employment to workplaces (see the module docstring for the rule).

    Parameters
    ----------
    district
        ``(N,)`` district name per workplace (workplaces in no official district get 0).
    subdistrict
        ``(N,)`` street/town unit name or None/'' (only the central districts have one).
    floor_area_m2
        ``(N,)`` floor-area proxy, the weight of each workplace in its pool.
    capacity
        ``(N,)`` most workers each workplace can hold.
    official
        The official figures.
    overrides
        ``(N,)`` float, workers from registry data or NaN.
    site_bound, from_footprints
        ``(N,)`` bool: the capacity is the site density cap; the park's floor area is that
        of its buildings. Only used to name each figure's basis (default: all False).

    Returns
    -------
    Allocation

    Raises
    ------
    AllocationError
        When the overrides of a district exceed its eligible employment.
    """
    district = np.asarray(district, dtype=object)
    n = district.shape[0]
    sub = np.array(["" if s is None or s != s else str(s) for s in subdistrict], dtype=object)
    weight = np.asarray(floor_area_m2, dtype=float)
    cap = np.asarray(capacity, dtype=np.int64)
    ov = np.full(n, np.nan) if overrides is None else np.asarray(overrides, dtype=float)
    overridden = np.isfinite(ov)
    workers = np.zeros(n, dtype=np.int64)
    workers[overridden] = np.round(ov[overridden]).astype(np.int64)
    rows: list[DistrictReconciliation] = []
    for d, total in official.district_total.items():
        total = int(total)
        in_d = np.flatnonzero(district == d)
        sector = int(official.district_elsewhere_sector.get(d, 0))
        eligible = total - sector
        share = eligible / total if total else 0.0
        units = {name: int(e) for (dd, name), e in official.subdistrict_total.items() if dd == d}
        has_units = bool(units) or d in official.district_wide
        present = set(sub[in_d].tolist()) - {""}
        pools: dict[str, int] = {u: _round(share * e) for u, e in units.items() if u in present}
        district_pool = _round(share * int(official.district_wide.get(d, 0))) if has_units else eligible
        unmatched = eligible - sum(pools.values()) - district_pool
        if unmatched < 0:  # rounding: take the surplus from the district pool
            district_pool += unmatched
            unmatched = 0
        # overrides come out of their own pool first, then the district pool, then unmatched
        for i in in_d[overridden[in_d]].tolist():
            need = int(workers[i])
            for key in (sub[i], None):
                if key is None:
                    take = min(need, district_pool)
                    district_pool -= take
                elif key in pools:
                    take = min(need, pools[key])
                    pools[key] -= take
                else:
                    take = 0
                need -= take
            take = min(need, unmatched)
            unmatched -= take
            need -= take
            if need > 0:
                message = (
                    f"worker overrides in {d} total {int(workers[in_d[overridden[in_d]]].sum()):,}, "
                    f"more than its {eligible:,} workers eligible for parks and buildings"
                )
                raise AllocationError(message)
        free = in_d[~overridden[in_d]]
        leftover = unmatched
        for unit, pool in sorted(pools.items()):
            members = free[sub[free] == unit]
            got = fill_pool(pool, weight[members], cap[members])
            workers[members] = got
            leftover += pool - int(got.sum())
        room = cap[free] - workers[free]
        extra = fill_pool(district_pool, weight[free], np.maximum(room, 0))
        workers[free] += extra
        leftover += district_pool - int(extra.sum())
        allocated = int(workers[in_d].sum())
        rows.append(
            DistrictReconciliation(
                district=d, official=total, allocated=allocated, elsewhere_sector=sector,
                elsewhere_unmapped=total - sector - allocated, n_workplaces=int(in_d.size),
                n_overridden=int(overridden[in_d].sum()),
            )
        )  # fmt: skip
        if rows[-1].elsewhere_unmapped != leftover:
            logger.warning("allocation of %s: leftover %d != unmapped %d", d, leftover,
                           rows[-1].elsewhere_unmapped)  # fmt: skip
    outside = ~np.isin(district, list(official.district_total))
    workers[outside & ~overridden] = 0
    no = np.zeros(n, dtype=bool)
    basis = workers_basis(workers, cap, overridden, no if site_bound is None else site_bound,
                          no if from_footprints is None else from_footprints)  # fmt: skip
    return Allocation(workers=workers, capacity=cap, overridden=overridden,
                      districts=tuple(rows), basis=basis)  # fmt: skip

"""Realistic employment densities per land use: the caps of the workers allocation.

Every workplace gets a *land use* (:func:`land_use`) from its kind (park polygon or
building footprint), its OSM category and keywords of its name, and with it two figures
(:data:`DENSITIES`; sources in ``docs/coverage.md``):

* ``m2_per_worker`` -- floor area per worker (m²). A workplace holds at most
  ``floor area / m2_per_worker`` workers (the *floor-area cap*). Offices, industry,
  warehouses and retail take the figures of the HCA Employment Density Guide (3rd ed.,
  2015).
* ``workers_per_ha`` -- workers per hectare of site, for park polygons (the *site density
  cap*): a park holds at most ``site area (ha) x workers_per_ha``. For general uses it is
  the guide's floor-area figure at the plot ratio of the park's land use
  (:data:`DENSITIES` notes); for process industry, ports and waste sites, whose land is
  mostly plant, yards and tanks, it is a low figure of its own (a judgement: no published
  guide gives one).

Large parks therefore cannot absorb a district's pool: the cap scales with the site at a
realistic density, not with a plot-ratio floor area.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Density:
    """Employment density of one land use.

    Attributes
    ----------
    m2_per_worker
        Floor area per worker (m²), applied to the floor-area proxy.
    workers_per_ha
        Most workers per hectare of site (park polygons).
    source
        Where the figures come from (short; the table in ``docs/coverage.md`` has more).
    """

    m2_per_worker: float
    workers_per_ha: float
    source: str


#: Densities by land use. ``workers_per_ha`` of general uses = 10,000 x plot ratio /
#: ``m2_per_worker`` with the plot ratios of :data:`geo.coverage.allocation.DEFAULT_LEVELS`
#: (industrial and logistics 1.0, business and retail 2.0).
DENSITIES: dict[str, Density] = {
    "office": Density(12.0, 10_000 * 2.0 / 12.0, "HCA 2015: general office 12 m² NIA"),
    "retail": Density(15.0, 10_000 * 2.0 / 15.0, "HCA 2015: high street retail 15-20 m² NIA"),
    "exhibition": Density(90.0, 10_000 * 2.0 / 90.0, "HCA 2015: retail warehouse 90 m² NIA"),
    "industrial": Density(36.0, 10_000 * 1.0 / 36.0, "HCA 2015: industrial (B2) 36 m² GIA"),
    "logistics": Density(70.0, 10_000 * 1.0 / 70.0, "HCA 2015: final-mile distribution 70 m² GEA"),
    "heavy_industry": Density(36.0, 15.0, "judgement: process plant (steel, petrochemicals, power, shipyards)"),
    "port": Density(70.0, 10.0, "judgement: container/bulk terminals"),
    "waste": Density(70.0, 2.0, "judgement: landfill, incineration, sewage works"),
}  # fmt: skip

#: Name keywords per land use, tried in this order (the first class that matches wins).
#: The industrial classes apply to parks and to industrial/warehouse buildings, the
#: commercial ones to parks and commercial buildings.
INDUSTRIAL_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("waste", ("垃圾", "固体废", "固废", "填埋", "污水", "焚烧", "再生能源")),
    ("port", ("港区", "码头", "装卸站", "港务", "港口", "集装箱", "洋山港")),
    ("heavy_industry", ("钢铁", "宝钢", "炼钢", "石化", "石油化工", "化工", "炼油", "发电", "电厂",
                        "燃机", "造船", "船厂", "船务", "重工")),
    ("logistics", ("物流", "仓储", "仓库", "储运", "保税", "快递", "冷链", "云仓")),
)  # fmt: skip
COMMERCIAL_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("exhibition", ("博览", "会展", "展览中心", "建材市场", "家居")),
    ("retail", ("商场", "购物", "百货", "商城", "市场", "超市", "奥特莱斯")),
)
#: Land use of a workplace that no keyword places, by ``(kind, category)``.
DEFAULT_LAND_USE: dict[tuple[str, str], str] = {
    ("park", "industrial"): "industrial",
    ("park", "commercial"): "office",
    ("building", "industrial"): "industrial",
    ("building", "warehouse"): "logistics",
    ("building", "commercial"): "office",
}
FALLBACK_LAND_USE = "industrial"


def land_use(kind: object, category: object, name: object) -> str:
    """The land use of one workplace (a key of :data:`DENSITIES`)."""
    kind, category = str(kind), str(category)
    text = "" if name is None or name != name else str(name)
    groups: list[tuple[tuple[str, tuple[str, ...]], ...]] = []
    if kind == "park" or category in ("industrial", "warehouse"):
        groups.append(INDUSTRIAL_KEYWORDS)
    if kind == "park" or category == "commercial":
        groups.append(COMMERCIAL_KEYWORDS)
    for group in groups:
        for use, words in group:
            if any(w in text for w in words):
                return use
    return DEFAULT_LAND_USE.get((kind, category), FALLBACK_LAND_USE)


def land_uses(kind: np.ndarray, category: np.ndarray, name: np.ndarray) -> np.ndarray:
    """:func:`land_use` of every workplace (object array)."""
    return np.array([land_use(k, c, n) for k, c, n in zip(kind, category, name, strict=True)],
                    dtype=object)  # fmt: skip


@dataclass(frozen=True)
class Caps:
    """Most workers per workplace and which cap set it.

    Attributes
    ----------
    capacity
        ``(N,)`` int64, the smaller of the floor-area cap and (parks) the site density cap.
    site_bound
        ``(N,)`` bool, True where the site density cap is the smaller one.
    """

    capacity: np.ndarray
    site_bound: np.ndarray


def density_caps(
    kind: np.ndarray,
    use: np.ndarray,
    floor_area_m2: np.ndarray,
    site_area_m2: np.ndarray,
    densities: dict[str, Density] = DENSITIES,
) -> Caps:
    """Floor-area cap of every workplace and, for parks, the site density cap (the smaller).

    Parameters
    ----------
    kind
        ``(N,)`` ``"park"`` or ``"building"``; only parks get a site cap.
    use
        ``(N,)`` land use (keys of ``densities``).
    floor_area_m2
        ``(N,)`` floor-area proxy.
    site_area_m2
        ``(N,)`` polygon area.
    """
    m2 = np.array([densities[str(u)].m2_per_worker for u in use], dtype=float)
    per_ha = np.array([densities[str(u)].workers_per_ha for u in use], dtype=float)
    floor = np.nan_to_num(np.asarray(floor_area_m2, dtype=float), nan=0.0)
    site = np.nan_to_num(np.asarray(site_area_m2, dtype=float), nan=0.0)
    floor_cap = np.floor(np.maximum(floor, 0.0) / m2 + 1e-9).astype(np.int64)
    site_cap = np.floor(np.maximum(site, 0.0) / 10_000.0 * per_ha + 1e-9).astype(np.int64)
    is_park = np.asarray(kind, dtype=object) == "park"
    site_bound = is_park & (site_cap <= floor_cap)
    capacity = np.where(site_bound, site_cap, floor_cap)
    return Caps(capacity=capacity.astype(np.int64), site_bound=site_bound)

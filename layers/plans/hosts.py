"""Host types of planning candidates: which kinds of site may receive a new facility.

Every candidate record names the kind of site that hosts it (``host_type``: a bank, a
convenience shop, a community centre, a public toilet, ...; see
:mod:`layers.build.demo_rules` for the demonstration registries). A planner chooses the
allowed kinds; by default a new health point is never proposed in a public toilet or at a
fuel station (:data:`EXCLUDED_BY_DEFAULT`). Records without a host type count as
``unspecified``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from layers.plans.errors import PlanRequestError
from layers.registry.schema import Facility

#: Host type of a record whose ``host_type`` is empty.
UNSPECIFIED = "unspecified"

#: Human names (zh, en) of the host types the registries use.
HOST_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "bank": ("银行网点", "Bank branch"),
    "convenience": ("便利店", "Convenience shop"),
    "supermarket": ("超市", "Supermarket"),
    "mall": ("商场", "Shopping mall"),
    "community_centre": ("社区中心", "Community centre"),
    "party_mass_centre": ("党群服务中心", "Party-mass service centre"),
    "union_office": ("工会办公场所", "Union office"),
    "library": ("图书馆", "Library"),
    "post_office": ("邮政网点", "Post office"),
    "metro_station": ("地铁站", "Metro station"),
    "hospital": ("医院", "Hospital"),
    "sports_centre": ("体育中心", "Sports centre"),
    "workplace_park": ("园区", "Industrial/business park"),
    "workplace_building": ("楼宇", "Office/work building"),
    "industrial": ("工业园区/厂房", "Industrial site"),
    "commercial": ("商务楼宇", "Commercial site"),
    "warehouse": ("仓库", "Warehouse"),
    "depot": ("车辆基地", "Depot"),
    "company_office": ("企业办公场所", "Company office"),
    "training_centre": ("培训中心", "Training centre"),
    "museum": ("博物馆", "Museum"),
    "construction_project": ("建设工地", "Construction site"),
    "toilet": ("公共厕所", "Public toilet"),
    "fuel": ("加油站", "Fuel station"),
    UNSPECIFIED: ("未注明", "Not specified"),
}

#: Host types not allowed by default, per planned layer (a planner may still allow them).
EXCLUDED_BY_DEFAULT: dict[str, frozenset[str]] = {
    "health_point": frozenset({"toilet", "fuel"}),
    "fitness_station": frozenset({"toilet", "fuel"}),
}


def host_type(facility: Facility) -> str:
    """The record's host type (``unspecified`` where none is given)."""
    return facility.host_type or UNSPECIFIED


def excluded_by_default(layer: str) -> frozenset[str]:
    """Host types a new site of ``layer`` is not placed in unless the planner allows them."""
    return EXCLUDED_BY_DEFAULT.get(layer, frozenset())


def count_host_types(facilities: Iterable[Facility]) -> Counter[str]:
    """Records per host type."""
    return Counter(host_type(f) for f in facilities)


def host_type_rows(layer: str, counts: Counter[str]) -> list[dict[str, object]]:
    """One row per host type the candidates carry: id, names, count and whether it is
    allowed by default for a new site of ``layer``; most records first."""
    excluded = excluded_by_default(layer)
    rows = []
    for kind, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        zh, en = HOST_TYPE_NAMES.get(kind, (kind, kind.replace("_", " ")))
        rows.append({"id": kind, "name_zh": zh, "name_en": en, "count": int(count),
                     "default_allowed": kind not in excluded})  # fmt: skip
    return rows


def known_host_types(seen: Iterable[str]) -> set[str]:
    """Every host type a request may name: the named ones and any a candidate carries."""
    return set(HOST_TYPE_NAMES) | set(seen)


def default_host_types(layer: str, seen: Iterable[str]) -> frozenset[str]:
    """Allowed host types when the planner names none: every known one but the layer's
    default exclusions (:data:`EXCLUDED_BY_DEFAULT`)."""
    return frozenset(known_host_types(seen) - excluded_by_default(layer))


def allowed_host_types(
    layer: str, requested: Sequence[str] | None, counts: Counter[str]
) -> frozenset[str]:
    """The host types a plan for ``layer`` may use: ``requested``, or the defaults.

    Raises
    ------
    PlanRequestError
        For a type neither named in :data:`HOST_TYPE_NAMES` nor carried by a candidate,
        or an empty list (422).
    """
    if requested is None:
        return default_host_types(layer, counts)
    known = known_host_types(counts)
    unknown = [t for t in requested if t not in known]
    if unknown:
        message = (f"unknown host type(s) {', '.join(map(repr, unknown))}; valid host "
                   f"types: {', '.join(sorted(known))}")  # fmt: skip
        raise PlanRequestError(message, {"host_types": unknown})
    if not requested:
        raise PlanRequestError("give at least one allowed host type (host_types is empty)")
    return frozenset(requested)

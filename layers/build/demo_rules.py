"""Per-layer rules of the demonstration registries: hosts, names, hours, services, statuses.

The rules follow the union documents (``shanghai-ftu-2023-ten-projects``): health points are
set up in parks and buildings on existing party-mass/worker service sites with consultations
on one or two half-days a week (often at lunch time); fitness stations are mostly indoor in
parks, buildings, shopping districts and institutions; relay stations are hosted by banks,
shops, community centres and others for outdoor workers; rest rooms sit inside the
workplaces of medical, public-transport and sanitation staff.

Every random choice takes a ``numpy.random.Generator`` so the caller controls the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layers.registry.hours import HoursRule, OpeningHours

WEEKDAYS_MO_FR = ["Mo", "Tu", "We", "Th", "Fr"]
ALL_DAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]

#: Chinese labels of host kinds, used in names of unnamed hosts.
HOST_LABELS: dict[str, str] = {
    "bank": "银行网点",
    "convenience": "便利店",
    "supermarket": "超市",
    "community_centre": "社区中心",
    "metro_station": "地铁站",
    "toilet": "公共厕所",
    "post_office": "邮政网点",
    "library": "图书馆",
    "hospital": "医院",
    "mall": "商场",
    "sports_centre": "体育中心",
    "workplace_park": "园区",
    "workplace_building": "楼宇",
}


@dataclass(frozen=True)
class LayerRule:
    """How one demonstration registry is generated.

    Attributes
    ----------
    layer
        Target layer id.
    target
        Number of records to generate (the real network's size).
    min_per_district
        Every district gets at least this many (when it has enough hosts).
    host_weights
        Share of each host kind in the registry; kinds absent from a district are skipped.
    suffix
        Appended to the host name: ``<host>爱心接力站``.
    statuses
        Fixed counts of non-active statuses; the rest are ``active``.
    """

    layer: str
    target: int
    min_per_district: int
    host_weights: dict[str, float]
    suffix: str
    statuses: dict[str, int]


RULES: dict[str, LayerRule] = {
    rule.layer: rule
    for rule in (
        LayerRule(
            "health_point",
            152,  # 132 points in 2023 plus 20 new
            5,
            {
                "workplace_park": 0.45,
                "workplace_building": 0.30,
                "community_centre": 0.17,
                "library": 0.08,
            },
            "健康服务点",
            {"new": 20, "upgraded": 50, "yellow_card": 3},
        ),
        LayerRule(
            "fitness_station",
            56,
            2,
            {
                "mall": 0.30,
                "workplace_park": 0.22,
                "workplace_building": 0.20,
                "sports_centre": 0.14,
                "community_centre": 0.14,
            },
            "职工健身驿站",
            {"new": 8, "upgraded": 4, "yellow_card": 1},
        ),
        LayerRule(
            "relay_station",
            1328,  # October 2022 figure
            15,
            {
                "bank": 0.30,
                "convenience": 0.20,
                "supermarket": 0.12,
                "community_centre": 0.10,
                "toilet": 0.10,
                "metro_station": 0.08,
                "post_office": 0.06,
                "library": 0.04,
            },
            "爱心接力站",
            {"new": 40, "upgraded": 20, "yellow_card": 12},
        ),
        LayerRule(
            "rest_room",
            320,
            4,
            {"hospital": 0.38, "metro_station": 0.34, "toilet": 0.28},
            "职工工间休息室",
            {"new": 25, "upgraded": 10, "yellow_card": 3},
        ),
    )
}

#: Rest-room sector by host kind (the three sectors the 2023 plan names).
REST_ROOM_SECTORS: dict[str, tuple[str, str]] = {
    "hospital": ("medical", "医务"),
    "metro_station": ("public_transport", "公共交通"),
    "toilet": ("sanitation", "环卫"),
}


def _rule(days: list[str], opens: str, closes: str) -> HoursRule:
    return HoursRule(days=days, opens=opens, closes=closes)  # type: ignore[arg-type]


def _weekdays(rng: np.random.Generator, count: int) -> list[str]:
    picked = sorted(rng.choice(5, size=count, replace=False).tolist())
    return [WEEKDAYS_MO_FR[index] for index in picked]


def relay_hours(kind: str, rng: np.random.Generator) -> OpeningHours:
    """Opening hours of a relay station, by host kind."""
    roll = float(rng.random())
    if kind == "bank":
        rules = [_rule(WEEKDAYS_MO_FR, "09:00", "17:00")]
        if roll < 0.35:
            rules.append(_rule(["Sa", "Su"], "10:00", "16:00"))
        return OpeningHours(rules=rules)
    if kind == "convenience":
        if roll < 0.8:
            return OpeningHours(always_open=True)
        return OpeningHours(rules=[_rule(ALL_DAYS, "07:00", "23:00")])
    if kind == "supermarket":
        return OpeningHours(rules=[_rule(ALL_DAYS, "08:00", "22:00")])
    if kind == "community_centre":
        if roll < 0.6:
            return OpeningHours(rules=[_rule(WEEKDAYS_MO_FR, "08:30", "17:00")])
        return OpeningHours(rules=[_rule(ALL_DAYS, "09:00", "20:00")])
    if kind == "metro_station":
        return OpeningHours(rules=[_rule(ALL_DAYS, "06:00", "22:00")], note="车站客服中心旁")
    if kind == "toilet":
        if roll < 0.5:
            return OpeningHours(always_open=True)
        return OpeningHours(rules=[_rule(ALL_DAYS, "05:00", "22:00")])
    if kind == "post_office":
        return OpeningHours(rules=[_rule(ALL_DAYS, "08:30", "17:30")])
    if kind == "library":
        return OpeningHours(rules=[_rule(["Tu", "We", "Th", "Fr", "Sa", "Su"], "09:00", "20:30")])
    return OpeningHours(rules=[_rule(WEEKDAYS_MO_FR, "09:00", "17:00")])


def relay_services(kind: str, rng: np.random.Generator) -> list[str]:
    """Services of a relay station: water, rest and charging always, the rest by chance."""
    has_toilet = kind in {"supermarket", "community_centre", "metro_station", "toilet", "library"}
    offered = {
        "water": True,
        "rest": True,
        "microwave": rng.random() < (0.55 if kind in {"bank", "toilet"} else 0.8),
        "charging": True,
        "toilet": has_toilet or rng.random() < 0.35,
        "first_aid": rng.random() < 0.85,
        "cooling_warming_drinks": rng.random() < 0.5,
    }
    return [service for service, yes in offered.items() if yes]


_CONSULTATION_SLOTS = (
    ("11:30", "13:30"),
    ("11:30", "13:30"),
    ("13:00", "16:30"),
    ("09:00", "11:30"),
)


def health_point_hours(rng: np.random.Generator) -> OpeningHours:
    """Consultations on one or two half-days a week, usually at lunch time."""
    n_days = 1 if rng.random() < 0.45 else 2
    opens, closes = _CONSULTATION_SLOTS[int(rng.integers(len(_CONSULTATION_SLOTS)))]
    return OpeningHours(
        rules=[_rule(_weekdays(rng, n_days), opens, closes)],
        note="医生坐诊时段；每月1次半天访视，每两月1次健康讲座",
    )


def health_point_services(status: str, rng: np.random.Generator) -> list[str]:
    """Base services ("两固三定") and, for upgraded points, dispensing, TCM and assessment."""
    services = ["consultation", "blood_pressure", "lectures"]
    if status == "upgraded":
        services += ["dispensing", "tcm", "health_assessment"]
    elif rng.random() < 0.2:
        services.append("health_assessment")
    return services


def fitness_hours(kind: str, rng: np.random.Generator) -> OpeningHours:
    """Opening hours of a fitness station, by host kind."""
    if kind in {"mall", "sports_centre"}:
        return OpeningHours(rules=[_rule(ALL_DAYS, "09:00", "21:00")])
    if kind == "community_centre":
        return OpeningHours(rules=[_rule(ALL_DAYS, "08:00", "20:00")])
    closes = "20:00" if rng.random() < 0.6 else "21:30"
    return OpeningHours(
        rules=[_rule(WEEKDAYS_MO_FR, "07:30", closes)], note="本园区/楼宇职工预约使用"
    )


def fitness_services(rng: np.random.Generator) -> list[str]:
    """Equipment always, smart fitness testing mostly, classes and showers sometimes."""
    offered = {
        "fitness_equipment": True,
        "fitness_test": rng.random() < 0.8,
        "group_classes": rng.random() < 0.5,
        "shower": rng.random() < 0.4,
    }
    return [service for service, yes in offered.items() if yes]


def rest_room_hours(kind: str) -> OpeningHours:
    """Rest rooms follow their staff's shifts."""
    if kind == "hospital":
        return OpeningHours(always_open=True, note="供本院医务职工使用")
    if kind == "metro_station":
        return OpeningHours(
            rules=[_rule(ALL_DAYS, "05:00", "23:30")], note="供一线公共交通职工使用"
        )
    return OpeningHours(rules=[_rule(ALL_DAYS, "05:00", "22:00")], note="供环卫公厕职工使用")


def rest_room_services(rng: np.random.Generator) -> list[str]:
    """Water, air conditioning and a microwave, often a fridge, couch and charging."""
    offered = {
        "water": True,
        "fridge": rng.random() < 0.6,
        "air_conditioning": True,
        "microwave": rng.random() < 0.85,
        "couch": rng.random() < 0.7,
        "charging": rng.random() < 0.7,
    }
    return [service for service, yes in offered.items() if yes]


def area_m2(layer: str, rng: np.random.Generator) -> float | None:
    """Floor area where the forms record it (rest rooms, fitness stations)."""
    if layer == "rest_room":
        return float(5 * int(rng.integers(2, 9)))  # 10-40 m²
    if layer == "fitness_station":
        return float(10 * int(rng.integers(8, 41)))  # 80-400 m²
    return None

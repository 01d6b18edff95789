"""The catalogue of facility layers: ids, names, kinds and service vocabularies.

Two kinds of layer exist:

* ``registry`` layers are the union's own facility registries (health points, fitness
  stations, relay stations, rest rooms, metro training sites, district service centres).
  They are editable and, where no official list exists offline, ship as demonstration data.
* ``context`` layers are read-only reference layers derived from OpenStreetMap (hospitals,
  clinics, food outlets, workplaces ...) that the analyses use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class LayerKind(StrEnum):
    """Whether a layer is an editable union registry or read-only OSM context."""

    REGISTRY = "registry"
    CONTEXT = "context"


@dataclass(frozen=True)
class LayerInfo:
    """Static description of one layer.

    Attributes
    ----------
    id
        Stable identifier used in URLs and facility ids (``relay_station``).
    name_zh, name_en
        Display names.
    description_zh, description_en
        One-sentence descriptions for the layer list.
    kind
        Registry or context.
    services
        The vocabulary of services a facility of this layer may offer (empty: free text
        is not allowed and the list stays empty).
    icon
        Short glyph used by the web map for the marker.
    color
        Marker colour (CSS).
    """

    id: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    kind: LayerKind
    services: tuple[str, ...] = field(default_factory=tuple)
    icon: str = "•"
    color: str = "#555"


SERVICE_LABELS: dict[str, tuple[str, str]] = {
    # health points
    "consultation": ("健康咨询/义诊", "consultation"),
    "dispensing": ("配药", "dispensing"),
    "tcm": ("中医保健", "TCM care"),
    "health_assessment": ("健康评估", "health assessment"),
    "lectures": ("健康讲座", "health lectures"),
    "blood_pressure": ("血压测量", "blood-pressure check"),
    # fitness stations
    "fitness_equipment": ("健身器材", "fitness equipment"),
    "fitness_test": ("智能体质检测", "fitness testing"),
    "group_classes": ("健身课程", "group classes"),
    "shower": ("淋浴", "showers"),
    # relay stations and rest rooms
    "water": ("饮水", "drinking water"),
    "rest": ("休息", "rest area"),
    "microwave": ("微波炉", "microwave"),
    "charging": ("手机充电", "phone charging"),
    "toilet": ("如厕", "toilet"),
    "first_aid": ("急救药箱", "first-aid kit"),
    "cooling_warming_drinks": ("防暑降温/御寒饮品", "cooling/warming drinks"),
    "fridge": ("冰箱", "fridge"),
    "air_conditioning": ("空调", "air conditioning"),
    "couch": ("沙发/躺椅", "couch"),
    # training sites and service centres
    "safety_training": ("轨交安全培训", "metro safety training"),
    "mutual_aid_insurance": ("职工互助保障", "mutual-aid insurance claims"),
    "legal_aid": ("法律援助", "legal aid"),
    "hardship_assistance": ("困难职工帮扶", "hardship assistance"),
    "employment_services": ("就业服务", "employment services"),
    # context: food outlets and medical kinds
    "restaurant": ("餐馆", "restaurant"),
    "fast_food": ("快餐", "fast food"),
    "food_court": ("美食广场", "food court"),
    "cafe": ("咖啡/简餐", "cafe"),
    "canteen": ("食堂", "canteen"),
    "clinic": ("诊所", "clinic"),
    "doctors": ("医生诊室", "doctors"),
    # context: workplaces
    "industrial": ("工业", "industrial"),
    "commercial": ("商业", "commercial"),
    "office": ("办公", "office"),
    "warehouse": ("仓储", "warehouse"),
    "retail": ("零售", "retail"),
}

_RELAY_SERVICES = (
    "water",
    "rest",
    "microwave",
    "charging",
    "toilet",
    "first_aid",
    "cooling_warming_drinks",
)

LAYERS: dict[str, LayerInfo] = {
    info.id: info
    for info in (
        LayerInfo(
            "health_point",
            "园区（楼宇）健康服务点",
            "Park/building health service point",
            "在园区和楼宇为职工提供健康咨询、配药、中医保健和健康讲座的服务点。",
            "Health service points in business parks and office buildings: consultations, "
            "dispensing, TCM care and lectures.",
            LayerKind.REGISTRY,
            ("consultation", "dispensing", "tcm", "health_assessment", "lectures", "blood_pressure"),
            "✚",
            "#d62728",
        ),
        LayerInfo(
            "fitness_station",
            "职工健身驿站",
            "Worker fitness station",
            "设在园区、楼宇、商圈和机关的职工健身驿站。",
            "Worker fitness stations in parks, buildings, shopping districts and institutions.",
            LayerKind.REGISTRY,
            ("fitness_equipment", "fitness_test", "group_classes", "shower"),
            "💪",
            "#2ca02c",
        ),
        LayerInfo(
            "relay_station",
            "户外职工爱心接力站",
            "Outdoor-worker love relay station",
            "为快递员、外卖骑手、环卫工等户外职工提供饮水、休息、充电、加热饭菜的站点。",
            "Stations for outdoor workers (couriers, riders, sanitation staff): water, rest, "
            "phone charging, microwave, toilet, first aid.",
            LayerKind.REGISTRY,
            _RELAY_SERVICES,
            "♥",
            "#e377c2",
        ),
        LayerInfo(
            "rest_room",
            "职工工间休息室",
            "Worker rest room",
            "为医护、公交、环卫等职工设置在工作场所内的工间休息室。",
            "Rest rooms for medical, public-transport and sanitation staff inside their "
            "workplaces.",
            LayerKind.REGISTRY,
            ("water", "fridge", "air_conditioning", "microwave", "couch", "charging"),
            "☕",
            "#8c564b",
        ),
        LayerInfo(
            "training_site",
            "轨交安全培训点",
            "Metro safety training site",
            "2023年轨道交通安全培训的25个培训点（车站、基地、地铁博物馆、培训中心）。",
            "The 25 metro safety training sites of the 2023 plan (stations, depots, the Metro "
            "Museum, the training centre).",
            LayerKind.REGISTRY,
            ("safety_training",),
            "🚇",
            "#1f77b4",
        ),
        LayerInfo(
            "service_centre",
            "区工会职工服务中心",
            "District union worker service centre",
            "16个区总工会职工服务中心（服务处），办理职工互助保障等服务。",
            "The 16 district union worker service centres: mutual-aid insurance claims and "
            "other services.",
            LayerKind.REGISTRY,
            ("mutual_aid_insurance", "legal_aid", "hardship_assistance", "employment_services"),
            "★",
            "#ff7f0e",
        ),
        LayerInfo(
            "community_health",
            "社区卫生服务中心/站",
            "Community health service centre",
            "健康服务点的固定合作社区卫生服务中心（初始数据来自 OpenStreetMap，由各区导入名单补全）。",
            "Community health service centres, the fixed partners of the health points (seeded "
            "from OpenStreetMap, completed by the districts' own lists).",
            LayerKind.REGISTRY,
            ("consultation", "dispensing", "tcm", "health_assessment", "blood_pressure"),
            "C",
            "#17becf",
        ),
        LayerInfo(
            "hospital",
            "医院",
            "Hospital",
            "OpenStreetMap 中的医院。",
            "Hospitals mapped in OpenStreetMap.",
            LayerKind.CONTEXT,
            (),
            "H",
            "#9467bd",
        ),
        LayerInfo(
            "clinic",
            "诊所",
            "Clinic or doctor",
            "OpenStreetMap 中的诊所和医生诊室。",
            "Clinics and doctors' practices mapped in OpenStreetMap.",
            LayerKind.CONTEXT,
            ("clinic", "doctors"),
            "+",
            "#bcbd22",
        ),
        LayerInfo(
            "pharmacy",
            "药店",
            "Pharmacy",
            "OpenStreetMap 中的药店。",
            "Pharmacies mapped in OpenStreetMap.",
            LayerKind.CONTEXT,
            (),
            "℞",
            "#7f7f7f",
        ),
        LayerInfo(
            "food",
            "餐饮网点",
            "Food outlet",
            "OpenStreetMap 中的餐馆、快餐、美食广场、咖啡简餐和食堂。",
            "Restaurants, fast food, food courts, cafes and canteens mapped in OpenStreetMap.",
            LayerKind.CONTEXT,
            ("restaurant", "fast_food", "food_court", "cafe", "canteen"),
            "🍜",
            "#ff9896",
        ),
        LayerInfo(
            "toilet",
            "公共厕所",
            "Public toilet",
            "OpenStreetMap 中的公共厕所。",
            "Public toilets mapped in OpenStreetMap.",
            LayerKind.CONTEXT,
            (),
            "WC",
            "#aec7e8",
        ),
        LayerInfo(
            "metro_station",
            "地铁站",
            "Metro station",
            "上海轨道交通车站（21条线路）。",
            "Shanghai metro stations (21 lines).",
            LayerKind.CONTEXT,
            (),
            "M",
            "#e41a1c",
        ),
        LayerInfo(
            "workplace_park",
            "园区",
            "Industrial/business park",
            "OpenStreetMap 中的工业和商业用地（产业园区、商务区）。",
            "Industrial and commercial land use in OpenStreetMap (industrial/business parks).",
            LayerKind.CONTEXT,
            ("industrial", "commercial"),
            "▦",
            "#636363",
        ),
        LayerInfo(
            "workplace_building",
            "楼宇",
            "Work building",
            "OpenStreetMap 中的办公、商业、工业和仓储建筑。",
            "Office, commercial, industrial and warehouse buildings in OpenStreetMap.",
            LayerKind.CONTEXT,
            ("office", "commercial", "industrial", "warehouse", "retail"),
            "▣",
            "#969696",
        ),
    )
}

REGISTRY_LAYERS: tuple[str, ...] = tuple(
    layer_id for layer_id, info in LAYERS.items() if info.kind is LayerKind.REGISTRY
)

DISTRICTS: tuple[str, ...] = (
    "黄浦区",
    "徐汇区",
    "长宁区",
    "静安区",
    "普陀区",
    "虹口区",
    "杨浦区",
    "闵行区",
    "宝山区",
    "嘉定区",
    "浦东新区",
    "金山区",
    "松江区",
    "青浦区",
    "奉贤区",
    "崇明区",
)


def get_layer(layer_id: str) -> LayerInfo:
    """Return the layer with this id.

    Raises
    ------
    UnknownLayerError
        When no such layer exists; the message lists the valid ids.
    """
    from layers.errors import UnknownLayerError

    try:
        return LAYERS[layer_id]
    except KeyError:
        raise UnknownLayerError(layer_id, tuple(LAYERS)) from None

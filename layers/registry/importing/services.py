"""Service phrases of ``服务内容及时间`` / ``设施及服务`` cells -> the layer's service vocabulary.

The vocabulary is ``LAYERS[layer].services`` (labels in ``SERVICE_LABELS``). A cell is
split into phrases at Chinese and Latin separators; each phrase is searched for the
keywords below (饮水/热水 -> ``water``, 微波炉 -> ``microwave`` ...). Keywords of services
the layer does not offer are ignored, and phrases that name no service, apart from those
that only give times, are returned so the report can show them.
"""

from __future__ import annotations

import re

from geo._once import pure_cache
from layers.registry.catalog import LAYERS, SERVICE_LABELS
from layers.registry.importing.cells import nfkc

#: Chinese and English keywords per service id (matched as substrings, case-insensitive).
SERVICE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "consultation": ("咨询", "义诊", "问诊", "坐诊", "看诊", "巡诊", "访视", "consultation"),
    "dispensing": ("配药", "取药", "开药", "代配药", "dispensing"),
    "tcm": ("中医", "推拿", "针灸", "艾灸", "拔罐", "刮痧", "tcm"),
    "health_assessment": ("健康评估", "风险筛查", "健康管理", "体检", "assessment"),
    "lectures": ("讲座", "健康教育", "健康课堂", "宣教", "lecture"),
    "blood_pressure": ("血压", "blood pressure"),
    "fitness_equipment": ("健身器材", "器材", "器械", "跑步机", "动感单车", "equipment"),
    "fitness_test": ("体质检测", "体质监测", "体测", "fitness test"),
    "group_classes": ("课程", "瑜伽", "操课", "团课", "class"),
    "shower": ("淋浴", "洗澡", "shower"),
    "water": ("饮水", "热水", "开水", "饮用水", "直饮水", "纯净水", "茶水", "喝水", "饮水机", "water"),
    "rest": ("休息", "歇脚", "座椅", "桌椅", "rest"),
    "microwave": ("微波炉", "加热", "热饭", "microwave"),
    "charging": ("充电", "charging", "charger"),
    "toilet": ("厕所", "卫生间", "如厕", "洗手间", "toilet"),
    "first_aid": ("药箱", "急救", "应急药", "first aid", "first-aid"),
    "cooling_warming_drinks": ("防暑", "降温", "御寒", "清凉", "绿豆汤", "姜茶", "暖饮"),
    "fridge": ("冰箱", "冷藏", "fridge"),
    "air_conditioning": ("空调", "air con"),
    "couch": ("沙发", "躺椅", "午休床", "折叠床", "陪护床", "床", "couch", "sofa"),
    "safety_training": ("安全培训", "培训", "training"),
    "mutual_aid_insurance": ("互助保障", "保障金", "mutual aid"),
    "legal_aid": ("法律援助", "法援", "法律咨询", "legal"),
    "hardship_assistance": ("帮扶", "困难职工", "hardship"),
    "employment_services": ("就业", "招聘", "employment"),
}

_SPLIT = re.compile(r"[、，,;；。/\n]+|\s+(?=\S)|(?<=[\u4e00-\u9fff])(?:和|及|与)(?=[\u4e00-\u9fff])")
_TIME_ONLY = re.compile(
    r"^(每周|每月|每天|每日|周|星期|礼拜|工作日|周末|上午|中午|下午|晚上|全天|24小时|"
    r"[0-9:：\-~至到点时半]|[一二三四五六日天]|第|个|次|双周|隔周|每|左右|开放|服务|时间)+$"
)


@pure_cache(maxsize=32)
def _keywords_for(layer_id: str) -> list[tuple[str, str]]:
    """(keyword, service) pairs for the layer, longest keyword first."""
    pairs = [
        (keyword.lower(), service)
        for service in LAYERS[layer_id].services
        for keyword in (*SERVICE_KEYWORDS.get(service, ()), SERVICE_LABELS[service][0])
    ]
    return sorted(set(pairs), key=lambda pair: -len(pair[0]))


def parse_services(text: str, layer_id: str) -> tuple[list[str], list[str]]:
    """Services named in ``text``, in vocabulary order, and the phrases that named none.

    Parameters
    ----------
    text
        The cell text (``饮水、微波炉、充电``; ``每周三中午12:00-13:00健康咨询``).
    layer_id
        The layer whose vocabulary applies.

    Returns
    -------
    tuple of list of str
        ``(services, unmatched_phrases)``; phrases that only give times are not unmatched.
    """
    found, unmatched = _parse_services(text, layer_id)
    return list(found), list(unmatched)


@pure_cache(maxsize=8192)
def _parse_services(text: str, layer_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if layer_id not in LAYERS:
        return (), ()
    keywords = _keywords_for(layer_id)
    found: set[str] = set()
    unmatched: list[str] = []
    for phrase in _SPLIT.split(nfkc(text)):
        phrase = phrase.strip()
        if not phrase:
            continue
        lowered = phrase.lower()
        hits = {service for keyword, service in keywords if keyword in lowered}
        if hits:
            found |= hits
        elif not _TIME_ONLY.match(phrase):
            unmatched.append(phrase)
    order = LAYERS[layer_id].services
    return tuple(service for service in order if service in found), tuple(unmatched)

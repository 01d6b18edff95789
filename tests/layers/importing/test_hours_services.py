"""Opening-hours text and service phrases."""

from __future__ import annotations

from datetime import datetime

import pytest

from layers.registry.hours import SHANGHAI
from layers.registry.importing.hours_text import parse_hours
from layers.registry.importing.services import parse_services


@pytest.mark.parametrize(
    ("text", "schedule"),
    [
        ("每周三中午12:00-13:00", "We 12:00-13:00"),
        ("周一至周五 9:00-17:00", "Mo-Fr 09:00-17:00"),
        ("周一到周五 9：00—17：00", "Mo-Fr 09:00-17:00"),
        ("星期一至星期六 8:30-16:30", "Mo-Sa 08:30-16:30"),
        ("工作日 8:30-11:00、13:00-16:30", "Mo-Fr 08:30-11:00; Mo-Fr 13:00-16:30"),
        ("周二、周四 下午1:30-4:30", "Tu,Th 13:30-16:30"),
        ("每周一、三、五上午9点-11点半", "Mo,We,Fr 09:00-11:30"),
        ("周末 10:00-18:00", "Sa-Su 10:00-18:00"),
        ("每天 7:00-22:00", "Mo-Su 07:00-22:00"),
        ("Mo-Fr 09:00-18:00", "Mo-Fr 09:00-18:00"),
    ],
)
def test_weekly_schedules(text, schedule):
    parsed = parse_hours(text)
    assert parsed.hours is not None
    assert parsed.hours.to_text("en") == schedule
    assert parsed.note is None
    assert not parsed.days_assumed


@pytest.mark.parametrize("text", ["24小时", "全天候开放", "7×24小时"])
def test_always_open(text):
    parsed = parse_hours(text)
    assert parsed.hours is not None
    assert parsed.hours.always_open


@pytest.mark.parametrize("text", ["每月第一个周二下午", "每周二下午", "隔周周四上午", "每周三"])
def test_inexpressible_times_become_a_note(text):
    parsed = parse_hours(text)
    assert parsed.hours is None  # unknown, not "closed"
    assert parsed.note == text


def test_partly_expressible_keeps_rule_and_note():
    parsed = parse_hours("每周三中午12:00-13:00 健康咨询；每月第一个周二下午 健康讲座")
    assert parsed.hours is not None
    assert parsed.hours.to_text("en") == "We 12:00-13:00 (每月第一个周二下午 健康讲座)"
    assert parsed.hours.is_open(datetime(2023, 3, 1, 12, 30, tzinfo=SHANGHAI))  # a Wednesday
    assert not parsed.hours.is_open(datetime(2023, 3, 2, 12, 30, tzinfo=SHANGHAI))


def test_times_without_days_are_every_day():
    parsed = parse_hours("9:00-17:00")
    assert parsed.hours is not None
    assert parsed.hours.to_text("en") == "Mo-Su 09:00-17:00"
    assert parsed.days_assumed


def test_services_text_without_times_gives_no_hours():
    parsed = parse_hours("饮水、微波炉、充电")
    assert parsed.hours is None
    assert parsed.note is None


@pytest.mark.parametrize(
    ("text", "layer", "services"),
    [
        ("饮水、微波炉、冰箱、空调、躺椅", "rest_room",
         ["water", "fridge", "air_conditioning", "microwave", "couch"]),
        ("热水，沙发，手机充电", "rest_room", ["water", "couch", "charging"]),
        ("每周三中午12:00-13:00 健康咨询、血压测量", "health_point",
         ["consultation", "blood_pressure"]),
        ("配药、中医保健、健康评估、健康讲座", "health_point",
         ["dispensing", "tcm", "health_assessment", "lectures"]),
        ("饮水 休息 充电 加热饭菜 如厕 急救药箱", "relay_station",
         ["water", "rest", "microwave", "charging", "toilet", "first_aid"]),
        ("互助保障、法律援助", "service_centre", ["mutual_aid_insurance", "legal_aid"]),
    ],
)
def test_service_vocabulary(text, layer, services):
    found, unmatched = parse_services(text, layer)
    assert found == services
    assert unmatched == []


def test_services_outside_the_layer_vocabulary_are_reported():
    found, unmatched = parse_services("健康咨询、饮水、按摩", "health_point")
    assert found == ["consultation"]
    assert unmatched == ["饮水", "按摩"]


def test_time_phrases_are_not_unmatched_services():
    found, unmatched = parse_services("每周二下午 12:00-13:00 讲座", "health_point")
    assert found == ["lectures"]
    assert unmatched == []

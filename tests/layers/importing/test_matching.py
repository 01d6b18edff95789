"""Matching rows against existing records; duplicates; re-importing the same file."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import openpyxl
import pytest

from layers.registry.importing import (
    ExistingRecord,
    existing_from_facility,
    facility_fields,
    parse_import,
)
from layers.registry.importing.matching import address_key, name_key
from layers.registry.schema import Facility
from layers.registry.shipped import DEFAULT_DATA_DIR, iter_facilities
from tests.layers.importing.forms import (
    XUHUI_CSV,
    Grid,
    health_point_form,
    rest_room_form,
    service_centre_list,
    to_csv,
    to_ods,
    to_xlsx,
    training_site_form,
)


def _as_facilities(result, layer):
    facilities = []
    for number, row in enumerate(result.rows):
        if row.has_errors:
            continue
        fields = facility_fields(row, layer)
        facilities.append(Facility(id=f"{layer}:import-{number}", source="import test",
                                   updated_at=datetime(2023, 1, 1, tzinfo=UTC), **fields))
    return facilities


@pytest.mark.parametrize(
    ("data", "layer", "options"),
    [
        (to_xlsx(health_point_form()), "health_point", {}),
        (to_ods(rest_room_form()), "rest_room", {}),
        (to_xlsx(rest_room_form(model_room=True)), "rest_room", {}),
        (to_csv(training_site_form(), "gb18030"), "training_site", {}),
        (to_xlsx(service_centre_list()), "service_centre", {}),
        (XUHUI_CSV.read_bytes(), "community_health", {}),
    ],
)
def test_reimporting_the_same_file_is_all_unchanged(data, layer, options):
    first = parse_import(data, "registry", layer, **options)
    assert {match.action for match in first.matches} == {"created"}
    stored = _as_facilities(first, layer)
    assert len(stored) == len(first.matches)
    again = parse_import(data, "registry", layer, existing=stored, **options)
    assert [match.action for match in again.matches] == ["unchanged"] * len(stored)
    assert [match.record_id for match in again.matches] == [f.id for f in stored]
    # the dict form of the records (as a store returns JSON) works the same
    dicts = [f.model_dump(mode="json") for f in stored]
    assert {m.action for m in parse_import(data, "r", layer, existing=dicts, **options).matches} == {"unchanged"}


def test_changed_cells_are_updates_naming_the_fields():
    original = parse_import(to_xlsx(rest_room_form()), "rr.xlsx", "rest_room")
    stored = _as_facilities(original, "rest_room")
    workbook = openpyxl.load_workbook(io.BytesIO(to_xlsx(rest_room_form())))
    sheet = workbook.active
    sheet["E7"] = "13900009999"  # new mobile
    sheet["F8"] = "35"  # bigger room
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = parse_import(buffer.getvalue(), "rr.xlsx", "rest_room", existing=stored)
    assert [m.action for m in result.matches] == ["updated", "updated", "unchanged"]
    first, second, _ = result.matches
    assert [(c.field, c.old, c.new) for c in first.changes] == [
        ("phones", ["13900001111"], ["13900009999"])]
    assert [(c.field, c.old, c.new) for c in second.changes] == [("area_m2", 30.0, 35.0)]


def test_blank_cell_never_clears_a_stored_value():
    stored = [ExistingRecord("relay_station:1", {"name": "一号站", "address": "漕溪路1号",
                                                 "phones": ["13812345678"]})]
    data = to_csv(Grid([["名称", "地址", "电话"], ["一号站", "漕溪路1号", None]]))
    assert parse_import(data, "a.csv", "relay_station", existing=stored).matches[0].action == "unchanged"


def test_registry_number_wins_over_name_and_address():
    stored = [ExistingRecord("relay_station:7", {"registry_no": "PT-007", "name": "旧名字",
                                                 "address": "旧地址1号"})]
    data = to_csv(Grid([["统一编号", "名称", "地址"], ["pt-007", "新名字", "新地址2号"]]))
    match = parse_import(data, "a.csv", "relay_station", existing=stored).matches[0]
    assert (match.action, match.record_id, match.matched_on) == ("updated", "relay_station:7", "registry_no")
    assert {c.field for c in match.changes} == {"name", "address"}


def test_a_new_registry_number_on_a_known_site_adds_the_number():
    stored = [ExistingRecord("relay_station:8", {"name": "一号站", "address": "漕溪路1号"})]
    data = to_csv(Grid([["编号", "名称", "地址"], ["PT-100", "一号站", "上海市徐汇区漕溪路1號"]]))
    match = parse_import(data, "a.csv", "relay_station", existing=stored).matches[0]
    assert (match.matched_on, match.action) == ("name_address", "updated")
    assert [c.field for c in match.changes] == ["registry_no", "address", "district"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("上海市徐汇区漕溪北路100号", "漕溪北路100"),
        ("徐汇漕溪北路 100 號", "漕溪北路100号"),
        ("漕溪北路１００号（东门）", "漕溪北路100号东门"),
    ],
)
def test_address_key_normalisation(a, b):
    assert address_key(a) == address_key(b)


def test_name_key_ignores_width_spaces_and_punctuation():
    assert name_key("浦东新区总工会职工服务中心 (办事点)") == name_key("浦东新区总工会职工服务中心（办事点）")


def test_seed_service_centres_match_the_shipped_records():
    shipped = list(iter_facilities(DEFAULT_DATA_DIR, "service_centre"))
    result = parse_import(to_xlsx(service_centre_list()), "centres.xlsx", "service_centre",
                          existing=shipped)
    assert len(result.matches) == 16
    assert all(m.matched_on == "name_address" for m in result.matches)
    updated = {m.row: [c.field for c in m.changes] for m in result.matches if m.action == "updated"}
    # the published list writes "(办事点)" and "11楼 1107室" where the records have
    # "（办事点）" and "11楼1107室"; everything else, phones included, is unchanged
    assert updated == {3: ["name"], 12: ["address"]}


def test_exact_duplicate_rows_are_errors():
    data = to_csv(Grid([["名称", "地址"], ["一号站", "漕溪路1号"], ["一号站 ", "漕溪路1號"]]))
    result = parse_import(data, "a.csv", "relay_station")
    assert [(p.row, p.code) for p in result.row_problems()] == [(3, "duplicate_row")]
    assert "第 2 行" in result.row_problems()[0].message_zh
    assert [m.row for m in result.matches] == [2]


def test_likely_duplicates_within_the_file_are_warned():
    grid = Grid([
        ["名称", "lon", "lat", "地址"],
        ["漕河泾开发区健康服务点", 121.3950, 31.1700, "宜山路900号"],
        ["漕河泾开发区健康服务站", 121.3960, 31.1705, "宜山路910号"],  # 110 m away
        ["漕河泾开发区健康服务站", 121.4500, 31.2300, "南京西路1号"],  # same name, far away
        ["长征工业园健康服务点", 121.3951, 31.1701, "宜山路901号"],  # close, other name
    ])
    result = parse_import(to_csv(grid), "a.csv", "health_point", crs="wgs84")
    assert [(p.row, p.code) for p in result.row_problems()] == [(3, "possible_duplicate")]
    hint = result.matches[1].duplicates[0]
    assert hint.row == 2
    assert hint.name_score >= 90
    assert 80 < hint.distance_m < 140


def test_likely_duplicate_of_an_existing_record_without_positions():
    stored = [ExistingRecord("rest_room:1", {"name": "普陀区中心医院护士休息室",
                                             "address": "上海市普陀区兰溪路164号"})]
    data = to_csv(Grid([["名称", "地址"], ["普陀区中心医院护士休息间", "普陀区兰溪路164号1楼"]]))
    result = parse_import(data, "a.csv", "rest_room", existing=stored)
    match = result.matches[0]
    assert match.action == "created"
    assert [(h.record_id, h.row) for h in match.duplicates] == [("rest_room:1", None)]
    assert [p.code for p in result.row_problems()] == ["possible_existing_duplicate"]


def test_existing_from_facility_reads_extra_fields():
    result = parse_import(to_xlsx(health_point_form()), "hp.xlsx", "health_point")
    facility = _as_facilities(result, "health_point")[0]
    record = existing_from_facility(facility)
    assert record.fields["n_workers"] == 1200
    assert record.fields["build_type"] == "new"
    assert record.fields["phones"] == ["13812345678"]
    assert facility.hours is not None
    assert facility.hours.rules[0].days == ["We"]

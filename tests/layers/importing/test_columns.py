"""Header synonyms, CRS in headers, explicit mappings and wrong-form detection."""

from __future__ import annotations

import json

import pytest

from layers.registry.importing import ImportFileError, load_mapping, parse_import
from layers.registry.importing.columns import lookup_header, normalise_header
from tests.layers.importing.forms import (
    Grid,
    health_point_form,
    rest_room_form,
    service_centre_list,
    to_csv,
    to_xlsx,
    training_site_form,
)


@pytest.mark.parametrize(
    ("header", "field", "crs"),
    [
        ("所在园区（楼宇、\n商圈）名称", "park_name", None),
        ("所在园区（楼宇、 商圈）名称", "park_name", None),
        ("面积（m²）", "area_m2", None),
        ("面积 (m <sup>2</sup> )", "area_m2", None),
        ("面积（㎡）", "area_m2", None),
        ("类型 (新建/ 升级)", "build_type", None),
        ("类型（新建/\n升级）", "build_type", None),
        ("推荐站点名称", "name", None),
        ("工间休息室名称", "name", None),
        ("培训地点", "name", None),
        ("职工服务中心", "name", None),
        ("服务内容及时间", "services_hours_text", None),
        ("设施及服务", "services_text", None),
        ("手机号码", "phones", None),
        ("详细地址", "address", None),
        ("所辖区", "district", None),
        ("计划完成时间", "planned_date", None),
        ("统一编号", "registry_no", None),
        ("* 名称：", "name", None),
        ("ＮＡＭＥ", "name", None),
        ("Address", "address", None),
        ("registry_no", "registry_no", None),
        ("经度_bd09", "lon", "bd09"),
        ("纬度_bd09", "lat", "bd09"),
        ("经度（高德）", "lon", "gcj02"),
        ("lat_wgs84", "lat", "wgs84"),
        ("lng (GCJ-02)", "lon", "gcj02"),
        ("经纬度", "lonlat", None),
        ("吃饭", None, None),
    ],
)
def test_header_synonyms(header, field, crs):
    found_field, _layer, found_crs = lookup_header(header)
    assert (found_field, found_crs) == (field, crs)


def test_normalised_header_drops_breaks_widths_and_tags():
    assert normalise_header("面积 (m <sup>2</sup> )") == "面积(m2)"
    assert normalise_header("所在园区（楼宇、\n商圈）名称") == "所在园区(楼宇、商圈)名称"


@pytest.mark.parametrize(
    ("grid", "layer", "fields"),
    [
        (health_point_form(), "health_point",
         ["seq", "build_type", "park_name", "n_firms", "n_workers", "name", "address",
          "contact_person", "phones", "services_hours_text"]),
        (rest_room_form(), "rest_room",
         ["seq", "name", "address", "contact_person", "phones", "area_m2", "services_text",
          "planned_date"]),
        (rest_room_form(model_room=True), "rest_room",
         ["seq", "name", "address", "contact_person", "phones", "area_m2", "services_text",
          "planned_date"]),
        (training_site_form(), "training_site", ["seq", "district", "name", "address"]),
        (service_centre_list(), "service_centre", ["seq", "name", "phones", "address"]),
    ],
)
def test_every_form_maps_completely(grid, layer, fields):
    result = parse_import(to_xlsx(grid), "form.xlsx", layer)
    assert [column.field for column in result.table.columns] == fields
    assert result.table.form == layer
    assert "unknown_columns" not in [p.code for p in result.file_problems]


@pytest.mark.parametrize(
    "layer",
    ["health_point", "fitness_station", "relay_station", "rest_room", "training_site",
     "service_centre", "community_health"],
)
def test_plain_english_list_for_every_layer(layer):
    data = ("name,address,district,phone,hours,services,registry_no\r\n"
            "Station One,漕溪北路100号,xuhui,021-64040000,周一至周五 9:00-17:00,,SH-001\r\n").encode()
    result = parse_import(data, "list.csv", layer)
    fields = result.rows[0].fields
    assert fields["name"] == "Station One"
    assert fields["district"] == "徐汇区"
    assert fields["phones"] == ["021-64040000"]
    assert fields["registry_no"] == "SH-001"
    assert fields["hours"].to_text("en") == "Mo-Fr 09:00-17:00"
    assert result.table.form is None


def test_unrecognised_headers_need_a_mapping_then_work():
    grid = Grid([["站", "在哪", "联络"], ["一号站", "漕溪路1号", "13812345678"]])
    with pytest.raises(ImportFileError) as caught:
        parse_import(to_xlsx(grid), "a.xlsx", "relay_station")
    assert caught.value.code == "import_no_header"
    by_header = parse_import(to_xlsx(grid), "a.xlsx", "relay_station",
                             mapping={"站": "name", "在哪": "address", "联络": "phones"})
    assert by_header.rows[0].fields == {"name": "一号站", "address": "漕溪路1号",
                                        "phones": ["13812345678"]}
    assert [c.how for c in by_header.table.columns] == ["mapping"] * 3
    by_letter = parse_import(to_xlsx(grid), "a.xlsx", "relay_station",
                             mapping=json.dumps({"A": "name", "B": "address", "C": None}))
    assert by_letter.rows[0].fields == {"name": "一号站", "address": "漕溪路1号"}
    assert by_letter.rows[0].extra_columns == {}


def test_mapping_overrides_a_synonym():
    grid = Grid([["名称", "地址", "备注"], ["一号站", "漕溪路1号", "ZX-9"]])
    result = parse_import(to_csv(grid), "a.csv", "relay_station", mapping={"备注": "registry_no"})
    assert result.rows[0].fields["registry_no"] == "ZX-9"


def test_mapping_from_a_json_file(tmp_path):
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"站": "name", "在哪": "address"}), encoding="utf-8")
    assert load_mapping(path) == {"站": "name", "在哪": "address"}
    assert load_mapping(str(path)) == {"站": "name", "在哪": "address"}


@pytest.mark.parametrize(
    ("mapping", "says"),
    [
        ({"站": "title"}, "title"),
        ('{"站": ', "JSON"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_bad_mappings(mapping, says):
    with pytest.raises(ImportFileError, match=says) as caught:
        parse_import(to_csv(Grid([["名称", "地址"], ["a", "b"]])), "a.csv", "relay_station",
                     mapping=mapping)
    assert caught.value.code == "import_bad_mapping"


def test_mapping_naming_an_absent_header():
    grid = Grid([["名称", "地址"], ["一号站", "漕溪路1号"]])
    with pytest.raises(ImportFileError, match="电话号") as caught:
        parse_import(to_csv(grid), "a.csv", "relay_station", mapping={"电话号": "phones"})
    assert caught.value.code == "import_bad_mapping"


@pytest.mark.parametrize(
    ("grid", "layer", "says"),
    [
        (rest_room_form(), "health_point", "rest room"),
        (rest_room_form(model_room=True), "health_point", "rest room"),
        (health_point_form(), "rest_room", "health service point"),
        (training_site_form(), "service_centre", "metro safety training site"),
        (service_centre_list(), "training_site", "service centre"),
    ],
)
def test_wrong_layers_form_is_refused(grid, layer, says):
    with pytest.raises(ImportFileError, match=says) as caught:
        parse_import(to_xlsx(grid), "form.xlsx", layer)
    assert caught.value.code == "import_wrong_form"
    assert "图层" in caught.value.message_zh


def test_unknown_and_duplicate_columns_are_reported():
    grid = Grid([["名称", "地址", "吃饭", "站点名称"], ["一号站", "漕溪路1号", "有", "别名"]])
    result = parse_import(to_csv(grid), "a.csv", "relay_station")
    codes = {p.code: p for p in result.file_problems}
    assert codes["unknown_columns"].cells == ("C",)
    assert codes["duplicate_column"].cells == ("D",)
    assert result.rows[0].extra_columns == {"吃饭": "有", "站点名称": "别名"}


def test_two_phone_columns_are_joined():
    grid = Grid([["名称", "地址", "电话", "手机"], ["一号站", "漕溪路1号", "64040000", "13812345678"]])
    result = parse_import(to_csv(grid), "a.csv", "relay_station")
    assert result.rows[0].fields["phones"] == ["021-64040000", "13812345678"]

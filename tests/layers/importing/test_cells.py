"""Cell rules: text, phones, areas, dates, counts, types, districts, e-mail."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from layers.registry.importing.cells import (
    clean_text,
    district_in_address,
    parse_area,
    parse_build_type,
    parse_count,
    parse_date,
    parse_district,
    parse_email,
    parse_phones,
)


def _codes(result):
    return [issue.code for issue in result.issues]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  徐汇区  ", "徐汇区"),
        ("１２３ＡＢｃ", "123ABc"),
        ("漕溪路\u3000100号", "漕溪路 100号"),
        ("轨道交通培训中心\n7号楼", "轨道交通培训中心 7号楼"),
        ("所在园区（楼宇、\n商圈）名称", "所在园区（楼宇、商圈）名称"),
        (200032.0, "200032"),
        (None, ""),
        (datetime(2023, 10, 1), "2023-10-01"),
    ],
)
def test_clean_text(value, expected):
    assert clean_text(value) == expected


def test_clean_text_keeps_chinese_punctuation():
    assert clean_text("浦东新区总工会职工服务中心（办事点）") == "浦东新区总工会职工服务中心（办事点）"


@pytest.mark.parametrize(
    ("value", "phones"),
    [
        ("13812345678", ["13812345678"]),
        ("+86 138 1234 5678", ["13812345678"]),
        ("+86-13812345678", ["13812345678"]),
        ("１３８１２３４５６７８", ["13812345678"]),
        (13812345678, ["13812345678"]),
        ("54182060", ["021-54182060"]),
        ("021-64042727", ["021-64042727"]),
        ("02164042727", ["021-64042727"]),
        ("(021)64042727", ["021-64042727"]),
        ("（021）6404 2727", ["021-64042727"]),
        ("68472222-88104", ["021-68472222-88104"]),
        ("021-52826666转801", ["021-52826666-801"]),
        ("63773621、 53062331", ["021-63773621", "021-53062331"]),
        ("33362765(在职) 33362769(退休)", ["021-33362765", "021-33362769"]),
        ("13600002222/021-62345678", ["13600002222", "021-62345678"]),
        ("13600002222，13600003333", ["13600002222", "13600003333"]),
        ("12351", ["12351"]),
        ("400-820-8820", ["400-820-8820"]),
    ],
)
def test_valid_phones(value, phones):
    result = parse_phones(value)
    assert result.value == phones
    assert result.issues == []


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        ("1381234567", "1381234567"),  # one digit short
        ("138123456789", "138123456789"),  # one too many
        ("6404272", "6404272"),  # 7-digit landline
        ("13812345678、23456", "23456"),
    ],
)
def test_invalid_phone_is_an_error_naming_the_value(value, bad):
    result = parse_phones(value)
    errors = [issue for issue in result.issues if issue.severity == "error"]
    assert [issue.code for issue in errors] == ["invalid_phone"]
    assert bad in errors[0].message_zh
    assert bad in errors[0].message_en


def test_phone_without_digits_is_an_error():
    assert _codes(parse_phones("无")) == ["invalid_phone"]


def test_other_city_number_is_a_warning():
    result = parse_phones("0512-62345678")
    assert result.value == ["0512-62345678"]
    assert [(i.severity, i.code) for i in result.issues] == [("warning", "non_shanghai_phone")]


@pytest.mark.parametrize(
    ("value", "area", "approximate"),
    [
        ("30㎡", 30.0, False),
        ("约20", 20.0, True),
        ("约20㎡", 20.0, True),
        ("40平方米", 40.0, False),
        ("25 m2", 25.0, False),
        ("25m²", 25.0, False),
        ("20-30", 25.0, True),
        ("20～30平米", 25.0, True),
        ("３０", 30.0, False),
        ("50左右", 50.0, True),
        (25.5, 25.5, False),
        (18, 18.0, False),
    ],
)
def test_areas(value, area, approximate):
    result = parse_area(value)
    assert result.value == (area, approximate)
    assert [i for i in result.issues if i.severity == "error"] == []


@pytest.mark.parametrize("value", ["大约二十", "abc", "0", -5])
def test_bad_area_is_an_error(value):
    result = parse_area(value)
    assert result.value is None
    assert _codes(result) == ["invalid_area"]


def test_implausible_area_is_a_warning():
    result = parse_area("20000")
    assert result.value == (20000.0, False)
    assert _codes(result) == ["suspicious_area"]


@pytest.mark.parametrize(
    ("value", "day", "precision"),
    [
        ("2023年6月", date(2023, 6, 30), "month"),
        ("2023.09", date(2023, 9, 30), "month"),
        ("2023年12月底", date(2023, 12, 31), "month"),
        ("2023-10-01", date(2023, 10, 1), "day"),
        ("2023/10/1", date(2023, 10, 1), "day"),
        ("2023年10月1日", date(2023, 10, 1), "day"),
        ("20231001", date(2023, 10, 1), "day"),
        ("２０２３年６月", date(2023, 6, 30), "month"),
        ("2023年上半年", date(2023, 6, 30), "month"),
        ("2023年底", date(2023, 12, 31), "year"),
        (45200, date(2023, 10, 1), "day"),  # Excel serial date
        (45200.0, date(2023, 10, 1), "day"),
        (date(2023, 6, 1), date(2023, 6, 1), "day"),
        (datetime(2023, 6, 1, 0, 0), date(2023, 6, 1), "day"),
    ],
)
def test_dates(value, day, precision):
    result = parse_date(value)
    assert result.value == (day, precision)
    assert result.issues == []


@pytest.mark.parametrize("value", ["尽快", "2023-02-30", "2023年13月"])
def test_unreadable_date_is_a_warning(value):
    result = parse_date(value)
    assert result.value is None
    assert [(i.severity, i.code) for i in result.issues] == [("warning", "invalid_date")]


def test_unlikely_year_is_a_warning():
    assert _codes(parse_date("1923-10-01")) == ["suspicious_date"]


@pytest.mark.parametrize(
    ("value", "count", "codes"),
    [
        ("300", 300, []),
        ("１２０", 120, []),
        ("1,200", 1200, []),
        (2500.0, 2500, []),
        ("1.2万", 12000, []),
        ("300人", 300, []),
        ("约300人", 300, ["approximate_count"]),
    ],
)
def test_counts(value, count, codes):
    result = parse_count(value, "职工数", "number of workers")
    assert result.value == count
    assert _codes(result) == codes


@pytest.mark.parametrize("value", ["很多", "-3"])
def test_bad_count_is_a_warning(value):
    result = parse_count(value, "企业数", "number of firms")
    assert result.value is None
    assert [i.severity for i in result.issues] == ["warning"]


@pytest.mark.parametrize(
    ("value", "kind"), [("新建", "new"), (" 升级 ", "upgrade"), ("改建", "upgrade"), ("NEW", "new")]
)
def test_build_types(value, kind):
    assert parse_build_type(value).value == kind


def test_unknown_build_type_is_an_error():
    assert _codes(parse_build_type("扩建中")) == ["invalid_build_type"]


@pytest.mark.parametrize(
    ("value", "district", "street"),
    [
        ("徐汇", "徐汇区", None),
        ("徐汇区", "徐汇区", None),
        ("浦东", "浦东新区", None),
        ("浦东新区", "浦东新区", None),
        ("上海市静安区", "静安区", None),
        ("普陀区长征镇", "普陀区", "长征镇"),
        ("徐汇区/斜土路街道", "徐汇区", "斜土路街道"),
        ("Xuhui", "徐汇区", None),
        ("Pudong New District", "浦东新区", None),
    ],
)
def test_districts(value, district, street):
    result = parse_district(value)
    assert result.value == (district, street)
    assert result.issues == []


def test_former_district_maps_with_a_warning():
    result = parse_district("闸北区")
    assert result.value == ("静安区", None)
    assert _codes(result) == ["former_district"]


@pytest.mark.parametrize("value", ["北京市朝阳区", "苏州", "东区"])
def test_unknown_district_is_an_error(value):
    result = parse_district(value)
    assert result.value is None
    assert _codes(result) == ["unknown_district"]


@pytest.mark.parametrize(
    ("address", "district"),
    [
        ("上海市徐汇区零陵北路2号", "徐汇区"),
        ("徐汇区老沪闵路 1 号", "徐汇区"),
        ("浦东大道100号", None),  # a road, not the district
        ("漕东支路110号", None),
    ],
)
def test_district_in_address(address, district):
    assert district_in_address(address) == district


def test_email():
    assert parse_email(" WangMin@Example.com ").value == "wangmin@example.com"
    assert _codes(parse_email("wangmin@")) == ["invalid_email"]

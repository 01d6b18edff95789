"""The Shanghai address parser and name normaliser on real-style addresses."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from geo.geocode.address import SubdistrictNames, parse_address
from geo.geocode.normalize import canonical_district, halfwidth, name_variants, normalize_name
from layers.registry.gazetteer_io import read_rows
from layers.registry.shipped import DEFAULT_DATA_DIR, GAZETTEER_AREAS_PATH


@pytest.fixture(scope="module")
def subdistricts() -> SubdistrictNames:
    rows = read_rows(DEFAULT_DATA_DIR / GAZETTEER_AREAS_PATH)
    return SubdistrictNames((r["name"], r["district"]) for r in rows if r["kind"] == "subdistrict")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("上海市徐汇区零陵北路2号", {"district": "徐汇区", "road": "零陵北路", "house_number": 2}),
        (
            "浦东新区张江高科技园区碧波路690号",
            {"district": "浦东新区", "road": "碧波路", "house_number": 690,
             "subdistrict": "张江高科技园区", "landmarks": ["张江高科技园区"]},
        ),
        (
            "普陀区长征镇金沙江路1759号（近真北路）",
            {"district": "普陀区", "subdistrict": "长征镇", "road": "金沙江路",
             "house_number": 1759, "near_roads": ["真北路"]},
        ),
        (
            "静安区南京西路1266号恒隆广场",
            {"district": "静安区", "road": "南京西路", "house_number": 1266, "landmarks": ["恒隆广场"]},
        ),
        (
            "上海市徐汇区五原路281弄7号",
            {"road": "五原路", "lane": 281, "house_number": 281, "sub_number": 7},
        ),
        (
            "闵行区莘庄镇莘松路３８０号１幢２０１室",
            {"district": "闵行区", "subdistrict": "莘庄镇", "road": "莘松路", "house_number": 380,
             "building": "1", "room": "201"},
        ),
        ("长宁路1号", {"district": None, "road": "长宁路", "house_number": 1}),
        ("浦东南路1000号", {"district": None, "road": "浦东南路"}),
        ("闸北区共和新路1号", {"district": "静安区", "road": "共和新路"}),
        ("黄浦区西藏中路与南京东路交叉口", {"road": "西藏中路", "near_roads": ["南京东路"]}),
        ("徐汇区漕溪北路1200号华鼎大厦3楼", {"road": "漕溪北路", "floor": "3", "landmarks": ["华鼎大厦"]}),
        ("江苏省昆山市前进路1号", {"other_region": "江苏省苏州市昆山市", "road": None}),
        ("南京西路1266号", {"other_region": None, "road": "南京西路"}),
    ],
)
def test_parse_address(address: str, expected: dict[str, object], subdistricts: SubdistrictNames) -> None:
    parsed = parse_address(address, subdistricts)
    for key, value in expected.items():
        assert getattr(parsed, key) == value, key


def test_road_tails_offer_the_real_road_inside_a_longer_run() -> None:
    parsed = parse_address("静安寺南京西路1号")
    assert "南京西路" in parsed.road_candidates
    assert parsed.road_candidates[0] == parsed.road


def test_empty_address() -> None:
    parsed = parse_address("  ")
    assert parsed.road is None
    assert parsed.district is None


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("上海市徐汇区斜土街道社区卫生服务中心", "斜土街道社区卫生服务中心"),
        ("徐汇区斜土街道社区卫生服务中心", "斜土街道社区卫生服务中心"),
        ("上海某某科技有限公司（徐汇分部）", "某某科技"),
        ("上海银行", "上海银行"),
        ("ＡＢＣ大厦", "abc大厦"),
        ("长宁路菜场", "长宁路菜场"),
    ],
)
def test_normalize_name(name: str, key: str) -> None:
    assert normalize_name(name) == key


def test_name_variants_keep_bracket_text_as_second_key() -> None:
    assert name_variants("上海市第六人民医院（东院）") == ["第六人民医院", "第六人民医院东院"]


@pytest.mark.parametrize(
    ("value", "district"),
    [("徐汇", "徐汇区"), ("上海市浦东新区", "浦东新区"), ("卢湾区", "黄浦区"), ("崇明县", "崇明区"),
     ("某某区", None), ("", None)],
)
def test_canonical_district(value: str, district: str | None) -> None:
    assert canonical_district(value) == district


def test_halfwidth_digits() -> None:
    assert halfwidth("１２３号（近）") == "123号(近)"


def test_xuhui_addresses_all_parse(subdistricts: SubdistrictNames) -> None:
    path = Path(__file__).parents[1] / "data/registries/xuhui_community_health_centres_bd09.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    parsed = [parse_address(row["地址"], subdistricts) for row in rows]
    assert all(p.district == "徐汇区" for p in parsed)
    assert all(p.road and p.road.endswith("路") for p in parsed)
    assert all(p.house_number for p in parsed)

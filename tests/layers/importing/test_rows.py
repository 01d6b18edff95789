"""Row rules: names, locations, coordinates and their CRS, districts."""

from __future__ import annotations

import csv

import pytest

from geo.crs import from_wgs84, haversine_m, to_wgs84
from layers.registry.importing import ImportFileError, parse_import
from tests.layers.importing.forms import XUHUI_CSV, Grid, to_csv, to_xlsx


def _xuhui_rows():
    with XUHUI_CSV.open(encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def test_xuhui_list_bd09_header_is_converted_with_prcoords():
    result = parse_import(XUHUI_CSV.read_bytes(), XUHUI_CSV.name, "community_health")
    assert result.ok
    source = _xuhui_rows()
    assert len(result.rows) == len(source) == 13
    for row, original in zip(result.rows, source, strict=True):
        expected = to_wgs84(float(original["经度_bd09"]), float(original["纬度_bd09"]), "bd09")
        assert row.fields["lon"] == pytest.approx(expected[0], abs=1e-7)
        assert row.fields["lat"] == pytest.approx(expected[1], abs=1e-7)
        assert row.fields["source_crs"] == "bd09"
        assert row.fields["district"] == "徐汇区"
        assert row.fields["postcode"] == original["邮编"]
        assert row.fields["phones"] == [original["电话"]]
        assert not row.needs_geocoding
    # the BD-09 offset in Shanghai is several hundred metres: it was not left in
    first = source[0]
    offset = haversine_m(float(first["经度_bd09"]), float(first["纬度_bd09"]),
                         result.rows[0].fields["lon"], result.rows[0].fields["lat"])
    assert 300 < float(offset) < 1200


def test_header_crs_conflicting_with_the_declared_crs_is_a_file_error():
    result = parse_import(XUHUI_CSV.read_bytes(), XUHUI_CSV.name, "community_health", crs="gcj02")
    assert [p.code for p in result.file_problems] == ["crs_conflict"]
    assert not result.ok
    assert all(not row.located and row.needs_geocoding for row in result.rows)


def _points_csv(lon_header="lon", lat_header="lat", points=((121.47, 31.23),)) -> bytes:
    grid = Grid([["name", lon_header, lat_header, "address"],
                 *[[f"站{i}", lon, lat, f"漕溪路{i}号"] for i, (lon, lat) in enumerate(points)]])
    return to_csv(grid)


def test_coordinates_without_a_crs_are_not_used():
    result = parse_import(_points_csv(), "p.csv", "relay_station")
    problem = next(p for p in result.file_problems if p.code == "crs_missing")
    assert problem.severity == "error"
    assert "crs" in problem.message_en
    assert not result.rows[0].located


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09"])
def test_declared_crs_is_converted_to_wgs84(crs):
    wgs = (121.4737, 31.2304)
    given = from_wgs84(*wgs, crs)
    result = parse_import(_points_csv(points=(given,)), "p.csv", "relay_station", crs=crs)
    fields = result.rows[0].fields
    assert float(haversine_m(fields["lon"], fields["lat"], *wgs)) < 0.05
    assert fields["source_crs"] == crs


def test_bad_crs_name():
    with pytest.raises(ImportFileError, match="wgs84") as caught:
        parse_import(_points_csv(), "p.csv", "relay_station", crs="mercator")
    assert caught.value.code == "import_bad_crs"


def test_swapped_and_outside_coordinates():
    points = ((31.23, 121.47), (116.40, 39.90), (120.5, 30.9), ("东经121", 31.2))
    result = parse_import(_points_csv(points=points), "p.csv", "relay_station", crs="wgs84")
    swapped, beijing, near, text = result.rows
    assert (swapped.fields["lon"], swapped.fields["lat"]) == (121.47, 31.23)
    assert [p.code for p in swapped.problems] == ["coordinates_swapped"]
    assert [p.code for p in beijing.problems] == ["outside_shanghai"]
    assert beijing.has_errors
    assert [p.code for p in near.problems] == ["near_shanghai"]
    assert near.located
    assert [p.code for p in text.problems] == ["invalid_coordinates"]
    assert text.problems[0].value == "东经121"


def test_lonlat_in_one_column():
    grid = Grid([["名称", "坐标_gcj02"], ["一号站", "121.4737, 31.2304"], ["二号站", "121.47"]])
    result = parse_import(to_csv(grid), "p.csv", "relay_station")
    expected = to_wgs84(121.4737, 31.2304, "gcj02")
    assert result.rows[0].fields["lon"] == pytest.approx(expected[0], abs=1e-7)
    assert [(p.row, p.code) for p in result.rows[1].problems] == [
        (3, "invalid_coordinates"), (3, "missing_location")]


def test_row_without_position_or_address_is_an_error_and_with_address_needs_geocoding():
    grid = Grid([["名称", "地址"], ["一号站", None], ["二号站", "漕溪路2号"]])
    result = parse_import(to_xlsx(grid), "a.xlsx", "relay_station")
    assert [p.code for p in result.rows[0].problems] == ["missing_location"]
    assert result.rows_needing_geocoding == [3]


def test_table_without_any_location_column_is_refused():
    grid = Grid([["名称", "电话"], ["一号站", "13812345678"]])
    with pytest.raises(ImportFileError) as caught:
        parse_import(to_xlsx(grid), "a.xlsx", "relay_station")
    assert caught.value.code == "import_no_location_column"


def test_district_sources_and_mismatch():
    grid = Grid([
        ["名称", "区", "地址"],
        ["一号站", "徐汇", "上海市徐汇区漕溪路1号"],
        ["二号站", None, "上海市长宁区愚园路1号"],
        ["三号站", "静安", "上海市徐汇区漕溪路3号"],
        ["四号站", "苏州", "漕溪路4号"],
        ["黄浦区五号站", None, "重庆南路5号"],
    ])
    rows = parse_import(to_xlsx(grid), "a.xlsx", "relay_station").rows
    assert [row.fields.get("district") for row in rows] == ["徐汇区", "长宁区", "静安区", None, "黄浦区"]
    assert [p.code for p in rows[2].problems] == ["district_mismatch"]
    assert [p.code for p in rows[3].problems] == ["unknown_district"]
    assert rows[3].has_errors


def test_health_form_row_fields():
    from tests.layers.importing.forms import health_point_form

    rows = parse_import(to_xlsx(health_point_form()), "hp.xlsx", "health_point").rows
    first = rows[0].fields
    assert first["build_type"] == "new"
    assert (first["n_firms"], first["n_workers"]) == (45, 1200)
    assert first["services"] == ["consultation", "blood_pressure"]
    assert first["hours"].to_text("zh") == "周三 12:00-13:00"
    assert first["hours_text"] == "每周三中午12:00-13:00 健康咨询、血压测量"
    assert rows[1].fields["build_type"] == "upgrade"
    assert rows[1].fields["services"] == ["dispensing", "tcm"]
    assert rows[4].fields["phones"] == ["13600002222", "13600003333"]
    assert "hours" not in rows[4].fields  # monthly: kept as a note, not a weekly schedule
    assert [p.code for p in rows[4].problems] == ["hours_as_note"]


def test_rest_room_form_row_fields():
    from datetime import date

    from tests.layers.importing.forms import rest_room_form

    rows = parse_import(to_xlsx(rest_room_form()), "rr.xlsx", "rest_room").rows
    assert [(r.fields["area_m2"], r.fields["area_approx"]) for r in rows] == [
        (20.0, True), (30.0, False), (40.0, False)]
    assert [(r.fields["planned_date"], r.fields["planned_date_precision"]) for r in rows] == [
        (date(2023, 12, 31), "month"), (date(2023, 10, 1), "day"), (date(2023, 9, 30), "month")]
    assert rows[2].fields["phones"] == ["021-52826666-801"]
    assert [r.problems for r in rows] == [[], [], []]

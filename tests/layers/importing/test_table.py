"""Finding the table: title, contact block, header, footer, and Excel's row numbers."""

from __future__ import annotations

from layers.registry.importing import parse_import
from tests.layers.importing.forms import (
    Grid,
    health_point_form,
    rest_room_form,
    to_ods,
    to_xlsx,
)


def test_health_form_parts():
    result = parse_import(to_xlsx(health_point_form()), "hp.xlsx", "health_point")
    table = result.table
    assert (table.title_row, table.header_row, table.footer_row) == (1, 4, 11)
    assert (table.first_data_row, table.last_data_row) == (5, 9)
    assert table.footer_text.startswith("注：请于 2023 年 2 月 6 日")
    contact = table.contact
    assert contact.rows == [2, 3]
    assert contact.cells == {"区（街道）": "普陀区长征镇", "联系人姓名": "王敏",
                             "联系人邮箱": "wangmin@example.com", "联系人手机": "13912345678"}
    assert (contact.district, contact.street, contact.contact_name) == ("普陀区", "长征镇", "王敏")
    assert (contact.contact_email, contact.contact_phone) == ("wangmin@example.com", "13912345678")
    # the form's district applies to its rows
    assert {row.fields.get("district") for row in result.rows} == {"普陀区"}
    assert {row.fields.get("street") for row in result.rows} == {"长征镇"}


def test_rest_room_form_skips_label_caption_and_template_rows():
    result = parse_import(to_ods(rest_room_form()), "rr.ods", "rest_room")
    table = result.table
    assert table.title == "建设改善“职工工间休息室”申报汇总表"
    assert (table.title_row, table.header_row) == (2, 6)
    assert table.contact.unit_name == "上海市普陀区中心医院"
    assert table.contact.contact_phone == "021-62572723"
    assert [row.row for row in result.rows] == [7, 8, 9]  # 10-12 hold only 序号
    assert table.footer_row == 13
    assert table.footer_text == "备注 (其他需说明事项)"


def test_exact_excel_rows_and_letters_of_errors():
    result = parse_import(to_xlsx(health_point_form()), "hp.xlsx", "health_point")
    errors = [(p.row, p.column_letter, p.column, p.code, p.value)
              for p in result.row_problems() if p.severity == "error"]
    assert errors == [
        (6, "I", "手机", "invalid_phone", "1391234567"),
        (7, "F", "推荐站点名称", "missing_name", None),
    ]


def test_table_not_at_a1_keeps_excel_positions():
    grid = Grid([
        [None, None, None, None],
        [None, None, None, None],
        [None, None, "名单", None],
        [None, None, "名称", "地址", "电话"],
        [None, None, "一号站", "漕溪路1号", "1381234567"],
    ])
    result = parse_import(to_xlsx(grid), "a.xlsx", "relay_station")
    assert (result.table.title_row, result.table.header_row) == (3, 4)
    assert [c.letter for c in result.table.columns] == ["C", "D", "E"]
    problem = result.row_problems()[0]
    assert (problem.row, problem.column_letter) == (5, "E")


def test_stops_at_totals_and_skips_blank_rows():
    grid = Grid([
        ["名称", "地址"],
        ["一号站", "漕溪路1号"],
        [None, None],
        ["二号站", "漕溪路2号"],
        ["合计", "2"],
        ["三号站", "漕溪路3号"],
    ])
    result = parse_import(to_xlsx(grid), "a.xlsx", "relay_station")
    assert [row.row for row in result.rows] == [2, 4]
    assert result.table.footer_row == 5


def test_header_row_is_the_best_match_not_the_contact_row():
    grid = Grid([
        ["区（街道）", "徐汇区", "联系人姓名", "王敏"],
        ["联系人邮箱", "a@b.cn", "联系人手机", "13812345678"],
        ["序号", "推荐站点名称", "地址", "手机"],
        [1, "一号站", "漕溪路1号", "13812345679"],
    ])
    result = parse_import(to_xlsx(grid), "a.xlsx", "health_point")
    assert result.table.header_row == 3
    assert result.table.title is None
    assert result.table.contact.district == "徐汇区"


def test_missing_sequence_number_is_warned():
    grid = Grid([
        ["序号", "培训地点", "详细地址"],
        [1, "轨道交通培训中心 7", "龙阳路 2520 号轨道交通培训中心"],
        [None, "号楼-沙盘室", "7号楼"],  # a row broken in two when the list was copied
        [2, "磁浮本部", "上海市浦东新区龙阳路 2100 号"],
    ])
    result = parse_import(to_xlsx(grid), "a.xlsx", "training_site")
    assert [(p.row, p.code) for p in result.row_problems()] == [(3, "missing_seq")]

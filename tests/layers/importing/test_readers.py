"""Reading files as they are: formats, encodings, sheets, and every kind of junk."""

from __future__ import annotations

import codecs
import io
import random
import zipfile

import openpyxl
import pytest

from layers.registry.importing import ImportFileError, ImportLimits, parse_import, parse_import_path
from layers.registry.importing._text import decode_text, sniff_delimiter
from tests.layers.importing.forms import (
    XLS_DIR,
    Grid,
    health_point_form,
    rest_room_form,
    to_csv,
    to_ods,
    to_xlsx,
    training_site_form,
)

HEALTH_NAMES = [
    "中环置业园区健康服务点",
    "长征工业园健康服务点",
    None,
    "曹杨园区健康服务点",
    "桃浦智创城健康服务点",
]


def _health_files() -> dict[str, bytes]:
    grid = health_point_form()
    return {
        "xlsx": to_xlsx(grid),
        "ods": to_ods(grid),
        "xls": (XLS_DIR / "health_point_form.xls").read_bytes(),
        "csv-utf-8": to_csv(grid, "utf-8"),
        "csv-utf-8-sig": to_csv(grid, "utf-8-sig"),
        "csv-gb18030": to_csv(grid, "gb18030"),
        "csv-gbk": to_csv(grid, "gbk"),
        "tsv-utf-16": to_csv(grid, "utf-16", delimiter="\t"),
    }


@pytest.mark.parametrize("kind", list(_health_files()))
def test_health_form_reads_the_same_in_every_format(kind):
    result = parse_import(_health_files()[kind], f"申报表.{kind.split('-')[0]}", "health_point")
    assert [row.row for row in result.rows] == [5, 6, 7, 8, 9]
    assert [row.fields.get("name") for row in result.rows] == HEALTH_NAMES
    assert result.table.header_row == 4
    assert result.table.title == "2023 年园区（楼宇）健康服务点申报表"
    assert result.table.contact.district == "普陀区"
    assert result.table.contact.street == "长征镇"
    assert result.table.footer_row == 11
    assert result.rows[3].fields["n_firms"] == 120  # written with full-width digits
    assert result.file.format == kind.split("-")[0].replace("tsv", "csv")


@pytest.mark.parametrize(
    ("kind", "encoding", "delimiter"),
    [
        ("csv-utf-8", "utf-8", ","),
        ("csv-utf-8-sig", "utf-8-sig", ","),
        ("csv-gb18030", "gb18030", ","),
        ("csv-gbk", "gb18030", ","),
        ("tsv-utf-16", "utf-16", "\t"),
    ],
)
def test_csv_encoding_and_delimiter_are_detected(kind, encoding, delimiter):
    result = parse_import(_health_files()[kind], "list.csv", "health_point")
    assert (result.file.encoding, result.file.delimiter) == (encoding, delimiter)


@pytest.mark.parametrize(
    "text",
    [
        "名称,地址\n徐汇站,漕溪路1号\n",
        "name,address\n医院,隆路1号\n",  # GBK bytes of these happen to be valid UTF-8
        "名称\n医院\n",
        "站,路\n",
    ],
)
def test_short_files_gbk_versus_utf8(text):
    assert decode_text(text.encode("gbk")) == (text, "gb18030")
    assert decode_text(text.encode("utf-8")) == (text, "utf-8")
    assert decode_text(codecs.BOM_UTF8 + text.encode("utf-8")) == (text, "utf-8-sig")


def test_gb18030_only_characters():
    text = "名称,地址\n𠀀站,漕溪路1号\n"  # outside GBK, inside GB18030
    assert decode_text(text.encode("gb18030")) == (text, "gb18030")


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("名称\t地址\n徐汇站\t漕溪路1号,2楼\n", "\t"),
        ("名称;地址\n徐汇站;漕溪路1号\n", ";"),
        ('名称,地址\n"徐汇站,东门",漕溪路1号\n', ","),
    ],
)
def test_delimiters(text, delimiter):
    assert sniff_delimiter(text) == delimiter


def test_csv_row_numbers_count_records_not_lines():
    data = '名称,地址\n"第一站\n（东门）",漕溪路1号\n,漕溪路2号\n'.encode()
    result = parse_import(data, "list.csv", "relay_station")
    assert [row.row for row in result.rows] == [2, 3]
    assert result.rows[0].fields["name"] == "第一站（东门）"
    assert [(p.row, p.code) for p in result.row_problems()] == [(3, "missing_name")]


def test_ods_and_xls_merged_cells_fill_their_rows():
    grid = training_site_form()
    for data in (to_xlsx(grid), to_ods(grid), (XLS_DIR / "training_sites.xls").read_bytes()):
        result = parse_import(data, "sites", "training_site")
        assert [row.fields.get("district") for row in result.rows] == [
            "黄浦区", "黄浦区", "黄浦区", "静安区", "静安区", "徐汇区", "徐汇区",
            "普陀区", "普陀区", "闵行区", "闵行区",
        ]


def test_csv_has_no_merges_so_grouped_districts_stay_blank():
    result = parse_import(to_csv(training_site_form()), "sites.csv", "training_site")
    assert [row.fields.get("district") for row in result.rows][:3] == ["黄浦区", None, None]


def test_path_entry_point(tmp_path):
    path = tmp_path / "休息室.xlsx"
    path.write_bytes(to_xlsx(rest_room_form()))
    result = parse_import_path(path, "rest_room")
    assert result.file.filename == "休息室.xlsx"
    assert len(result.rows) == 3


# ------------------------------------------------------------------ sheets


def test_hidden_sheet_is_ignored_with_a_warning():
    secret = Grid([["名称", "地址"], ["隐藏站", "隐藏路1号"]], [], "隐藏")
    data = to_xlsx(health_point_form(), before=[(secret, "hidden")])
    result = parse_import(data, "hp.xlsx", "health_point")
    assert result.file.hidden_sheets == ["隐藏"]
    assert result.file.sheet_name == "申报表"
    assert "hidden_sheets_ignored" in [p.code for p in result.file_problems]
    assert "隐藏站" not in [row.fields.get("name") for row in result.rows]


def test_hidden_sheet_xls():
    result = parse_import((XLS_DIR / "hidden_sheet.xls").read_bytes(), "hp.xls", "health_point")
    assert result.file.hidden_sheets == ["说明"]
    assert "hidden_sheets_ignored" in [p.code for p in result.file_problems]


def test_asking_for_a_hidden_sheet_is_refused():
    secret = Grid([["名称", "地址"], ["隐藏站", "隐藏路1号"]], [], "隐藏")
    data = to_xlsx(health_point_form(), after=[(secret, "hidden")])
    with pytest.raises(ImportFileError, match="hidden") as caught:
        parse_import(data, "hp.xlsx", "health_point", sheet="隐藏")
    assert caught.value.code == "import_hidden_sheet"


def test_several_visible_sheets_take_the_first_form_and_say_so():
    instructions = Grid([["填表说明"], ["请在“申报表”工作表中填写。"]], [], "说明")
    other = Grid([["名称", "地址"], ["另一站", "另一路1号"]], [], "其他")
    data = to_xlsx(health_point_form(), before=[(instructions, "visible")], after=[(other, "visible")])
    result = parse_import(data, "hp.xlsx", "health_point")
    assert result.file.sheet_name == "申报表"
    assert result.file.sheet_names == ["说明", "申报表", "其他"]
    assert "sheet_chosen" in [p.code for p in result.file_problems]
    chosen = parse_import(data, "hp.xlsx", "health_point", sheet="其他")
    assert [row.fields["name"] for row in chosen.rows] == ["另一站"]
    by_number = parse_import(data, "hp.xlsx", "health_point", sheet=3)
    assert by_number.file.sheet_name == "其他"


def test_unknown_sheet_lists_the_sheets():
    with pytest.raises(ImportFileError, match="申报表") as caught:
        parse_import(to_xlsx(health_point_form()), "hp.xlsx", "health_point", sheet="Sheet9")
    assert caught.value.code == "import_unknown_sheet"


# ------------------------------------------------------------------ formulas


def _with_formula(cell: str, formula: str) -> bytes:
    workbook = openpyxl.load_workbook(io.BytesIO(to_xlsx(health_point_form())))
    workbook.active[cell] = formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_formulas_in_the_table_are_refused_with_the_cells_named():
    data = _with_formula("E5", "=D5*20")
    with pytest.raises(ImportFileError, match="E5") as caught:
        parse_import(data, "hp.xlsx", "health_point")
    assert caught.value.code == "import_formulas"
    assert caught.value.cells == ("申报表!E5",)
    assert caught.value.status_code == 422


def test_formula_in_xls_is_refused():
    with pytest.raises(ImportFileError) as caught:
        parse_import((XLS_DIR / "formula.xls").read_bytes(), "hp.xls", "health_point")
    assert caught.value.code == "import_formulas"
    assert caught.value.cells == ("申报表!E5",)


def test_formula_in_ods_is_refused():
    from odf.opendocument import load
    from odf.table import TableCell

    document = load(io.BytesIO(to_ods(health_point_form())))
    cells = document.spreadsheet.getElementsByType(TableCell)
    target = next(cell for cell in cells if str(cell) == "45")  # D5, 企业数 of row 5
    target.setAttrNS("urn:oasis:names:tc:opendocument:xmlns:table:1.0", "formula", "of:=9*5")
    buffer = io.BytesIO()
    document.write(buffer)
    with pytest.raises(ImportFileError) as caught:
        parse_import(buffer.getvalue(), "hp.ods", "health_point")
    assert caught.value.cells == ("申报表!D5",)


def test_a_formula_below_the_table_is_only_a_warning():
    data = _with_formula("E13", "=SUM(E5:E9)")
    result = parse_import(data, "hp.xlsx", "health_point")
    warning = next(p for p in result.file_problems if p.code == "formulas_below_table")
    assert warning.cells == ("E13",)


# ------------------------------------------------------------------ junk


def _refused(data: bytes, filename: str = "upload.xlsx", code: str | None = None,
             limits: ImportLimits | None = None) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        parse_import(data, filename, "health_point", limits=limits)
    if code is not None:
        assert caught.value.code == code
    assert caught.value.message_zh
    assert caught.value.message_en
    return caught.value


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.mark.parametrize(
    ("data", "code", "says"),
    [
        (PNG, "import_not_spreadsheet", "PNG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "import_not_spreadsheet", "PDF"),
        (b"", "import_empty_file", "empty"),
        (b"<html><body><table><tr><td>1</td></tr></table></body></html>",
         "import_not_spreadsheet", "web page"),
        (b"PK\x03\x04garbage-that-is-no-zip", "import_corrupt", "damaged"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "import_corrupt", "damaged"),
        (random.Random(7).randbytes(4096), "import_not_spreadsheet", "not a spreadsheet"),
    ],
)
def test_junk_is_refused_with_a_reason(data, code, says):
    error = _refused(data, code=code)
    assert says in error.message_en


def test_word_document_is_not_a_spreadsheet():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    assert "Word" in _refused(buffer.getvalue(), "a.xlsx").message_en


def test_fifty_megabytes_is_413():
    error = _refused(b"0" * (50 * 1024 * 1024), "big.xlsx", "import_file_too_large")
    assert error.status_code == 413
    assert "10 MB" in error.message_en


def test_fifty_megabytes_on_disk_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.xlsx"
    with path.open("wb") as stream:
        stream.truncate(50 * 1024 * 1024)  # sparse: no 50 MB is written or read
    with pytest.raises(ImportFileError) as caught:
        parse_import_path(path, "health_point")
    assert caught.value.status_code == 413


def test_configurable_byte_limit():
    data = to_xlsx(health_point_form())
    _refused(data, code="import_file_too_large", limits=ImportLimits(max_bytes=len(data) - 1))


def test_zip_bomb_is_refused_before_unpacking():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b" " * (1024 * 1024)
            for _ in range(210):
                member.write(chunk)
    data = buffer.getvalue()
    assert len(data) < 1024 * 1024  # a small upload ...
    error = _refused(data, code="import_uncompressed_too_large")  # ... that unpacks to 210 MB
    assert "200 MB" in error.message_en


def _sparse_xlsx(far_cell: str) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["名称", "地址"])
    sheet.append(["一站", "一路1号"])
    sheet[far_cell] = "x"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_sheet_spanning_a_million_rows_is_refused_before_reading():
    _refused(_sparse_xlsx("B1048576"), code="import_too_many_rows")


def test_a_sheet_spanning_every_column_is_refused_before_reading():
    _refused(_sparse_xlsx("XFD1"), code="import_too_many_columns")


def test_row_limit():
    grid = Grid([["名称", "地址"], *[[f"站{i}", f"漕溪路{i}号"] for i in range(60)]])
    error = _refused(to_xlsx(grid), code="import_too_many_rows", limits=ImportLimits(max_rows=50))
    assert "50" in error.message_en
    csv_error = _refused(to_csv(grid), "a.csv", limits=ImportLimits(max_rows=50))
    assert csv_error.code == "import_too_many_rows"


def test_password_protected_xlsx():
    from msoffcrypto.format.ooxml import OOXMLFile

    encrypted = io.BytesIO()
    OOXMLFile(io.BytesIO(to_xlsx(health_point_form()))).encrypt("secret", encrypted)
    error = _refused(encrypted.getvalue(), code="import_encrypted")
    assert "password" in error.message_en


def test_empty_sheet():
    workbook = openpyxl.Workbook()
    buffer = io.BytesIO()
    workbook.save(buffer)
    _refused(buffer.getvalue(), code="import_empty_sheet")


def test_empty_ods_and_blank_csv():
    _refused(to_ods(Grid([[None, None]])), "a.ods", code="import_empty_sheet")
    _refused(b"\r\n,,\r\n", "a.csv", code="import_empty_sheet")


def test_sheet_without_a_header():
    grid = Grid([["今天天气很好"], ["一", "二", "三"], [1, 2, 3]])
    error = _refused(to_xlsx(grid), code="import_no_header")
    assert "mapping" in error.message_en


def test_header_only_is_a_file_error_not_an_exception():
    result = parse_import("名称,地址\r\n".encode(), "a.csv", "health_point")
    assert not result.ok
    assert [p.code for p in result.file_problems] == ["no_data_rows"]


def _mutations(data: bytes, seed: int, count: int) -> list[bytes]:
    generator = random.Random(seed)
    out = []
    for _ in range(count):
        mutated = bytearray(data)
        for _ in range(generator.randint(1, 8)):
            position = generator.randrange(len(mutated))
            mutated[position] = generator.randrange(256)
        if generator.random() < 0.3:
            mutated = mutated[: generator.randrange(1, len(mutated))]
        out.append(bytes(mutated))
    return out


@pytest.mark.parametrize("kind", ["xlsx", "ods", "xls", "csv-gb18030"])
def test_damaged_files_never_raise_anything_else(kind, caplog):
    original = _health_files()[kind]
    statuses = []
    for data in _mutations(original, seed=2023, count=40):
        try:
            parse_import(data, f"damaged.{kind}", "health_point")
            statuses.append(200)
        except ImportFileError as error:
            statuses.append(error.status_code)
    assert len(statuses) == 40
    assert set(statuses) <= {200, 422}
    # every refusal came from a check, not from the safety net under the readers
    assert not [r for r in caplog.records if "unexpected error" in r.getMessage()]


def test_text_in_no_supported_encoding_names_the_line():
    data = "名称,地址\n徐汇站,漕溪路1号\n".encode() + b"\xff\xfe\xfd,\xff\n"
    error = _refused(data, "list.csv", code="import_bad_encoding")
    assert "line 3" in error.message_en
    assert "第 3 行" in error.message_zh

"""The one entry point: :func:`parse_import` (bytes + file name) and :func:`parse_import_path`.

Order of work: check the layer, CRS and mapping; open the file (format from content,
size and zip-bomb limits); choose the sheet (the ``sheet=`` asked for, else the first
visible sheet whose table is found); refuse formulas in the table; refuse another
layer's form; read the contact block and every data row; flag duplicates; match against
the existing records. Nothing is written and nothing is geocoded: rows that have an
address but no position are listed in ``ImportParse.rows_needing_geocoding``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from geo.crs import parse_crs
from geo.errors import GeoError
from layers.errors import ReadOnlyLayerError
from layers.registry.catalog import LAYERS, REGISTRY_LAYERS, get_layer
from layers.registry.importing import cells as cellparse
from layers.registry.importing.columns import check_mapping, form_scores
from layers.registry.importing.errors import ImportFileError
from layers.registry.importing.matching import flag_duplicate_rows, match_rows
from layers.registry.importing.model import (
    ColumnMatch,
    FileProblem,
    ImportFile,
    ImportLimits,
    ImportParse,
    ParsedRow,
    RowProblem,
    SheetTable,
    column_letter,
)
from layers.registry.importing.readers import OpenedFile, RawSheet, SheetRef, size_error
from layers.registry.importing.rows import RowContext, parse_row
from layers.registry.importing.table import LocatedTable, locate_table

logger = logging.getLogger(__name__)

#: Layers a file can be imported into: the registries, and the community health centres
#: (kept by the district health commissions as lists like the Xuhui one).
IMPORTABLE_LAYERS: tuple[str, ...] = (*REGISTRY_LAYERS, "community_health")
_MAX_CELLS_NAMED = 20


def clear_caches() -> None:
    """Empty the per-text caches (cleaned cells, keys, hours, services): for benchmarks.

    The caches are bounded (at most 65,536 texts each) and only hold derived values of
    cell texts; clearing them makes the next import start cold.
    """
    from layers.registry.importing import hours_text, matching, services

    for cached in (cellparse._clean_str, cellparse.nfkc, matching.name_key, matching.address_key,
                   hours_text.parse_hours, services._parse_services):
        cached.cache_clear()


def load_mapping(source: str | bytes | os.PathLike[str] | Mapping[str, Any]) -> dict[str, str | None]:
    """An explicit column mapping from a dict, JSON text or a JSON file path.

    Raises
    ------
    ImportFileError
        When the JSON is malformed, not an object, or names an unknown field.
    """
    if isinstance(source, Mapping):
        return check_mapping(source)
    try:
        if isinstance(source, os.PathLike) or (
            isinstance(source, str) and not source.lstrip().startswith("{")
        ):
            text = Path(source).read_text(encoding="utf-8-sig")
        else:
            text = source.decode("utf-8-sig") if isinstance(source, bytes) else source
        loaded = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFileError(
            "import_bad_mapping",
            "列映射不是有效的 JSON 对象。",
            f"the column mapping is not a valid JSON object ({type(exc).__name__})",
        ) from None
    if not isinstance(loaded, dict):
        raise ImportFileError(
            "import_bad_mapping",
            "列映射应为 JSON 对象：{\"表头或列字母\": \"字段\"}。",
            'the column mapping must be a JSON object: {"header or column letter": "field"}',
        )
    return check_mapping(loaded)


def _check_layer(layer: str) -> str:
    info = get_layer(layer)
    if info.id not in IMPORTABLE_LAYERS:
        raise ReadOnlyLayerError(info.id)
    return info.id


def _check_crs(crs: str | None) -> str | None:
    if crs is None or not str(crs).strip():
        return None
    try:
        return parse_crs(str(crs)).value
    except GeoError:
        raise ImportFileError(
            "import_bad_crs",
            f"坐标系“{crs}”无效，可选：wgs84、gcj02、bd09。",
            f"unknown coordinate system {crs!r}; valid: wgs84, gcj02, bd09",
        ) from None


def _choose_sheet(
    opened: OpenedFile, sheet: str | int | None, mapping: Mapping[str, str | None] | None,
    problems: list[FileProblem],
) -> tuple[SheetRef, RawSheet, LocatedTable]:
    visible = [ref for ref in opened.sheets if ref.visible]
    hidden = [ref for ref in opened.sheets if not ref.visible]
    if hidden and opened.format != "csv":
        names = "、".join(ref.name for ref in hidden)
        problems.append(FileProblem(
            "hidden_sheets_ignored", f"隐藏的工作表不会导入：{names}。",
            f"hidden sheets are not imported: {', '.join(ref.name for ref in hidden)}", "warning"))
    if sheet is not None and opened.format != "csv":
        ref = _find_sheet(opened.sheets, sheet)
        if not ref.visible:
            raise ImportFileError(
                "import_hidden_sheet",
                f"工作表“{ref.name}”是隐藏的，请取消隐藏后再导入。",
                f"sheet {ref.name!r} is hidden; unhide it before importing",
            )
        raw = opened.load(ref)
        table = locate_table(raw.cells, raw.merges, mapping) if raw.cells else None
        if table is None:
            raise _no_table(raw, ref.name)
        return ref, raw, table
    if not visible:
        raise ImportFileError(
            "import_no_visible_sheet", "工作簿中没有可见的工作表。", "the workbook has no visible sheet"
        )
    first_empty: RawSheet | None = None
    for ref in visible:
        raw = opened.load(ref)
        if not any(str(cell).strip() for row in raw.cells for cell in row):
            first_empty = first_empty or raw
            continue
        table = locate_table(raw.cells, raw.merges, mapping)
        if table is None:
            first_empty = first_empty or raw
            continue
        others = [other.name for other in visible if other.name != ref.name]
        if others:
            problems.append(FileProblem(
                "sheet_chosen",
                f"工作簿有 {len(visible)} 个可见工作表，已读取“{ref.name}”；"
                "如需其他工作表请指定 sheet。",
                f"the workbook has {len(visible)} visible sheets; read {ref.name!r} (pass "
                "sheet= to choose another)", "warning"))
        return ref, raw, table
    raise _no_table(first_empty, visible[0].name)


def _find_sheet(sheets: list[SheetRef], wanted: str | int) -> SheetRef:
    for ref in sheets:
        if ref.name == str(wanted):
            return ref
    text = str(wanted).strip()
    if text.isdigit() and 1 <= int(text) <= len(sheets):
        return sheets[int(text) - 1]
    names = "、".join(ref.name for ref in sheets)
    raise ImportFileError(
        "import_unknown_sheet",
        f"找不到工作表“{wanted}”；工作表有：{names}。",
        f"no sheet {wanted!r}; the sheets are: {', '.join(ref.name for ref in sheets)}",
    )


def _no_table(raw: RawSheet | None, name: str) -> ImportFileError:
    if raw is None or not any(str(cell).strip() for row in raw.cells for cell in row):
        return ImportFileError(
            "import_empty_sheet", f"工作表“{name}”是空的。", f"sheet {name!r} is empty"
        )
    return ImportFileError(
        "import_no_header",
        "找不到表头行：前 60 行中没有一行同时含“名称”和其他已知列（如“地址”）。"
        "请检查表头，或提供列映射。",
        "no header row found: none of the first 60 rows has a name column and another known "
        "column (such as 地址/address); check the headers or pass a column mapping",
    )


def _check_formulas(raw: RawSheet, table: LocatedTable, problems: list[FileProblem]) -> None:
    last = table.footer_index if table.footer_index is not None else len(raw.cells)
    inside, outside = [], []
    for ref in raw.formula_cells:
        row = int(re.sub(r"^[A-Z]+", "", ref)) - 1
        (inside if row < last else outside).append(ref)
    if inside:
        named = "、".join(inside[:_MAX_CELLS_NAMED]) + ("…" if len(inside) > _MAX_CELLS_NAMED else "")
        raise ImportFileError(
            "import_formulas",
            f"表格含公式（单元格 {named}），请复制后“选择性粘贴为数值”再上传。",
            f"the table holds formulas (cells {named.replace('、', ', ')}); paste them as values "
            "and upload again",
            cells=[f"{raw.name}!{ref}" for ref in inside],
        )
    if outside:
        problems.append(FileProblem(
            "formulas_below_table", f"表格下方的公式未读取：{'、'.join(outside[:_MAX_CELLS_NAMED])}。",
            f"formulas below the table were not read: {', '.join(outside[:_MAX_CELLS_NAMED])}",
            "warning", tuple(outside)))


def _check_form(layer: str, table: LocatedTable, header_cells: list[Any]) -> str | None:
    scores = form_scores(header_cells, table.title)
    own = scores.get(layer, 0)
    other, other_score = max(
        ((layer_id, score) for layer_id, score in scores.items() if layer_id != layer),
        key=lambda pair: pair[1],
    )
    if other_score >= 2 and other_score > own:
        info, expected = LAYERS[other], LAYERS[layer]
        raise ImportFileError(
            "import_wrong_form",
            f"这是“{info.name_zh}”的表格，不是“{expected.name_zh}”的；请在正确的图层导入。",
            f"this is the form for {info.name_en.lower()}s, not {expected.name_en.lower()}s; "
            "import it into the right layer",
        )
    best = max(scores.items(), key=lambda pair: pair[1])
    return best[0] if best[1] >= 2 else None


def _coordinate_crs(columns: list[ColumnMatch], declared: str | None,
                    problems: list[FileProblem]) -> str | None:
    coordinate_columns = [c for c in columns if c.field in ("lon", "lat", "lonlat")]
    if not coordinate_columns:
        return declared
    named = {c.crs for c in coordinate_columns if c.crs}
    letters = ", ".join(c.letter for c in coordinate_columns)
    if len(named) > 1:
        problems.append(FileProblem(
            "crs_conflict", f"经纬度列（{letters}）标注了不同的坐标系：{'、'.join(sorted(named))}，坐标未使用。",
            f"the coordinate columns ({letters}) name different systems: {', '.join(sorted(named))}; "
            "coordinates not used", "error"))
        return None
    header_crs = next(iter(named), None)
    if header_crs and declared and header_crs != declared:
        problems.append(FileProblem(
            "crs_conflict",
            f"表头标注的坐标系 {header_crs} 与指定的 {declared} 不一致，坐标未使用。",
            f"the header names {header_crs} but {declared} was declared; coordinates not used",
            "error"))
        return None
    if header_crs is None and declared is None:
        problems.append(FileProblem(
            "crs_missing",
            f"有经纬度列（{letters}）但未说明坐标系：请指定 crs（wgs84、gcj02 或 bd09），"
            "或在表头写明（如“经度_bd09”）。坐标未使用。",
            f"there are coordinate columns ({letters}) but no coordinate system: pass crs "
            "(wgs84, gcj02 or bd09) or name it in the header (e.g. 经度_bd09); coordinates "
            "not used", "error"))
        return None
    return header_crs or declared


def _contact(table: LocatedTable, problems: list[FileProblem]) -> None:
    contact = table.contact
    for attribute, (row_index, col, value) in table.contact_raw.items():
        cell = f"{column_letter(col)}{row_index + 1}"
        if not value:
            continue
        if attribute == "district":
            parsed = cellparse.parse_district(value)
            if parsed.value is not None:
                contact.district, contact.street = parsed.value
            for issue in parsed.issues:
                problems.append(FileProblem(f"contact_{issue.code}", issue.message_zh,
                                            issue.message_en, "warning", (cell,)))
        elif attribute == "contact_phone":
            parsed = cellparse.parse_phones(value)
            contact.contact_phone = parsed.value[0] if parsed.value else value
            for issue in parsed.issues:
                problems.append(FileProblem(f"contact_{issue.code}", issue.message_zh,
                                            issue.message_en, "warning", (cell,)))
        elif attribute == "contact_email":
            parsed = cellparse.parse_email(value)
            contact.contact_email = parsed.value or value
            for issue in parsed.issues:
                problems.append(FileProblem(f"contact_{issue.code}", issue.message_zh,
                                            issue.message_en, "warning", (cell,)))
        else:
            setattr(contact, attribute, value)


def _column_problems(table: LocatedTable, problems: list[FileProblem]) -> None:
    for note in table.mapping_notes:
        letter, field_name, first = note.split(":")
        problems.append(FileProblem(
            "duplicate_column", f"第 {letter} 列与第 {first} 列都对应“{field_name}”，第 {letter} 列未使用。",
            f"columns {first} and {letter} both map to {field_name}; column {letter} is not used",
            "warning", (letter,)))
    unknown = [c for c in table.columns if c.how == "unknown" and c.header]
    if unknown:
        listed = "、".join(f"{c.header}（{c.letter}）" for c in unknown)
        problems.append(FileProblem(
            "unknown_columns", f"以下列未识别，原样保留：{listed}。",
            "columns not recognised, kept as they are: "
            + ", ".join(f"{c.header} ({c.letter})" for c in unknown),
            "warning", tuple(c.letter for c in unknown)))


def _flag_missing_seq(rows: list[ParsedRow], table: LocatedTable) -> None:
    seq_column = next((c for c in table.columns if c.field == "seq"), None)
    if seq_column is None:
        return
    with_seq = sum(1 for row in rows if "seq" in row.fields)
    if with_seq * 2 < len(rows):
        return
    for row in rows:
        if "seq" not in row.fields:
            row.problems.append(RowProblem(
                row.row, seq_column.header, seq_column.letter, None,
                "序号为空：这一行是否是上一行的续行？", "no sequence number: is this row the "
                "continuation of the row above?", "warning", "missing_seq", "seq"))


def parse_import(
    data: bytes,
    filename: str,
    layer: str,
    *,
    crs: str | None = None,
    mapping: Mapping[str, Any] | str | bytes | None = None,
    existing: Iterable[Any] = (),
    sheet: str | int | None = None,
    limits: ImportLimits | None = None,
) -> ImportParse:
    """Read an uploaded registry file into checked rows, a report and matches.

    Parameters
    ----------
    data
        The file's bytes (xlsx, xls, ods or CSV; the format is found from the content).
    filename
        The uploaded file's name (for the report).
    layer
        The registry layer to import into (``health_point``, ``rest_room`` ...).
    crs
        The coordinate system of coordinate columns (``wgs84``, ``gcj02``, ``bd09``),
        unless their headers name it (``经度_bd09``).
    mapping
        An explicit column mapping ``{"header text or column letter": "field"}`` (a dict,
        or JSON text), used where the headers are not recognised.
    existing
        The layer's existing records (``Facility`` objects or dicts, or
        :class:`~layers.registry.importing.matching.ExistingRecord`) to match against.
    sheet
        The sheet to read (its name or 1-based position); by default the first visible
        sheet in which a table is found.
    limits
        Size and row limits (default :class:`ImportLimits`).

    Returns
    -------
    ImportParse
        Every row with its problems, the file-level problems, and the matches.

    Raises
    ------
    ImportFileError
        When the file cannot be read at all: not a spreadsheet, empty, damaged,
        password-protected, too large (413), too many rows, formulas in the table,
        another layer's form, no header row, a bad mapping, CRS or sheet.
    UnknownLayerError, ReadOnlyLayerError
        When ``layer`` is not a layer, or not one that can be imported.
    """
    layer = _check_layer(layer)
    declared_crs = _check_crs(crs)
    limits = limits or ImportLimits()
    checked_mapping = load_mapping(mapping) if mapping is not None else None
    opened = OpenedFile(data, filename, limits)
    problems: list[FileProblem] = []
    ref, raw, table = _choose_sheet(opened, sheet, checked_mapping, problems)
    _check_formulas(raw, table, problems)
    header_cells = list(raw.cells[table.header_index])
    form = _check_form(layer, table, header_cells)
    fields_present = {column.field for column in table.columns}
    if not fields_present & {"address", "lon", "lat", "lonlat"}:
        raise ImportFileError(
            "import_no_location_column",
            "表格没有“地址”列，也没有经纬度列，无法标注位置。",
            "the table has neither an address column nor coordinate columns",
        )
    if len(table.data_indices) > limits.max_rows:
        raise ImportFileError(
            "import_too_many_rows",
            f"表格有 {len(table.data_indices)} 行数据，超过 {limits.max_rows} 行的上限。",
            f"the table has {len(table.data_indices)} data rows, over the limit of "
            f"{limits.max_rows}",
        )
    _contact(table, problems)
    _column_problems(table, problems)
    coord_crs = _coordinate_crs(table.columns, declared_crs, problems)
    context = RowContext(layer, table.columns, table.contact, coord_crs)
    rows = [parse_row(index + 1, raw.cells[index], context) for index in table.data_indices]
    if not rows:
        problems.append(FileProblem("no_data_rows", "表格中没有数据行。",
                                    "the table has no data rows", "error"))
    _flag_missing_seq(rows, table)
    hints = flag_duplicate_rows(rows)
    for row in rows:
        row.problems.sort(key=lambda problem: problem.severity != "error")
    matches = match_rows(rows, existing, row_hints=hints)
    sheet_table = SheetTable(
        sheet_name=None if opened.format == "csv" else ref.name,
        title=table.title,
        title_row=None if table.title_index is None else table.title_index + 1,
        header_row=table.header_index + 1,
        columns=table.columns,
        contact=table.contact,
        first_data_row=rows[0].row if rows else None,
        last_data_row=rows[-1].row if rows else None,
        footer_row=None if table.footer_index is None else table.footer_index + 1,
        footer_text=table.footer_text,
        form=form,
    )
    import_file = ImportFile(
        filename=filename,
        format=opened.format,
        size_bytes=len(data),
        encoding=opened.encoding,
        delimiter=opened.delimiter,
        sheet_names=[r.name for r in opened.sheets if r.visible] if opened.format != "csv" else [],
        hidden_sheets=[r.name for r in opened.sheets if not r.visible],
        sheet_name=sheet_table.sheet_name,
    )
    logger.info("import %s into %s: %d rows", filename, layer, len(rows))
    return ImportParse(layer, import_file, sheet_table, rows, problems, matches)


def parse_import_path(
    path: str | os.PathLike[str], layer: str, *, limits: ImportLimits | None = None, **options: Any
) -> ImportParse:
    """:func:`parse_import` for a file on disk (the CLI); the size is checked before reading.

    Raises
    ------
    ImportFileError
        As :func:`parse_import`, and when the file cannot be read.
    """
    limits = limits or ImportLimits()
    file_path = Path(path)
    try:
        size = file_path.stat().st_size
        if size > limits.max_bytes:
            raise size_error(size, limits)
        data = file_path.read_bytes()
    except OSError as exc:
        raise ImportFileError(
            "import_unreadable", f"无法读取文件“{file_path.name}”。",
            f"cannot read the file {file_path.name!r} ({exc.strerror or type(exc).__name__})",
        ) from None
    return parse_import(data, file_path.name, layer, limits=limits, **options)

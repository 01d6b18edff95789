"""Find the table in a sheet: title, contact block, header row, data rows and footer.

The header row is the row, among the first 60, whose cells map to the most distinct
fields (synonyms or the explicit mapping) and that maps a name column. Above it, the
first row holding a single text is the title (an attachment label such as
``附件 2-4-1`` is skipped); rows between title and header that hold
contact labels (``区（街道）``, ``单位名称``, ``联系人姓名``, ``联系人邮箱``, ``联系人手机``,
``联系人电话``) are the contact block, each label's value being the next non-label cell
to its right (merged value cells hold their text in their first cell).

Below the header, rows are read until a footer: a row whose first cell begins with
``备注``, ``注：``, ``说明：``, ``填表人``, ``联系人：`` ..., or says ``合计``/``总计``/``小计``.
Blank rows are skipped, and so are template rows that hold nothing but a sequence
number. The first cell of a range merged over several data rows (a district spanning its
sites) gives its value to every row of the range.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from layers.registry.importing.cells import clean_text, nfkc
from layers.registry.importing.columns import lookup_header, map_columns, normalise_header
from layers.registry.importing.model import ColumnMatch, ContactBlock, column_index

HEADER_SEARCH_ROWS = 60

#: contact-block labels (normalised) -> ContactBlock attribute
CONTACT_LABELS: dict[str, str] = {
    "区(街道)": "district",
    "区(街镇)": "district",
    "区": "district",
    "所属区": "district",
    "单位名称": "unit_name",
    "填报单位": "unit_name",
    "申报单位": "unit_name",
    "联系人姓名": "contact_name",
    "联系人": "contact_name",
    "填报人": "contact_name",
    "联系人邮箱": "contact_email",
    "邮箱": "contact_email",
    "联系人手机": "contact_phone",
    "联系人电话": "contact_phone",
    "联系电话": "contact_phone",
}
_ATTACHMENT_LABEL = re.compile(r"^附[件表]\s*[\d.\-－]*\s*$")
_FOOTER = re.compile(
    r"^(备注|注\s*[:：]|注\s*\d|说明\s*[:：]|填表人|填报人|制表|审核人|联系人\s*[:：]|"
    r"合计|总计|小计)"
)


@dataclass
class LocatedTable:
    """Positions (0-based) of the parts of a table in a grid of cells."""

    header_index: int
    columns: list[ColumnMatch]
    mapping_notes: list[str]
    title: str | None = None
    title_index: int | None = None
    contact: ContactBlock = field(default_factory=ContactBlock)
    contact_raw: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    data_indices: list[int] = field(default_factory=list)
    footer_index: int | None = None
    footer_text: str | None = None


def _texts(row: Sequence[Any]) -> list[str]:
    return [clean_text(cell) for cell in row]


def header_score(
    row: Sequence[Any], mapping_headers: set[str], mapping_columns: set[int]
) -> tuple[int, bool]:
    """(number of distinct fields the row's cells map to, whether one of them is the name).

    Cells in columns the mapping names by letter count as mapped when they are not empty.
    """
    fields: set[str] = set()
    for index, cell in enumerate(row):
        normal = normalise_header(cell)
        if not normal:
            continue
        if normal in mapping_headers or index in mapping_columns:
            fields.add(f"mapped:{normal}")
            continue
        field_name, _layer, _crs = lookup_header(cell)
        if field_name:
            fields.add(field_name)
    return len(fields), "name" in fields


def find_header(
    cells: Sequence[Sequence[Any]], mapping: Mapping[str, str | None] | None
) -> int | None:
    """Index of the header row, or ``None`` when no row of the first 60 looks like one."""
    mapping = mapping or {}
    letters = {key for key in mapping if re.fullmatch(r"[A-Z]{1,3}", key.strip())}
    mapping_headers = {normalise_header(key) for key in mapping if key not in letters}
    mapping_columns = {column_index(key) for key in letters}
    names_by_mapping = "name" in mapping.values()
    best: tuple[int, int] | None = None
    for index, row in enumerate(cells[:HEADER_SEARCH_ROWS]):
        if sum(1 for text in _texts(row) if text) < 2:
            continue
        score, has_name = header_score(row, mapping_headers, mapping_columns)
        if not (has_name or names_by_mapping) or score < 2:
            continue
        if best is None or score > best[0]:
            best = (score, index)
    return None if best is None else best[1]


def _contact_block(
    cells: Sequence[Sequence[Any]], start: int, end: int
) -> tuple[ContactBlock, dict[str, tuple[int, int, str]]]:
    """Labels and values in rows ``start..end-1``; also their positions for the report."""
    block = ContactBlock()
    raw: dict[str, tuple[int, int, str]] = {}
    for index in range(start, end):
        texts = _texts(cells[index])
        found = False
        for col, text in enumerate(texts):
            if not text:
                continue
            label, inline = text, ""
            split = re.match(r"^(.+?)\s*[:：]\s*(.*)$", text)
            if split:
                label, inline = split.group(1), split.group(2)
            key = normalise_header(label)
            if key not in CONTACT_LABELS:
                continue
            found = True
            value = inline.strip()
            if not value:
                for later in texts[col + 1 :]:
                    if not later:
                        continue
                    if normalise_header(later) not in CONTACT_LABELS:
                        value = later
                    break
            block.cells[clean_text(label)] = value
            raw[CONTACT_LABELS[key]] = (index, col, value)
        if found:
            block.rows.append(index + 1)
    return block, raw


def _is_footer(texts: Sequence[str]) -> bool:
    first = next((text for text in texts if text), "")
    return bool(_FOOTER.match(nfkc(first)))


def locate_table(
    cells: Sequence[Sequence[Any]],
    merges: Sequence[tuple[int, int, int, int]],
    mapping: Mapping[str, str | None] | None = None,
) -> LocatedTable | None:
    """Find header, title, contact block and data rows in ``cells``.

    ``cells`` is modified in place: values of ranges merged over data rows are copied to
    every cell of the range. Returns ``None`` when no header row is found.
    """
    header_index = find_header(cells, mapping)
    if header_index is None:
        return None
    columns, notes = map_columns(cells[header_index], mapping)
    table = LocatedTable(header_index, columns, notes)
    for index in range(header_index):
        texts = [text for text in _texts(cells[index]) if text]
        if (len(set(texts)) == 1 and normalise_header(texts[0]) not in CONTACT_LABELS
                and not _ATTACHMENT_LABEL.match(nfkc(texts[0]))):
            table.title, table.title_index = texts[0], index
            break
    start = 0 if table.title_index is None else table.title_index + 1
    table.contact, table.contact_raw = _contact_block(cells, start, header_index)
    _fill_merged(cells, merges, header_index)
    seq_column = next((c.index for c in columns if c.field == "seq"), None)
    for index in range(header_index + 1, len(cells)):
        texts = _texts(cells[index])
        if not any(texts):
            continue
        if _is_footer(texts):
            table.footer_index = index
            table.footer_text = " ".join(dict.fromkeys(text for text in texts if text))
            break
        filled = [col for col, text in enumerate(texts) if text]
        if seq_column is not None and filled == [seq_column]:
            continue  # an empty template row: 1, 2, 3 ...
        table.data_indices.append(index)
    return table


def _fill_merged(
    cells: Sequence[Sequence[Any]], merges: Sequence[tuple[int, int, int, int]], header_index: int
) -> None:
    """Copy the value of each range merged over several data rows down its first column.

    Only the first column is filled: the other columns a merge covers belong to other
    fields, and a merge within one row (a caption, a footer) is left alone.
    """
    for first_row, first_col, last_row, _last_col in merges:
        if first_row <= header_index or first_row >= len(cells) or last_row == first_row:
            continue
        top_left_row = cells[first_row]
        if first_col >= len(top_left_row):
            continue
        value = top_left_row[first_col]
        for row in range(first_row + 1, min(last_row, len(cells) - 1) + 1):
            target = cells[row]
            if isinstance(target, list) and first_col < len(target):
                target[first_col] = value

"""Plain dataclasses an import produces: the file, the table found in it, rows, problems, matches.

Nothing here reads a file or writes a store; the objects are built by
:func:`~layers.registry.importing.pipeline.parse_import` and turned into JSON with
``to_dict()``. Row numbers are those Excel shows (1-based, counting every row above the
table); column letters are Excel's (``A``, ``B`` ... ``AA``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from layers.registry.hours import OpeningHours

Severity = Literal["error", "warning"]
Action = Literal["created", "updated", "unchanged"]

MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class ImportLimits:
    """Limits an import enforces before and while reading a file.

    Attributes
    ----------
    max_bytes
        Largest upload accepted (413 above it).
    max_rows
        Most data rows in the table (and most rows the sheet may span).
    max_columns
        Most columns the sheet may span.
    max_uncompressed_bytes
        Most bytes the parts of an xlsx/ods (zip) file may unpack to: the zip-bomb guard.
    """

    max_bytes: int = 10 * MEGABYTE
    max_rows: int = 20_000
    max_columns: int = 200
    max_uncompressed_bytes: int = 200 * MEGABYTE


def column_letter(index: int) -> str:
    """Excel's letter for a 0-based column index (0 -> ``A``, 26 -> ``AA``)."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def column_index(letter: str) -> int:
    """The 0-based index of an Excel column letter (``A`` -> 0); ``ValueError`` otherwise."""
    text = letter.strip().upper()
    if not text or not text.isascii() or not text.isalpha() or len(text) > 3:
        raise ValueError(f"not a column letter: {letter!r}")
    index = 0
    for char in text:
        index = index * 26 + ord(char) - ord("A") + 1
    return index - 1


@dataclass(frozen=True)
class RowProblem:
    """One problem with one cell or row, in Chinese and English.

    Attributes
    ----------
    row
        Excel row number.
    column
        The header text as written in the file (``None`` for a problem with the whole row).
    column_letter
        Excel column letter of the cell.
    value
        The cell text the problem is about.
    message_zh, message_en
        What is wrong and, where it helps, how to fix it.
    severity
        ``error`` (the row cannot be imported) or ``warning`` (it can, but check it).
    code
        A stable machine-readable code (``invalid_phone``, ``missing_name`` ...).
    field
        The normalised field the cell maps to.
    """

    row: int
    column: str | None
    column_letter: str | None
    value: str | None
    message_zh: str
    message_en: str
    severity: Severity
    code: str
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the report format of ``docs/importing.md``)."""
        return {
            "row": self.row,
            "column": self.column,
            "column_letter": self.column_letter,
            "value": self.value,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "severity": self.severity,
            "code": self.code,
            "field": self.field,
        }


@dataclass(frozen=True)
class FileProblem:
    """A problem with the whole file or sheet that does not stop the import."""

    code: str
    message_zh: str
    message_en: str
    severity: Severity
    cells: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "severity": self.severity,
            "cells": list(self.cells),
        }


@dataclass(frozen=True)
class ColumnMatch:
    """How one column of the header row was understood.

    Attributes
    ----------
    index
        0-based column index.
    letter
        Excel column letter.
    header
        The header cell text as in the file (line breaks kept).
    field
        The normalised field it maps to, or ``None`` when the column is kept only in
        ``ParsedRow.extra_columns``.
    how
        ``synonym`` (a known header), ``mapping`` (the explicit mapping), ``unknown``, or
        ``duplicate`` (a known header whose field an earlier column already has).
    crs
        A coordinate system named in the header (``经度_bd09`` -> ``bd09``).
    """

    index: int
    letter: str
    header: str
    field: str | None
    how: Literal["synonym", "mapping", "unknown", "duplicate"]
    crs: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "index": self.index,
            "letter": self.letter,
            "header": self.header,
            "field": self.field,
            "how": self.how,
            "crs": self.crs,
        }


@dataclass
class ContactBlock:
    """The contact block above a form's table (``区（街道） | 联系人姓名`` ...).

    Attributes
    ----------
    district
        One of the 16 districts, when ``区（街道）`` names one.
    street
        The subdistrict or town after the district (``普陀区长征镇`` -> ``长征镇``).
    unit_name
        ``单位名称`` of the rest-room forms.
    contact_name, contact_email, contact_phone
        The contact person's details (the phone normalised when it is valid).
    cells
        Every label found with its value as written.
    rows
        Excel row numbers of the block.
    """

    district: str | None = None
    street: str | None = None
    unit_name: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    cells: dict[str, str] = field(default_factory=dict)
    rows: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "district": self.district,
            "street": self.street,
            "unit_name": self.unit_name,
            "contact_name": self.contact_name,
            "contact_email": self.contact_email,
            "contact_phone": self.contact_phone,
            "cells": dict(self.cells),
            "rows": list(self.rows),
        }


@dataclass
class SheetTable:
    """Where the table is in the sheet and how its columns were read.

    Attributes
    ----------
    sheet_name
        The sheet the rows come from (``None`` for CSV).
    title, title_row
        The title above the table (``2023 年园区（楼宇）健康服务点申报表``) and its row.
    header_row
        Excel row number of the header row.
    columns
        Every non-empty header cell and the field it maps to.
    contact
        The contact block between title and header (empty when the file has none).
    first_data_row, last_data_row
        Excel rows of the first and last data row read (``None`` when there are none).
    footer_row, footer_text
        The row where reading stopped (``备注：…``, ``合计``), if any.
    form
        The layer whose form the headers look like (``None`` for a plain list).
    """

    sheet_name: str | None
    title: str | None
    title_row: int | None
    header_row: int
    columns: list[ColumnMatch]
    contact: ContactBlock
    first_data_row: int | None = None
    last_data_row: int | None = None
    footer_row: int | None = None
    footer_text: str | None = None
    form: str | None = None

    def column_for(self, field_name: str) -> ColumnMatch | None:
        """The column mapped to ``field_name``, if any."""
        return next((column for column in self.columns if column.field == field_name), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "sheet_name": self.sheet_name,
            "title": self.title,
            "title_row": self.title_row,
            "header_row": self.header_row,
            "columns": [column.to_dict() for column in self.columns],
            "contact": self.contact.to_dict(),
            "first_data_row": self.first_data_row,
            "last_data_row": self.last_data_row,
            "footer_row": self.footer_row,
            "footer_text": self.footer_text,
            "form": self.form,
        }


@dataclass
class ImportFile:
    """What was read: the file's format, encoding and sheets.

    Attributes
    ----------
    filename
        The name given with the upload.
    format
        ``xlsx``, ``xls``, ``ods`` or ``csv`` (found from the content, not the name).
    size_bytes
        Size of the upload.
    encoding, delimiter
        For CSV: the detected text encoding (``utf-8``, ``utf-8-sig``, ``gb18030``,
        ``utf-16``) and the column delimiter.
    sheet_names
        Visible sheets, in workbook order.
    hidden_sheets
        Hidden sheets (never read).
    sheet_name
        The sheet the table was read from.
    """

    filename: str
    format: str
    size_bytes: int
    encoding: str | None = None
    delimiter: str | None = None
    sheet_names: list[str] = field(default_factory=list)
    hidden_sheets: list[str] = field(default_factory=list)
    sheet_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "filename": self.filename,
            "format": self.format,
            "size_bytes": self.size_bytes,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet_names": list(self.sheet_names),
            "hidden_sheets": list(self.hidden_sheets),
            "sheet_name": self.sheet_name,
        }


@dataclass
class ParsedRow:
    """One data row, normalised and checked.

    Attributes
    ----------
    row
        Excel row number.
    fields
        Normalised values keyed by the vocabulary of
        :data:`~layers.registry.importing.fields.FIELDS`; a field whose cell is blank or
        unreadable is absent.
    raw
        The cell text per mapped field, as written (after trimming).
    extra_columns
        Cells of columns that map to no field, keyed by their header text.
    problems
        Problems of this row, errors first.
    """

    row: int
    fields: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    extra_columns: dict[str, str] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        """Whether any problem of the row is an error (the row cannot be imported)."""
        return any(problem.severity == "error" for problem in self.problems)

    @property
    def located(self) -> bool:
        """Whether the row gave a usable position."""
        return self.fields.get("lon") is not None and self.fields.get("lat") is not None

    @property
    def needs_geocoding(self) -> bool:
        """Whether the row has an address but no position: the geocoder must place it."""
        return not self.located and bool(self.fields.get("address"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates as ISO text, hours as their JSON model)."""
        return {
            "row": self.row,
            "fields": {name: _jsonable(value) for name, value in self.fields.items()},
            "raw": dict(self.raw),
            "extra_columns": dict(self.extra_columns),
            "problems": [problem.to_dict() for problem in self.problems],
            "needs_geocoding": self.needs_geocoding,
        }


@dataclass(frozen=True)
class FieldChange:
    """One field whose value in the file differs from the existing record."""

    field: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"field": self.field, "old": _jsonable(self.old), "new": _jsonable(self.new)}


@dataclass(frozen=True)
class DuplicateHint:
    """A likely duplicate: another row of the file or an existing record.

    Attributes
    ----------
    row
        Excel row of the other row (``None`` for an existing record).
    record_id
        Id of the existing record (``None`` for a row).
    name
        Its name.
    name_score
        rapidfuzz similarity of the normalised names, 0-100.
    distance_m
        Distance between the two positions when both are located.
    """

    row: int | None
    record_id: str | None
    name: str
    name_score: float
    distance_m: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "row": self.row,
            "record_id": self.record_id,
            "name": self.name,
            "name_score": round(self.name_score, 1),
            "distance_m": None if self.distance_m is None else round(self.distance_m, 1),
        }


@dataclass
class MatchResult:
    """What importing one row would do to the existing records.

    Attributes
    ----------
    row
        Excel row number.
    action
        ``created`` (no record matches), ``updated`` (a record matches and ``changes`` is
        not empty) or ``unchanged``.
    record_id
        The matching record's id.
    matched_on
        ``registry_no`` or ``name_address``.
    changes
        Fields whose values differ (only fields the row gives are compared).
    duplicates
        Likely duplicates among the other rows and the existing records.
    """

    row: int
    action: Action
    record_id: str | None = None
    matched_on: Literal["record_id", "registry_no", "name_address"] | None = None
    changes: list[FieldChange] = field(default_factory=list)
    duplicates: list[DuplicateHint] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "row": self.row,
            "action": self.action,
            "record_id": self.record_id,
            "matched_on": self.matched_on,
            "changes": [change.to_dict() for change in self.changes],
            "duplicates": [hint.to_dict() for hint in self.duplicates],
        }


@dataclass
class ImportParse:
    """Everything :func:`parse_import` found: the file, the table, rows, problems, matches.

    Attributes
    ----------
    layer
        The layer the file was imported into.
    file
        Format, encoding and sheets.
    table
        Where the table was and how its columns map.
    rows
        Every data row, in file order.
    file_problems
        Problems with the file as a whole that did not stop the reading.
    matches
        One result per row without errors, against the existing records passed in.
    """

    layer: str
    file: ImportFile
    table: SheetTable
    rows: list[ParsedRow]
    file_problems: list[FileProblem] = field(default_factory=list)
    matches: list[MatchResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no error was found, in the file or in any row."""
        return not self.errors()

    def errors(self) -> list[RowProblem | FileProblem]:
        """Every error, file-level first."""
        file_errors: list[RowProblem | FileProblem] = [
            problem for problem in self.file_problems if problem.severity == "error"
        ]
        row_errors = [p for row in self.rows for p in row.problems if p.severity == "error"]
        return file_errors + row_errors

    def row_problems(self) -> list[RowProblem]:
        """Every row problem, in row order."""
        return [problem for row in self.rows for problem in row.problems]

    @property
    def rows_needing_geocoding(self) -> list[int]:
        """Excel rows that have an address but no position."""
        return [row.row for row in self.rows if not row.has_errors and row.needs_geocoding]

    def summary(self) -> dict[str, int]:
        """Counts for a report header."""
        problems = self.row_problems()
        actions = [match.action for match in self.matches]
        return {
            "rows": len(self.rows),
            "rows_with_errors": sum(row.has_errors for row in self.rows),
            "errors": sum(p.severity == "error" for p in problems)
            + sum(p.severity == "error" for p in self.file_problems),
            "warnings": sum(p.severity == "warning" for p in problems)
            + sum(p.severity == "warning" for p in self.file_problems),
            "needs_geocoding": len(self.rows_needing_geocoding),
            "created": actions.count("created"),
            "updated": actions.count("updated"),
            "unchanged": actions.count("unchanged"),
        }

    def to_dict(self) -> dict[str, Any]:
        """The whole report as JSON-ready data."""
        return {
            "layer": self.layer,
            "ok": self.ok,
            "summary": self.summary(),
            "file": self.file.to_dict(),
            "table": self.table.to_dict(),
            "file_problems": [problem.to_dict() for problem in self.file_problems],
            "problems": [problem.to_dict() for problem in self.row_problems()],
            "rows": [row.to_dict() for row in self.rows],
            "matches": [match.to_dict() for match in self.matches],
        }


def _jsonable(value: Any) -> Any:
    """Dates to ISO text, opening hours to their JSON model, the rest unchanged."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, OpeningHours):
        return value.model_dump(mode="json")
    if isinstance(value, tuple):
        return list(value)
    return value

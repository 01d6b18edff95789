"""Zip containers (xlsx, ods): open them with the zip-bomb guard, then pre-scan their XML.

calamine builds a dense grid from a sheet's first to its last non-empty cell, so a sheet
with a value in ``A1`` and another in ``XFD1048576`` would exhaust memory before any
limit could be checked. These scans walk the sheet XML once (streaming, C-accelerated
``iterparse``), find the extent of the non-empty cells, the cells holding formulas and,
for ods (which calamine reports no merges for), the merged ranges.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import IO
from xml.etree import ElementTree as ET

from layers.registry.importing.errors import ImportFileError
from layers.registry.importing.model import ImportLimits, column_index, column_letter

_MAX_ZIP_ENTRIES = 10_000
#: what reading a damaged zip member can raise (inflate errors surface as zlib.error)
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError,
              ValueError, RuntimeError, NotImplementedError, KeyError)
_CELL_REF = re.compile(r"^([A-Za-z]{1,3})(\d{1,7})$")


@dataclass
class SheetScan:
    """What a pre-scan of one sheet found (indices 0-based).

    Attributes
    ----------
    n_rows, n_columns
        One past the last row/column holding a value (0 for an empty sheet).
    formula_cells
        Cell references (``F5``) holding formulas, in file order.
    merges
        Merged ranges ``(first_row, first_col, last_row, last_col)``, inclusive; only
        filled in by the ods scan (calamine reports xlsx/xls merges itself).
    """

    n_rows: int = 0
    n_columns: int = 0
    formula_cells: list[str] = field(default_factory=list)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)

    def include(self, row: int, col: int, limits: ImportLimits) -> None:
        """Grow the extent to cover ``(row, col)``; refuse a sheet past the limits."""
        if row >= self.n_rows:
            self.n_rows = row + 1
            check_extent(self.n_rows, 1, limits)
        if col >= self.n_columns:
            self.n_columns = col + 1
            check_extent(1, self.n_columns, limits)


def check_extent(n_rows: int, n_columns: int, limits: ImportLimits) -> None:
    """Refuse a sheet spanning more rows or columns than the limits allow.

    The row allowance adds 100 rows for a title, contact block, header and footer.
    """
    if n_rows > limits.max_rows + 100:
        raise ImportFileError(
            "import_too_many_rows",
            f"表格超过 {limits.max_rows} 行（至少 {n_rows} 行），请分成几个文件上传。",
            f"the sheet has more than {limits.max_rows} rows (at least {n_rows}); "
            "split it into several files",
        )
    if n_columns > limits.max_columns:
        raise ImportFileError(
            "import_too_many_columns",
            f"表格超过 {limits.max_columns} 列（至少 {n_columns} 列）。",
            f"the sheet spans more than {limits.max_columns} columns (at least {n_columns})",
        )


def open_zip(data: bytes, limits: ImportLimits) -> zipfile.ZipFile:
    """Open a zip container after checking entry count, encryption and unpacked size.

    Raises
    ------
    ImportFileError
        When the zip is damaged, encrypted, has too many parts or unpacks to more than
        ``limits.max_uncompressed_bytes`` (a zip bomb).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except ZIP_ERRORS:
        raise _corrupt() from None
    if len(entries) > _MAX_ZIP_ENTRIES:
        raise _corrupt()
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise encrypted_error()
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > limits.max_uncompressed_bytes:
        megabytes = limits.max_uncompressed_bytes // (1024 * 1024)
        raise ImportFileError(
            "import_uncompressed_too_large",
            f"文件解压后超过 {megabytes} MB，无法读取（可能是损坏或恶意的文件）。",
            f"the file unpacks to more than {megabytes} MB and is not read "
            "(a damaged or malicious file)",
        )
    return archive


def encrypted_error() -> ImportFileError:
    """The error for a password-protected workbook."""
    return ImportFileError(
        "import_encrypted",
        "工作簿设置了打开密码，请取消密码后重新上传。",
        "the workbook is password-protected; remove the password and upload it again",
    )


def _corrupt() -> ImportFileError:
    return ImportFileError(
        "import_corrupt",
        "文件已损坏，无法读取，请在 Excel 中重新保存后上传。",
        "the file is damaged and cannot be read; save it again from Excel and re-upload",
    )


def _open_member(archive: zipfile.ZipFile, name: str) -> IO[bytes]:
    try:
        return archive.open(name)
    except ZIP_ERRORS:
        raise _corrupt() from None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


# --------------------------------------------------------------------------- xlsx


def xlsx_sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the part holding its XML, from ``workbook.xml`` and its relationships."""
    try:
        workbook = ET.fromstring(archive.read("xl/workbook.xml"))
        rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (ET.ParseError, *ZIP_ERRORS):
        raise _corrupt() from None
    targets = {
        rel.get("Id"): rel.get("Target", "")
        for rel in rels
        if _local(rel.tag) == "Relationship"
    }
    paths: dict[str, str] = {}
    for element in workbook.iter():
        if _local(element.tag) != "sheet":
            continue
        rel_id = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
        target = targets.get(rel_id, "")
        if not target:
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
        paths[element.get("name", "")] = posixpath.normpath(path)
    return paths


def scan_xlsx_sheet(archive: zipfile.ZipFile, path: str, limits: ImportLimits) -> SheetScan:
    """Extent and formula cells of one xlsx worksheet part.

    The fast pass finds the cell tags and their ``r`` references with one regular
    expression over the part (every common writer sets ``r``); a part with cells lacking
    it is read again as XML, positions counted from the row and cell order. The part is
    well-formed XML or calamine refuses it next.

    Raises
    ------
    ImportFileError
        When the part is missing or not XML, or the sheet spans past the limits.
    """
    try:
        scan = _scan_xlsx_fast(archive, path, limits)
        if scan is None:
            scan = _scan_xlsx_ordered(archive, path, limits)
    except (ET.ParseError, *ZIP_ERRORS):
        raise _corrupt() from None
    return scan


_COLUMN_INDEX: dict[str, int] = {}


def _column(letters: str) -> int:
    index = _COLUMN_INDEX.get(letters)
    if index is None:
        index = _COLUMN_INDEX[letters] = column_index(letters)
    return index


_CELL_TAG = re.compile(rb"<(?:\w+:)?c(\s[^>]*?)?(/?)>")
_REF_ATTR = re.compile(rb"\br=\"([A-Z]{1,3})(\d{1,7})\"")
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s/>]")


def _scan_xlsx_fast(archive: zipfile.ZipFile, path: str, limits: ImportLimits) -> SheetScan | None:
    """One regular-expression pass over the part's bytes (no XML events in Python).

    Self-closing cells (``<c r="Z9" s="1"/>``, formatting only) hold no value and are
    skipped. Returns ``None`` when a cell has no ``r`` reference.
    """
    with _open_member(archive, path) as stream:
        xml = stream.read(limits.max_uncompressed_bytes + 1)
    scan = SheetScan()
    max_row = max_col = -1
    starts: list[int] = []
    refs: list[bytes] = []
    for match in _CELL_TAG.finditer(xml):
        if match.group(2):
            continue  # <c .../>: no value
        ref = _REF_ATTR.search(match.group(1) or b"")
        if ref is None:
            return None
        row = int(ref.group(2)) - 1
        if row > max_row:
            max_row = row
            check_extent(row + 1, 1, limits)
        col = _column(ref.group(1).decode("ascii"))
        if col > max_col:
            max_col = col
            check_extent(1, col + 1, limits)
        starts.append(match.start())
        refs.append(ref.group(1) + ref.group(2))
    scan.n_rows, scan.n_columns = max_row + 1, max_col + 1
    if _FORMULA_TAG.search(xml):
        for formula in _FORMULA_TAG.finditer(xml):
            owner = bisect_right(starts, formula.start()) - 1
            if owner >= 0:
                scan.formula_cells.append(refs[owner].decode("ascii"))
        scan.formula_cells = list(dict.fromkeys(scan.formula_cells))
    return scan


def _scan_xlsx_ordered(archive: zipfile.ZipFile, path: str, limits: ImportLimits) -> SheetScan:
    scan = SheetScan()
    row = -1
    col = -1
    with _open_member(archive, path) as stream:
        for event, element in ET.iterparse(stream, events=("start", "end")):
            tag = _local(element.tag)
            if event == "start":
                if tag == "row":
                    number = element.get("r")
                    row = int(number) - 1 if number and number.isdigit() else row + 1
                    col = -1
                elif tag == "c":
                    ref = _CELL_REF.match(element.get("r", ""))
                    if ref:
                        col = _column(ref.group(1))
                        row = int(ref.group(2)) - 1
                    else:
                        col += 1
                continue
            if tag == "c":
                children = {_local(child.tag) for child in element}
                if children & {"v", "is", "f"}:
                    scan.include(max(row, 0), max(col, 0), limits)
                if "f" in children:
                    scan.formula_cells.append(f"{column_letter(max(col, 0))}{row + 1}")
                element.clear()
            elif tag == "row":
                element.clear()
    return scan


# --------------------------------------------------------------------------- ods

_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def _table_attr(element: ET.Element, name: str) -> str | None:
    return element.get(f"{{{_TABLE_NS}}}{name}")


def _count(element: ET.Element, name: str) -> int:
    value = _table_attr(element, name)
    return int(value) if value and value.isdigit() else 1


def ods_encrypted(archive: zipfile.ZipFile) -> bool:
    """Whether the ods manifest declares encrypted parts (a password-protected document)."""
    try:
        manifest = archive.read("META-INF/manifest.xml")
    except KeyError:
        return False
    except ZIP_ERRORS:
        raise _corrupt() from None
    return b"encryption-data" in manifest


def scan_ods(archive: zipfile.ZipFile, limits: ImportLimits) -> dict[str, SheetScan]:
    """Extent, formula cells and merged ranges of every table in ``content.xml``.

    Repeated rows and cells (``number-rows-repeated``, ``number-columns-repeated``) are
    counted arithmetically, never expanded, so the million empty rows LibreOffice writes
    at the end of a sheet cost nothing.
    """
    scans: dict[str, SheetScan] = {}
    scan: SheetScan | None = None
    row = 0
    col = 0
    row_repeat = 1
    depth = 0
    try:
        with _open_member(archive, "content.xml") as stream:
            for event, element in ET.iterparse(stream, events=("start", "end")):
                tag = _local(element.tag)
                if tag == "table":
                    if event == "start":
                        depth += 1
                        if depth == 1:
                            scan = SheetScan()
                            scans[_table_attr(element, "name") or f"Sheet{len(scans) + 1}"] = scan
                            row = 0
                    else:
                        depth -= 1
                    continue
                if scan is None or depth != 1:
                    continue
                if tag == "table-row":
                    if event == "start":
                        col = 0
                        row_repeat = _count(element, "number-rows-repeated")
                    else:
                        row += row_repeat
                        element.clear()
                elif tag in ("table-cell", "covered-table-cell") and event == "end":
                    repeat = _count(element, "number-columns-repeated")
                    has_value = (
                        element.get(f"{{{_OFFICE_NS}}}value-type") is not None or len(element) > 0
                    )
                    if has_value and tag == "table-cell":
                        scan.include(row + row_repeat - 1, col + repeat - 1, limits)
                        if _table_attr(element, "formula"):
                            scan.formula_cells.append(f"{column_letter(col)}{row + 1}")
                        spans = (
                            _count(element, "number-rows-spanned"),
                            _count(element, "number-columns-spanned"),
                        )
                        if spans != (1, 1):
                            scan.merges.append(
                                (row, col, row + spans[0] - 1, col + spans[1] - 1)
                            )
                    col += repeat
    except (ET.ParseError, *ZIP_ERRORS):
        raise _corrupt() from None
    return scans

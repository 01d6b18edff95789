"""Read an uploaded file as it is: xlsx, xls, ods or CSV, from bytes and a file name.

The format is found from the content (magic bytes), not the name, so a PNG renamed
``.xlsx`` or an HTML page saved as ``.xls`` is refused with a message that says what it
is. Workbooks are read with ``python-calamine`` (one fast Rust reader for xlsx, xls and
ods: values, dates, merged ranges of xlsx/xls, sheet visibility), after a pre-scan of
the file's own structure (:mod:`._zipped`, :mod:`._biff`) that calamine does not offer:
formulas, ods merged ranges, encryption and the extent of each sheet. CSV text goes
through :mod:`._text`.

Every failure is an :class:`ImportFileError`; nothing a reader raises escapes.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import python_calamine

from layers.registry.importing import _biff, _text, _zipped
from layers.registry.importing.errors import ImportFileError
from layers.registry.importing.model import ImportLimits

logger = logging.getLogger(__name__)
T = TypeVar("T")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_NOT_SPREADSHEET_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG", "PNG 图片", "a PNG image"),
    (b"\xff\xd8\xff", "JPEG 图片", "a JPEG image"),
    (b"GIF8", "GIF 图片", "a GIF image"),
    (b"%PDF", "PDF 文档", "a PDF document"),
    (b"Rar!", "RAR 压缩包", "a RAR archive"),
    (b"7z\xbc\xaf", "7z 压缩包", "a 7z archive"),
    (b"\x1f\x8b", "gzip 压缩包", "a gzip archive"),
)


@dataclass
class RawSheet:
    """One sheet's cells as read, before any interpretation.

    Attributes
    ----------
    name
        Sheet name (the file name for CSV).
    cells
        Row-major values: ``cells[0][0]`` is ``A1``. Values are ``str``, ``int``,
        ``float``, ``bool``, ``date``/``datetime``/``time`` or ``""`` for blank.
    merges
        Merged ranges ``(first_row, first_col, last_row, last_col)``, 0-based inclusive.
    formula_cells
        References of cells holding formulas.
    """

    name: str
    cells: list[list[Any]]
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    formula_cells: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SheetRef:
    """A sheet of a workbook: its name, position and whether it is visible."""

    name: str
    index: int
    visible: bool


class OpenedFile:
    """A file whose format is known and whose sheets can be loaded one at a time.

    Attributes
    ----------
    format
        ``xlsx``, ``xls``, ``ods`` or ``csv``.
    sheets
        Every sheet, visible or not, in workbook order (one sheet for CSV).
    encoding, delimiter
        For CSV only.
    """

    def __init__(self, data: bytes, filename: str, limits: ImportLimits) -> None:
        self.data = data
        self.filename = filename
        self.limits = limits
        self.encoding: str | None = None
        self.delimiter: str | None = None
        self.sheets: list[SheetRef] = []
        self._scans: dict[int, _zipped.SheetScan] = {}
        self._csv_rows: list[list[str]] | None = None
        self._workbook: Any = None
        self.format = _guarded(self._open)

    # ----------------------------------------------------------------- opening

    def _open(self) -> str:
        data = self.data
        if not data:
            raise ImportFileError(
                "import_empty_file", "上传的文件是空的。", "the uploaded file is empty"
            )
        if len(data) > self.limits.max_bytes:
            raise size_error(len(data), self.limits)
        for magic, what_zh, what_en in _NOT_SPREADSHEET_MAGIC:
            if data.startswith(magic):
                raise _not_spreadsheet(what_zh, what_en)
        if data.startswith(_ZIP_MAGIC):
            return self._open_zip()
        if data.startswith(_OLE_MAGIC):
            return self._open_ole()
        head = data[:512].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml")) or b"<html" in head:
            raise _not_spreadsheet(
                "网页或 XML 文件（常见于系统导出的“xls”），请用 Excel 打开后另存为 xlsx",
                "a web page or XML file (as some systems export under an .xls name); "
                "open it in Excel and save it as .xlsx",
            )
        return self._open_csv()

    def _open_zip(self) -> str:
        archive = _zipped.open_zip(self.data, self.limits)
        names = set(archive.namelist())
        if "xl/workbook.xml" in names:
            self._archive = archive
            self._sheet_paths = _zipped.xlsx_sheet_paths(archive)
            self._open_calamine()
            return "xlsx"
        mimetype = _read_small(archive, "mimetype") if "mimetype" in names else b""
        if b"opendocument.spreadsheet" in mimetype or (
            not mimetype and "content.xml" in names
        ):
            if _zipped.ods_encrypted(archive):
                raise _zipped.encrypted_error()
            ods_scans = _zipped.scan_ods(archive, self.limits)
            self._open_calamine()
            for ref in self.sheets:
                self._scans[ref.index] = ods_scans.get(ref.name, _zipped.SheetScan())
            return "ods"
        if "xl/workbook.bin" in names:
            raise _not_spreadsheet(
                "Excel 二进制工作簿（xlsb），请另存为 xlsx", "an Excel binary workbook (xlsb); save it as .xlsx"
            )
        if "word/document.xml" in names:
            raise _not_spreadsheet("Word 文档", "a Word document")
        raise _not_spreadsheet("zip 压缩包", "a zip archive")

    def _open_ole(self) -> str:
        scan = _biff.scan_ole(self.data, self.limits)
        if scan.kind != "xls":
            raise _not_spreadsheet("Office 文档（不是工作簿）", "an Office document that is not a workbook")
        self._open_calamine()
        for ref in self.sheets:
            if ref.index < len(scan.sheets):
                self._scans[ref.index] = scan.sheets[ref.index]
        return "xls"

    def _open_calamine(self) -> None:
        try:
            self._workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(self.data))
            metadata = list(self._workbook.sheets_metadata)
        except BaseException as exc:  # calamine raises its own errors and Rust panics
            _reraise_fatal(exc)
            raise _reader_error(exc) from None
        self.sheets = [
            SheetRef(
                meta.name,
                index,
                meta.visible == python_calamine.SheetVisibleEnum.Visible
                and meta.typ == python_calamine.SheetTypeEnum.WorkSheet,
            )
            for index, meta in enumerate(metadata)
        ]

    def _open_csv(self) -> str:
        text, self.encoding = _text.decode_text(self.data)
        self.delimiter = _text.sniff_delimiter(text)
        self._csv_rows = _text.read_csv_rows(text, self.delimiter, self.limits.max_rows)
        self.sheets = [SheetRef(self.filename, 0, True)]
        return "csv"

    # ----------------------------------------------------------------- loading

    def load(self, ref: SheetRef) -> RawSheet:
        """Read one sheet's cells.

        Raises
        ------
        ImportFileError
            When the sheet spans past the limits or cannot be read.
        """
        return _guarded(lambda: self._load(ref))

    def _load(self, ref: SheetRef) -> RawSheet:
        if self._csv_rows is not None:
            width = max((len(row) for row in self._csv_rows), default=0)
            _zipped.check_extent(len(self._csv_rows), width, self.limits)
            return RawSheet(ref.name, [list(row) for row in self._csv_rows])
        scan = self._scan(ref)
        if scan.n_rows == 0:
            return RawSheet(ref.name, [], formula_cells=scan.formula_cells)
        try:
            sheet = self._workbook.get_sheet_by_index(ref.index)
            cells = sheet.to_python(skip_empty_area=False)
            merged = sheet.merged_cell_ranges
        except BaseException as exc:
            _reraise_fatal(exc)
            raise _reader_error(exc) from None
        _zipped.check_extent(len(cells), max((len(row) for row in cells), default=0), self.limits)
        merges = (
            [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in merged] if merged is not None else scan.merges
        )
        return RawSheet(ref.name, cells, merges, scan.formula_cells)

    def _scan(self, ref: SheetRef) -> _zipped.SheetScan:
        if ref.index not in self._scans and self.format == "xlsx":
            path = self._sheet_paths.get(ref.name)
            self._scans[ref.index] = (
                _zipped.scan_xlsx_sheet(self._archive, path, self.limits)
                if path
                else _zipped.SheetScan()
            )
        scan = self._scans.get(ref.index)
        if scan is None:
            # a sheet the pre-scan could not place: refuse rather than read blind
            raise _reader_error(RuntimeError(f"no pre-scan for sheet {ref.name!r}"))
        return scan


def _guarded(read: Callable[[], T]) -> T:
    """Run a reading step; anything but an :class:`ImportFileError` becomes "damaged file".

    The pre-scans and readers are written to raise only ``ImportFileError``; this is the
    net under them, so that no byte sequence can make an import fail with a 500. The
    unexpected error is logged with its traceback.
    """
    try:
        return read()
    except ImportFileError:
        raise
    except Exception as exc:
        logger.warning("unexpected error while reading an upload", exc_info=True)
        raise _reader_error(exc) from None


def size_error(size_bytes: int, limits: ImportLimits) -> ImportFileError:
    """The 413 error for a file over the byte limit."""
    limit_mb = limits.max_bytes / (1024 * 1024)
    size_mb = size_bytes / (1024 * 1024)
    return ImportFileError(
        "import_file_too_large",
        f"文件 {size_mb:.1f} MB，超过 {limit_mb:g} MB 的上限，请分成几个文件上传。",
        f"the file is {size_mb:.1f} MB, over the {limit_mb:g} MB limit; split it into "
        "several files",
        status_code=413,
    )


def _not_spreadsheet(what_zh: str, what_en: str) -> ImportFileError:
    return ImportFileError(
        "import_not_spreadsheet",
        f"文件不是电子表格（xlsx、xls、ods 或 csv），而是{what_zh}。",
        f"the file is not a spreadsheet (xlsx, xls, ods or csv) but {what_en}",
    )


def _read_small(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        with archive.open(name) as stream:
            return stream.read(256)
    except _zipped.ZIP_ERRORS:
        return b""


def _reraise_fatal(exc: BaseException) -> None:
    if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
        raise exc


def _reader_error(exc: BaseException) -> ImportFileError:
    if isinstance(exc, python_calamine.PasswordError):
        return _zipped.encrypted_error()
    logger.info("workbook reader failed: %s: %s", type(exc).__name__, exc)
    return ImportFileError(
        "import_corrupt",
        "文件已损坏，无法读取，请在 Excel 中重新保存后上传。",
        "the file is damaged and cannot be read; save it again from Excel and re-upload",
    )

"""Legacy Excel (.xls, BIFF5/BIFF8) and other OLE containers: a pre-scan of the records.

An OLE compound file is either a legacy workbook (a ``Workbook`` or ``Book`` stream), a
password-protected xlsx (``EncryptionInfo`` + ``EncryptedPackage``) or something else
(a Word document). For a workbook, one pass over the BIFF records finds what calamine
does not report: a ``FILEPASS`` record (the workbook is encrypted), the cells holding
``FORMULA`` records, and the extent of the value cells of each sheet, so that a sheet
spanning 65,536 x 256 cells is refused before a reader builds its grid. The streams are
read with ``olefile``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import olefile

from layers.registry.importing._zipped import SheetScan, encrypted_error
from layers.registry.importing.errors import ImportFileError
from layers.registry.importing.model import ImportLimits, column_letter

_BOF = 0x0809
_EOF = 0x000A
_FILEPASS = 0x002F
_BOUNDSHEET = 0x0085
_FORMULA = 0x0006
_MULRK = 0x00BD
#: records that start with (row, column) of a cell holding a value
_VALUE_RECORDS = frozenset({0x0203, 0x027E, 0x00FD, 0x0204, 0x0205, 0x00D6, _FORMULA})


@dataclass
class OleScan:
    """What the OLE container holds.

    Attributes
    ----------
    kind
        ``xls``, ``encrypted_ooxml`` or ``other``.
    encrypted
        Whether a legacy workbook has a ``FILEPASS`` record.
    sheets
        One scan per sheet, in workbook (``BOUNDSHEET``) order.
    """

    kind: str
    encrypted: bool = False
    sheets: list[SheetScan] = field(default_factory=list)


def _corrupt() -> ImportFileError:
    return ImportFileError(
        "import_corrupt",
        "文件已损坏，无法读取，请在 Excel 中重新保存后上传。",
        "the file is damaged and cannot be read; save it again from Excel and re-upload",
    )


def scan_ole(data: bytes, limits: ImportLimits) -> OleScan:
    """Classify an OLE container and, for a legacy workbook, scan its records.

    Raises
    ------
    ImportFileError
        When the container is damaged, encrypted, or a sheet spans past the limits.
    """
    try:
        with olefile.OleFileIO(data) as ole:
            if ole.exists("EncryptionInfo") or ole.exists("EncryptedPackage"):
                raise encrypted_error()
            name = "Workbook" if ole.exists("Workbook") else "Book" if ole.exists("Book") else None
            if name is None:
                return OleScan("other")
            stream = ole.openstream(name).read()
    except ImportFileError:
        raise
    except Exception:  # olefile raises many kinds on damaged containers
        raise _corrupt() from None
    return _scan_workbook_stream(stream, limits)


def _records(stream: bytes, start: int):
    """Yield ``(offset, type, payload)`` from ``start`` up to the end of the stream."""
    offset = start
    end = len(stream)
    while offset + 4 <= end:
        record_type, length = struct.unpack_from("<HH", stream, offset)
        payload_start = offset + 4
        if payload_start + length > end:
            return
        yield offset, record_type, stream[payload_start : payload_start + length]
        offset = payload_start + length


def _scan_workbook_stream(stream: bytes, limits: ImportLimits) -> OleScan:
    result = OleScan("xls")
    sheet_offsets: list[int] = []
    for offset, record_type, payload in _records(stream, 0):
        if offset == 0 and record_type != _BOF:
            raise _corrupt()
        if record_type == _FILEPASS:
            result.encrypted = True
        elif record_type == _BOUNDSHEET and len(payload) >= 4:
            sheet_offsets.append(struct.unpack_from("<I", payload)[0])
        elif record_type == _EOF:
            break
    if result.encrypted:
        raise encrypted_error()
    for sheet_offset in sheet_offsets:
        result.sheets.append(_scan_sheet(stream, sheet_offset, limits))
    return result


def _scan_sheet(stream: bytes, offset: int, limits: ImportLimits) -> SheetScan:
    scan = SheetScan()
    if offset >= len(stream):
        return scan
    for position, record_type, payload in _records(stream, offset):
        if record_type == _EOF:
            break
        if record_type == _BOF and position != offset:
            break  # the next substream: this one had no EOF record
        if record_type in _VALUE_RECORDS and len(payload) >= 4:
            row, col = struct.unpack_from("<HH", payload)
            scan.include(row, col, limits)
            if record_type == _FORMULA:
                scan.formula_cells.append(f"{column_letter(col)}{row + 1}")
        elif record_type == _MULRK and len(payload) >= 6:
            row, _first = struct.unpack_from("<HH", payload)
            (last,) = struct.unpack_from("<H", payload, len(payload) - 2)
            scan.include(row, last, limits)
    return scan

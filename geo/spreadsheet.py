"""The one encoder of spreadsheet cells (CSV and XLSX) used wherever tables leave the process.

Spreadsheet programs run a cell that begins with ``=``, ``+``, ``-``, ``@`` (or a tab or
carriage return followed by one) as a formula, so text that came from a user, a booking or
an imported sheet could run as one when a CSV/XLSX export is opened (CSV injection, OWASP).
:func:`safe_cell` neutralises such text by prefixing an apostrophe, which Excel, LibreOffice
and WPS show as plain text; numbers stay numbers (a negative number is not a formula).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> Any:
    """``value`` ready for a spreadsheet cell: formula-like text prefixed with ``'``.

    ``None`` becomes ``""``; ints, floats and booleans are returned unchanged.
    """
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.startswith(_TRIGGERS):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = False) -> str:
    """A CSV document (every cell through :func:`safe_cell`); ``bom`` for spreadsheet apps."""
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue()


class SafeWriter:
    """A ``csv.writer`` whose every cell goes through :func:`safe_cell`."""

    def __init__(self, stream: Any, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Sequence[Any]) -> None:
        """Write one row."""
        self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Write many rows."""
        for row in rows:
            self.writerow(row)

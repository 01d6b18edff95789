"""The one error an import raises: :class:`ImportFileError`, with Chinese and English text."""

from __future__ import annotations

from collections.abc import Sequence

from layers.errors import LayersError


class ImportFileError(LayersError):
    """A file that cannot be imported at all (nothing is read from it).

    ``code`` says why (``import_not_spreadsheet``, ``import_formulas`` ...), ``status_code``
    is 413 for a file over the byte limit and 422 otherwise. ``message`` joins the Chinese
    and English texts so a client that shows only one string shows both.

    Attributes
    ----------
    message_zh, message_en
        User-safe explanations, in Chinese and in English.
    cells
        Cell references the error is about (``"Sheet1!F5"``), when it is about cells.
    """

    status_code = 422
    code = "import_invalid_file"

    def __init__(
        self,
        code: str,
        message_zh: str,
        message_en: str,
        *,
        status_code: int = 422,
        cells: Sequence[str] = (),
    ) -> None:
        self.code = code
        self.status_code = status_code
        self.message_zh = message_zh
        self.message_en = message_en
        self.cells = tuple(cells)
        super().__init__(f"{message_zh} / {message_en}")

    def to_dict(self) -> dict[str, object]:
        """The error as plain JSON-ready data."""
        return {
            "error": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "cells": list(self.cells),
        }

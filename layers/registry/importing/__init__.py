"""Registry import: uploaded spreadsheets -> checked rows, a bilingual report, and matches.

District union staff upload their registry spreadsheets (the 申报表 forms of the 2023
plan, or plain lists); this package reads them as they are (xlsx, xls, ods, CSV in
UTF-8 or GB18030), finds the table under its title and contact block, maps the columns,
normalises and checks every cell, and matches the rows against the existing records. It
is pure: it never writes a store and never geocodes (it lists the rows that need a
position). One entry point, :func:`parse_import`; see ``docs/importing.md``.

Modules: :mod:`.readers` (formats), :mod:`.table` (finding the table), :mod:`.columns`
(header synonyms and mappings), :mod:`.cells` (cell rules), :mod:`.hours_text` and
:mod:`.services` (hours and services vocabulary), :mod:`.rows` (row rules),
:mod:`.matching` (created/updated/unchanged and duplicates), :mod:`.records` (to
``Facility`` fields), :mod:`.fields` (the field vocabulary), :mod:`.model` (the result
dataclasses), :mod:`.pipeline` (the entry points).
"""

from layers.registry.importing.errors import ImportFileError
from layers.registry.importing.fields import FIELDS, FieldInfo
from layers.registry.importing.matching import ExistingRecord, existing_from_facility, match_rows
from layers.registry.importing.model import (
    ColumnMatch,
    ContactBlock,
    DuplicateHint,
    FieldChange,
    FileProblem,
    ImportFile,
    ImportLimits,
    ImportParse,
    MatchResult,
    ParsedRow,
    RowProblem,
    SheetTable,
)
from layers.registry.importing.pipeline import (
    IMPORTABLE_LAYERS,
    load_mapping,
    parse_import,
    parse_import_path,
)
from layers.registry.importing.records import facility_fields

__all__ = [
    "FIELDS",
    "IMPORTABLE_LAYERS",
    "ColumnMatch",
    "ContactBlock",
    "DuplicateHint",
    "ExistingRecord",
    "FieldChange",
    "FieldInfo",
    "FileProblem",
    "ImportFile",
    "ImportFileError",
    "ImportLimits",
    "ImportParse",
    "MatchResult",
    "ParsedRow",
    "RowProblem",
    "SheetTable",
    "existing_from_facility",
    "facility_fields",
    "load_mapping",
    "match_rows",
    "parse_import",
    "parse_import_path",
]

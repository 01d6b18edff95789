"""Official employment statistics (Shanghai 5th economic census, 2023-12-31), trimmed.

Copies of the three employment tables with only the columns the analyses need; the source
table and URL stay in ``data/SOURCES.md``.
"""

from __future__ import annotations

from pathlib import Path

from layers.build.io import write_csv
from layers.build.sources import (
    DISTRICT_EMPLOYMENT_CSV,
    DISTRICT_INDUSTRY_CSV,
    SUBDISTRICT_EMPLOYMENT_CSV,
    SourceData,
)
from layers.registry.shipped import DEMAND_DIR

#: shipped file name -> (source file, columns kept, {shipped column: source column})
DEMAND_TABLES: dict[str, tuple[str, list[str], dict[str, str]]] = {
    "district_employment_2023.csv": (
        DISTRICT_EMPLOYMENT_CSV,
        ["district", "district_en", "employment", "reference_date", "source_table"],
        {},
    ),
    "district_industry_employment_2023.csv": (
        DISTRICT_INDUSTRY_CSV,
        [
            "district",
            "industry_code",
            "industry_name",
            "classification_level",
            "core_office",
            "broad_office",
            "employment",
            "reference_date",
        ],
        {"employment": "district_industry_employment"},
    ),
    "subdistrict_employment_2023_central.csv": (
        SUBDISTRICT_EMPLOYMENT_CSV,
        [
            "district",
            "code",
            "name",
            "control_type",
            "employment",
            "rounding_increment_people",
            "osm_relation_id",
            "reference_date",
        ],
        {
            "code": "official_control_code_2023",
            "name": "official_control_name_2023",
            "employment": "employment_reconciled",
        },
    ),
}


def write_demand(sources: SourceData, out_dir: Path) -> dict[str, tuple[Path, int, str]]:
    """Write the trimmed tables; returns ``{name: (path, rows, source file)}``."""
    written = {}
    for name, (source_name, columns, renames) in DEMAND_TABLES.items():
        rows = [
            {column: row.get(renames.get(column, column), "") for column in columns}
            for row in sources.csv(source_name)
        ]
        path = Path(out_dir) / DEMAND_DIR / name
        count = write_csv(path, columns, rows)
        written[name] = (path, count, source_name)
    return written

"""Write the committed legacy-Excel (.xls) import fixtures. Run once; needs LibreOffice.

No maintained Python library writes .xls, so the fixtures are made from the same grids
the tests build (``tests/layers/importing/forms.py``): each is written as xlsx with
openpyxl, then converted by LibreOffice (``soffice --headless --convert-to xls``)::

    python tests/data/importing/make_xls_fixtures.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from tests.layers.importing.forms import (  # noqa: E402
    Grid,
    health_point_form,
    to_xlsx,
    training_site_form,
)


def _with_formula() -> Grid:
    grid = health_point_form()
    grid.rows[4][4] = "=D5*20"  # 职工数 computed from 企业数: refused by the importer
    return grid


def main() -> None:
    instructions = Grid([["填表说明"], ["请在“申报表”工作表中填写。"]], [], "说明")
    fixtures = {
        "health_point_form.xls": to_xlsx(health_point_form()),
        "training_sites.xls": to_xlsx(training_site_form()),
        "formula.xls": to_xlsx(_with_formula()),
        "hidden_sheet.xls": to_xlsx(health_point_form(), before=[(instructions, "hidden")]),
    }
    with tempfile.TemporaryDirectory() as work:
        for name, xlsx in fixtures.items():
            source = Path(work) / name.replace(".xls", ".xlsx")
            source.write_bytes(xlsx)
            subprocess.run(
                ["soffice", "--headless", "--convert-to", "xls", "--outdir", work, str(source)],
                check=True,
                capture_output=True,
            )
            shutil.copy(Path(work) / name, HERE / name)
            print(f"wrote {name}")


if __name__ == "__main__":
    main()

"""``docs/authorization.md`` against the application: every operation is in the table, and
anonymous callers get exactly what the table says (401 for staff operations, never 401 or
403 for public ones)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.schemas import ErrorOut
from tests.api._auth import PASSWORD, STAFF, bearer, client_for, make_settings, token

TABLE = Path(__file__).resolve().parents[2] / "docs" / "authorization.md"
ROW = re.compile(r"^\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|")
#: Plausible values of the path parameters (a seeded-looking id, a real layer, ...).
PATH_VALUES = {
    "facility_id": "training_site:site-01", "layer": "health_point", "username": "root",
    "plan_id": "Abc123Def456Ghi7", "route_id": "Abc123Def456Ghi7",
    "import_id": "imp-0123456789abcdef", "action": "approve", "z": "10", "x": "857",
    "y": "418", "name": "districts",
}  # fmt: skip


def table_rows() -> dict[tuple[str, str], str]:
    """``(METHOD, path) → who may call`` from the markdown table."""
    rows: dict[tuple[str, str], str] = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        found = ROW.match(line)
        if found:
            key = (found.group(1), found.group(2))
            assert key not in rows, f"{key} appears twice in {TABLE.name}"
            rows[key] = found.group(3)
    return rows


def is_anonymous(who: str) -> bool:
    return who.strip() == "anonymous"


def concrete(path: str) -> str:
    """The path with plausible values for its parameters."""
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The real application (no probe routes), unseeded, one account per role."""
    app = create_app(make_settings(tmp_path_factory.mktemp("authz")))
    for name, (role, district) in STAFF.items():
        app.state.auth.accounts.add(name, role, district=district, password=PASSWORD)
    return app


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    with client_for(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def operations(app: Any) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in app.openapi()["paths"].items()
            for method in ops}  # fmt: skip


def test_every_operation_is_in_the_table(operations: set[tuple[str, str]]) -> None:
    rows = table_rows()
    missing = sorted(operations - set(rows))
    stale = sorted(set(rows) - operations)
    assert not missing, ("operations of the OpenAPI missing from docs/authorization.md (add a "
                         "row for each): " + ", ".join(f"{m} {p}" for m, p in missing))  # fmt: skip
    assert not stale, ("rows of docs/authorization.md naming no operation of the OpenAPI: "
                       + ", ".join(f"{m} {p}" for m, p in stale))  # fmt: skip


def test_path_values_cover_every_parameter(operations: set[tuple[str, str]]) -> None:
    names = {name for _, path in operations for name in re.findall(r"\{(\w+)\}", path)}
    assert names <= set(PATH_VALUES), f"give PATH_VALUES a value for {names - set(PATH_VALUES)}"


def test_anonymous_callers_get_what_the_table_says(
    client: TestClient, operations: set[tuple[str, str]]
) -> None:
    """No credentials: 401 with the error body and a Bearer challenge for every staff
    operation; anything but 401/403 for the public ones."""
    wrong = []
    checked = 0
    for (method, path), who in sorted(table_rows().items()):
        if (method, path) not in operations:
            continue  # reported by test_every_operation_is_in_the_table
        answer = client.request(method, concrete(path))
        checked += 1
        if is_anonymous(who):
            if answer.status_code in (401, 403):
                wrong.append(f"{method} {path} is public but answered {answer.status_code}: "
                             f"{answer.text[:120]}")  # fmt: skip
            continue
        if answer.status_code != 401:
            wrong.append(f"{method} {path} ({who}) answered {answer.status_code} to an "
                         f"anonymous caller, not 401")  # fmt: skip
            continue
        ErrorOut.model_validate(answer.json())
        if not answer.headers.get("www-authenticate", "").startswith("Bearer"):
            wrong.append(f"{method} {path}: 401 without a WWW-Authenticate: Bearer challenge")
    assert checked == len(operations)
    assert not wrong, "\n".join(wrong)


def test_admin_only_operations_refuse_other_roles(client: TestClient) -> None:
    """Rows whose only caller is ``admin``: a reviewer (the next strongest role) gets 403."""
    reviewer = bearer(token(client, "rev"))
    admin_only = [key for key, who in table_rows().items() if who.strip() == "admin"]
    assert admin_only, "the table names admin-only operations (account management)"
    for method, path in admin_only:
        answer = client.request(method, concrete(path), headers=reviewer)
        assert answer.status_code == 403, (method, path, answer.status_code, answer.text)
        assert ErrorOut.model_validate(answer.json()).error == "forbidden"

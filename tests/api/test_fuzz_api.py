"""Schemathesis over the application's own OpenAPI, in process (ASGI), seeded.

Every operation is fuzzed twice: anonymously, and with an administrator's bearer token
(so the writes get past 401 and their bodies are really parsed and checked). Every check
is on: no 5xx, the status code, content type, headers and body of each answer as the
OpenAPI documents them, valid data accepted and invalid data refused (with the refusals
no schema can express, see ``tests/api/_fuzz.py``), the ``Allow`` of a 405, undeclared
methods refused. The configuration is fixed (seed, derandomized Hypothesis, no example
database), so every run sends the same cases; the number of cases is printed at the end
of the session and asserted by :func:`test_fuzz_case_count`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Ok

from tests.api import _fuzz

app, registry, _state = _fuzz.build_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", app,
                                        config=SchemathesisConfig.from_dict(_fuzz.CONFIG))  # fmt: skip
OPERATION_LABELS = sorted(
    result.ok().label for result in schema.get_all_operations() if isinstance(result, Ok)
)
#: Fewest cases any operation gets from each caller; the total over both callers.
MIN_CASES_PER_OPERATION = 1
MIN_CASES_TOTAL = 2000

#: Hypothesis as the suite runs it everywhere (also under the ``ci`` profile it loads in CI):
#: explicit examples and generation only (a failure is reported as found, with its curl
#: line; shrinking it could take minutes), derandomized, no example database.
FUZZ_SETTINGS = settings(
    max_examples=_fuzz.MAX_EXAMPLES, phases=(Phase.explicit, Phase.generate),
    derandomize=True, database=None, deadline=None, print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def seeded_app() -> Iterator[None]:
    """Seed the registry (once, when the first fuzz test runs); close it at the end."""
    _fuzz.seed(app, registry)
    yield
    registry.store.close()
    _state.cleanup()


@pytest.fixture(scope="module")
def admin_headers(seeded_app: None) -> dict[str, str]:
    """The administrator's bearer token (from the password flow, like a script's)."""
    with TestClient(app) as client:
        answer = client.post("/api/v1/auth/token",
                             data={"username": _fuzz.ADMIN[0], "password": _fuzz.ADMIN[1]})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_anonymous(case: Any) -> None:
    """Every operation, no credentials: staff operations answer 401, public ones work."""
    _fuzz.COUNTS["anonymous", case.operation.label] += 1
    with _fuzz.timed(case.operation.label):
        case.call_and_validate()


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_admin(case: Any, admin_headers: dict[str, str]) -> None:
    """Every operation as an administrator: every write's body is parsed and checked."""
    _fuzz.COUNTS["admin", case.operation.label] += 1
    with _fuzz.timed(case.operation.label):
        case.call_and_validate(headers=admin_headers)


def test_fuzz_case_count(request: pytest.FixtureRequest) -> None:
    """At least ``MIN_CASES_TOTAL`` cases in all, and every operation fuzzed by both callers."""
    ran = set(_fuzz.COUNTS)
    wanted = {(caller, label) for caller in ("anonymous", "admin") for label in OPERATION_LABELS}
    selected = [item for item in request.session.items if item.name.startswith("test_fuzz_a")]
    if len(selected) < len(wanted):
        pytest.skip(f"only {len(selected)} of the {len(wanted)} fuzz items were selected; the "
                    "case count is asserted when all of them run")  # fmt: skip
    assert not wanted - ran, f"operations never fuzzed: {sorted(wanted - ran)}"
    few = {key: n for key, n in _fuzz.COUNTS.items() if n < MIN_CASES_PER_OPERATION}
    assert not few, f"operations with fewer than {MIN_CASES_PER_OPERATION} cases: {few}"
    total = sum(_fuzz.COUNTS.values())
    print(f"\n{_fuzz.summary()}")
    assert total >= MIN_CASES_TOTAL, _fuzz.summary()

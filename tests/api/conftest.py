"""An application on a temporary SQLite registry seeded from the shipped data; the fuzz
tests' case count in the session summary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings


@pytest.fixture(scope="session")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    state = tmp_path_factory.mktemp("state")
    # one job at a time, as on the 2-core machines the suite runs on (tests rely on it)
    return Settings(state_dir=Path(state), database_url=f"sqlite:///{state / 'registry.db'}",
                    job_concurrency=1)


@pytest.fixture(scope="session")
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings), raise_server_exceptions=False) as test_client:
        yield test_client




def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The number of cases the Schemathesis fuzz tests generated (when they ran)."""
    from tests.api import _fuzz

    line = _fuzz.summary()
    if line is not None:
        terminalreporter.write_sep("-", line)

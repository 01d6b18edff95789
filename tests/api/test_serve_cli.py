"""``servicemap serve``: one worker process per core unless told otherwise."""

from __future__ import annotations

import os

import pytest

from api.cli import main
from api.cli.serve import default_workers


def test_one_worker_per_core_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVICEMAP_WORKERS", raising=False)
    assert default_workers() == len(os.sched_getaffinity(0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2})
    assert default_workers() == 3


def test_the_setting_wins_over_the_core_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICEMAP_WORKERS", " 5 ")
    assert default_workers() == 5


@pytest.mark.parametrize("value", ["0", "-2", "many", "1.5", "1000"])
def test_a_bad_setting_stops_with_a_message(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SERVICEMAP_WORKERS", value)
    with pytest.raises(SystemExit, match="SERVICEMAP_WORKERS"):
        default_workers()


@pytest.mark.parametrize("value", ["0", "x"])
def test_a_bad_workers_option_is_a_usage_error(value: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--workers", value])
    assert stopped.value.code == 2
    assert "--workers" in capsys.readouterr().err

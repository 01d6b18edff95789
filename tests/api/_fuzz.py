"""The application the Schemathesis fuzz tests run against, their configuration and counts.

The application is the real one (``create_app``) on a temporary SQLite registry seeded from
the shipped data, with an administrator account. Its jobs are accepted, listed and
cancelled but never run (``job_worker=False``: an API-only process), and each caller may
queue only a few (``job_max_queued_per_owner``), so the plans and routes the fuzzer
submits never start a solver and the queue-full answer (429) is exercised too.
"""

from __future__ import annotations

import collections
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api.main import create_app
from api.settings import Settings
from layers.registry.service import Registry
from layers.store import open_store

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"  # /embed reads its page there
SECRET = "t3st-K3y-0f-the-fuzz-tests-Qm81xZp4"  # test only
ADMIN = ("fuzz-root", "fuzz admin password 1")
SEED = 20_240_611
#: Generated cases per operation in the fuzzing phase (the examples and coverage phases
#: add their own, a few to a few hundred per operation).
MAX_EXAMPLES = 5

#: Answers that refuse a request the schema allows, but that no schema can express: a point
#: outside Shanghai or off the networks (422), an unknown id (404), a stale or missing ETag
#: (412, 428), a name already taken (409), a full job queue (429).
ACCEPTED_REFUSALS = ["2xx", "401", "403", "404", "409", "412", "422", "428", "429"]
#: Refusals of requests the schema forbids; 412 besides the defaults: an ETag refused
#: before the body is looked at.
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "412", "415", "422", "428",
              "429"]  # fmt: skip

#: Every check of Schemathesis, every phase that runs inside one test (``stateful`` needs
#: a state machine of its own and is off), generation of valid and invalid data.
CONFIG: dict[str, Any] = {
    "seed": SEED,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True,
                   "database": "none", "no-shrink": True, "with-security-parameters": False},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
               "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
    "checks": {
        "enabled": True,
        "positive_data_acceptance": {"expected-statuses": ACCEPTED_REFUSALS},
        "negative_data_rejection": {"expected-statuses": REJECTIONS},
    },
    # the gap analyses answer every workplace of Shanghai (~6 MB, ~0.3 s a case) and a
    # service area unites the walks from every facility of a layer (~1 s): their coverage
    # phase sends only the invalid boundaries (refused at once), the fuzzing phase both
    "operations": [
        *({**match, "phases": {"coverage": {"generation": {"mode": "negative"}}}}
          for match in ({"include-tag": "gaps"},
                        {"include-path": "/api/v1/layers/{layer}/service-area"})),
        # the drive network loads in ~15 s and a drive service area takes 5-14 s on two
        # cores (tests/api/test_network_api.py routes on it): the fuzzer walks
        *({"include-path": path, "parameters": {"query.profile": "walk"}}
          for path in ("/api/v1/nearest", "/api/v1/isochrones",
                       "/api/v1/layers/{layer}/service-area")),
        # oEmbed answers 501 for a format other than json, as its specification says
        # (tests/api/test_embed_api.py): the fuzzer asks for json
        {"include-path": "/oembed", "parameters": {"query.format": "json"}},
        # POST /review/queue is the review action "queue": a 422 naming the valid actions
        # (tests/api/test_records_api.py), not the 405 this check expects of the queue
        {"include-path": "/api/v1/review/queue", "include-method": "GET",
         "checks": {"unsupported_method": {"enabled": False}}},
    ],
    "request-timeout": 30,
}  # fmt: skip

#: Cases run, by (caller, operation label) — filled by the tests, read by the summary.
COUNTS: collections.Counter[tuple[str, str]] = collections.Counter()
#: Seconds spent in the cases of each operation (both callers), for the summary.
SECONDS: collections.Counter[str] = collections.Counter()


def fuzz_settings(state: Path) -> Settings:
    """Settings of the fuzzed application: SQLite in ``state``, no warm-up, cheap password
    hashing, jobs queued but never run."""
    return Settings(
        state_dir=state, database_url=f"sqlite:///{state / 'registry.db'}",
        static_dir=STATIC_DIR, warm_up=False, secret_key=SECRET,
        argon2_time_cost=1, argon2_memory_kib=8192, job_concurrency=1, job_worker=False,
        job_max_queued=20, job_max_queued_per_owner=3,
    )  # fmt: skip


def build_app() -> tuple[FastAPI, Registry, tempfile.TemporaryDirectory[str]]:
    """The application over an empty registry (cheap, at import; :func:`seed` fills it)."""
    state = tempfile.TemporaryDirectory(prefix="servicemap-fuzz-")
    settings = fuzz_settings(Path(state.name))
    registry = Registry(open_store(settings.resolved_database_url()), settings.data_dir)
    # the registry is the test's: the lifespan Schemathesis runs around each test item
    # leaves it open
    return create_app(settings, registry=registry), registry, state


def seed(app: FastAPI, registry: Registry) -> None:
    """The shipped facilities and the administrator account."""
    registry.seed_from_shipped()
    app.state.auth.accounts.add(ADMIN[0], "admin", password=ADMIN[1])


@contextmanager
def timed(operation: str) -> Iterator[None]:
    """Add the time of the block to the operation's seconds."""
    start = time.perf_counter()
    try:
        yield
    finally:
        SECONDS[operation] += time.perf_counter() - start


def summary() -> str | None:
    """One line with the number of generated cases (``None`` when no fuzz test ran)."""
    if not COUNTS:
        return None
    by_caller = collections.Counter[str]()
    for (caller, _), n in COUNTS.items():
        by_caller[caller] += n
    parts = ", ".join(f"{caller} {n:,}" for caller, n in sorted(by_caller.items()))
    operations = len({op for _, op in COUNTS})
    slowest = ", ".join(f"{op} {s:.1f} s" for op, s in SECONDS.most_common(3))
    return (f"schemathesis fuzz: {sum(COUNTS.values()):,} generated cases over {operations} "
            f"operations ({parts}) in {sum(SECONDS.values()):.1f} s; slowest: {slowest}")  # fmt: skip

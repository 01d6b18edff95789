"""Helpers of the authentication API tests: an application with probe routes, one account
per role, tokens, and a live server on a free loopback port for the concurrency tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from api.deps import ActorDep, AdminDep, StaffDep, require_action
from api.main import create_app
from api.settings import Settings
from layers.accounts import policy
from layers.accounts.roles import Actor

SECRET = "t3st-K3y-0f-the-api-tests-9fQ2xLmZ"  # test only
PASSWORD = "staff password 1"
#: user name -> (role, district): one account per role
STAFF = {
    "root": ("admin", None),
    "rev": ("reviewer", None),
    "ed": ("editor", "普陀区"),
    "plan": ("planner", None),
    "doc": ("checkup_staff", None),
}

probe = APIRouter(prefix="/probe")


@probe.get("/optional")
def probe_optional(actor: ActorDep) -> dict[str, Any]:
    return {"actor": None if actor is None else actor.to_dict()}


@probe.get("/staff")
def probe_staff(actor: StaffDep) -> dict[str, Any]:
    return actor.to_dict()


@probe.post("/staff")
def probe_staff_write(actor: StaffDep) -> dict[str, Any]:
    return actor.to_dict()


@probe.post("/edit/{district}")
def probe_edit(district: str,
               actor: Annotated[Actor, Depends(require_action("registry.edit"))]) -> dict[str, Any]:
    # what a registry service does with the record's district
    return policy.require(actor, "registry.edit", district=district).to_dict()


@probe.post("/review")
def probe_review(actor: Annotated[Actor, Depends(require_action("registry.review"))]) -> dict[str, Any]:
    return actor.to_dict()


@probe.post("/plans")
def probe_plans(actor: Annotated[Actor, Depends(require_action("plans.submit"))]) -> dict[str, Any]:
    return actor.to_dict()


@probe.post("/admin")
def probe_admin(actor: AdminDep) -> dict[str, Any]:
    return actor.to_dict()


def make_settings(state: Path, **overrides: Any) -> Settings:
    """Settings of a test application on a fresh SQLite file (cheap argon2, no seeding)."""
    values: dict[str, Any] = {
        "state_dir": state, "database_url": f"sqlite:///{state / 'registry.db'}",
        "static_dir": state / "no-static", "seed_on_start": False, "warm_up": False,
        "secret_key": SECRET, "argon2_time_cost": 1, "argon2_memory_kib": 8192,
    }  # fmt: skip
    values.update(overrides)
    return Settings(**values)


def make_app(state: Path, *, staff: bool = True, **overrides: Any) -> FastAPI:
    """The real application plus the probe routes, with one account per role."""
    app = create_app(make_settings(state, **overrides))
    app.include_router(probe)
    if staff:
        for name, (role, district) in STAFF.items():
            app.state.auth.accounts.add(name, role, district=district, password=PASSWORD)
    return app


def client_for(app: FastAPI, **kwargs: Any) -> TestClient:
    """A test client over HTTPS (so ``Secure`` cookies travel), errors as responses."""
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False, **kwargs)


def token(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """An access token from the password flow."""
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))  # fmt: skip
    thread = threading.Thread(target=server.run, name="auth-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

"""Dependency aliases shared by the routers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from starlette.applications import Starlette

from api.settings import Settings
from layers.accounts.roles import Actor, Role
from layers.jobs import JobQueue, JobScope, JobWorker
from layers.registry.service import Registry

T = TypeVar("T")

_LOCK = threading.RLock()  # re-entrant: a service may be built from another one


def get_registry(request: Request) -> Registry:
    """The application's registry service."""
    registry: Registry = request.app.state.registry
    return registry


def get_settings(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


RegistryDep = Annotated[Registry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def app_service(owner: Request | Starlette, name: str, build: Callable[[], T]) -> T:
    """The application-wide service kept on ``app.state`` under ``name``.

    ``owner`` is a request or the application itself (background jobs run outside any
    request). Built by ``build()`` on first use, once even when requests arrive together;
    its caches then live as long as the application.
    """
    state = owner.state if isinstance(owner, Starlette) else owner.app.state
    service: T | None = getattr(state, name, None)
    if service is None:
        with _LOCK:
            service = getattr(state, name, None)
            if service is None:
                service = build()
                setattr(state, name, service)
    return service


def job_queue(request: Request) -> JobQueue:
    """The application's durable job queue (plans, check-up routes)."""
    queue: JobQueue = request.app.state.jobs
    return queue


def job_worker(request: Request) -> JobWorker | None:
    """This process's job worker (``None`` while the application is not started)."""
    worker: JobWorker | None = getattr(request.app.state, "job_worker", None)
    return worker


# ---------------------------------------------------------------------------------------
# AUTH SEAM. Until authentication lands, every caller is the same anonymous planner, so
# job listings and job access behave as before (everyone sees the anonymous jobs). The
# authentication dependency replaces ``current_actor`` (same name and return type), and
# from then on each caller sees only their own jobs, district staff their district's,
# reviewers and admins every job (``JobScope.of``). Tests override it with
# ``app.dependency_overrides[current_actor]``.
ANONYMOUS = Actor("anonymous", Role.PLANNER)


def current_actor(request: Request) -> Actor:
    """The user behind the request (placeholder: the anonymous planner, see above)."""
    return ANONYMOUS


ActorDep = Annotated[Actor, Depends(current_actor)]
# ---------------------------------------------------------------------------------------


def job_scope(actor: ActorDep) -> JobScope:
    """Which jobs the caller may see."""
    return JobScope.of(actor)


JobScopeDep = Annotated[JobScope, Depends(job_scope)]

"""Dependency aliases shared by the routers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from api.errors import AuthenticationRequiredError
from api.settings import Settings
from layers.accounts.roles import Actor
from layers.jobs.runner import JobRunner
from layers.registry.service import Registry
from layers.registry.workflow import RegistryWorkflow

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


def app_service(request: Request, name: str, build: Callable[[], T]) -> T:
    """The application-wide service kept on ``app.state`` under ``name``.

    Built by ``build()`` on first use, once even when requests arrive together; its caches
    then live as long as the application.
    """
    service: T | None = getattr(request.app.state, name, None)
    if service is None:
        with _LOCK:
            service = getattr(request.app.state, name, None)
            if service is None:
                service = build()
                setattr(request.app.state, name, service)
    return service


def job_runner(request: Request) -> JobRunner:
    """The application's background job runner (plans, check-up routes)."""
    runner: JobRunner = request.app.state.jobs
    return runner


def current_actor(request: Request) -> Actor | None:
    """The authenticated caller, or ``None`` for an anonymous request.

    The authentication layer resolves bearer tokens and session cookies into
    ``request.state.actor``; this dependency only reads it, so every route depends on one
    place.
    """
    actor: Actor | None = getattr(request.state, "actor", None)
    return actor


def require_actor(actor: Annotated[Actor | None, Depends(current_actor)]) -> Actor:
    """The authenticated caller; 401 (with ``WWW-Authenticate``) for anonymous requests."""
    if actor is None:
        raise AuthenticationRequiredError()
    return actor


#: The caller, when known (public routes that show more to staff).
OptionalActorDep = Annotated[Actor | None, Depends(current_actor)]
#: An authenticated caller (every write; personal data).
ActorDep = Annotated[Actor, Depends(require_actor)]


def get_workflow(request: Request) -> RegistryWorkflow:
    """The registry review workflow (built once per application)."""
    registry = get_registry(request)

    def build() -> RegistryWorkflow:
        return RegistryWorkflow(registry.store, district_at=registry.district_at,
                                on_published=registry.invalidate_layers)

    return app_service(request, "workflow", build)


WorkflowDep = Annotated[RegistryWorkflow, Depends(get_workflow)]

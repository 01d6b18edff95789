"""Dependency aliases shared by the routers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from api.settings import Settings
from geo._once import OnceMap
from layers.jobs.runner import JobRunner
from layers.registry.service import Registry

T = TypeVar("T")

_SERVICES_LOCK = threading.Lock()  # guards the creation of each app's service map only


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

    Built by ``build()`` on first use, once even when requests arrive together (one lock
    per service name, so one service's slow build never holds up another's, and a build
    may ask for another service); its caches then live as long as the application.
    """
    state = request.app.state
    service: T | None = getattr(state, name, None)
    if service is None:
        service = _services(state).get(name, build)
        setattr(state, name, service)
    return service


def _services(state: Any) -> OnceMap[str, Any]:
    """The application's map of lazily built services (created once)."""
    services: OnceMap[str, Any] | None = getattr(state, "lazy_services", None)
    if services is None:
        with _SERVICES_LOCK:
            services = getattr(state, "lazy_services", None)
            if services is None:
                services = OnceMap()
                state.lazy_services = services
    return services


def job_runner(request: Request) -> JobRunner:
    """The application's background job runner (plans, check-up routes)."""
    runner: JobRunner = request.app.state.jobs
    return runner

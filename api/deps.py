"""Dependency aliases shared by the routers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from api.settings import Settings
from layers.jobs.runner import JobRunner
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

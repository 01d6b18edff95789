"""Dependency aliases shared by the routers.

Authentication is one dependency, :func:`get_caller`; the aliases built on it are what
routes declare — never a role check written inline in a route:

``ActorDep``     the caller's :class:`~layers.accounts.roles.Actor`, or ``None`` (anonymous)
``OptionalActorDep``  the same, not declared in the OpenAPI (public operations whose limits
                 are higher for staff)
``StaffDep``     an authenticated actor; anonymous callers get 401 ``WWW-Authenticate: Bearer``
``AdminDep``     an administrator (403 for other roles)
``require_role(*roles)``     a dependency admitting only these roles
``require_action(action)``   a dependency admitting actors the policy allows ``action``

Credentials that do not verify answer 401 even where anonymous callers are welcome, and a
cookie-authenticated write without its CSRF header answers 403 (see :mod:`api.auth`).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import (
    APIKeyCookie,
    HTTPAuthorizationCredentials,
    HTTPBearer,
    OAuth2PasswordBearer,
)
from starlette.applications import Starlette

from api.auth import CALLER_SCOPE_KEY, SESSION_COOKIE, Authenticator, Caller
from api.settings import Settings
from geo._once import OnceMap
from layers.accounts import policy
from layers.accounts.errors import NotAuthenticatedError
from layers.accounts.roles import Actor, Role
from layers.errors import ForbiddenError
from layers.jobs import JobQueue, JobScope, JobWorker
from layers.registry.service import Registry
from layers.registry.workflow import RegistryWorkflow

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


async def _registry_dependency(request: Request) -> Registry:
    # async: FastAPI runs a plain-function dependency in a thread, a hop that costs more
    # than the lookup itself
    return get_registry(request)


async def _settings_dependency(request: Request) -> Settings:
    return get_settings(request)


RegistryDep = Annotated[Registry, Depends(_registry_dependency)]
SettingsDep = Annotated[Settings, Depends(_settings_dependency)]


def app_service(owner: Request | Starlette, name: str, build: Callable[[], T]) -> T:
    """The application-wide service kept on ``app.state`` under ``name``.

    ``owner`` is a request or the application itself (background jobs run outside any
    request). Built by ``build()`` on first use, once even when requests arrive together (one
    lock per service name, so one service's slow build never holds up another's, and a build
    may ask for another service); its caches then live as long as the application.
    """
    state = owner.state if isinstance(owner, Starlette) else owner.app.state
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


def job_queue(request: Request) -> JobQueue:
    """The application's durable job queue (plans, check-up routes)."""
    queue: JobQueue = request.app.state.jobs
    return queue


def job_worker(request: Request) -> JobWorker | None:
    """This process's job worker (``None`` while the application is not started)."""
    worker: JobWorker | None = getattr(request.app.state, "job_worker", None)
    return worker


# -- authentication -----------------------------------------------------------------------
# The three security schemes only document the ways in (they appear in the OpenAPI of
# every protected operation); get_caller reads the request itself.
_oauth2 = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token", auto_error=False, scheme_name="OAuth2Password",
    description="Scripts: POST user name and password to /api/v1/auth/token, then send "
    "the access token as 'Authorization: Bearer <token>'.",
)  # fmt: skip
_bearer = HTTPBearer(
    auto_error=False, scheme_name="BearerToken", bearerFormat="JWT",
    description="An access token of this service, or of the configured OpenID Connect "
    "issuer (Keycloak).",
)  # fmt: skip
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, scheme_name="SessionCookie",
    description="Staff web session (POST /api/v1/auth/login). Writes also need the "
    "X-CSRF-Token header.",
)  # fmt: skip


def get_authenticator(request: Request) -> Authenticator:
    """The application's authenticator."""
    authenticator: Authenticator = request.app.state.auth
    return authenticator


def get_caller(
    request: Request,
    _password_flow: Annotated[str | None, Security(_oauth2)],
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    _session: Annotated[str | None, Security(_cookie)],
) -> Caller | None:
    """The authenticated caller, or ``None`` for an anonymous request (the one auth
    dependency: every alias below builds on it)."""
    return _resolve_caller(request)


def _resolve_caller(request: Request) -> Caller | None:
    verified: Caller | None = request.scope.get(CALLER_SCOPE_KEY)  # by the rate limit
    return verified if verified is not None else get_authenticator(request).resolve(request)


CallerDep = Annotated[Caller | None, Depends(get_caller)]


def get_optional_actor(request: Request) -> Actor | None:
    """The caller's actor or ``None``, on operations open to everyone where signed-in
    staff only get higher limits: the security schemes stay out of their OpenAPI (nothing
    there needs a credential). Credentials that do not verify still answer 401."""
    caller = _resolve_caller(request)
    return None if caller is None else caller.actor


OptionalActorDep = Annotated[Actor | None, Depends(get_optional_actor)]


async def get_actor(caller: CallerDep) -> Actor | None:
    """The caller's actor, or ``None`` for anonymous callers."""
    return None if caller is None else caller.actor


ActorDep = Annotated[Actor | None, Depends(get_actor)]


async def require_actor(actor: ActorDep) -> Actor:
    """An authenticated actor (401 for anonymous callers)."""
    if actor is None:
        raise NotAuthenticatedError
    return actor


StaffDep = Annotated[Actor, Depends(require_actor)]


def require_role(*roles: Role) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency admitting authenticated actors with one of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)
    names = ", ".join(role.value for role in roles)

    async def dependency(actor: StaffDep) -> Actor:
        if actor.role not in allowed:
            raise ForbiddenError(f"this needs the role {names}; you are signed in as {actor.role.value}")
        return actor

    dependency.__name__ = f"require_role_{'_'.join(role.value for role in roles)}"
    return dependency


def require_action(action: policy.Action | str) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency admitting actors whom :mod:`layers.accounts.policy` allows ``action``
    somewhere (district and owner rules are checked by the service on the record)."""
    checked = policy.Action(action)

    async def dependency(actor: StaffDep) -> Actor:
        return policy.require(actor, checked)

    dependency.__name__ = f"require_{checked.value.replace('.', '_')}"
    return dependency


AdminDep = Annotated[Actor, Depends(require_role(Role.ADMIN))]


def get_workflow(request: Request) -> RegistryWorkflow:
    """The registry review workflow (built once per application)."""
    registry = get_registry(request)

    def build() -> RegistryWorkflow:
        return RegistryWorkflow(registry.store, district_at=registry.district_at,
                                on_published=registry.invalidate_layers)

    return app_service(request, "workflow", build)


WorkflowDep = Annotated[RegistryWorkflow, Depends(get_workflow)]


# -- jobs: who may submit and read (each caller sees their own jobs; district staff their
# district's; reviewers and admins every job, see JobScope.of) ----------------------------
PlannerDep = Annotated[Actor, Depends(require_action("plans.submit"))]
RouteStaffDep = Annotated[Actor, Depends(require_action("routes.submit"))]


async def plan_scope(actor: Annotated[Actor, Depends(require_action("plans.read"))]) -> JobScope:
    """The site-planning jobs the caller may see."""
    return JobScope.of(actor)


async def route_scope(actor: Annotated[Actor, Depends(require_action("routes.read"))]) -> JobScope:
    """The check-up routing jobs (with bookings' personal data) the caller may see."""
    return JobScope.of(actor)


PlanScopeDep = Annotated[JobScope, Depends(plan_scope)]
RouteScopeDep = Annotated[JobScope, Depends(route_scope)]

"""Who may do what: the one place every role and district rule is written.

Callers ask :func:`require` before acting; it returns the actor or raises
:class:`~layers.accounts.errors.NotAuthenticatedError` (401) for an anonymous caller and
:class:`~layers.errors.ForbiddenError` (403) with a message naming the role or district
that is missing. Workers are anonymous: they read published records and never reach here.

=====================  ======================================================================
action                 who may
=====================  ======================================================================
``registry.read``      editors (own district), reviewers, planners, admins: working copies
``registry.edit``      editors (own district), reviewers, admins
``registry.submit``    editors (own district), reviewers, admins
``registry.import``    editors (own district), reviewers, admins
``registry.history``   editors (own district), reviewers, admins
``registry.review``    reviewers, admins (approve, return, yellow/red cards, close)
``accounts.manage``    admins
``plans.submit``       planners, admins
``plans.read``         planners, admins; a job of someone else only for admins and
                       planners of the job's district or city-wide planners
``routes.submit``      check-up staff, admins
``routes.read``        check-up staff, admins; like ``plans.read`` for other people's jobs
=====================  ======================================================================

District rules take the district the action concerns: ``require(actor, action)`` alone
checks the capability (e.g. at the door of an endpoint); ``require(actor, action,
district=record.district)`` checks a concrete record, and an editor is refused a record
outside their district — including a record with no district (``district=None``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from layers.accounts.errors import NotAuthenticatedError
from layers.accounts.roles import Actor, Role
from layers.errors import ForbiddenError


class Action(StrEnum):
    """Everything a role may be allowed to do."""

    REGISTRY_READ = "registry.read"
    REGISTRY_EDIT = "registry.edit"
    REGISTRY_SUBMIT = "registry.submit"
    REGISTRY_IMPORT = "registry.import"
    REGISTRY_HISTORY = "registry.history"
    REGISTRY_REVIEW = "registry.review"
    ACCOUNTS_MANAGE = "accounts.manage"
    PLANS_SUBMIT = "plans.submit"
    PLANS_READ = "plans.read"
    ROUTES_SUBMIT = "routes.submit"
    ROUTES_READ = "routes.read"


class _AnyDistrict:
    def __repr__(self) -> str:
        return "ANY_DISTRICT"


#: "No particular district": check the capability only.
ANY_DISTRICT: Final = _AnyDistrict()

_EDITING = frozenset({Role.EDITOR, Role.REVIEWER, Role.ADMIN})

#: Roles allowed each action (before district and ownership rules).
ALLOWED: Final[dict[Action, frozenset[Role]]] = {
    Action.REGISTRY_READ: frozenset({Role.EDITOR, Role.REVIEWER, Role.PLANNER, Role.ADMIN}),
    Action.REGISTRY_EDIT: _EDITING,
    Action.REGISTRY_SUBMIT: _EDITING,
    Action.REGISTRY_IMPORT: _EDITING,
    Action.REGISTRY_HISTORY: _EDITING,
    Action.REGISTRY_REVIEW: frozenset({Role.REVIEWER, Role.ADMIN}),
    Action.ACCOUNTS_MANAGE: frozenset({Role.ADMIN}),
    Action.PLANS_SUBMIT: frozenset({Role.PLANNER, Role.ADMIN}),
    Action.PLANS_READ: frozenset({Role.PLANNER, Role.ADMIN}),
    Action.ROUTES_SUBMIT: frozenset({Role.CHECKUP_STAFF, Role.ADMIN}),
    Action.ROUTES_READ: frozenset({Role.CHECKUP_STAFF, Role.ADMIN}),
}

#: Actions an editor may take only in their own district.
DISTRICT_ACTIONS: Final = frozenset({Action.REGISTRY_READ, Action.REGISTRY_EDIT,
                                     Action.REGISTRY_SUBMIT, Action.REGISTRY_IMPORT,
                                     Action.REGISTRY_HISTORY})  # fmt: skip
#: Actions on jobs, whose owner matters.
JOB_ACTIONS: Final = frozenset({Action.PLANS_READ, Action.ROUTES_READ})

_ROLE_NAMES = {
    Role.EDITOR: "editors", Role.REVIEWER: "reviewers", Role.PLANNER: "planners",
    Role.CHECKUP_STAFF: "check-up staff", Role.ADMIN: "administrators",
}  # fmt: skip


def _action(action: str | Action) -> Action:
    try:
        return Action(action)
    except ValueError:
        raise ValueError(f"unknown action {action!r}") from None


def _who(roles: frozenset[Role]) -> str:
    return ", ".join(_ROLE_NAMES[r] for r in Role if r in roles)


def why_not(
    actor: Actor,
    action: str | Action,
    district: str | _AnyDistrict | None = ANY_DISTRICT,
    *,
    owner: str | None = None,
    owner_district: str | None = None,
) -> str | None:
    """Why ``actor`` may not take ``action`` (a user-safe sentence), or ``None`` if allowed.

    Parameters
    ----------
    actor
        Who asks.
    action
        An :class:`Action` or its name.
    district
        The district of the record concerned; :data:`ANY_DISTRICT` to check only that the
        role may take the action somewhere.
    owner, owner_district
        For job actions: who submitted the job, and their district.
    """
    action = _action(action)
    allowed = ALLOWED[action]
    if actor.role not in allowed:
        return f"{action.value} is for {_who(allowed)}; you are signed in as {actor.role.value}"
    if actor.role is Role.EDITOR and action in DISTRICT_ACTIONS \
            and not isinstance(district, _AnyDistrict) and district != actor.district:  # fmt: skip
        where = "a record without a district" if district is None else f"{district}"
        return f"editors of {actor.district} may not take {action.value} on {where}"
    if action in JOB_ACTIONS and owner is not None and owner != actor.username \
            and actor.role is not Role.ADMIN and actor.district is not None \
            and owner_district != actor.district:  # fmt: skip
        return f"this job belongs to {owner}; you see the jobs of {actor.district} only"
    return None


def allowed(actor: Actor | None, action: str | Action,
            district: str | _AnyDistrict | None = ANY_DISTRICT, **job: str | None) -> bool:  # fmt: skip
    """Whether ``actor`` may take ``action`` (anonymous callers may not)."""
    return actor is not None and why_not(actor, action, district, **job) is None


def require(actor: Actor | None, action: str | Action,
            district: str | _AnyDistrict | None = ANY_DISTRICT, **job: str | None) -> Actor:  # fmt: skip
    """``actor`` if it may take ``action``; otherwise raise.

    Raises
    ------
    NotAuthenticatedError
        (401) When ``actor`` is ``None``.
    ForbiddenError
        (403) When the role, district or job owner rules refuse it.
    """
    if actor is None:
        raise NotAuthenticatedError
    reason = why_not(actor, action, district, **job)
    if reason is not None:
        raise ForbiddenError(reason)
    return actor


def districts_for(actor: Actor, action: str | Action) -> tuple[str, ...] | None:
    """The districts ``actor`` may take ``action`` in: ``None`` for all, ``()`` for none."""
    action = _action(action)
    if actor.role not in ALLOWED[action]:
        return ()
    if actor.role is Role.EDITOR and action in DISTRICT_ACTIONS:
        return (actor.district,) if actor.district else ()
    return None


def visible_districts(actor: Actor) -> list[str] | None:
    """The districts whose working copies ``actor`` may list (``None``: every district)."""
    if actor.role is Role.EDITOR:
        return [actor.district] if actor.district else []
    return None

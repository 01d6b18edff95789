"""Who may do what: one place for every permission check of the service layer.

Routes never check roles inline; the API's auth dependency turns a request into an
:class:`~layers.accounts.roles.Actor` (401 when there is none) and the services call
:func:`require` with the action and, for district-scoped records, the record's district.
"""

from __future__ import annotations

from layers.accounts.roles import Actor, Role
from layers.errors import ForbiddenError

#: Roles allowed to perform each action (district limits are checked separately).
PERMISSIONS: dict[str, frozenset[Role]] = {
    "registry.edit": frozenset({Role.EDITOR, Role.REVIEWER, Role.ADMIN}),
    "registry.import": frozenset({Role.EDITOR, Role.REVIEWER, Role.ADMIN}),
    "registry.submit": frozenset({Role.EDITOR, Role.REVIEWER, Role.ADMIN}),
    "registry.review": frozenset({Role.REVIEWER, Role.ADMIN}),
    "registry.read": frozenset({Role.EDITOR, Role.REVIEWER, Role.PLANNER, Role.ADMIN}),
    "registry.history": frozenset({Role.EDITOR, Role.REVIEWER, Role.ADMIN}),
    "accounts.manage": frozenset({Role.ADMIN}),
    "plans.submit": frozenset({Role.PLANNER, Role.REVIEWER, Role.ADMIN}),
    "plans.read": frozenset({Role.PLANNER, Role.REVIEWER, Role.ADMIN}),
    "routes.submit": frozenset({Role.CHECKUP_STAFF, Role.ADMIN}),
    "routes.read": frozenset({Role.CHECKUP_STAFF, Role.ADMIN}),
}

#: Actions whose district limit applies to district-bound roles.
DISTRICT_SCOPED = frozenset(
    {"registry.edit", "registry.import", "registry.submit", "registry.read", "registry.history"}
)


def allowed(actor: Actor, action: str, district: str | None = None) -> bool:
    """Whether ``actor`` may perform ``action`` (on a record of ``district``)."""
    roles = PERMISSIONS.get(action)
    if roles is None:
        raise KeyError(f"unknown action {action!r}")
    if actor.role not in roles:
        return False
    if action in DISTRICT_SCOPED and actor.role is Role.EDITOR:
        return actor.district is not None and district == actor.district
    return True


def require(actor: Actor, action: str, district: str | None = None) -> None:
    """Raise :class:`ForbiddenError` (403) unless ``actor`` may perform ``action``.

    The message says what is missing: the role, or the district the record belongs to.
    """
    if allowed(actor, action, district):
        return
    if actor.role not in PERMISSIONS[action]:
        needed = ", ".join(sorted(str(role) for role in PERMISSIONS[action]))
        message = f"{actor.username} ({actor.role}) may not {action}; it needs one of: {needed}"
    else:
        message = (
            f"{actor.username} edits records of {actor.district or 'no district'} only; "
            f"this one belongs to {district or 'no district'}"
        )
    raise ForbiddenError(message)


def visible_districts(actor: Actor) -> list[str] | None:
    """The districts whose working copies ``actor`` may list (``None``: every district)."""
    if actor.role is Role.EDITOR:
        return [actor.district] if actor.district else []
    return None

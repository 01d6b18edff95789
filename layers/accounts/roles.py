"""Roles and the acting user of a request.

Roles (one per account):

``editor``
    District union staff: import, create and edit the records of *their* district, submit
    them for review, delete (soft) their own district's records.
``reviewer``
    City union reviewers: everything an editor may do in every district, plus approve,
    return, issue yellow/red cards, close, and read every district's history.
``planner``
    Planners in the city or a district union: site planning and coverage analyses (jobs),
    reading registries in review; no registry writes.
``checkup_staff``
    Union staff running the mobile check-up vehicles: check-up route jobs, which hold
    workers' personal data.
``admin``
    Everything, plus managing accounts and roles.

Workers are anonymous: they read published records only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """An account's role."""

    EDITOR = "editor"
    REVIEWER = "reviewer"
    PLANNER = "planner"
    CHECKUP_STAFF = "checkup_staff"
    ADMIN = "admin"


#: Roles whose account must name a district (their writes are limited to it).
DISTRICT_ROLES = frozenset({Role.EDITOR})


@dataclass(frozen=True)
class Actor:
    """The authenticated user behind a request (or a command-line user).

    Attributes
    ----------
    username
        Account name (or the OIDC subject / preferred user name).
    role
        The account's role.
    district
        The district an editor works for; ``None`` for city-wide roles. Planners and
        check-up staff with a district see their district's jobs only.
    """

    username: str
    role: Role
    district: str | None = None

    @property
    def city_wide(self) -> bool:
        """Whether the actor acts for the whole city (no district limit)."""
        return self.role in (Role.REVIEWER, Role.ADMIN) or self.district is None

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready form (``/api/v1/auth/me``)."""
        return {"username": self.username, "role": str(self.role), "district": self.district}


#: The actor used by the command line and by seeding when nobody logged in.
SYSTEM = Actor("system", Role.ADMIN)

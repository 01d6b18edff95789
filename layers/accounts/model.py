"""The account record and the rules its fields follow (user name, role, district, password).

User names are ASCII: lower-case letters, digits and ``. _ -``, 1–64 characters, starting
with a letter or digit. What a person types is folded first (Unicode NFKC, then lower
case), so ``Alice`` and full-width ``ａｌｉｃｅ`` name the same account ``alice``; anything
still outside the alphabet after folding (Cyrillic look-alikes, zero-width or control
characters, spaces) is refused, so two accounts can never look alike. Display names may be
Chinese (NFC, no control characters, at most 100 characters).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from layers.accounts.errors import InvalidAccountError
from layers.accounts.roles import DISTRICT_ROLES, Actor, Role
from layers.registry.catalog import DISTRICTS

USERNAME_MAX = 64
DISPLAY_NAME_MAX = 100
PASSWORD_MIN = 10
PASSWORD_MAX = 256
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_RAW_INPUT_MAX = 256  # longer input is refused before any Unicode work


def canonical_username(raw: str) -> str:
    """The account name ``raw`` denotes (NFKC, lower case), checked against the alphabet.

    Raises
    ------
    InvalidAccountError
        When the folded name is empty, too long or uses other characters.
    """
    if not isinstance(raw, str) or len(raw) > _RAW_INPUT_MAX:
        message = f"a user name has at most {USERNAME_MAX} characters"
        raise InvalidAccountError(message)
    name = unicodedata.normalize("NFKC", raw).strip().lower()
    if not _USERNAME.fullmatch(name):
        message = (
            f"user name {raw!r} is not allowed: use 1–{USERNAME_MAX} lower-case ASCII letters, "
            "digits, '.', '_' or '-', starting with a letter or digit"
        )
        raise InvalidAccountError(message)
    return name


def login_username(raw: str) -> str | None:
    """The account name a login form's input denotes, or ``None`` if it cannot name one.

    Never raises: a login with a malformed name is answered like any unknown user.
    """
    try:
        return canonical_username(raw)
    except InvalidAccountError:
        return None


def check_role(value: str | Role) -> Role:
    """The :class:`Role` named by ``value``.

    Raises
    ------
    InvalidAccountError
        For a name that is not a role.
    """
    try:
        return Role(value)
    except ValueError:
        valid = ", ".join(role.value for role in Role)
        message = f"unknown role {str(value)[:40]!r}; valid roles: {valid}"
        raise InvalidAccountError(message) from None


def check_district(role: Role, district: str | None) -> str | None:
    """The district of an account with ``role``: one of the 16, required for editors.

    Raises
    ------
    InvalidAccountError
        For a district outside :data:`layers.registry.catalog.DISTRICTS` or an editor
        without one.
    """
    if district is not None:
        district = unicodedata.normalize("NFC", district).strip()
        if district not in DISTRICTS:
            message = (
                f"unknown district {district[:40]!r}; use one of the 16 districts: "
                f"{'、'.join(DISTRICTS)}"
            )
            raise InvalidAccountError(message)
    if role in DISTRICT_ROLES and district is None:
        message = f"an account with role {role.value!r} needs a district (e.g. --district 普陀区)"
        raise InvalidAccountError(message)
    return district


def check_display_name(value: str | None) -> str | None:
    """A cleaned display name (NFC, trimmed), ``None`` for an empty one.

    Raises
    ------
    InvalidAccountError
        When it is longer than 100 characters or holds control or format characters.
    """
    if value is None:
        return None
    if len(value) > 4 * DISPLAY_NAME_MAX:
        raise InvalidAccountError(f"a display name has at most {DISPLAY_NAME_MAX} characters")
    name = unicodedata.normalize("NFC", value).strip()
    if len(name) > DISPLAY_NAME_MAX:
        raise InvalidAccountError(f"a display name has at most {DISPLAY_NAME_MAX} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise InvalidAccountError("a display name may not contain control or invisible characters")
    return name or None


def check_password(password: str, username: str | None = None) -> str:
    """``password`` if it is acceptable: 10–256 characters, not the user name.

    Length is counted in characters; any characters are allowed (no composition rules,
    as NIST SP 800-63B advises).

    Raises
    ------
    InvalidAccountError
        For a password that is too short, too long, or equal to the user name.
    """
    if not isinstance(password, str) or not (PASSWORD_MIN <= len(password) <= PASSWORD_MAX):
        message = f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters"
        raise InvalidAccountError(message)
    if username is not None and password.strip().lower() == username:
        raise InvalidAccountError("the password may not be the user name")
    return password


@dataclass(frozen=True)
class Account:
    """One account as stored (without its password hash).

    Attributes
    ----------
    username
        Canonical user name (the primary key).
    role, district
        What the account may do and where (see :mod:`layers.accounts.policy`).
    display_name
        Name shown in the interface and the audit trail, optional.
    active
        Disabled accounts cannot log in and their tokens and sessions are refused.
    has_password
        Whether a local password is set (accounts without one cannot log in locally).
    token_generation
        Bumped by a password change and by disabling; tokens and sessions issued under an
        older generation are refused.
    version
        Bumped by every change (the HTTP ``ETag`` of the account).
    created_at, updated_at, password_changed_at
        UTC times.
    """

    username: str
    role: Role
    district: str | None
    display_name: str | None
    active: bool
    has_password: bool
    token_generation: int
    version: int
    created_at: datetime
    updated_at: datetime
    password_changed_at: datetime | None

    @property
    def actor(self) -> Actor:
        """The :class:`Actor` this account acts as."""
        return Actor(self.username, self.role, self.district)

    @property
    def etag(self) -> str:
        """Strong HTTP entity tag of this version."""
        return f'"{self.version}"'

    def to_public(self) -> dict[str, Any]:
        """JSON-ready form for the API and the CLI (never the hash)."""
        return {
            "username": self.username,
            "role": self.role.value,
            "district": self.district,
            "display_name": self.display_name,
            "active": self.active,
            "has_password": self.has_password,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "password_changed_at": (
                None if self.password_changed_at is None else self.password_changed_at.isoformat()
            ),
        }

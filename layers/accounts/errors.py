"""Errors of accounts and authentication; each carries an HTTP status and a user-safe message.

They extend :class:`layers.errors.LayersError`, so the API maps them in its one handler;
``headers`` (``WWW-Authenticate``, ``Retry-After``) are added to the response.
"""

from __future__ import annotations

import math

from layers.errors import LayersError


class AuthenticationError(LayersError):
    """No valid credentials: anonymous, an expired, tampered or revoked token (401)."""

    status_code = 401
    code = "unauthenticated"

    def __init__(self, message: str, *, error: str = "invalid_token") -> None:
        super().__init__(message)
        # RFC 6750 section 3: the scheme and, when credentials were sent, why they failed
        self.headers = {"WWW-Authenticate": f'Bearer realm="servicemap", error="{error}"'}


class NotAuthenticatedError(AuthenticationError):
    """An anonymous caller on an operation that needs an account (401)."""

    def __init__(self, message: str = "this operation needs you to log in: send "
                 "'Authorization: Bearer <token>' (POST /api/v1/auth/token) or log in on "
                 "the staff login page") -> None:  # fmt: skip
        super().__init__(message)
        self.headers = {"WWW-Authenticate": 'Bearer realm="servicemap"'}


class InvalidCredentialsError(AuthenticationError):
    """A wrong user name or password; the same message for both (401)."""

    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("unknown user name or wrong password", error="invalid_grant")


class TooManyAttemptsError(LayersError):
    """Too many failed logins for this user name from this client (429)."""

    status_code = 429
    code = "too_many_attempts"

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        super().__init__(
            f"too many failed logins for this user name from your address; try again in "
            f"{self.retry_after_s} s"
        )
        self.headers = {"Retry-After": str(self.retry_after_s)}


class AccountNotFoundError(LayersError):
    """No account with this user name (404)."""

    status_code = 404
    code = "account_not_found"

    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"no account named {username!r}")


class AccountExistsError(LayersError):
    """An account with this user name exists already (409)."""

    status_code = 409
    code = "account_exists"

    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"an account named {username!r} exists already")


class InvalidAccountError(LayersError):
    """An account field that fails validation (422): user name, role, district, password."""

    status_code = 422
    code = "invalid_account"


class LastAdminError(LayersError):
    """A change that would leave no active administrator (409)."""

    status_code = 409
    code = "last_admin"


class IdentityProviderError(LayersError):
    """The configured OpenID Connect issuer could not be asked for its keys (503)."""

    status_code = 503
    code = "identity_provider_unavailable"

"""Who is calling: bearer tokens (local or OIDC) and staff session cookies, plus CSRF.

:class:`Authenticator` is built once per application (``app.state.auth``) from the
settings and the store; :func:`api.deps.get_caller` is the one dependency that turns a
request into a :class:`Caller` (or ``None`` for anonymous callers). The rules:

* ``Authorization: Bearer <token>``: a token whose ``iss`` is this deployment's is checked
  with the local key and the account's current token generation; one whose ``iss`` is the
  configured OIDC issuer is checked against that issuer's keys. Anything else is 401.
  Bearer calls need no CSRF token (a browser never adds the header by itself).
* The session cookie (``HttpOnly; Secure; SameSite=Strict; Path=/``) names a server-side
  session; a cookie-authenticated request other than GET/HEAD/OPTIONS must carry the CSRF
  token in the ``X-CSRF-Token`` header. The token is an HMAC of the session token under
  the deployment key (the signed double-submit pattern): the login answer and a readable
  ``servicemap_csrf`` cookie hand it to the page, and it cannot be forged without the key.
* Invalid credentials are never silently treated as anonymous: they answer 401.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from fastapi import Request, Response

from api.settings import Settings
from layers.accounts.errors import AuthenticationError
from layers.accounts.model import Account
from layers.accounts.oidc import ClaimMapping, OIDCVerifier, parse_role_map
from layers.accounts.passwords import Argon2Parameters, PasswordHashing
from layers.accounts.roles import Actor
from layers.accounts.service import AccountService, WebSession
from layers.accounts.throttle import LoginThrottle
from layers.accounts.tokens import LocalTokens, stored_secret_key
from layers.errors import ForbiddenError, LayersError
from layers.store.base import FacilityStore

logger = logging.getLogger(__name__)

SESSION_COOKIE = "servicemap_session"
CSRF_COOKIE = "servicemap_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_TOKEN_CHARS = 8192
#: Scope key under which :meth:`Authenticator.identify` leaves a verified caller.
CALLER_SCOPE_KEY = "servicemap.caller"


class CSRFError(ForbiddenError):
    """A cookie-authenticated write without the right CSRF header (403)."""

    code = "csrf_failed"


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request.

    Attributes
    ----------
    actor
        Who acts (user name, role, district).
    via
        ``token`` (a local bearer token), ``oidc`` (the identity provider's bearer token)
        or ``session`` (the staff session cookie).
    account
        The local account (``None`` for OIDC callers).
    session_token
        The session's secret (``session`` callers only).
    """

    actor: Actor
    via: Literal["token", "oidc", "session"]
    account: Account | None = None
    session_token: str | None = None


class Authenticator:
    """Accounts, tokens, sessions, OIDC and the login throttle of one application."""

    def __init__(self, settings: Settings, store: FacilityStore) -> None:
        self.settings = settings
        hashing = PasswordHashing(Argon2Parameters(
            time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        ))  # fmt: skip
        self.accounts = AccountService(store, hashing, session_ttl_s=settings.session_ttl_s)
        secret = (settings.secret_key.get_secret_value() if settings.secret_key is not None
                  else stored_secret_key(store))  # fmt: skip
        if settings.secret_key is None:
            logger.warning("SERVICEMAP_SECRET_KEY is not set: signing tokens with the key kept "
                           "in the store (anyone who can read the database can forge tokens)")  # fmt: skip
        self.tokens = LocalTokens(secret, issuer=settings.token_issuer,
                                  audience=settings.token_audience, ttl_s=settings.token_ttl_s)  # fmt: skip
        self._csrf_key = hashlib.sha256(b"servicemap csrf\0" + secret.encode()).digest()
        self.oidc: OIDCVerifier | None = None
        if settings.oidc_issuer and settings.oidc_audience:
            mapping = ClaimMapping(
                username_claim=settings.oidc_username_claim,
                role_claims=tuple(settings.oidc_role_claims),
                district_claim=settings.oidc_district_claim,
                role_map=parse_role_map(settings.oidc_role_map),
            )
            self.oidc = OIDCVerifier(
                settings.oidc_issuer, settings.oidc_audience, mapping,
                leeway_s=settings.oidc_leeway_s, refresh_min_s=settings.oidc_jwks_refresh_min_s,
                timeout_s=settings.oidc_timeout_s,
            )  # fmt: skip
        self.throttle = LoginThrottle(
            max_failures=settings.login_max_failures, base_lockout_s=settings.login_lockout_s,
            max_lockout_s=settings.login_max_lockout_s,
        )  # fmt: skip

    def close(self) -> None:
        """Release the OIDC HTTP client."""
        if self.oidc is not None:
            self.oidc.close()

    # -- logging in ------------------------------------------------------------------------
    def login(self, username: str, password: str, client: str | None) -> Account:
        """The account these credentials open, counting failures per user name and client.

        Raises
        ------
        TooManyAttemptsError
            (429) During a lockout (the password is not even checked).
        InvalidCredentialsError
            (401) For an unknown user, a wrong password or a disabled account.
        """
        key = self.throttle.key(username, client)
        self.throttle.check(key)
        try:
            account = self.accounts.authenticate(username, password)
        except AuthenticationError:
            self.throttle.failure(key)
            logger.info("failed login for %r from %s", username[:64], client)
            raise
        self.throttle.success(key)
        return account

    def csrf_token(self, session_token: str) -> str:
        """The CSRF token that belongs to a session."""
        return hmac.new(self._csrf_key, session_token.encode(), hashlib.sha256).hexdigest()

    def set_session_cookies(self, response: Response, session: WebSession) -> None:
        """Put the session and its CSRF token into cookies."""
        common = {"max_age": self.accounts.session_ttl_s, "secure": self.settings.cookie_secure,
                  "samesite": "strict", "path": "/"}  # fmt: skip
        response.set_cookie(SESSION_COOKIE, session.token, httponly=True, **common)  # type: ignore[arg-type]
        response.set_cookie(CSRF_COOKIE, self.csrf_token(session.token), httponly=False,
                            **common)  # type: ignore[arg-type]  # fmt: skip

    def clear_session_cookies(self, response: Response) -> None:
        """Expire the session cookies in the browser."""
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            response.delete_cookie(name, path="/", secure=self.settings.cookie_secure,
                                   httponly=name == SESSION_COOKIE, samesite="strict")  # fmt: skip

    # -- resolving a request ---------------------------------------------------------------
    def resolve(self, request: Request) -> Caller | None:
        """The caller of ``request`` (``None`` when it carries no credentials).

        Raises
        ------
        AuthenticationError
            (401) For credentials that do not verify.
        ForbiddenError
            (403) For an OIDC user without a servicemap role, and :class:`CSRFError` for
            a cookie-authenticated write without the right CSRF header.
        """
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationError("send 'Authorization: Bearer <token>'",
                                          error="invalid_request")  # fmt: skip
            return self.bearer(token.strip())
        session_token = request.cookies.get(SESSION_COOKIE)
        if session_token:
            caller = self.session(session_token)
            if request.method not in SAFE_METHODS:
                self.check_csrf(request, session_token)
            return caller
        return None

    def identify(self, scope: MutableMapping[str, Any]) -> bool:
        """Whether the credentials of an ASGI request verify (the rate limit's staff check).

        The caller found is kept in the scope, so :func:`api.deps.get_caller` does not
        verify the credentials a second time; any refusal is left to it.
        """
        try:
            caller = self.resolve(Request(scope))
        except (LayersError, ValueError):
            return False
        if caller is None:
            return False
        scope[CALLER_SCOPE_KEY] = caller
        return True

    def bearer(self, token: str) -> Caller:
        """The caller a bearer token names (local token or OIDC)."""
        if len(token) > MAX_TOKEN_CHARS:
            raise AuthenticationError("the access token is not valid")
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthenticationError("the access token is not valid") from None
        issuer = unverified.get("iss")
        if issuer == self.tokens.issuer:
            subject = self.tokens.verify(token)
            account = self.accounts.token_account(subject.username, subject.generation)
            if account is None:
                raise AuthenticationError(
                    "the access token was revoked (password changed, account disabled or "
                    "removed); log in again"
                )
            return Caller(actor=account.actor, via="token", account=account)
        if self.oidc is not None and issuer == self.oidc.issuer:
            return Caller(actor=self.oidc.verify(token), via="oidc")
        raise AuthenticationError("tokens of this issuer are not accepted here")

    def session(self, session_token: str) -> Caller:
        """The caller a session cookie names.

        Raises
        ------
        AuthenticationError
            When the session is unknown, expired or revoked.
        """
        account = self.accounts.session_account(session_token)
        if account is None:
            raise AuthenticationError("your session has ended; log in again")
        return Caller(actor=account.actor, via="session", account=account,
                      session_token=session_token)  # fmt: skip

    def check_csrf(self, request: Request, session_token: str) -> None:
        """Refuse a cookie-authenticated write whose CSRF header is missing or wrong."""
        sent = request.headers.get(CSRF_HEADER, "")
        expected = self.csrf_token(session_token)
        if not hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode()):
            message = (
                f"this request is authenticated by the session cookie and needs the {CSRF_HEADER} "
                "header (the csrf_token of the login answer or the servicemap_csrf cookie)"
            )
            raise CSRFError(message)

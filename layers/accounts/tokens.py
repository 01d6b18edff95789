"""Local access tokens: JWTs signed with HS256 by the deployment's secret key.

A token names the account (``sub``), its token generation (``gen``), the issuer and
audience of this deployment and an expiry; the account's role and district are *not* in
the token but read from the store on every request, so a role change applies at once and a
password change or a disabled account (a new generation) refuses every older token.

The signing key comes from ``SERVICEMAP_SECRET_KEY`` or, when that is unset, from a random
key generated once and kept in the store's ``store_meta`` table, so every worker process of
one deployment signs and checks with the same key (anyone who can read the database can
then forge tokens: set the variable in production).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from layers.accounts.errors import AuthenticationError
from layers.accounts.model import Account
from layers.store.base import FacilityStore

SECRET_META_KEY = "auth.secret_key"
SECRET_MIN_CHARS = 32
#: Values that appear in examples and templates: refused as secrets whatever their length.
_KNOWN_DEFAULTS = frozenset({
    "changeme", "changethis", "change-me", "secret", "secret-key", "secretkey", "password",
    "default", "development", "dev", "test", "example", "your-secret-key", "insecure",
    "servicemap",
})  # fmt: skip


def check_secret_key(value: str) -> str:
    """``value`` if it can sign tokens: 32+ characters, 10+ distinct, not a known default.

    Raises
    ------
    ValueError
        Saying what is wrong and how to make a good key.
    """
    advice = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    stripped = value.strip()
    lowered = stripped.lower()
    if lowered in _KNOWN_DEFAULTS or any(lowered.startswith(d + "-") for d in ("changeme", "changethis")):
        raise ValueError(f"SERVICEMAP_SECRET_KEY is a well-known default value; {advice}")
    if len(stripped) < SECRET_MIN_CHARS:
        message = (
            f"SERVICEMAP_SECRET_KEY has {len(stripped)} characters, at least "
            f"{SECRET_MIN_CHARS} are needed; {advice}"
        )
        raise ValueError(message)
    if len(set(stripped)) < 10:
        raise ValueError(f"SERVICEMAP_SECRET_KEY repeats too few characters to be secret; {advice}")
    return stripped


def stored_secret_key(store: FacilityStore) -> str:
    """The deployment's generated signing key, created in ``store_meta`` on first use.

    Two processes starting together agree on one key (insert-if-absent, then read).
    """
    existing = store.get_meta(SECRET_META_KEY)
    if existing:
        return existing
    candidate = secrets.token_urlsafe(48)
    p = store.dialect.placeholder  # type: ignore[attr-defined]
    with store.sql_transaction(write=True) as conn:  # type: ignore[attr-defined]
        conn.execute(
            f"INSERT INTO store_meta (key, value) VALUES ({p}, {p}) ON CONFLICT (key) DO NOTHING",
            (SECRET_META_KEY, candidate),
        )
    stored = store.get_meta(SECRET_META_KEY)
    assert stored is not None
    return stored


@dataclass(frozen=True)
class IssuedToken:
    """An access token and its lifetime in seconds."""

    access_token: str
    expires_in: int
    token_type: str = "bearer"


@dataclass(frozen=True)
class TokenSubject:
    """What a verified local token says: the account and its token generation."""

    username: str
    generation: int


class LocalTokens:
    """Issue and verify this deployment's access tokens.

    Parameters
    ----------
    secret
        The HS256 key (see :func:`check_secret_key`).
    issuer, audience
        ``iss`` and ``aud`` of every token; a token with others is refused.
    ttl_s
        Lifetime of a token.
    leeway_s
        Clock skew tolerated on ``exp``/``nbf``/``iat``.
    clock
        Unix time used when issuing (tests issue expired tokens with a past clock).
    """

    algorithm = "HS256"

    def __init__(self, secret: str, *, issuer: str, audience: str, ttl_s: int,
                 leeway_s: float = 30.0, clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self._secret = secret
        self.issuer = issuer
        self.audience = audience
        self.ttl_s = int(ttl_s)
        self.leeway_s = leeway_s
        self.clock = clock

    def issue(self, account: Account) -> IssuedToken:
        """A signed token for ``account`` valid for :attr:`ttl_s` seconds."""
        now = int(self.clock())
        claims = {
            "iss": self.issuer, "aud": self.audience, "sub": account.username,
            "gen": account.token_generation, "iat": now, "nbf": now, "exp": now + self.ttl_s,
            "jti": uuid.uuid4().hex,
        }  # fmt: skip
        token = jwt.encode(claims, self._secret, algorithm=self.algorithm)
        return IssuedToken(access_token=token, expires_in=self.ttl_s)

    def verify(self, token: str) -> TokenSubject:
        """The subject of a valid token.

        Raises
        ------
        AuthenticationError
            For an expired token, a bad signature, another issuer or audience, or missing
            claims; the message says which, never more.
        """
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[self.algorithm], audience=self.audience,
                issuer=self.issuer, leeway=self.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "gen"]},
            )  # fmt: skip
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the access token has expired; log in again") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError("the access token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError("the access token was issued by someone else") from None
        except jwt.PyJWTError:
            raise AuthenticationError("the access token is not valid") from None
        generation = claims.get("gen")
        subject = claims.get("sub")
        if not isinstance(generation, int) or not isinstance(subject, str):
            raise AuthenticationError("the access token is not valid")
        return TokenSubject(username=subject, generation=generation)

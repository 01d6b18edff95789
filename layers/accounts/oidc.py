"""OpenID Connect bearer tokens from a configured issuer (Keycloak, or any OIDC provider).

The issuer's discovery document (``{issuer}/.well-known/openid-configuration``) names its
JWKS; the keys are fetched with httpx, kept in memory, and fetched again when a token
names a key id (``kid``) not in the cache — the provider rotated its keys — at most once
per ``refresh_min_s`` so a flood of tokens with made-up key ids cannot turn into a flood of
requests to the provider. Only asymmetric algorithms are accepted (RS256, ES256); ``iss``,
``aud``, ``exp`` and ``nbf`` are checked with a small leeway.

The verified claims are mapped to an :class:`~layers.accounts.roles.Actor`:

* user name: ``username_claim`` (Keycloak's ``preferred_username``; ``sub`` when absent);
* role: every string found under the ``role_claims`` paths (Keycloak puts realm roles in
  ``realm_access.roles`` and client roles in ``resource_access.<client>.roles``) is looked
  up in ``role_map``; when several map, the most capable wins in the order admin,
  reviewer, editor, planner, checkup_staff;
* district: the ``district_claim`` attribute (a string or a one-element list), one of the
  16 districts, required for editors.

A token that verifies but maps to no role is refused with 403 and a message naming the
claim paths looked at.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from layers.accounts.errors import AuthenticationError, IdentityProviderError
from layers.accounts.roles import DISTRICT_ROLES, Actor, Role
from layers.errors import ForbiddenError
from layers.registry.catalog import DISTRICTS

logger = logging.getLogger(__name__)

#: IdP role names mapped to servicemap roles unless configured otherwise.
DEFAULT_ROLE_MAP: Mapping[str, Role] = {
    "servicemap-admin": Role.ADMIN,
    "servicemap-reviewer": Role.REVIEWER,
    "servicemap-editor": Role.EDITOR,
    "servicemap-planner": Role.PLANNER,
    "servicemap-checkup-staff": Role.CHECKUP_STAFF,
}
#: When a token maps to several roles, the first of these wins.
ROLE_PRECEDENCE = (Role.ADMIN, Role.REVIEWER, Role.EDITOR, Role.PLANNER, Role.CHECKUP_STAFF)
ALGORITHMS = ("RS256", "ES256")
_MAX_USERNAME = 128


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` in ``claims`` (``None`` if absent).

    Keys may themselves contain dots (Keycloak client ids such as ``servicemap.web``): at
    each level the longest run of path segments that is a key is taken.
    """
    parts = path.split(".")
    node: Any = claims
    i = 0
    while i < len(parts):
        if not isinstance(node, Mapping):
            return None
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            if key in node:
                node = node[key]
                i = j
                break
        else:
            return None
    return node


@dataclass(frozen=True)
class ClaimMapping:
    """How claims become an :class:`Actor` (see the module docstring)."""

    username_claim: str = "preferred_username"
    role_claims: tuple[str, ...] = ("realm_access.roles",)
    district_claim: str = "district"
    role_map: Mapping[str, Role] = field(default_factory=lambda: dict(DEFAULT_ROLE_MAP))

    def actor(self, claims: Mapping[str, Any]) -> Actor:
        """The actor the claims describe.

        Raises
        ------
        ForbiddenError
            When no claim maps to a role, or an editor's district is missing or unknown.
        AuthenticationError
            When the token names no usable user.
        """
        username = claim_at(claims, self.username_claim) or claims.get("sub")
        if not isinstance(username, str) or not username.strip() or len(username) > _MAX_USERNAME \
                or not username.isprintable():  # fmt: skip
            raise AuthenticationError("the identity provider's token names no usable user")
        found: set[str] = set()
        for path in self.role_claims:
            value = claim_at(claims, path)
            values = value if isinstance(value, list) else [value]
            found.update(v for v in values if isinstance(v, str))
        mapped = {self.role_map[name] for name in found if name in self.role_map}
        if not mapped:
            message = (
                f"your identity provider account {username!r} has no servicemap role: ask the "
                f"administrator for one of {', '.join(sorted(self.role_map))} (looked in "
                f"{', '.join(self.role_claims)})"
            )
            raise ForbiddenError(message)
        role = next(r for r in ROLE_PRECEDENCE if r in mapped)
        district = claim_at(claims, self.district_claim)
        if isinstance(district, list):
            district = district[0] if len(district) == 1 else None
        if district is not None and (not isinstance(district, str) or district not in DISTRICTS):
            message = (
                f"the district {str(district)[:40]!r} in the identity provider's "
                f"{self.district_claim!r} attribute is not one of the 16 districts"
            )
            raise ForbiddenError(message)
        if role in DISTRICT_ROLES and district is None:
            message = (
                f"your identity provider account {username!r} is an editor without a district: "
                f"ask the administrator to set the {self.district_claim!r} attribute"
            )
            raise ForbiddenError(message)
        return Actor(username, role, district)


class OIDCVerifier:
    """Verify bearer tokens of one OpenID Connect issuer and map them to actors.

    Parameters
    ----------
    issuer
        The issuer URL exactly as the provider writes it in ``iss``.
    audience
        The ``aud`` tokens must carry (Keycloak: add an audience mapper for the client).
    mapping
        Claims to actor.
    leeway_s
        Clock skew tolerated on ``exp``/``nbf``/``iat``.
    refresh_min_s
        Minimum time between two JWKS fetches caused by unknown key ids.
    http
        The HTTP client (tests may pass one); a private one with ``timeout_s`` otherwise.
    clock
        Monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        mapping: ClaimMapping | None = None,
        *,
        leeway_s: float = 30.0,
        refresh_min_s: float = 60.0,
        timeout_s: float = 5.0,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.mapping = mapping or ClaimMapping()
        self.leeway_s = leeway_s
        self.refresh_min_s = refresh_min_s
        self._http = http or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._jwks_uri: str | None = None
        self._fetched_at: float | None = None
        self.fetches = 0  # JWKS downloads so far (tests and logs)

    # -- keys ----------------------------------------------------------------------------
    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            message = f"cannot read {url} from the identity provider: {type(exc).__name__}"
            raise IdentityProviderError(message) from exc
        if not isinstance(body, dict):
            raise IdentityProviderError(f"{url} did not answer a JSON object")
        return body

    def _fetch_keys(self) -> None:
        if self._jwks_uri is None:
            discovery = self._get_json(
                self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            )
            if discovery.get("issuer") != self.issuer:
                message = (
                    f"the identity provider's discovery document names issuer "
                    f"{str(discovery.get('issuer'))[:200]!r}, not the configured {self.issuer!r}"
                )
                raise IdentityProviderError(message)
            uri = discovery.get("jwks_uri")
            if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
                raise IdentityProviderError("the discovery document names no jwks_uri")
            self._jwks_uri = uri
        body = self._get_json(self._jwks_uri)
        keys: dict[str | None, jwt.PyJWK] = {}
        for entry in body.get("keys") or []:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(entry)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                continue  # a key type or algorithm this library cannot use: skip it
            if key.algorithm_name in ALGORITHMS or entry.get("alg") is None:
                keys[entry.get("kid")] = key
        self._keys = keys
        self._fetched_at = self._clock()
        self.fetches += 1
        logger.info("fetched %d signing keys from %s", len(keys), self._jwks_uri)

    def _key(self, kid: str | None) -> jwt.PyJWK:
        with self._lock:
            if self._fetched_at is None:
                self._fetch_keys()
            key = self._keys.get(kid)
            assert self._fetched_at is not None
            if key is None and self._clock() - self._fetched_at >= self.refresh_min_s:
                self._fetch_keys()  # the provider may have rotated its keys
                key = self._keys.get(kid)
        if key is None:
            raise AuthenticationError("the token is signed with a key the identity provider "
                                      "does not publish")  # fmt: skip
        return key

    # -- tokens --------------------------------------------------------------------------
    def verify(self, token: str) -> Actor:
        """The actor of a valid token of this issuer.

        Raises
        ------
        AuthenticationError
            For a token that is malformed, expired, not yet valid, for another audience or
            issuer, signed with an unknown key or a refused algorithm (401).
        ForbiddenError
            For a valid token that maps to no role (403).
        IdentityProviderError
            When the provider's keys cannot be fetched (503).
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationError("the access token is not valid") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            message = f"tokens signed with {str(algorithm)[:20]!r} are refused; use RS256 or ES256"
            raise AuthenticationError(message)
        kid = header.get("kid")
        key = self._key(kid if isinstance(kid, str) else None)
        try:
            claims = jwt.decode(
                token, key=key, algorithms=[algorithm], audience=self.audience,
                issuer=self.issuer, leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )  # fmt: skip
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the access token has expired; log in again") from None
        except jwt.ImmatureSignatureError:
            raise AuthenticationError("the access token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError("the access token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError("the access token was issued by someone else") from None
        except jwt.PyJWTError:
            raise AuthenticationError("the access token is not valid") from None
        return self.mapping.actor(claims)

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()


def parse_role_map(entries: Mapping[str, str] | Sequence[tuple[str, str]]) -> dict[str, Role]:
    """``{idp_role: servicemap_role}`` checked against :class:`Role`.

    Raises
    ------
    ValueError
        For a value that is not a servicemap role.
    """
    items = entries.items() if isinstance(entries, Mapping) else entries
    mapped = {}
    for idp_role, role in items:
        try:
            mapped[str(idp_role)] = Role(role)
        except ValueError:
            valid = ", ".join(r.value for r in Role)
            raise ValueError(f"role map: {role!r} is not a servicemap role ({valid})") from None
    return mapped

"""Tokens, the signing key, OIDC against a local JWKS on 127.0.0.1, the throttle, the policy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest

from layers.accounts import policy
from layers.accounts.errors import (
    AuthenticationError,
    IdentityProviderError,
    NotAuthenticatedError,
    TooManyAttemptsError,
)
from layers.accounts.model import Account
from layers.accounts.oidc import ClaimMapping, OIDCVerifier, claim_at
from layers.accounts.passwords import Argon2Parameters, PasswordHashing
from layers.accounts.roles import Actor, Role
from layers.accounts.service import AccountService
from layers.accounts.throttle import LoginThrottle
from layers.accounts.tokens import LocalTokens, check_secret_key, stored_secret_key
from layers.errors import ForbiddenError
from layers.store.base import FacilityStore
from tests._oidc import LocalProvider, ec_key, rsa_key, start_provider, stop_provider
from tests.layers.test_store import open_same, postgis_database  # noqa: F401  (fixtures)

SECRET = "k9Vq3xT0pLw7ZsYb2NcR5mHd8UfJ1aEo"  # 32 characters, test only
ISSUER, AUDIENCE = "servicemap", "servicemap-api"
StoreFactory = Callable[[], FacilityStore]


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def alice(tmp_path) -> Account:
    from layers.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    service = AccountService(store, PasswordHashing(Argon2Parameters(1, 8192, 1)))
    return service.add("alice", "planner")


def _tokens(**kw: object) -> LocalTokens:
    return LocalTokens(SECRET, issuer=ISSUER, audience=AUDIENCE, ttl_s=3600, **kw)  # type: ignore[arg-type]


# -- local tokens ---------------------------------------------------------------------------


def test_a_token_names_the_account_and_its_generation(alice: Account) -> None:
    issued = _tokens().issue(alice)
    assert issued.expires_in == 3600
    assert issued.token_type == "bearer"
    subject = _tokens().verify(issued.access_token)
    assert (subject.username, subject.generation) == ("alice", 1)
    claims = jwt.decode(issued.access_token, SECRET, algorithms=["HS256"], audience=AUDIENCE)
    assert claims["exp"] - claims["iat"] == 3600
    assert "role" not in claims


def test_an_expired_token_is_refused(alice: Account) -> None:
    old = _tokens(clock=lambda: time.time() - 3600 - 31).issue(alice).access_token
    with pytest.raises(AuthenticationError, match="expired"):
        _tokens().verify(old)
    within_leeway = _tokens(clock=lambda: time.time() - 3600 - 10).issue(alice).access_token
    assert _tokens().verify(within_leeway).username == "alice"


def _tamper(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_tampered_and_foreign_tokens_are_refused(alice: Account) -> None:
    token = _tokens().issue(alice).access_token
    cases = {
        "tampered": _tamper(token, sub="root"),
        "other key": LocalTokens("another-secret-of-32-characters!!", issuer=ISSUER,
                                 audience=AUDIENCE, ttl_s=60).issue(alice).access_token,
        "alg none": jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "gen": 1,
                                "iat": int(time.time()), "exp": int(time.time()) + 60},
                               None, algorithm="none"),
        "garbage": "not.a.token",
        "no generation": jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "alice",
                                     "iat": int(time.time()), "exp": int(time.time()) + 60},
                                    SECRET, algorithm="HS256"),
    }  # fmt: skip
    for name, bad in cases.items():
        with pytest.raises(AuthenticationError, match="not valid"):
            _tokens().verify(bad)
        assert name


@pytest.mark.parametrize(("claim", "match"), [("aud", "another audience"),
                                              ("iss", "issued by someone else")])  # fmt: skip
def test_wrong_audience_or_issuer(alice: Account, claim: str, match: str) -> None:
    kwargs = {"issuer": ISSUER, "audience": AUDIENCE, claim.replace("aud", "audience")
              .replace("iss", "issuer"): "elsewhere"}  # fmt: skip
    token = LocalTokens(SECRET, ttl_s=60, **kwargs).issue(alice).access_token  # type: ignore[arg-type]
    with pytest.raises(AuthenticationError, match=match):
        _tokens().verify(token)


# -- the signing key ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "match"),
    [("changeme", "well-known default"), ("secret", "well-known default"),
     ("short", "5 characters, at least 32"), ("a" * 40, "too few characters"),
     ("abababababababababababababababababab", "too few characters")],
)  # fmt: skip
def test_weak_secret_keys_are_refused(value: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_secret_key(value)


def test_a_good_secret_key_is_accepted() -> None:
    assert check_secret_key(f"  {SECRET}  ") == SECRET


def test_the_generated_key_is_shared_by_every_process(open_same: StoreFactory) -> None:  # noqa: F811
    stores = [open_same() for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        keys = set(pool.map(stored_secret_key, stores))
    assert len(keys) == 1
    (key,) = keys
    assert len(key) >= 64
    assert check_secret_key(key) == key
    assert stored_secret_key(open_same()) == key


# -- the throttle ---------------------------------------------------------------------------


def test_logins_back_off_per_user_and_client() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(max_failures=3, base_lockout_s=10, max_lockout_s=35, clock=clock)
    key = throttle.key("Alice", "10.0.0.1")
    assert key == ("alice", "10.0.0.1")
    for _ in range(2):
        throttle.check(key)
        throttle.failure(key)
    throttle.check(key)  # two failures: still allowed
    throttle.failure(key)
    with pytest.raises(TooManyAttemptsError) as caught:
        throttle.check(key)
    assert caught.value.headers == {"Retry-After": "10"}
    assert caught.value.status_code == 429
    throttle.check(throttle.key("alice", "10.0.0.2"))  # another client is not locked out
    clock.now += 10
    throttle.check(key)
    throttle.failure(key)  # fourth failure: 20 s
    with pytest.raises(TooManyAttemptsError, match="in 20 s"):
        throttle.check(key)
    clock.now += 20
    throttle.failure(key)  # fifth: 40 s, capped at 35
    with pytest.raises(TooManyAttemptsError, match="in 35 s"):
        throttle.check(key)
    throttle.success(key)
    throttle.check(key)


def test_the_throttle_remembers_a_bounded_number_of_pairs() -> None:
    throttle = LoginThrottle(max_failures=1, max_entries=100)
    for i in range(1000):
        throttle.failure(throttle.key(f"user{i}", "c"))
    assert len(throttle._entries) == 100
    throttle.check(throttle.key("user0", "c"))  # forgotten first
    with pytest.raises(TooManyAttemptsError):
        throttle.check(throttle.key("user999", "c"))


# -- the policy -----------------------------------------------------------------------------

EDITOR = Actor("ed", Role.EDITOR, "普陀区")
REVIEWER = Actor("rev", Role.REVIEWER)
PLANNER = Actor("plan", Role.PLANNER)
DISTRICT_PLANNER = Actor("plan.pt", Role.PLANNER, "普陀区")
CHECKUP = Actor("doc", Role.CHECKUP_STAFF)
ADMIN = Actor("root", Role.ADMIN)
ACTORS = (EDITOR, REVIEWER, PLANNER, CHECKUP, ADMIN)

#: action -> the actors (by user name) allowed it somewhere
CAPABILITIES = {
    "registry.read": {"ed", "rev", "plan", "root"},
    "registry.edit": {"ed", "rev", "root"},
    "registry.submit": {"ed", "rev", "root"},
    "registry.import": {"ed", "rev", "root"},
    "registry.history": {"ed", "rev", "root"},
    "registry.review": {"rev", "root"},
    "accounts.manage": {"root"},
    "plans.submit": {"plan", "root"},
    "plans.read": {"plan", "root"},
    "routes.submit": {"doc", "root"},
    "routes.read": {"doc", "root"},
}


@pytest.mark.parametrize("action", sorted(CAPABILITIES))
def test_capability_matrix(action: str) -> None:
    allowed = {a.username for a in ACTORS if policy.allowed(a, action)}
    assert allowed == CAPABILITIES[action]
    for actor in ACTORS:
        if actor.username not in allowed:
            with pytest.raises(ForbiddenError, match=f"{action} is for"):
                policy.require(actor, action)
    with pytest.raises(NotAuthenticatedError):
        policy.require(None, action)


def test_every_action_is_in_the_matrix() -> None:
    assert set(CAPABILITIES) == {a.value for a in policy.Action}


@pytest.mark.parametrize("action", ["registry.edit", "registry.submit", "registry.import",
                                    "registry.history", "registry.read"])  # fmt: skip
def test_editors_act_in_their_district_only(action: str) -> None:
    assert policy.require(EDITOR, action, district="普陀区") is EDITOR
    with pytest.raises(ForbiddenError, match=r"editors of 普陀区 may not take .* on 黄浦区"):
        policy.require(EDITOR, action, district="黄浦区")
    with pytest.raises(ForbiddenError, match="a record without a district"):
        policy.require(EDITOR, action, district=None)
    assert policy.allowed(REVIEWER, action, district="黄浦区")
    assert policy.allowed(ADMIN, action, district=None)


def test_job_owners() -> None:
    mine = {"owner": "plan.pt", "owner_district": "普陀区"}
    theirs = {"owner": "other", "owner_district": "黄浦区"}
    same_district = {"owner": "other", "owner_district": "普陀区"}
    assert policy.allowed(DISTRICT_PLANNER, "plans.read", **mine)
    assert policy.allowed(DISTRICT_PLANNER, "plans.read", **same_district)
    with pytest.raises(ForbiddenError, match="belongs to other; you see the jobs of 普陀区"):
        policy.require(DISTRICT_PLANNER, "plans.read", **theirs)
    assert policy.allowed(PLANNER, "plans.read", **theirs)  # city-wide planner
    assert policy.allowed(ADMIN, "routes.read", **theirs)
    assert not policy.allowed(PLANNER, "routes.read", **mine)


def test_districts_for_listings() -> None:
    assert policy.districts_for(EDITOR, "registry.edit") == ("普陀区",)
    assert policy.districts_for(REVIEWER, "registry.edit") is None
    assert policy.districts_for(PLANNER, "registry.edit") == ()
    with pytest.raises(ValueError, match="unknown action"):
        policy.require(ADMIN, "registry.everything")


# -- OIDC claims ----------------------------------------------------------------------------


def test_claim_paths_with_dotted_keys() -> None:
    claims = {"resource_access": {"servicemap.web": {"roles": ["a"]}, "x": 1}, "district": "普陀区"}
    assert claim_at(claims, "resource_access.servicemap.web.roles") == ["a"]
    assert claim_at(claims, "resource_access.x.roles") is None
    assert claim_at(claims, "district") == "普陀区"
    assert claim_at(claims, "missing.path") is None


def test_claims_map_to_the_most_capable_role() -> None:
    mapping = ClaimMapping(role_claims=("realm_access.roles", "resource_access.servicemap.roles"))
    claims = {"sub": "u-1", "preferred_username": "wang",
              "realm_access": {"roles": ["servicemap-planner"]},
              "resource_access": {"servicemap": {"roles": ["servicemap-reviewer"]}}}  # fmt: skip
    assert mapping.actor(claims) == Actor("wang", Role.REVIEWER, None)
    editor = {"sub": "u-2", "realm_access": {"roles": ["servicemap-editor"]}, "district": ["普陀区"]}
    assert mapping.actor(editor) == Actor("u-2", Role.EDITOR, "普陀区")


@pytest.mark.parametrize(
    ("claims", "match"),
    [({"sub": "u", "realm_access": {"roles": ["offline_access"]}}, "has no servicemap role"),
     ({"sub": "u", "realm_access": {"roles": ["servicemap-editor"]}}, "editor without a district"),
     ({"sub": "u", "realm_access": {"roles": ["servicemap-editor"]}, "district": "Gotham"},
      "not one of the 16 districts"),
     ({"sub": "u", "realm_access": "servicemap-admin"}, "has no servicemap role")],
)  # fmt: skip
def test_claims_that_map_to_no_usable_actor(claims: dict, match: str) -> None:
    with pytest.raises(ForbiddenError, match=match):
        ClaimMapping().actor(claims)


def test_claims_without_a_user_are_refused() -> None:
    with pytest.raises(AuthenticationError, match="no usable user"):
        ClaimMapping().actor({"realm_access": {"roles": ["servicemap-admin"]}})


# -- OIDC tokens against the local provider -------------------------------------------------


@pytest.fixture
def provider() -> Iterator[LocalProvider]:
    running = start_provider()
    yield running
    stop_provider(running)


def _verifier(provider: LocalProvider, clock: FakeClock | None = None, **kw: object) -> OIDCVerifier:
    return OIDCVerifier(provider.issuer, provider.audience, clock=clock or FakeClock(),
                        refresh_min_s=60, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_a_provider_token_verifies_and_keys_are_cached(provider: LocalProvider) -> None:
    verifier = _verifier(provider)
    assert verifier.verify(provider.token()) == Actor("kc.user", Role.REVIEWER, None)
    assert verifier.verify(provider.token(preferred_username="li")).username == "li"
    assert provider.jwks_requests == 1


def test_key_rotation_is_picked_up_and_refreshes_are_rate_limited(provider: LocalProvider) -> None:
    clock = FakeClock()
    verifier = _verifier(provider, clock)
    old = provider.keys[0]
    assert verifier.verify(provider.token(old)).role is Role.REVIEWER
    new = rsa_key("rotated")
    provider.keys = [new, old]
    clock.now += 61
    assert verifier.verify(provider.token(new)).role is Role.REVIEWER
    assert provider.jwks_requests == 2
    # made-up key ids right after a refresh do not reach the provider again
    for i in range(20):
        with pytest.raises(AuthenticationError, match="key the identity provider does not publish"):
            verifier.verify(provider.token(rsa_key(f"fake-{i}")))
    assert provider.jwks_requests == 2
    clock.now += 61
    with pytest.raises(AuthenticationError):
        verifier.verify(provider.token(rsa_key("fake-late")))
    assert provider.jwks_requests == 3


def test_es256_tokens_verify(provider: LocalProvider) -> None:
    key = ec_key()
    provider.keys.append(key)
    assert _verifier(provider).verify(provider.token(key)).username == "kc.user"


@pytest.mark.parametrize(
    ("claims", "match"),
    [({"aud": "another-client"}, "another audience"),
     ({"iss": "http://127.0.0.1:9/realms/other"}, "issued by someone else"),
     ({"exp": -120}, "expired"),  # seconds from now, computed when the test runs
     ({"nbf": 600}, "not valid yet"),
     ({"exp": None}, "not valid")],
)  # fmt: skip
def test_provider_tokens_with_bad_claims(provider: LocalProvider, claims: dict, match: str) -> None:
    claims = {k: (int(time.time()) + v if k in ("exp", "nbf") and v is not None else v)
              for k, v in claims.items()}  # fmt: skip
    with pytest.raises(AuthenticationError, match=match):
        _verifier(provider).verify(provider.token(**claims))


def test_a_token_signed_by_another_key_with_a_published_kid(provider: LocalProvider) -> None:
    impostor = rsa_key(provider.keys[0].kid)
    with pytest.raises(AuthenticationError, match="not valid"):
        _verifier(provider).verify(provider.token(impostor))


def test_symmetric_and_unsigned_algorithms_are_refused(provider: LocalProvider) -> None:
    # the classic algorithm confusion: HMAC "signed" with the published public key (built
    # by hand, PyJWT itself refuses to sign with a key that looks like a JWK)
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "kid": provider.keys[0].kid}).encode())
    payload = b64(json.dumps({"iss": provider.issuer, "aud": provider.audience, "sub": "x",
                              "exp": int(time.time()) + 60}).encode())  # fmt: skip
    secret = json.dumps(provider.keys[0].public_jwk()).encode()
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}.{b64(mac)}"
    with pytest.raises(AuthenticationError, match="'HS256' are refused"):
        _verifier(provider).verify(forged)
    unsigned = jwt.encode({"iss": provider.issuer}, None, algorithm="none")
    with pytest.raises(AuthenticationError, match="'none' are refused"):
        _verifier(provider).verify(unsigned)


def test_discovery_naming_another_issuer_is_refused(provider: LocalProvider) -> None:
    provider.discovery_issuer = "http://127.0.0.1:9/realms/evil"
    with pytest.raises(IdentityProviderError, match="names issuer") as caught:
        _verifier(provider).verify(provider.token())
    assert caught.value.status_code == 503


def test_an_unreachable_provider_is_a_503(provider: LocalProvider) -> None:
    verifier = _verifier(provider, timeout_s=2.0)
    token = provider.token()
    stop_provider(provider)
    with pytest.raises(IdentityProviderError, match="cannot read"):
        verifier.verify(token)

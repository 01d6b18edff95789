"""A local OpenID Connect provider for the tests: discovery and JWKS on 127.0.0.1.

It serves ``{issuer}/.well-known/openid-configuration`` and the JWKS it names from a
thread, with keys generated in the test (RSA 2048 and EC P-256), counts the JWKS requests,
and signs tokens with PyJWT. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

REALM_PATH = "/realms/union"


@dataclass
class SigningKey:
    """A private key, its key id and algorithm."""

    kid: str
    algorithm: str
    private: Any

    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        jwk = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}


def rsa_key(kid: str | None = None) -> SigningKey:
    """A fresh RS256 key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(kid or f"rsa-{uuid.uuid4().hex[:8]}", "RS256", private)


def ec_key(kid: str | None = None) -> SigningKey:
    """A fresh ES256 key."""
    return SigningKey(kid or f"ec-{uuid.uuid4().hex[:8]}", "ES256", ec.generate_private_key(ec.SECP256R1()))


@dataclass
class LocalProvider:
    """The running provider: its issuer URL, published keys and request counters."""

    issuer: str
    audience: str = "servicemap"
    keys: list[SigningKey] = field(default_factory=list)
    jwks_requests: int = 0
    discovery_issuer: str | None = None  # to publish a wrong issuer in discovery
    server: ThreadingHTTPServer | None = None

    def token(self, key: SigningKey | None = None, *, ttl_s: int = 300, **claims: Any) -> str:
        """A signed access token with Keycloak-like claims (overridable)."""
        key = key or self.keys[0]
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer, "aud": self.audience, "sub": str(uuid.uuid4()),
            "preferred_username": "kc.user", "iat": now, "nbf": now, "exp": now + ttl_s,
            "realm_access": {"roles": ["offline_access", "servicemap-reviewer"]},
        }  # fmt: skip
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key.private, algorithm=key.algorithm, headers={"kid": key.kid})


def start_provider() -> LocalProvider:
    """Start a provider on a free loopback port (stop it with :func:`stop_provider`)."""
    state = LocalProvider(issuer="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == f"{REALM_PATH}/.well-known/openid-configuration":
                body = {"issuer": state.discovery_issuer or state.issuer,
                        "jwks_uri": f"{state.issuer}/protocol/openid-connect/certs"}  # fmt: skip
            elif self.path == f"{REALM_PATH}/protocol/openid-connect/certs":
                state.jwks_requests += 1
                body = {"keys": [k.public_jwk() for k in state.keys]}
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.server = server
    state.issuer = f"http://127.0.0.1:{server.server_address[1]}{REALM_PATH}"
    state.keys = [rsa_key()]
    threading.Thread(target=server.serve_forever, name="oidc-test-provider", daemon=True).start()
    return state


def stop_provider(provider: LocalProvider) -> None:
    """Stop the provider's server."""
    if provider.server is not None:
        provider.server.shutdown()
        provider.server.server_close()

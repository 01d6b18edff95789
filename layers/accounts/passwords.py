"""Argon2id password hashes (argon2-cffi), verified in constant time for unknown users too.

Hashing is deliberately expensive (by default 19 MiB of memory and about 60 ms of CPU
per call on the reference machine), so the number of hashes computed at once is bounded: a burst
of logins queues instead of exhausting memory. A login for an unknown user verifies the
password against a dummy hash with the same parameters, so its answer takes as long as a
wrong password for a real one.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass(frozen=True)
class Argon2Parameters:
    """Argon2id cost parameters (OWASP's recommended minimum by default: t=2, m=19 MiB, p=1).

    argon2-cffi's own default (RFC 9106 low-memory: t=3, 64 MiB, p=4) measured 0.5 s per
    hash on the 2-core reference machine; a login should not cost that much CPU.

    Attributes
    ----------
    time_cost
        Iterations.
    memory_kib
        Memory per hash in KiB.
    parallelism
        Lanes.
    """

    time_cost: int = 2
    memory_kib: int = 19456
    parallelism: int = 1


class PasswordHashing:
    """Hash and verify passwords with fixed Argon2id parameters.

    Parameters
    ----------
    parameters
        Cost parameters; hashes made with other parameters still verify and report
        :meth:`needs_rehash`.
    max_concurrent
        Hashes computed at once in this process (the others wait).
    """

    def __init__(self, parameters: Argon2Parameters | None = None, *, max_concurrent: int = 2) -> None:
        self.parameters = parameters or Argon2Parameters()
        p = self.parameters
        self._hasher = PasswordHasher(time_cost=p.time_cost, memory_cost=p.memory_kib,
                                      parallelism=p.parallelism)  # fmt: skip
        self._slots = threading.BoundedSemaphore(max(1, max_concurrent))
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()

    def hash(self, password: str) -> str:
        """The encoded Argon2id hash of ``password`` (with a fresh random salt)."""
        with self._slots:
            return self._hasher.hash(password)

    def verify(self, encoded: str | None, password: str) -> bool:
        """Whether ``password`` matches ``encoded``; ``None`` (no account, no password)
        is checked against a dummy hash and answers ``False`` after the same work."""
        target = encoded if encoded is not None else self._dummy_hash()
        with self._slots:
            try:
                ok = bool(self._hasher.verify(target, password))
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
        return ok and encoded is not None

    def needs_rehash(self, encoded: str) -> bool:
        """Whether ``encoded`` was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(encoded)
        except InvalidHashError:
            return True

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            with self._dummy_lock:
                if self._dummy is None:
                    self._dummy = self.hash(secrets.token_urlsafe(16))
        return self._dummy

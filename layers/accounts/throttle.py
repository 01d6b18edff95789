"""Back-off after failed logins, per user name and client address.

After ``max_failures`` failures in a row for one (user name, client) pair, further
attempts of that pair are refused for ``base_lockout_s`` seconds, doubling with every
further failure up to ``max_lockout_s``; a success resets the pair, and a pair not seen for
``forget_after_s`` is forgotten. Keying on the pair means an attacker elsewhere cannot lock
a colleague out. At most ``max_entries`` pairs are kept (the oldest are dropped first), so
a stream of made-up names cannot exhaust memory.

The counters live in the process: with several worker processes each keeps its own, so an
attacker gets at most ``workers × max_failures`` guesses before the first lockout.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from layers.accounts.errors import TooManyAttemptsError


@dataclass
class _Entry:
    failures: int = 0
    locked_until: float = 0.0
    last_seen: float = 0.0


class LoginThrottle:
    """Count failed logins and refuse attempts during a lockout.

    Parameters
    ----------
    max_failures
        Failures in a row before the first lockout.
    base_lockout_s, max_lockout_s
        First lockout and the cap of the doubling lockouts.
    forget_after_s
        A pair without attempts for this long starts from zero.
    max_entries
        Pairs remembered at most.
    clock
        Monotonic seconds.
    """

    def __init__(self, *, max_failures: int = 5, base_lockout_s: float = 30.0,
                 max_lockout_s: float = 900.0, forget_after_s: float = 3600.0,
                 max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.max_failures = max(1, max_failures)
        self.base_lockout_s = base_lockout_s
        self.max_lockout_s = max_lockout_s
        self.forget_after_s = forget_after_s
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()

    @staticmethod
    def key(username: str, client: str | None) -> tuple[str, str]:
        """The pair a login attempt counts against (the name folded like a login)."""
        folded = unicodedata.normalize("NFKC", username[:128]).strip().lower()
        return folded, client or "unknown"

    def _entry(self, key: tuple[str, str], now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and now - entry.last_seen > self.forget_after_s:
            del self._entries[key]
            return None
        return entry

    def check(self, key: tuple[str, str]) -> None:
        """Raise :class:`TooManyAttemptsError` while ``key`` is locked out."""
        now = self._clock()
        with self._lock:
            entry = self._entry(key, now)
            if entry is not None and entry.locked_until > now:
                raise TooManyAttemptsError(entry.locked_until - now)

    def failure(self, key: tuple[str, str]) -> None:
        """Count a failed attempt (and start or extend a lockout)."""
        now = self._clock()
        with self._lock:
            entry = self._entry(key, now)
            if entry is None:
                entry = _Entry()
                self._entries[key] = entry
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(key)
            entry.failures += 1
            entry.last_seen = now
            excess = entry.failures - self.max_failures
            if excess >= 0:
                lockout = min(self.max_lockout_s, self.base_lockout_s * 2 ** min(excess, 30))
                entry.locked_until = now + lockout

    def success(self, key: tuple[str, str]) -> None:
        """Forget the failures of ``key``."""
        with self._lock:
            self._entries.pop(key, None)

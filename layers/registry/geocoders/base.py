"""What every online geocoder shares: HTTP with timeouts and back-off, and a quota guard.

A provider answers a :class:`ProviderAnswer` and never raises for network trouble: a
geocoder being down must not fail an import. Per process, each provider keeps a small state
machine guarded by a lock:

* after a **quota** answer (daily limit) or an **invalid key** it stops calling for the rest
  of the process and every later answer says so (``status`` ``quota_exceeded`` /
  ``invalid_key`` with ``called=False``);
* a **QPS limit** is retried with exponential back-off (``backoff_s`` × 2^attempt, up to
  ``max_retries``), then that row gives up;
* timeouts and server errors are retried the same way; after ``max_consecutive_failures``
  rows in a row fail, calls pause for ``cooldown_s`` (a circuit breaker), so a dead service
  costs a few timeouts, not one per row.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx

from geo.geocode.placement import Precision

logger = logging.getLogger(__name__)


class ProviderStatus(StrEnum):
    """Outcome of one provider call."""

    OK = "ok"
    NO_RESULT = "no_result"
    INVALID_KEY = "invalid_key"
    QUOTA_EXCEEDED = "quota_exceeded"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    BAD_ANSWER = "bad_answer"
    DISABLED = "disabled"
    PAUSED = "paused"


#: Statuses after which the provider is not called again in this process.
STOPPING = frozenset({ProviderStatus.INVALID_KEY, ProviderStatus.QUOTA_EXCEEDED})
#: Statuses worth another try after a pause.
RETRYABLE = frozenset({ProviderStatus.RATE_LIMITED, ProviderStatus.SERVER_ERROR, ProviderStatus.TIMEOUT})


@dataclass
class ProviderAnswer:
    """One provider's answer for one address (WGS84 once converted).

    Attributes
    ----------
    provider
        ``amap`` or ``tianditu``.
    status
        See :class:`ProviderStatus`.
    called
        Whether an HTTP request was sent (``False`` when stopped, paused or disabled).
    lon, lat
        WGS84 degrees when ``status`` is ``ok``.
    precision
        Our precision for the provider's match level.
    level
        The provider's own level text (``门牌号``, ``兴趣点`` ...).
    matched
        The provider's formatted address or matched keyword.
    district
        The district the provider says (Amap only).
    message
        The provider's error text or ours, for the notes.
    attempts
        HTTP requests sent for this answer.
    """

    provider: str
    status: ProviderStatus
    called: bool = True
    lon: float | None = None
    lat: float | None = None
    precision: Precision = Precision.UNKNOWN
    level: str | None = None
    matched: str | None = None
    district: str | None = None
    message: str | None = None
    attempts: int = 0
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.status is ProviderStatus.OK and self.lon is not None and self.lat is not None


@dataclass
class HttpPolicy:
    """Timeouts and retries of one provider (seconds)."""

    timeout_s: float = 5.0
    max_retries: int = 2
    backoff_s: float = 0.5
    max_consecutive_failures: int = 3
    cooldown_s: float = 60.0


class OnlineGeocoder:
    """Base class: HTTP plumbing, retries and the per-process quota guard.

    Subclasses set ``name`` and implement :meth:`_request` (URL and params for an address)
    and :meth:`_interpret` (HTTP status and JSON body → :class:`ProviderAnswer`).

    Parameters
    ----------
    key
        The provider key; ``None`` or empty disables the provider (nothing is called).
    base_url
        Service root (overridable for tests).
    policy
        Timeouts and retries.
    client
        An ``httpx.Client`` to use (one is created, and reused, otherwise).
    sleep
        Called for back-off pauses (tests pass a recorder).
    """

    name = "online"

    def __init__(
        self,
        key: str | None,
        base_url: str,
        policy: HttpPolicy | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.key = (key or "").strip() or None
        self.base_url = base_url.rstrip("/")
        self.policy = policy or HttpPolicy()
        self._client = client
        self._sleep = sleep
        self._lock = threading.Lock()
        self._stopped: ProviderAnswer | None = None
        self._consecutive_failures = 0
        self._paused_until = 0.0
        self.calls = 0

    @property
    def enabled(self) -> bool:
        """Whether a key is configured and the provider has not been stopped."""
        return self.key is not None and self._stopped is None

    @property
    def stopped_reason(self) -> str | None:
        """Why the provider stopped calling (quota or key), if it did."""
        stopped = self._stopped
        return None if stopped is None else f"{stopped.status.value}: {stopped.message}"

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.policy.timeout_s, trust_env=False)
            return self._client

    def close(self) -> None:
        """Close the HTTP client this provider created."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # subclasses ---------------------------------------------------------------------------
    def _request(self, address: str, city: str) -> tuple[str, dict[str, str]]:
        raise NotImplementedError

    def _interpret(self, status_code: int, body: Any) -> ProviderAnswer:
        raise NotImplementedError

    # the call -------------------------------------------------------------------------------
    def geocode(self, address: str, city: str = "上海市") -> ProviderAnswer:
        """Geocode one address; never raises for network or provider errors."""
        if self.key is None:
            return ProviderAnswer(self.name, ProviderStatus.DISABLED, called=False,
                                  message="no key configured")
        with self._lock:
            stopped = self._stopped
            paused = time.monotonic() < self._paused_until
        if stopped is not None:
            return ProviderAnswer(self.name, stopped.status, called=False,
                                  message=f"not called: stopped earlier ({stopped.message})")
        if paused:
            return ProviderAnswer(self.name, ProviderStatus.PAUSED, called=False,
                                  message="not called: paused after repeated failures")
        url, params = self._request(address, city)
        answer = ProviderAnswer(self.name, ProviderStatus.SERVER_ERROR, message="not sent")
        attempts = 0
        for attempt in range(self.policy.max_retries + 1):
            attempts += 1
            answer = self._send(url, params)
            if answer.status not in RETRYABLE or attempt == self.policy.max_retries:
                break
            self._sleep(self.policy.backoff_s * (2**attempt))
        answer.attempts = attempts
        self._record(answer)
        return answer

    def _send(self, url: str, params: dict[str, str]) -> ProviderAnswer:
        with self._lock:
            self.calls += 1
        try:
            response = self._http().get(url, params=params, timeout=self.policy.timeout_s)
        except httpx.TimeoutException:
            return ProviderAnswer(self.name, ProviderStatus.TIMEOUT,
                                  message=f"no answer within {self.policy.timeout_s:g} s")
        except httpx.HTTPError as exc:
            return ProviderAnswer(self.name, ProviderStatus.SERVER_ERROR,
                                  message=f"connection failed: {type(exc).__name__}")
        try:
            body = response.json()
        except ValueError:
            body = None
        return self._interpret(response.status_code, body)

    def _record(self, answer: ProviderAnswer) -> None:
        with self._lock:
            if answer.status in STOPPING:
                self._stopped = answer
                logger.warning("%s stopped for this process: %s", self.name, answer.message)
            elif answer.status in RETRYABLE:
                self._consecutive_failures += 1
                if self._consecutive_failures >= self.policy.max_consecutive_failures:
                    self._paused_until = time.monotonic() + self.policy.cooldown_s
                    self._consecutive_failures = 0
                    logger.warning("%s paused for %.0f s after repeated failures", self.name,
                                   self.policy.cooldown_s)
            else:
                self._consecutive_failures = 0

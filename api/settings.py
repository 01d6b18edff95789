"""Service configuration from ``SERVICEMAP_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.basemap_sources import SOURCES, missing_key, parse_source_ids
from layers.accounts.oidc import DEFAULT_ROLE_MAP, parse_role_map
from layers.accounts.tokens import check_secret_key
from layers.jobs.model import JobLimits, default_concurrency
from layers.ratelimit import Rate, parse_rate

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Settings of one running service.

    Attributes
    ----------
    data_dir
        Shipped data (``data/`` of the repository by default).
    state_dir
        Where the embedded SQLite registry lives (``var/`` of the repository by default).
    database_url
        ``sqlite:///PATH`` or ``postgresql://...``; default: SQLite in ``state_dir``.
    static_dir
        The web map's files.
    amap_key, tianditu_key
        Keys of the optional online geocoders used when importing registries
        (``SERVICEMAP_AMAP_KEY``, ``SERVICEMAP_TIANDITU_KEY``); unset: nothing is called.
    amap_base_url, tianditu_base_url
        Their service roots (overridden by tests to a local server).
    geocoder_timeout_s, geocoder_max_retries
        HTTP timeout and retries of each online geocoder call.

    Accounts and authentication (see docs/accounts.md)
    ---------------------------------------------------
    secret_key
        ``SERVICEMAP_SECRET_KEY``: signs access tokens and CSRF tokens. At least 32
        characters and no well-known default (refused at start-up otherwise). When unset, a
        random key is generated once and kept in the store, shared by every process.
    token_ttl_s, session_ttl_s
        Lifetime of an access token and of a staff web session (8 h by default).
    token_issuer, token_audience
        ``iss`` and ``aud`` of this deployment's tokens.
    cookie_secure
        Mark the session cookie ``Secure`` (only sent over HTTPS and to loopback); turn
        off only for a plain-HTTP intranet host.
    argon2_time_cost, argon2_memory_kib, argon2_parallelism
        Password hash cost; hashes made with other values are replaced at the next login.
    login_max_failures, login_lockout_s, login_max_lockout_s
        Failed logins per user name and client before a lockout, first and longest lockout.
    oidc_issuer, oidc_audience
        Accept bearer tokens of this OpenID Connect issuer (e.g.
        ``https://sso.example.org/realms/union``) for this audience (both needed together).
    oidc_username_claim, oidc_role_claims, oidc_district_claim, oidc_role_map
        How the issuer's claims map to a user, a role and a district (JSON for the list
        and the map, e.g. ``SERVICEMAP_OIDC_ROLE_CLAIMS='["realm_access.roles"]'``).
    oidc_leeway_s, oidc_jwks_refresh_min_s, oidc_timeout_s
        Clock skew allowed, minimum time between key refreshes, HTTP timeout.
    job_concurrency
        Plan and route jobs running at once over all server processes on the database
        (default: half the cores, at least 1; at most the cores).
    job_max_queued, job_max_queued_per_owner
        Queued jobs allowed in all and per user; beyond them a submission gets ``429``.
    job_retention_days
        Finished jobs and their results are deleted this many days after they finished.
    job_lease_s
        Lease of a running job; a job whose process died runs again once it expires.
    job_max_attempts
        Runs of one job before it fails as interrupted too often.
    job_worker
        Run queued jobs in this process (default). ``false`` makes an API-only process: it
        accepts, lists and cancels jobs, and another process on the same database runs them.
    basemap_sources
        Online basemaps the web map tries, in order, comma-separated (``osm``,
        ``tianditu_vec``, ``tianditu_img``, ``amap``, ``tencent``); the first that answers is
        shown, the offline vector basemap when none does. Empty: offline basemap only.
    tianditu_key
        Tianditu key (``SERVICEMAP_TIANDITU_KEY``), needed by the Tianditu basemaps; the
        registry geocoder uses the same key (see ``amap_key, tianditu_key`` above).
    basemap_urls
        Tile URL templates replacing a source's own (an intranet mirror), as JSON:
        ``{"amap": "https://tiles.example/amap/{z}/{x}/{y}.png"}``; ``"<id>:1"`` replaces
        a source's second layer (Tianditu's annotation).

    Operations (see docs/operations.md)
    -----------------------------------
    anon_rate_limit
        Requests per client address that anonymous callers may send to ``/api/v1`` and
        ``/ogc``, e.g. ``600/minute``; ``0`` or empty (the default): no limit. Signed-in
        staff are not limited.
    anon_area_max_minutes_walk, anon_area_max_minutes_drive
        Longest isochrone threshold or service-area time anonymous callers may ask for, in
        whole minutes, on foot and by car (signed-in staff: 60).
    anon_area_max_thresholds
        Most isochrone thresholds in one anonymous request (staff: 6).
    anon_area_concurrency, anon_area_max_waiting, anon_area_wait_s
        Per server process: anonymous isochrones and service areas computed at once (those
        not answered from the cache), how many more may wait for a turn and for how long;
        beyond that ``503`` with ``Retry-After``.
    area_cache_entries, area_cache_mb
        Per server process: isochrone and service-area answers kept (least recently used
        dropped first), by count and by size of the stored (compressed) answers; 0 entries
        turns the cache off.
    rate_limit_backend
        Where the counts live: ``auto`` (the store's ``rate_limits`` table on PostgreSQL,
        shared by every process; in the process on SQLite), ``memory`` or ``store``.
    log_format
        ``json`` (one JSON object per line) or ``text``, for ``servicemap serve``.
    metrics_enabled
        Serve ``/metrics`` (Prometheus text format).
    metrics_allow
        Comma-separated networks (CIDR) whose clients may read ``/metrics``, or ``*``;
        default loopback and the private networks.
    """

    # hide_input_in_errors: a refused secret key is never echoed into logs
    model_config = SettingsConfigDict(env_prefix="SERVICEMAP_", env_file=None,
                                      hide_input_in_errors=True)

    data_dir: Path = REPO_ROOT / "data"
    state_dir: Path = REPO_ROOT / "var"
    database_url: str | None = None
    static_dir: Path = REPO_ROOT / "static"
    seed_on_start: bool = True
    warm_up: bool = Field(
        default=True, description="Build indexes and prepare networks in the background at start"
    )
    max_snap_m: float = Field(default=500.0, gt=0)
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, description="Largest request body of ordinary endpoints"
    )
    max_upload_bytes: int = Field(
        default=20_000_000, ge=1024, description="Largest upload (registry imports)"
    )
    tile_origins: str = Field(
        default="https://tile.openstreetmap.org",
        description="Comma-separated origins the web map may load tiles from, besides those "
        "of the configured basemap sources (which are always allowed)",
    )
    embed_origins: str = Field(
        default="*", description="Comma-separated origins allowed to frame /embed (or *)"
    )
    amap_key: SecretStr | None = None
    tianditu_key: SecretStr | None = None
    amap_base_url: str = "https://restapi.amap.com"
    tianditu_base_url: str = "https://api.tianditu.gov.cn"
    geocoder_timeout_s: float = Field(default=5.0, gt=0)
    geocoder_max_retries: int = Field(default=2, ge=0, le=5)

    # accounts and authentication
    secret_key: SecretStr | None = None
    token_ttl_s: int = Field(default=8 * 3600, ge=60, le=7 * 86400)
    session_ttl_s: int = Field(default=8 * 3600, ge=60, le=7 * 86400)
    token_issuer: str = Field(default="servicemap", min_length=1)
    token_audience: str = Field(default="servicemap-api", min_length=1)
    cookie_secure: bool = True
    argon2_time_cost: int = Field(default=2, ge=1, le=20)
    argon2_memory_kib: int = Field(default=19456, ge=8192, le=1048576)
    argon2_parallelism: int = Field(default=1, ge=1, le=16)
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_s: float = Field(default=30.0, gt=0)
    login_max_lockout_s: float = Field(default=900.0, gt=0)
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_username_claim: str = "preferred_username"
    oidc_role_claims: list[str] = Field(default_factory=lambda: ["realm_access.roles"])
    oidc_district_claim: str = "district"
    oidc_role_map: dict[str, str] = Field(
        default_factory=lambda: {k: v.value for k, v in DEFAULT_ROLE_MAP.items()}
    )
    oidc_leeway_s: float = Field(default=30.0, ge=0, le=300)
    oidc_jwks_refresh_min_s: float = Field(default=60.0, ge=0)
    oidc_timeout_s: float = Field(default=5.0, gt=0, le=60)

    @field_validator("secret_key")
    @classmethod
    def _refuse_weak_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        return SecretStr(check_secret_key(value.get_secret_value()))

    @field_validator("oidc_role_map")
    @classmethod
    def _check_role_map(cls, value: dict[str, str]) -> dict[str, str]:
        return {k: v.value for k, v in parse_role_map(value).items()}

    @model_validator(mode="after")
    def _oidc_pair(self) -> Self:
        if self.oidc_issuer and not self.oidc_audience:
            message = (
                "SERVICEMAP_OIDC_ISSUER is set but SERVICEMAP_OIDC_AUDIENCE is not: set it to "
                "the audience your identity provider puts in the tokens (the client id)"
            )
            raise ValueError(message)
        if self.oidc_issuer and not self.oidc_issuer.startswith(("https://", "http://")):
            raise ValueError("SERVICEMAP_OIDC_ISSUER must be an https:// URL")
        if self.oidc_issuer and self.oidc_issuer == self.token_issuer:
            raise ValueError("SERVICEMAP_OIDC_ISSUER must differ from SERVICEMAP_TOKEN_ISSUER")
        return self
    job_concurrency: int | None = Field(default=None, ge=1)
    job_max_queued: int = Field(default=100, ge=1)
    job_max_queued_per_owner: int = Field(default=10, ge=1)
    job_retention_days: float = Field(default=7.0, gt=0)
    job_lease_s: float = Field(default=30.0, ge=1)
    job_max_attempts: int = Field(default=3, ge=1)
    job_poll_s: float = Field(default=0.5, gt=0)
    job_worker: bool = True

    def job_limits(self) -> JobLimits:
        """The job queue's bounds and timings (concurrency capped at the cores)."""
        cores = os.cpu_count() or 1
        concurrency = self.job_concurrency or default_concurrency()
        if concurrency > cores:
            logger.warning("job_concurrency %d > %d cores; using %d", concurrency, cores, cores)
            concurrency = cores
        return JobLimits(
            concurrency=concurrency, max_queued=self.job_max_queued,
            max_queued_per_owner=self.job_max_queued_per_owner,
            retention_s=self.job_retention_days * 86400.0, lease_s=self.job_lease_s,
            max_attempts=self.job_max_attempts, poll_s=self.job_poll_s,
        )  # fmt: skip
    basemap_sources: str = "osm"
    basemap_urls: dict[str, str] = Field(default_factory=dict)

    # operations: rate limit, logs, metrics
    anon_rate_limit: str = ""
    rate_limit_backend: Literal["auto", "memory", "store"] = "auto"
    anon_area_max_minutes_walk: int = Field(default=30, ge=1, le=60)
    anon_area_max_minutes_drive: int = Field(default=15, ge=1, le=60)
    anon_area_max_thresholds: int = Field(default=3, ge=1, le=6)
    anon_area_concurrency: int = Field(default=1, ge=1)
    anon_area_max_waiting: int = Field(default=4, ge=0)
    anon_area_wait_s: float = Field(default=5.0, ge=0)
    area_cache_entries: int = Field(default=256, ge=0)
    area_cache_mb: float = Field(default=32.0, ge=0)
    log_format: Literal["json", "text"] = "json"
    metrics_enabled: bool = True
    metrics_allow: str = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"

    @field_validator("anon_rate_limit")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _check_networks(cls, value: str) -> str:
        metrics_networks(value)
        return value

    @property
    def anon_rate(self) -> Rate | None:
        """The anonymous rate limit (``None``: none)."""
        return parse_rate(self.anon_rate_limit)

    @field_validator("basemap_sources")
    @classmethod
    def _known_basemap_sources(cls, value: str) -> str:
        parse_source_ids(value)
        return value

    @model_validator(mode="after")
    def _keys_for_sources(self) -> Settings:
        for source_id in self.basemap_source_ids:
            if missing_key(source_id, self.basemap_keys(), self.basemap_urls):
                msg = f"basemap source {source_id!r} needs SERVICEMAP_TIANDITU_KEY"
                raise ValueError(msg)

        unknown = [key for key in self.basemap_urls if key.split(":")[0] not in SOURCES]
        if unknown:
            msg = f"basemap_urls names unknown source(s) {', '.join(unknown)}"
            raise ValueError(msg)
        return self

    @property
    def basemap_source_ids(self) -> list[str]:
        """The online basemap sources, in the order the page tries them."""
        return parse_source_ids(self.basemap_sources)

    def basemap_keys(self) -> dict[str, str]:
        """API keys of the online basemaps, by name."""
        return {"tianditu": self.tianditu_key.get_secret_value()} if self.tianditu_key else {}

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'servicemap.db'}"


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None


def metrics_networks(text: str) -> Networks:
    """The networks of ``SERVICEMAP_METRICS_ALLOW`` (``None`` for ``*``: every client)."""
    if text.strip() == "*":
        return None
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False)
                     for part in text.split(",") if part.strip())  # fmt: skip
    except ValueError as exc:
        raise ValueError(f"metrics_allow: {exc} (write CIDR networks, comma-separated, or *)") from exc

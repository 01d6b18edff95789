"""Service configuration from ``SERVICEMAP_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from layers.jobs.model import JobLimits, default_concurrency

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
    """

    model_config = SettingsConfigDict(env_prefix="SERVICEMAP_", env_file=None)

    data_dir: Path = REPO_ROOT / "data"
    state_dir: Path = REPO_ROOT / "var"
    database_url: str | None = None
    static_dir: Path = REPO_ROOT / "static"
    seed_on_start: bool = True
    warm_up: bool = Field(
        default=True, description="Build indexes and prepare networks in the background at start"
    )
    max_snap_m: float = Field(default=500.0, gt=0)
    job_concurrency: int | None = Field(default=None, ge=1)
    job_max_queued: int = Field(default=100, ge=1)
    job_max_queued_per_owner: int = Field(default=10, ge=1)
    job_retention_days: float = Field(default=7.0, gt=0)
    job_lease_s: float = Field(default=30.0, ge=1)
    job_max_attempts: int = Field(default=3, ge=1)
    job_poll_s: float = Field(default=0.5, gt=0)

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

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'servicemap.db'}"

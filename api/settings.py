"""Service configuration from ``SERVICEMAP_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, description="Largest request body of ordinary endpoints"
    )
    max_upload_bytes: int = Field(
        default=20_000_000, ge=1024, description="Largest upload (registry imports)"
    )
    tile_origins: str = Field(
        default="https://tile.openstreetmap.org",
        description="Comma-separated origins the web map may load basemap tiles from",
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

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'servicemap.db'}"

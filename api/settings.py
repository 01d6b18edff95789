"""Service configuration from ``SERVICEMAP_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.basemap_sources import SOURCES, missing_key, parse_source_ids

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
    basemap_sources
        Online basemaps the web map tries, in order, comma-separated (``osm``,
        ``tianditu_vec``, ``tianditu_img``, ``amap``, ``tencent``); the first that answers is
        shown, the offline vector basemap when none does. Empty: offline basemap only.
    tianditu_key
        Tianditu browser key (``SERVICEMAP_TIANDITU_KEY``), needed by the Tianditu sources.
    basemap_urls
        Tile URL templates replacing a source's own (an intranet mirror), as JSON:
        ``{"amap": "https://tiles.example/amap/{z}/{x}/{y}.png"}``; ``"<id>:1"`` replaces
        a source's second layer (Tianditu's annotation).
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
    basemap_sources: str = "osm"
    tianditu_key: SecretStr | None = None
    basemap_urls: dict[str, str] = Field(default_factory=dict)

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

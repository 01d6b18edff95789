"""Placing imported registry records: the one entry point the registry import calls.

``Geocoder(data_dir, config).place(name, address, district, ...)`` runs the chain

    sheet coordinates → offline gazetteer → online geocoders → unknown

and returns a :class:`geo.geocode.placement.Placement` (position, precision, source, score,
candidates, the district the point lies in and review flags). The offline part is
:class:`geo.geocode.matcher.OfflineGeocoder` over the shipped gazetteer
(:mod:`layers.registry.gazetteer_io`); the gazetteer is loaded once per data directory and
process, under a lock, on first use. Online geocoders (:mod:`layers.registry.geocoders`) are
asked only when a key is configured and the offline result is coarser than ``building``;
their answers replace it only when finer. A provider that is down, rate-limited or out of
quota never fails a row: its state is written in the placement's notes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from geo.crs import haversine_m
from geo.geocode.matcher import GeocodeQuery, OfflineGeocoder
from geo.geocode.placement import COARSE_PRECISIONS, Candidate, Placement, Precision
from layers.registry.gazetteer_io import load_gazetteer
from layers.registry.geocoders.amap import DEFAULT_BASE_URL as AMAP_BASE_URL
from layers.registry.geocoders.amap import AmapGeocoder
from layers.registry.geocoders.base import HttpPolicy, OnlineGeocoder, ProviderAnswer
from layers.registry.geocoders.tianditu import DEFAULT_BASE_URL as TIANDITU_BASE_URL
from layers.registry.geocoders.tianditu import TiandituGeocoder
from layers.registry.shipped import DEFAULT_DATA_DIR

logger = logging.getLogger(__name__)

__all__ = ["Geocoder", "GeocoderConfig", "Placement", "Precision"]

#: Score given to a provider answer, by our precision.
PROVIDER_SCORES: dict[Precision, float] = {
    Precision.EXACT: 85.0,
    Precision.BUILDING: 80.0,
    Precision.ROAD: 65.0,
    Precision.SUBDISTRICT: 40.0,
    Precision.DISTRICT: 20.0,
}

_OFFLINE: dict[Path, OfflineGeocoder] = {}
_OFFLINE_LOCK = threading.Lock()


def offline_geocoder(data_dir: Path) -> OfflineGeocoder:
    """The process-wide offline geocoder of a data directory, built once under a lock."""
    found = _OFFLINE.get(Path(data_dir))
    if found is not None:  # the fast path takes no lock and resolves no path
        return found
    key = Path(data_dir).resolve()
    with _OFFLINE_LOCK:
        found = _OFFLINE.get(key)
        if found is None:
            found = OfflineGeocoder(load_gazetteer(key))
            _OFFLINE[key] = found
        _OFFLINE[Path(data_dir)] = found
        return found


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    getter = getattr(value, "get_secret_value", None)
    text = getter() if callable(getter) else str(value)
    return text.strip() or None


@dataclass(frozen=True)
class GeocoderConfig:
    """Keys and endpoints of the online geocoders (no key: the provider is never called).

    Attributes
    ----------
    amap_key, tianditu_key
        Provider keys (``SERVICEMAP_AMAP_KEY``, ``SERVICEMAP_TIANDITU_KEY``).
    amap_base_url, tianditu_base_url
        Service roots (tests point them at a local server).
    timeout_s, max_retries, backoff_s
        HTTP policy of each provider.
    """

    amap_key: str | None = None
    tianditu_key: str | None = None
    amap_base_url: str = AMAP_BASE_URL
    tianditu_base_url: str = TIANDITU_BASE_URL
    timeout_s: float = 5.0
    max_retries: int = 2
    backoff_s: float = 0.5

    def __repr__(self) -> str:  # keys stay out of logs
        return (
            f"GeocoderConfig(amap={'set' if self.amap_key else 'unset'}, "
            f"tianditu={'set' if self.tianditu_key else 'unset'})"
        )

    @classmethod
    def from_settings(cls, settings: Any) -> GeocoderConfig:
        """Read the ``amap_*``/``tianditu_*``/``geocoder_*`` attributes of a settings object."""
        defaults = cls()
        return cls(
            amap_key=_secret(getattr(settings, "amap_key", None)),
            tianditu_key=_secret(getattr(settings, "tianditu_key", None)),
            amap_base_url=str(getattr(settings, "amap_base_url", None) or defaults.amap_base_url),
            tianditu_base_url=str(
                getattr(settings, "tianditu_base_url", None) or defaults.tianditu_base_url
            ),
            timeout_s=float(getattr(settings, "geocoder_timeout_s", None) or defaults.timeout_s),
            max_retries=int(getattr(settings, "geocoder_max_retries", defaults.max_retries)),
        )


class Geocoder:
    """Place registry records (see the module docstring).

    Parameters
    ----------
    data_dir
        Shipped data directory with the gazetteer (the repository's ``data/`` by default).
    config
        A :class:`GeocoderConfig`, or any settings-like object with ``amap_key`` ... (read
        with :meth:`GeocoderConfig.from_settings`); ``None``: offline only.
    providers
        Online geocoders to use instead of those built from ``config`` (tests).
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        config: GeocoderConfig | Any | None = None,
        providers: list[OnlineGeocoder] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir or DEFAULT_DATA_DIR)
        if config is not None and not isinstance(config, GeocoderConfig):
            config = GeocoderConfig.from_settings(config)
        self.config: GeocoderConfig = config or GeocoderConfig()
        if providers is None:
            policy = HttpPolicy(
                timeout_s=self.config.timeout_s,
                max_retries=self.config.max_retries,
                backoff_s=self.config.backoff_s,
            )
            providers = [
                AmapGeocoder(self.config.amap_key, self.config.amap_base_url, policy=policy),
                TiandituGeocoder(
                    self.config.tianditu_key, self.config.tianditu_base_url, policy=policy
                ),
            ]
        self.providers = [provider for provider in providers if provider.key is not None]

    @property
    def offline(self) -> OfflineGeocoder:
        """The shared offline geocoder (loads the gazetteer on first use)."""
        return offline_geocoder(self.data_dir)

    def place(
        self,
        name: str | None,
        address: str | None,
        district: str | None,
        *,
        park_name: str | None = None,
        lon: float | None = None,
        lat: float | None = None,
        crs: str | None = None,
    ) -> Placement:
        """Place one record.

        Parameters
        ----------
        name, address, district
            As written in the sheet (any may be empty).
        park_name
            The park or building the facility sits in, when the form has that column.
        lon, lat, crs
            Sheet coordinates and their system (``wgs84`` default, ``gcj02``, ``bd09``).

        Returns
        -------
        Placement
            Never raises for unplaceable input: such rows come back ``unknown`` and flagged.
        """
        query = GeocodeQuery(name, address, district, park_name, lon, lat, crs)
        placement = self.offline.place(query)
        if self.providers and placement.precision.rank > Precision.BUILDING.rank:
            placement = self._ask_online(query, placement)
        return placement

    def place_many(self, rows: Iterable[Mapping[str, Any]]) -> list[Placement]:
        """Place many records given as mappings with the keyword names of :meth:`place`."""
        return [
            self.place(
                row.get("name"),
                row.get("address"),
                row.get("district"),
                park_name=row.get("park_name"),
                lon=row.get("lon"),
                lat=row.get("lat"),
                crs=row.get("crs"),
            )
            for row in rows
        ]

    def provider_states(self) -> dict[str, str]:
        """``enabled`` or the reason a configured provider stopped, per provider."""
        return {p.name: p.stopped_reason or "enabled" for p in self.providers}

    # -- online ---------------------------------------------------------------------------
    def _ask_online(self, query: GeocodeQuery, offline: Placement) -> Placement:
        text = (query.address or "").strip() or (query.name or "").strip()
        if not text:
            return offline
        if offline.named_district and offline.named_district not in text:
            text = f"{offline.named_district}{text}"
        best = offline
        for provider in self.providers:
            answer = provider.geocode(text)
            if not answer.ok:
                best.notes.append(f"{provider.name}: {answer.status.value}"
                                  + (f" ({answer.message})" if answer.message else ""))
                continue
            if answer.precision is Precision.UNKNOWN or not answer.precision.finer_than(best.precision):
                best.notes.append(
                    f"{provider.name}: answered {answer.level or 'unknown level'}, not finer"
                )
                continue
            best = self._from_answer(answer, offline)
            if not best.precision.rank > Precision.BUILDING.rank:
                break
        return best

    def _from_answer(self, answer: ProviderAnswer, offline: Placement) -> Placement:
        if answer.lon is None or answer.lat is None:  # ProviderAnswer.ok guarantees both
            return offline
        gazetteer = self.offline.gazetteer
        placement = Placement(
            lon=answer.lon,
            lat=answer.lat,
            precision=answer.precision,
            source=answer.provider,
            score=PROVIDER_SCORES.get(answer.precision, 0.0),
            matched_name=answer.matched,
            named_district=offline.named_district,
            notes=[*offline.notes, f"{answer.provider}: level {answer.level}"],
        )
        placement.district, placement.subdistrict = gazetteer.locate(answer.lon, answer.lat)
        if placement.named_district and placement.district != placement.named_district:
            placement.outside_named_district = True
            placement.flag("outside_named_district")
        if placement.precision in COARSE_PRECISIONS:
            placement.flag("coarse_precision")
        offline_point = Candidate(
            name=offline.matched_name or "offline placement",
            kind=f"offline:{offline.precision.value}",
            source=offline.source,
            lon=offline.lon if offline.lon is not None else answer.lon,
            lat=offline.lat if offline.lat is not None else answer.lat,
            score=offline.score,
            district=offline.district,
        )
        candidates = [offline_point, *offline.candidates] if offline.located else offline.candidates
        placement.candidates = [self._rebase(c, answer.lon, answer.lat) for c in candidates]
        return placement

    @staticmethod
    def _rebase(candidate: Candidate, lon: float, lat: float) -> Candidate:
        distance = float(haversine_m(lon, lat, candidate.lon, candidate.lat))
        return replace(candidate, distance_m=round(distance, 1))

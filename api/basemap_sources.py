"""The online basemaps the web map may use, and the page's basemap configuration.

Each source is one or more raster tile layers (Leaflet URL templates) with the coordinate
system its tiles are drawn in:

* ``wgs84``: Web Mercator of WGS84 coordinates (OpenStreetMap, Tianditu's ``_w`` layers,
  whose CGCS2000 agrees with WGS84 to well under a metre);
* ``gcj02``: Web Mercator of GCJ-02 coordinates (Amap, Tencent). The page draws these with
  a Leaflet CRS that converts WGS84 to GCJ-02 inside its projection, so every marker, route
  and click stays WGS84 in the page and lands on the right street in the tiles.

A template may use Leaflet's ``{s}``, ``{z}``, ``{x}``, ``{y}``, ``{-y}`` and options named
in ``lang_options`` (per page language, e.g. Amap's ``lang`` or Tianditu's annotation
layer). Keys are added by the server from settings and never written into the page's
source. Deployments can point any source at a mirror (``SERVICEMAP_BASEMAP_URLS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OSM_ATTRIBUTION = (
    '© <a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener">'
    "OpenStreetMap</a> contributors (ODbL)"
)
TIANDITU_ATTRIBUTION = (
    '© <a href="https://www.tianditu.gov.cn/" target="_blank" rel="noopener">天地图</a> '
    "(国家地理信息公共服务平台)"
)
AMAP_ATTRIBUTION = '© <a href="https://www.amap.com/" target="_blank" rel="noopener">高德地图</a>'
TENCENT_ATTRIBUTION = '© <a href="https://map.qq.com/" target="_blank" rel="noopener">腾讯地图</a>'

_TIANDITU_WMTS = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
)


@dataclass(frozen=True)
class TileLayerSpec:
    """One raster tile layer of a source."""

    url: str
    subdomains: str = ""
    max_native_zoom: int = 18
    #: Template options per page language ({"zh": {...}, "en": {...}}).
    lang_options: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Fixed template options (e.g. Tianditu's layer name).
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceSpec:
    """One online basemap."""

    id: str
    crs: str
    label_zh: str
    label_en: str
    attribution: str
    layers: tuple[TileLayerSpec, ...]
    needs_key: str | None = None


def _tianditu(image: bool) -> tuple[TileLayerSpec, ...]:
    base, labels_zh, labels_en = ("img", "cia", "eia") if image else ("vec", "cva", "eva")
    return (
        TileLayerSpec(_TIANDITU_WMTS, "01234567", 18, options={"layer": base}),
        TileLayerSpec(
            _TIANDITU_WMTS,
            "01234567",
            18,
            lang_options={"zh": {"layer": labels_zh}, "en": {"layer": labels_en}},
        ),
    )


SOURCES: dict[str, SourceSpec] = {
    source.id: source
    for source in (
        SourceSpec(
            "osm",
            "wgs84",
            "在线地图（OpenStreetMap）",
            "Online map (OpenStreetMap)",
            OSM_ATTRIBUTION,
            (TileLayerSpec("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "", 19),),
        ),
        SourceSpec(
            "tianditu_vec",
            "wgs84",
            "天地图 矢量",
            "Tianditu map",
            TIANDITU_ATTRIBUTION,
            _tianditu(image=False),
            needs_key="tianditu",
        ),
        SourceSpec(
            "tianditu_img",
            "wgs84",
            "天地图 影像",
            "Tianditu imagery",
            TIANDITU_ATTRIBUTION,
            _tianditu(image=True),
            needs_key="tianditu",
        ),
        SourceSpec(
            "amap",
            "gcj02",
            "高德地图",
            "Amap",
            AMAP_ATTRIBUTION,
            (
                TileLayerSpec(
                    "https://webrd0{s}.is.autonavi.com/appmaptile?lang={lang}&size=1&scale=1"
                    "&style=8&x={x}&y={y}&z={z}",
                    "1234",
                    18,
                    lang_options={"zh": {"lang": "zh_cn"}, "en": {"lang": "en"}},
                ),
            ),
        ),
        SourceSpec(
            "tencent",
            "gcj02",
            "腾讯地图",
            "Tencent map",
            TENCENT_ATTRIBUTION,
            (
                TileLayerSpec(
                    "https://rt{s}.map.gtimg.com/tile?z={z}&x={x}&y={-y}&styleid=1&version=297",
                    "0123",
                    18,
                ),
            ),
        ),
    )
}


def parse_source_ids(value: str) -> list[str]:
    """The source ids of a comma-separated setting, checked against :data:`SOURCES`.

    Raises
    ------
    ValueError
        For an unknown id (the message lists the valid ones) or a repeated one.
    """
    ids = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [source_id for source_id in ids if source_id not in SOURCES]
    if unknown:
        msg = f"unknown basemap source(s) {', '.join(unknown)}; valid: {', '.join(SOURCES)}"
        raise ValueError(msg)
    if len(set(ids)) != len(ids):
        msg = f"basemap sources repeat an id: {value!r}"
        raise ValueError(msg)
    return ids


def layer_override_key(source_id: str, index: int) -> str:
    """The ``basemap_urls`` key that replaces the ``index``-th layer of a source."""
    return source_id if index == 0 else f"{source_id}:{index}"


def missing_key(source_id: str, keys: dict[str, str], urls: dict[str, str]) -> str | None:
    """The name of the key a source still needs (a layer not replaced by a mirror), or None."""
    source = SOURCES[source_id]
    if not source.needs_key or keys.get(source.needs_key):
        return None
    replaced = all(
        layer_override_key(source_id, index) in urls for index in range(len(source.layers))
    )
    return None if replaced else source.needs_key


def _layer_config(
    source: SourceSpec, index: int, layer: TileLayerSpec, keys: dict[str, str], urls: dict[str, str]
) -> dict[str, Any]:
    override = urls.get(layer_override_key(source.id, index))
    url = override or layer.url
    if source.needs_key and not override:
        url = url.replace("{key}", keys[source.needs_key])
    return {
        "url": url,
        "subdomains": layer.subdomains,
        "maxNativeZoom": layer.max_native_zoom,
        "options": dict(layer.options),
        "langOptions": {lang: dict(values) for lang, values in layer.lang_options.items()},
    }


def page_config(
    source_ids: list[str],
    keys: dict[str, str],
    urls: dict[str, str],
    offline: dict[str, Any] | None,
) -> dict[str, Any]:
    """The basemap configuration the page asks for: online sources in probe order, offline.

    Parameters
    ----------
    source_ids
        Online sources to try, in order (already validated).
    keys
        API keys by name (``{"tianditu": "..."}``); a source whose key is missing is left
        out (settings refuse that combination, so this only guards direct callers).
    urls
        Template overrides: ``{source id: template}`` for the first layer of a source,
        ``{"<id>:<n>": template}`` for its n-th layer (a mirror or a test server).
    offline
        The offline vector basemap's tile URL and zooms, or ``None`` when not built.
    """
    sources = []
    for source_id in source_ids:
        source = SOURCES[source_id]
        if missing_key(source_id, keys, urls):
            continue
        sources.append(
            {
                "id": source.id,
                "crs": source.crs,
                "label": {"zh": source.label_zh, "en": source.label_en},
                "attribution": source.attribution,
                "layers": [
                    _layer_config(source, index, layer, keys, urls)
                    for index, layer in enumerate(source.layers)
                ],
            }
        )
    return {"sources": sources, "offline": offline}


def source_origins(source_ids: list[str], urls: dict[str, str]) -> list[str]:
    """Every origin the configured online basemaps load tiles from (for the page's CSP).

    ``{s}`` is expanded over each layer's subdomains; a mirror in ``urls`` replaces its
    layer's origin.
    """
    from urllib.parse import urlsplit

    origins: set[str] = set()
    for source_id in source_ids:
        for index, layer in enumerate(SOURCES[source_id].layers):
            template = urls.get(layer_override_key(source_id, index)) or layer.url
            for sub in layer.subdomains or " ":
                parts = urlsplit(template.replace("{s}", sub.strip()))
                if parts.scheme and parts.netloc:
                    origins.add(f"{parts.scheme}://{parts.netloc}")
    return sorted(origins)

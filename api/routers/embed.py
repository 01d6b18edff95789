"""The embeddable map: ``/embed`` (a page made for iframes) and ``/oembed`` (oEmbed 1.0).

``/embed`` checks its parameters here, converts a GCJ-02/BD-09 centre to WGS84 with
:mod:`geo.crs`, and answers ``static/embed.html`` with the checked configuration in a
``<meta>`` tag (the page's script reads it: no inline script, CSP ``script-src 'self'``).
Bad parameters answer **400** with the same page saying what is wrong, in the page's
language, so an iframe never shows a broken map. Who may frame it is the middleware's
business (``frame-ancestors`` from ``SERVICEMAP_EMBED_ORIGINS``); see ``docs/embed.md``.
"""

from __future__ import annotations

import html
import json
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from api.deps import RegistryDep, SettingsDep
from api.embed_params import EmbedConfig, Problem, parse_embed
from api.errors import RequestError, error_body
from api.params import EXAMPLE_LAT, EXAMPLE_LON, query_point
from api.schemas import ErrorOut

router = APIRouter(tags=["embed"])

#: Size of the iframe that ``/oembed`` proposes when the consumer sets no limit.
OEMBED_WIDTH, OEMBED_HEIGHT = 640, 480
MIN_OEMBED_SIDE = 100
_TITLES = {"zh": "职工服务地图", "en": "Worker service map"}


def embed_origins(settings_value: str) -> list[str]:
    """The origins allowed to frame ``/embed`` (``["*"]`` for any), as configured."""
    return [o.strip() for o in settings_value.split(",") if o.strip()]


def frame_ancestors(settings_value: str) -> list[str]:
    """The ``frame-ancestors`` sources of ``/embed``: the configured origins, and the service's
    own pages (the snippet builder's preview, the example) unless any origin may frame it."""
    origins = embed_origins(settings_value)
    return origins if "*" in origins else [*origins, "'self'"]


def _problems_html(problems: list[Problem], lang: str | None) -> str:
    if not problems:
        return ""
    if lang == "en":
        head = "<p class=\"embed-error-title\">This map cannot be shown: its parameters are wrong.</p>"
        items = "".join(f"<li><code>{html.escape(p.param)}</code>: {html.escape(p.en)}</li>" for p in problems)
    elif lang == "zh":
        head = "<p class=\"embed-error-title\">地图参数有误，无法显示：</p>"
        items = "".join(f"<li><code>{html.escape(p.param)}</code>：{html.escape(p.zh)}</li>" for p in problems)
    else:  # no language chosen: Chinese, with the English for the host's developer
        head = ("<p class=\"embed-error-title\">地图参数有误，无法显示："
                "<span lang=\"en\">This map cannot be shown: its parameters are wrong.</span></p>")
        items = "".join(
            f"<li><code>{html.escape(p.param)}</code>：{html.escape(p.zh)}"
            f"<br><span lang=\"en\">{html.escape(p.en)}</span></li>" for p in problems
        )
    return f'{head}<ul class="embed-error-list">{items}</ul>'


def render_embed_page(template: str, config: EmbedConfig, origins: list[str], oembed_href: str) -> str:
    """The embed page: the template with its configuration, problems and oEmbed link."""
    lang = config.lang or "zh"
    meta = html.escape(json.dumps(config.as_json(origins), ensure_ascii=False), quote=True)
    page = template.replace('<html lang="zh-CN"', f'<html lang="{"en" if lang == "en" else "zh-CN"}"', 1)
    page = page.replace('content="{{config}}"', f'content="{meta}"', 1)
    page = page.replace('href="{{oembed}}"', f'href="{html.escape(oembed_href, quote=True)}"', 1)
    page = page.replace("<!--{{problems}}-->", _problems_html(config.problems, config.lang), 1)
    if config.problems:
        page = page.replace('id="embed-errors" class="embed-errors" hidden', 'id="embed-errors" class="embed-errors"', 1)
    return page.replace("<title>职工服务地图</title>", f"<title>{_TITLES[lang]}</title>", 1)


@router.get(
    "/embed", response_class=HTMLResponse, summary="The embeddable map (a page for iframes)",
    responses={400: {"description": "bad parameters: the page says which"},
               503: {"model": ErrorOut, "description": "the widget page is not installed"}},
)  # fmt: skip
def embed(request: Request, registry: RegistryDep, settings: SettingsDep) -> HTMLResponse:
    """A map page made to live in an iframe, configured by its URL: `layer` (one or more,
    comma-separated), `lon`/`lat` (centre, in `crs`: wgs84, gcj02 or bd09) or `locate=1`,
    `zoom`, `k`, `profile` (walk/drive), `lang` (zh/en), `controls` (zoom, locate, layers,
    profile, lang, or none), `list=1`, `scroll=1`, `height` (px of the map; the page then
    sizes to its content) and `origin` (the host page's origin, for the message API).
    See docs/embed.md."""
    params = dict(request.query_params.items())
    config = parse_embed(params, registry.in_service_area)
    try:
        template = (settings.static_dir / "embed.html").read_text(encoding="utf-8")
    except OSError:
        message = "the map widget page is not installed (no embed.html in the static directory)"
        return JSONResponse(error_body("unavailable", message), status_code=503)  # type: ignore[return-value]
    page_url = str(request.url)
    oembed_href = f"{request.base_url}oembed?{urlencode({'url': page_url, 'format': 'json'})}"
    page = render_embed_page(template, config, embed_origins(settings.embed_origins), oembed_href)
    return HTMLResponse(page, status_code=400 if config.problems else 200,
                        headers={"Cache-Control": "no-cache"})  # fmt: skip


def _limit(name: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < MIN_OEMBED_SIDE:  # oEmbed: no answer fits, 404 (the widget needs that much)
        raise RequestError(f"no embed fits in {name} {value.strip()[:10]}: the map widget needs "
                           f"at least {MIN_OEMBED_SIDE} px", status_code=404, code="not_found")  # fmt: skip
    return number


@router.get(
    "/oembed", summary="oEmbed 1.0 for embed URLs of this service",
    responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}, 501: {"model": ErrorOut}},
)  # fmt: skip
def oembed(
    request: Request,
    registry: RegistryDep,
    url: Annotated[str, Query(min_length=1, max_length=4000,
                              description="An /embed URL of this service")],
    format: Annotated[str, Query(description="json (xml is not implemented: 501)")] = "json",
    maxwidth: Annotated[str | None, Query(pattern=r"^\s*[1-9][0-9]{0,5}\s*$",
                                          description="Largest width in pixels")] = None,
    maxheight: Annotated[str | None, Query(pattern=r"^\s*[1-9][0-9]{0,5}\s*$",
                                           description="Largest height in pixels")] = None,
) -> JSONResponse:
    """The oEmbed answer (type `rich`: an iframe of the embed page) for an `/embed` URL of
    this service; `maxwidth`/`maxheight` bound the proposed size. 404 for a URL that is not
    an embed page of this service, 501 for `format=xml`, 400 for bad input."""
    if format != "json":
        return JSONResponse(status_code=501, content=error_body(
            "format_not_implemented", f"format {format[:20]!r} is not implemented; use format=json"))
    if not url:
        raise RequestError("url is required: an /embed URL of this service", status_code=400)
    width_cap, height_cap = _limit("maxwidth", maxwidth), _limit("maxheight", maxheight)
    parts = urlsplit(url.strip())
    base = urlsplit(str(request.base_url))
    path = parts.path.rstrip("/") or "/"
    if (parts.scheme not in ("http", "https") or parts.netloc.lower() != base.netloc.lower()
            or path != base.path.rstrip("/") + "/embed"):
        return JSONResponse(status_code=404, content=error_body(
            "not_found", "no oEmbed for this URL: only the /embed pages of this service "
            f"({base.scheme}://{base.netloc}/embed) are embeddable"))  # fmt: skip
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    config = parse_embed(params, registry.in_service_area)
    if config.problems:
        raise RequestError("the embed URL has bad parameters: "
                           + "; ".join(f"{p.param}: {p.en}" for p in config.problems), status_code=400)
    width = min(OEMBED_WIDTH, width_cap or OEMBED_WIDTH)
    height = min(config.height or OEMBED_HEIGHT, height_cap or OEMBED_HEIGHT)
    title = _TITLES["en" if config.lang == "en" else "zh"]
    src = html.escape(url.strip(), quote=True)
    frame = (f'<iframe src="{src}" width="{width}" height="{height}" title="{title}" '
             'style="border:0;max-width:100%" loading="lazy" allow="geolocation" '
             'referrerpolicy="strict-origin-when-cross-origin"></iframe>')  # fmt: skip
    return JSONResponse({
        "version": "1.0", "type": "rich", "title": title,
        "provider_name": "servicemap", "provider_url": str(request.base_url),
        "html": frame, "width": width, "height": height, "cache_age": 86400,
    })  # fmt: skip


class WGS84PointOut(BaseModel):
    """A point converted to WGS84."""

    lon: float = Field(description="Longitude, WGS84 degrees")
    lat: float = Field(description="Latitude, WGS84 degrees")
    crs: str = Field("wgs84", description="Always wgs84")
    input_crs: str = Field(description="The CRS the point was given in")
    input_lon: float
    input_lat: float


@router.get(
    "/api/v1/to-wgs84", response_model=WGS84PointOut, summary="A point converted to WGS84",
    tags=["geography"], responses={422: {"model": ErrorOut}},
)  # fmt: skip
def to_wgs84_point(
    registry: RegistryDep,
    lon: Annotated[float, Query(description="Longitude in `crs`", allow_inf_nan=True,
                                examples=[EXAMPLE_LON])],
    lat: Annotated[float, Query(description="Latitude in `crs`", allow_inf_nan=True,
                                examples=[EXAMPLE_LAT])],
    crs: Annotated[str, Query(description="CRS of lon/lat: wgs84 (GPS, OSM), gcj02 (Amap, "
                                          "Tencent), bd09 (Baidu)")] = "wgs84",
) -> WGS84PointOut:
    """The point in WGS84, converted exactly as the `/nearest` and `/embed` parameters are
    (`geo.crs`); the embeddable map calls it for host messages that give `crs`. A point
    outside the service area (the Shanghai municipality) or a non-finite or out-of-range
    coordinate is refused with 422, an unknown `crs` with 422 `unknown_crs`."""
    wgs_lon, wgs_lat, source = query_point(lon, lat, crs, registry)
    return WGS84PointOut(lon=wgs_lon, lat=wgs_lat, input_crs=source.value, input_lon=lon,
                         input_lat=lat)  # fmt: skip

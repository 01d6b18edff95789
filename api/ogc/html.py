"""Plain server-rendered HTML pages of the OGC API (every value escaped, no scripts)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = (
    "body{font-family:system-ui,'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;"
    "margin:1.5rem auto;max-width:70rem;padding:0 1rem;line-height:1.4}"
    "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;"
    "padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f3f3f3}"
    "nav a{margin-right:.75rem}code{background:#f3f3f3;padding:0 .2rem}"
)


def _link(href: str, text: str) -> str:
    return f'<a href="{escape(href, quote=True)}">{escape(text)}</a>'


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        if value.startswith(("http://", "https://")):
            return _link(value, value)
        return escape(value)
    if isinstance(value, bool | int | float):
        return escape(str(value))
    return f"<code>{escape(json.dumps(value, ensure_ascii=False))}</code>"


def _links(links: list[dict[str, Any]]) -> str:
    items = "".join(
        f"<li>{_link(link['href'], link.get('title') or link['href'])} "
        f"<small>({escape(link.get('rel', ''))}, {escape(link.get('type', ''))})</small></li>"
        for link in links
    )
    return f"<h2>Links</h2><ul>{items}</ul>" if items else ""


def page(title: str, body: str, base: str, links: list[dict[str, Any]] | None = None) -> str:
    """A whole HTML page with the breadcrumb navigation of the API."""
    nav = (f"<nav>{_link(base, 'OGC API')}{_link(base + '/collections', 'Collections')}"
           f"{_link(base + '/conformance', 'Conformance')}"
           f"{_link(base + '/openapi?f=html', 'API definition')}</nav>")  # fmt: skip
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} – servicemap OGC API</title><style>{_STYLE}</style></head>"
        f"<body>{nav}<h1>{escape(title)}</h1>{body}{_links(links or [])}</body></html>"
    )


def landing(document: dict[str, Any], base: str) -> str:
    body = f"<p>{escape(document.get('description', ''))}</p>"
    return page(document["title"], body, base, document["links"])


def conformance(document: dict[str, Any], base: str) -> str:
    items = "".join(f"<li>{_value(uri)}</li>" for uri in document["conformsTo"])
    return page("Conformance", f"<ul>{items}</ul>", base)


def collections(document: dict[str, Any], base: str) -> str:
    rows = "".join(
        f"<tr><td>{_link(base + '/collections/' + c['id'], c['title'])}</td>"
        f"<td>{escape(c.get('description', ''))}</td>"
        f"<td>{_link(base + '/collections/' + c['id'] + '/items?f=html', 'items')}</td></tr>"
        for c in document["collections"]
    )
    body = f"<table><tr><th>Collection</th><th>Description</th><th></th></tr>{rows}</table>"
    return page("Collections", body, base, document["links"])


def collection(document: dict[str, Any], base: str) -> str:
    spatial = document["extent"]["spatial"]["bbox"][0]
    body = (
        f"<p>{escape(document.get('description', ''))}</p><table>"
        f"<tr><th>id</th><td>{escape(document['id'])}</td></tr>"
        f"<tr><th>Extent (CRS84)</th><td>{_value(spatial)}</td></tr>"
        f"<tr><th>Storage CRS</th><td>{_value(document['storageCrs'])}</td></tr>"
        f"<tr><th>CRS</th><td>{'<br>'.join(_value(c) for c in document['crs'])}</td></tr>"
        "</table>"
    )
    return page(document["title"], body, base, document["links"])


def queryables(document: dict[str, Any], base: str) -> str:
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(spec.get('type', spec.get('format', '')))}"
        f"</td><td>{escape(spec.get('title', ''))}</td></tr>"
        for name, spec in document["properties"].items()
    )
    body = f"<table><tr><th>Name</th><th>Type</th><th>Title</th></tr>{rows}</table>"
    return page(document["title"], body, base)


def items(title: str, document: dict[str, Any], base: str) -> str:
    features = document["features"]
    names = ("name", "district", "status", "address")
    rows = "".join(
        f"<tr><td>{_link(base + '/collections/' + _collection_of(f['id']) + '/items/' + f['id'] + '?f=html', f['id'])}</td>"
        + "".join(f"<td>{_value(f['properties'].get(n))}</td>" for n in names)
        + f"<td>{_value(f['geometry']['coordinates'] if f['geometry'] else None)}</td></tr>"
        for f in features
    )
    head = "".join(f"<th>{n}</th>" for n in ("id", *names, "coordinates"))
    body = (
        f"<p>{document['numberReturned']} of {document['numberMatched']} features.</p>"
        f"<table><tr>{head}</tr>{rows}</table>"
    )
    return page(title, body, base, document["links"])


def item(document: dict[str, Any], base: str) -> str:
    rows = "".join(
        f"<tr><th>{escape(name)}</th><td>{_value(value)}</td></tr>"
        for name, value in document["properties"].items()
    )
    geometry = document["geometry"]
    coords = _value(geometry["coordinates"]) if geometry else "(position unknown)"
    body = f"<table><tr><th>geometry</th><td>{coords}</td></tr>{rows}</table>"
    title = document["properties"].get("name") or document["id"]
    return page(str(title), body, base, document["links"])


def api_definition(document: dict[str, Any], base: str) -> str:
    rows = "".join(
        f"<tr><td><code>{method.upper()} {escape(path)}</code></td>"
        f"<td>{escape(op.get('summary', ''))}</td>"
        f"<td>{escape(', '.join(p['$ref'].rsplit('/', 1)[-1] if '$ref' in p else p['name'] for p in op.get('parameters', [])))}</td></tr>"
        for path, methods in document["paths"].items()
        for method, op in methods.items()
    )
    body = (
        f"<p>{escape(document['info'].get('description', ''))}</p>"
        f"<p>{_link(base + '/openapi?f=json', 'OpenAPI 3.0 document (JSON)')}</p>"
        f"<table><tr><th>Operation</th><th>Summary</th><th>Parameters</th></tr>{rows}</table>"
    )
    return page("API definition", body, base)


def _collection_of(feature_id: str) -> str:
    return feature_id.split(":", 1)[0]

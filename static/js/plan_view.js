// Site-planning tab of the planner view: a form that starts a plan (POST /api/v1/plans),
// polls the job, and draws proposed sites, existing sites, newly covered workplaces, a
// per-district table and the coverage curve (inline SVG). All text goes through
// textContent, never innerHTML.

import { runJob } from "./api.js";
import { el, fmt, popupBox } from "./dom.js";

const POLL_MS = 400;
const SVG_NS = "http://www.w3.org/2000/svg";
const STATUS_TEXT = {
  optimal: "已证明最优 proven optimal",
  feasible: "可行解 feasible",
  infeasible: "无解 infeasible",
};

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

/** Workers covered against the number of new sites, as an SVG element. */
export function curveSvg(curve, width = 340, height = 180) {
  const root = svg("svg", { width, height, role: "img", "aria-label": "coverage curve", class: "plan-curve-svg" });
  if (!curve.length) return root;
  const left = 64, right = 10, top = 10, bottom = 34;
  const ok = curve.filter((p) => p.workers_covered !== null);
  const xMax = Math.max(1, ...curve.map((p) => p.n_new));
  let yMin = ok.length ? Math.min(...ok.map((p) => p.workers_covered)) : 0;
  let yMax = ok.length ? Math.max(...ok.map((p) => p.workers_covered)) : 1;
  if (yMax <= yMin) { yMin = Math.max(0, yMin - 1); yMax += 1; }
  const sx = (n) => left + ((width - left - right) * n) / xMax;
  const sy = (v) => top + (height - top - bottom) * (1 - (v - yMin) / (yMax - yMin));
  root.append(svg("line", { x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, stroke: "#888" }));
  root.append(svg("line", { x1: left, y1: top, x2: left, y2: height - bottom, stroke: "#888" }));
  root.append(svg("text", { x: left - 4, y: sy(yMax) + 4, "text-anchor": "end" }, fmt(yMax)));
  root.append(svg("text", { x: left - 4, y: sy(yMin) + 4, "text-anchor": "end" }, fmt(yMin)));
  root.append(svg("text", { x: (left + width - right) / 2, y: height - 4, "text-anchor": "middle" }, "新站点数 new sites"));
  if (ok.length > 1) {
    const points = ok.map((p) => `${sx(p.n_new).toFixed(1)},${sy(p.workers_covered).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { points, fill: "none", stroke: "#c8102e", "stroke-width": 2 }));
  }
  for (const p of curve) {
    const x = sx(p.n_new);
    root.append(svg("text", { x, y: height - bottom + 14, "text-anchor": "middle" }, p.n_new));
    const feasible = p.workers_covered !== null;
    const dot = svg("circle", {
      cx: x, cy: feasible ? sy(p.workers_covered) : height - bottom, r: 4,
      fill: feasible ? "#c8102e" : "#fff", stroke: feasible ? "#7a0010" : "#888",
      "data-n": p.n_new,
    });
    dot.append(svg("title", {}, feasible ? `${p.n_new}: ${fmt(p.workers_covered)} (${p.status})` : `${p.n_new}: ${p.reason}`));
    root.append(dot);
  }
  return root;
}

function districtTable(rows) {
  const table = el("table", undefined, "plan-table");
  const head = el("tr");
  for (const h of ["区 district", "新 new", "新覆盖 newly covered", "覆盖率 share"]) head.append(el("th", h));
  table.append(el("thead"));
  table.tHead.append(head);
  const body = el("tbody");
  for (const r of rows) {
    const tr = el("tr");
    tr.append(el("td", r.district), el("td", r.new_sites), el("td", fmt(r.newly_covered)),
      el("td", r.share_after === null ? "—" : `${(100 * r.share_after).toFixed(1)}%`));
    body.append(tr);
  }
  table.append(body);
  return table;
}

export function createPlanView(map, { status }) {
  const group = L.layerGroup();
  const byId = new Map();
  let run = 0;

  const field = (id) => document.getElementById(id);

  function request() {
    const num = (id) => Number(field(id).value);
    const model = field("plan-model").value;
    const candidates = field("plan-candidates").value.split(",").map((s) => s.trim()).filter((s) => s);
    return {
      model,
      candidates,
      n_new: model === "lscp" ? null : num("plan-new"),
      max_minutes: num("plan-minutes"),
      district_min: num("plan-district-min"),
      curve: field("plan-curve-points").value,
      time_limit_s: 60,
    };
  }

  function draw(body) {
    group.clearLayers();
    byId.clear();
    const maxW = Math.max(1, ...body.workplaces.features.map((f) => f.properties.workers));
    L.geoJSON(body.workplaces, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 3 + 9 * Math.sqrt(f.properties.workers / maxW), color: "#2b8cbe", weight: 1, fillOpacity: 0.45 }),
      onEachFeature: (f, layer) => {
        const p = f.properties;
        layer.bindPopup(() => popupBox([p.name, `${p.district || "—"} · ${fmt(p.workers)} 职工 workers`, `${p.minutes} 分钟 min (${p.method})`]));
      },
    }).addTo(group);
    L.geoJSON(body.existing, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 4, color: "#555", weight: 1, fillColor: "#999", fillOpacity: 0.9 }),
      onEachFeature: (f, layer) => layer.bindPopup(() => popupBox([f.properties.name, `现有 existing · ${f.properties.district || "—"}`])),
    }).addTo(group);
    L.geoJSON(body.sites, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 8, color: "#7a0010", weight: 2, fillColor: f.properties.role === "upgrade" ? "#f5a623" : "#c8102e", fillOpacity: 1 }),
      onEachFeature: (f, layer) => {
        byId.set(f.properties.id, layer);
        const p = f.properties;
        layer.bindPopup(() => popupBox([p.name, `${p.role === "upgrade" ? "升级 upgrade" : "新建 new"} · ${p.layer} · ${p.district || "—"}`,
          p.workers_newly_covered === undefined ? "" : `新覆盖 newly covered: ${fmt(p.workers_newly_covered)}`]));
      },
    }).addTo(group);
  }

  function render(body) {
    const s = body.summary;
    const box = field("plan-summary");
    box.replaceChildren();
    const gap = s.status === "feasible" && s.gap !== null ? ` · gap ${(100 * s.gap).toFixed(2)}%` : "";
    box.append(el("div", `${STATUS_TEXT[s.status] || s.status}${gap} · ${s.seconds.toFixed(2)} s`, `plan-status-${s.status}`));
    box.append(el("div", `目标值 objective: ${fmt(s.objective)} (${s.objective_unit})`));
    box.append(el("div", `新覆盖职工 newly covered: ${fmt(s.workers_newly_covered)} · ${fmt(s.workplaces_newly_covered)} 处 places`));
    box.append(el("div", `覆盖 covered: ${fmt(s.workers_covered_before)} → ${fmt(s.workers_covered_after)} / ${fmt(s.workers_total)}`));
    if (s.reason) box.append(el("div", s.reason, "plan-reason"));
    field("plan-districts").replaceChildren(districtTable(body.districts));
    const curve = field("plan-curve");
    curve.replaceChildren();
    if (body.curve.length) curve.append(el("h3", "覆盖曲线 coverage curve"), curveSvg(body.curve));
    const list = field("plan-sites");
    list.replaceChildren();
    for (const f of body.sites.features) {
      const p = f.properties;
      const item = el("li");
      item.tabIndex = 0;
      item.append(el("strong", p.name), document.createTextNode(` · ${p.district || "—"} · ${p.layer}`));
      if (p.workers_newly_covered !== undefined) item.append(el("div", `+${fmt(p.workers_newly_covered)} 职工 workers`, "pl-reason"));
      const focus = () => {
        const layer = byId.get(p.id);
        if (!layer) return;
        map.setView(layer.getLatLng(), Math.max(map.getZoom(), 13));
        layer.openPopup();
      };
      item.addEventListener("click", focus);
      item.addEventListener("keydown", (e) => { if (e.key === "Enter") focus(); });
      list.append(item);
    }
    draw(body);
  }

  async function start() {
    const mine = ++run;
    const body = await runJob("plans", request(), {
      isCurrent: () => mine === run,
      onStatus: status,
      pollMs: POLL_MS,
    });
    if (mine !== run) return;
    if (body === null) {
      document.body.dataset.ready = "plan-error";
      return;
    }
    render(body);
    status("");
    document.body.dataset.ready = "plan";
  }

  field("plan-form").addEventListener("submit", (e) => { e.preventDefault(); start(); });
  field("plan-model").addEventListener("change", () => {
    field("plan-new").disabled = field("plan-model").value === "lscp";
  });

  return {
    show() {
      group.addTo(map);
      status("");
    },
    hide() {
      group.remove();
    },
  };
}

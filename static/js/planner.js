// Planner view: the medical and lunch gap layers of parks and buildings on a vector
// basemap (district outlines, no online tiles), with a legend and the ranking list.

import { api, getJson } from "./api.js";
import { createPlanView } from "./plan_view.js";
import { createRouteView } from "./route_view.js";

const COLORS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
const UNFLAGGED = "#8fbf9f";
const NOTES = {
  medical: "OpenStreetMap 收录的社区卫生服务中心不全，步行时间是上限。 OpenStreetMap under-records community health centres: walking times are upper bounds.",
  lunch: "OpenStreetMap 收录的餐饮网点和职工食堂不全，供给是下限。 OpenStreetMap under-records food outlets and canteens: supply is a lower bound.",
};

const state = { analysis: "medical", layer: null, byId: new Map(), request: 0 };
const map = L.map("pl-map", { preferCanvas: true }).setView([31.15, 121.45], 9);
map.attributionControl.setPrefix(false);
map.attributionControl.addAttribution("© OpenStreetMap contributors, ODbL 1.0");

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function status(text, isError = false) {
  const node = document.getElementById("pl-status");
  node.textContent = text;
  node.classList.toggle("error", isError);
}

function classOf(score, breaks) {
  let k = 0;
  while (k < breaks.length && score > breaks[k]) k += 1;
  return Math.min(k, COLORS.length - 1);
}

function quantileBreaks(values) {
  if (!values.length) return [];
  const sorted = [...values].sort((a, b) => a - b);
  return [0.2, 0.4, 0.6, 0.8].map((q) => sorted[Math.floor(q * (sorted.length - 1))]);
}

function params() {
  const num = (id) => document.getElementById(id).value;
  const common = { min_workers: num("in-min-workers") };
  return state.analysis === "medical"
    ? { ...common, max_minutes: num("in-max-minutes") }
    : { ...common, walk_minutes: num("in-walk-minutes"), min_supply_per_1000: num("in-min-supply") };
}

function metricText(p) {
  if (state.analysis === "medical") {
    return p.minutes_to_medical === null ? "—" : `${p.minutes_to_medical} 分钟/min`;
  }
  return `${p.outlets_reachable} 个网点/outlets · ${p.supply_per_1000_workers.toFixed(2)} /1000`;
}

function renderLegend(breaks) {
  const box = document.getElementById("pl-legend");
  box.replaceChildren(el("strong", "得分 / score (workers × gap)"));
  const labels = ["最低 lowest", "", "", "", "最高 highest"];
  COLORS.forEach((color, k) => {
    const sw = el("span", undefined, "sw");
    sw.style.background = color;
    box.append(sw, document.createTextNode(labels[k] || (breaks[k - 1] ? `>${Math.round(breaks[k - 1]).toLocaleString()}` : "")));
  });
  const sw = el("span", undefined, "sw");
  sw.style.background = UNFLAGGED;
  box.append(sw, document.createTextNode("未标记 not flagged"));
}

function renderSummary(summary) {
  const box = document.getElementById("pl-summary");
  box.replaceChildren();
  box.append(el("div", `被标记 flagged: ${summary.flagged.toLocaleString()} / ${summary.workplaces.toLocaleString()} · 职工 workers: ${summary.workers_flagged.toLocaleString()}`));
  if (summary.analysis === "lunch") {
    const target = summary.plan_target;
    box.append(el("div", `最差 ${summary.worst.length} 处共 ${summary.worst_workers_total.toLocaleString()} 名职工（目标 ${target.places} 处 / ${target.workers.toLocaleString()} 人） · the ${summary.worst.length} worst: ${summary.worst_workers_total.toLocaleString()} workers (target ${target.places} places, ${target.workers.toLocaleString()} workers)`));
  }
}

function renderList(features) {
  const list = document.getElementById("pl-list");
  list.replaceChildren();
  for (const f of features.filter((x) => x.properties.flagged).slice(0, 100)) {
    const p = f.properties;
    const item = el("li");
    item.tabIndex = 0;
    item.dataset.id = f.id;
    item.append(el("strong", `${p.name}`), document.createTextNode(` · ${p.district || "—"} · ${p.workers.toLocaleString()} 人 · ${metricText(p)}`));
    item.append(el("div", p.reason_zh, "pl-reason"));
    const focus = () => {
      const layer = state.byId.get(f.id);
      if (!layer) return;
      map.fitBounds(layer.getBounds ? layer.getBounds() : L.latLngBounds([layer.getLatLng()]), { maxZoom: 15 });
      layer.openPopup();
    };
    item.addEventListener("click", focus);
    item.addEventListener("keydown", (e) => { if (e.key === "Enter") focus(); });
    list.append(item);
  }
}

function popup(p) {
  const box = el("div");
  box.append(el("strong", `#${p.rank} ${p.name}`));
  box.append(el("div", `${p.district || "—"} · ${p.workers.toLocaleString()} 职工/workers · ${metricText(p)}`));
  box.append(el("div", p.reason_zh));
  box.append(el("div", p.reason_en, "pl-reason"));
  return box;
}

async function load() {
  const request = ++state.request;
  status("计算中… computing…");
  for (const label of document.querySelectorAll("#pl-form label[data-for]")) {
    label.hidden = label.dataset.for !== state.analysis;
  }
  document.getElementById("pl-note").textContent = NOTES[state.analysis];
  let body;
  try {
    body = await getJson(`gaps/${state.analysis}`, params());
  } catch (err) {
    if (request === state.request) status(err.message || String(err), true);
    return;
  }
  if (request !== state.request) return;
  const flaggedScores = body.features.filter((f) => f.properties.flagged).map((f) => f.properties.score);
  const breaks = quantileBreaks(flaggedScores);
  if (state.layer) state.layer.remove();
  state.byId.clear();
  state.layer = L.geoJSON(body, {
    style: (f) => f.properties.flagged
      ? { color: "#67000d", weight: 1, fillColor: COLORS[classOf(f.properties.score, breaks)], fillOpacity: 0.85 }
      : { color: UNFLAGGED, weight: 0.5, fillColor: UNFLAGGED, fillOpacity: 0.35 },
    onEachFeature: (f, layer) => { state.byId.set(f.id, layer); layer.bindPopup(() => popup(f.properties)); },
  }).addTo(map);
  renderLegend(breaks);
  renderSummary(body.summary);
  renderList(body.features);
  status("");
  document.body.dataset.ready = state.analysis;
}

async function basemap() {
  try {
    const districts = await api.districts();
    const base = L.geoJSON(districts, {
      style: { color: "#777", weight: 1, fillColor: "#f2efe9", fillOpacity: 1 },
      interactive: false,
    }).addTo(map);
    base.bringToBack();
    map.fitBounds(base.getBounds());
  } catch (err) {
    status(err.message || String(err), true);
  }
}

const planView = createPlanView(map, { status });
const routeView = createRouteView(map, { status });

for (const tab of document.querySelectorAll(".pl-tabs button")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll(".pl-tabs button")) {
      other.setAttribute("aria-selected", String(other === tab));
    }
    const mode = tab.dataset.analysis;
    const planning = mode === "plan" || mode === "route";
    document.getElementById("gap-panel").hidden = planning;
    document.getElementById("plan-panel").hidden = mode !== "plan";
    document.getElementById("route-panel").hidden = mode !== "route";
    if (planning) {
      state.request += 1; // a gap answer still on its way is dropped
      if (state.layer) state.layer.remove();
      (mode === "plan" ? routeView : planView).hide();
      (mode === "plan" ? planView : routeView).show();
      return;
    }
    planView.hide();
    routeView.hide();
    if (state.layer) state.layer.addTo(map);
    state.analysis = tab.dataset.analysis;
    load();
  });
}
document.getElementById("pl-form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
basemap().then(load);

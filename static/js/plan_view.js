// Site-planning tab of the planners' page: a form that starts a plan (POST /api/v1/plans),
// polls the job, and draws proposed sites, existing sites, newly covered workplaces, a
// per-district table and the coverage curve (inline SVG). Candidate host layers are
// checkboxes with the layers' names; the legend, popups, tables and list use the same
// labels; the map fits the result when it arrives and a chosen site when one is picked.
// All text goes through textContent, never innerHTML.

import { districtName, localized, pick, t } from "../i18n.js";
import { api, getJson, runJob } from "./api.js";
import { el, fmt, h, langText, popupBox } from "./dom.js";
import { legendItem, workersText, workplaceName } from "./gap_view.js";

const POLL_MS = 400;
const SVG_NS = "http://www.w3.org/2000/svg";
const DEFAULT_CANDIDATES = ["relay_station", "service_centre", "rest_room", "fitness_station"];
const PLANNED_LAYER = "health_point";
const COLORS = { new: "#c8102e", upgrade: "#f5a623", existing: "#999", covered: "#2b8cbe" };

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

/** Workers covered against the number of new sites, as an SVG element. */
export function curveSvg(curve, width = 340, height = 180) {
  const root = svg("svg", { width, height, role: "img", "aria-label": t("pl.curve.label"), class: "plan-curve-svg" });
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
  root.append(svg("text", { x: (left + width - right) / 2, y: height - 4, "text-anchor": "middle" }, t("pl.curve.x")));
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
    dot.append(svg("title", {}, feasible
      ? t("pl.curve.point", { n: p.n_new, workers: fmt(p.workers_covered), status: t(`pl.status.${p.status}`) })
      : t("pl.curve.none", { n: p.n_new })));
    root.append(dot);
  }
  return root;
}

function districtTable(rows) {
  const table = el("table", undefined, "plan-table");
  const head = el("tr");
  for (const key of ["pl.table.district", "pl.table.new", "pl.table.covered", "pl.table.share"]) {
    head.append(h("th", { scope: "col", text: t(key) }));
  }
  table.append(el("thead"));
  table.tHead.append(head);
  const body = el("tbody");
  for (const r of rows) {
    const tr = el("tr");
    tr.append(el("td", districtName(r.district) || "—"), el("td", r.new_sites), el("td", fmt(r.newly_covered)),
      el("td", r.share_after === null ? "—" : `${(100 * r.share_after).toFixed(1)}%`));
    body.append(tr);
  }
  table.append(body);
  return table;
}

export function createPlanView({ map, status, fitTo, popupFocus }) {
  const group = window.L.layerGroup();
  const byId = new Map();
  let run = 0;
  let body = null;
  let layers = [];
  const hostTypes = { key: null, rows: [] };
  const field = (id) => document.getElementById(id);
  const layerName = (id) => {
    const layer = layers.find((l) => l.id === id);
    return layer ? pick(layer, "name") : id;
  };

  /** The host types of the checked candidate layers as checkboxes (GET /plans/host-types). */
  async function renderHostTypes() {
    const box = field("plan-host-types");
    const previous = box.querySelector("input") ? new Map([...box.querySelectorAll("input")].map((i) => [i.value, i.checked])) : null;
    const candidates = [...field("plan-candidates").querySelectorAll("input:checked")].map((i) => i.value);
    const key = candidates.join(",");
    try {
      if (hostTypes.key !== key) {
        hostTypes.rows = (await getJson("plans/host-types", { layer: PLANNED_LAYER, candidates: key })).host_types;
        hostTypes.key = key;
      }
    } catch (err) {
      status(t("job.failed", { message: err.message || String(err) }), true);
      return;
    }
    const legend = box.querySelector("legend");
    box.replaceChildren(legend);
    for (const row of hostTypes.rows) {
      const input = h("input", { type: "checkbox", value: row.id, id: `host-${row.id}` });
      input.checked = previous && previous.has(row.id) ? previous.get(row.id) : row.default_allowed;
      box.append(h("label", { class: "pl-check", for: `host-${row.id}` }, input, " ", `${pick(row, "name")} (${fmt(row.count)})`));
    }
  }

  /** The candidate host layers as checkboxes with the layers' names (from /layers). */
  async function renderCandidates() {
    if (!layers.length) {
      try {
        layers = (await api.layers()).layers;
      } catch (err) {
        status(t("job.failed", { message: err.message || String(err) }), true);
        return;
      }
    }
    const box = field("plan-candidates");
    const checked = new Set(
      box.querySelector("input") ? [...box.querySelectorAll("input:checked")].map((i) => i.value) : DEFAULT_CANDIDATES,
    );
    const legend = box.querySelector("legend");
    box.replaceChildren(legend);
    for (const layer of layers.filter((l) => l.kind === "registry" && l.id !== PLANNED_LAYER)) {
      const input = h("input", { type: "checkbox", value: layer.id, id: `cand-${layer.id}` });
      input.checked = checked.has(layer.id);
      input.addEventListener("change", () => renderHostTypes());
      box.append(h("label", { class: "pl-check", for: `cand-${layer.id}` }, input, " ", pick(layer, "name")));
    }
    await renderHostTypes();
  }

  function renderLegend() {
    field("plan-legend").replaceChildren(
      legendItem(COLORS.new, t("pl.role.new"), { dot: true }),
      legendItem(COLORS.upgrade, t("pl.role.upgrade"), { dot: true }),
      legendItem(COLORS.existing, t("pl.role.existing"), { dot: true }),
      legendItem(COLORS.covered, t("pl.role.covered"), { dot: true }),
    );
  }

  function request() {
    const num = (id) => Number(field(id).value);
    const model = field("plan-model").value;
    const candidates = [...field("plan-candidates").querySelectorAll("input:checked")].map((i) => i.value);
    const hostBox = field("plan-host-types");
    const hosts = hostBox.querySelector("input") ? { host_types: [...hostBox.querySelectorAll("input:checked")].map((i) => i.value) } : {};
    return {
      model,
      candidates,
      ...hosts,
      include_demo: field("plan-include-demo").checked,
      n_new: model === "lscp" ? null : num("plan-new"),
      max_minutes: num("plan-minutes"),
      district_min: num("plan-district-min"),
      curve: field("plan-curve-points").value,
      time_limit_s: 60,
    };
  }

  function siteLine(p) {
    return [langText(localized(p.name, p.name_en || null)), ` · ${districtName(p.district) || "—"} · ${layerName(p.layer)}`];
  }

  function draw() {
    group.clearLayers();
    byId.clear();
    const L = window.L;
    const maxW = Math.max(1, ...body.workplaces.features.map((f) => f.properties.workers));
    L.geoJSON(body.workplaces, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 3 + 9 * Math.sqrt(f.properties.workers / maxW), color: COLORS.covered, weight: 1, fillOpacity: 0.45 }),
      onEachFeature: (f, layer) => {
        const p = f.properties;
        layer.bindPopup(() => popupBox([langText(workplaceName(p)),
          `${t("pl.role.covered")} · ${districtName(p.district) || "—"} · ${workersText(p)}`,
          t(p.method === "network" ? "pl.walk.network" : "pl.walk.estimated", { n: fmt(p.minutes) })]));
      },
    }).addTo(group);
    L.geoJSON(body.existing, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 4, color: "#555", weight: 1, fillColor: COLORS.existing, fillOpacity: 0.9 }),
      onEachFeature: (f, layer) => layer.bindPopup(() => popupBox([langText(localized(f.properties.name, f.properties.name_en || null)),
        `${t("pl.role.existing")} · ${layerName(f.properties.layer)} · ${districtName(f.properties.district) || "—"}`])),
    }).addTo(group);
    L.geoJSON(body.sites, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 8, color: "#7a0010", weight: 2, fillColor: f.properties.role === "upgrade" ? COLORS.upgrade : COLORS.new, fillOpacity: 1 }),
      onEachFeature: (f, layer) => {
        byId.set(f.properties.id, layer);
        const p = f.properties;
        layer.bindPopup(() => popupBox([langText(localized(p.name, p.name_en || null)),
          `${t(p.role === "upgrade" ? "pl.role.upgrade" : "pl.role.new")} · ${layerName(p.layer)} · ${districtName(p.district) || "—"}`,
          p.workers_newly_covered === undefined ? "" : t("pl.site.covered", { n: fmt(p.workers_newly_covered) })]));
      },
    }).addTo(group);
  }

  /** Bounds of the proposed sites and the workplaces they newly cover (or one site's). */
  function resultBounds(siteId = null) {
    const L = window.L;
    const points = [];
    for (const f of body.sites.features) {
      if (siteId === null || f.properties.id === siteId) points.push(f.geometry.coordinates);
    }
    for (const f of body.workplaces.features) {
      if (siteId === null || f.properties.site_id === siteId) points.push(f.geometry.coordinates);
    }
    return points.length ? L.latLngBounds(points.map(([x, y]) => [y, x])) : null;
  }

  function render() {
    const s = body.summary;
    const box = field("plan-summary");
    const gap = s.status === "feasible" && s.gap !== null ? t("pl.summary.gap", { pct: (100 * s.gap).toFixed(2) }) : "";
    box.replaceChildren(
      el("div", `${t(`pl.status.${s.status}`)}${gap} · ${t("pl.summary.seconds", { s: s.seconds.toFixed(2) })}`, `plan-status-${s.status}`),
      el("div", t("pl.summary.objective", { value: fmt(s.objective), unit: t(`pl.unit.${s.model}`, { n: fmt(s.max_minutes) }) })),
      el("div", t("pl.summary.newly", { workers: fmt(s.workers_newly_covered), places: fmt(s.workplaces_newly_covered) })),
      el("div", t("pl.summary.covered", { before: fmt(s.workers_covered_before), after: fmt(s.workers_covered_after), total: fmt(s.workers_total) })),
    );
    const leftOut = Object.entries(s.candidates_left_out_by_host_type || {});
    if (leftOut.length) {
      const name = (id) => {
        const row = hostTypes.rows.find((r) => r.id === id);
        return row ? pick(row, "name") : id;
      };
      box.append(el("div", t("pl.summary.hostsLeftOut", { list: leftOut.map(([id, n]) => `${name(id)} ${fmt(n)}`).join(t("pl.listSep")) })));
    }
    if (s.existing_demo_left_out) box.append(el("div", t("pl.summary.demoLeftOut", { n: fmt(s.existing_demo_left_out) })));
    if (s.reason) box.append(h("div", { class: "plan-reason", lang: "en", text: s.reason }));
    field("plan-districts").replaceChildren(districtTable(body.districts));
    const curve = field("plan-curve");
    curve.replaceChildren();
    if (body.curve.length) curve.append(el("h2", t("pl.curve.title")), curveSvg(body.curve));
    const list = field("plan-sites");
    list.replaceChildren();
    for (const f of body.sites.features) {
      const p = f.properties;
      const button = h("button", { type: "button", class: "pl-item", dataset: { id: p.id } }, h("strong", {}, siteLine(p)[0]), siteLine(p)[1]);
      if (p.workers_newly_covered !== undefined) {
        button.append(h("span", { class: "pl-reason", text: t("pl.site.covered", { n: fmt(p.workers_newly_covered) }) }));
      }
      button.addEventListener("click", () => {
        const layer = byId.get(p.id);
        if (!layer) return;
        fitTo(resultBounds(p.id), { maxZoom: 15 });
        popupFocus.openedBy(button);
        layer.openPopup();
      });
      list.append(h("li", {}, button));
    }
    draw();
  }

  async function start() {
    const mine = ++run;
    const answer = await runJob("plans", request(), {
      isCurrent: () => mine === run,
      onStatus: status,
      pollMs: POLL_MS,
    });
    if (mine !== run) return;
    if (answer === null) {
      document.body.dataset.ready = "plan-error";
      return;
    }
    body = answer;
    render();
    fitTo(resultBounds(), { maxZoom: 14 }); // the map shows what was just computed
    status("");
    document.body.dataset.ready = "plan";
  }

  field("plan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    start();
  });
  field("plan-model").addEventListener("change", () => {
    field("plan-new").disabled = field("plan-model").value === "lscp";
  });
  renderLegend();

  return {
    /** The last finished plan (the job's answer) or null. */
    get result() {
      return body;
    },
    show() {
      group.addTo(map);
      status("");
      renderCandidates();
      if (body) fitTo(resultBounds(), { maxZoom: 14 });
    },
    hide() {
      group.remove();
    },
    relabel() {
      renderLegend();
      if (layers.length) renderCandidates();
      if (body) {
        map.closePopup();
        render();
      }
    },
  };
}

// The medical and lunch gap tabs of the planners' page: workplaces (parks and buildings)
// coloured by gap score, a legend whose swatches stay beside their labels, the summary and
// the ranking. The ranking's reasons are worded here from the answer's numbers in the page's
// language (facility names in their own lang span); choosing an entry fits the map to it.

import { districtName, localized, pick, t, tParts } from "../i18n.js";
import { api, getJson } from "./api.js";
import { el, fmt, h, langText } from "./dom.js";

const COLORS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
const UNFLAGGED = "#8fbf9f";
const LIST_MAX = 100;

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

/** A compact number for legends ("1,257万" / "12.6M"). */
function compact(n) {
  return new Intl.NumberFormat(document.documentElement.lang, { notation: "compact", maximumFractionDigits: 1 }).format(n);
}

/** A swatch and its label kept together (they never wrap apart). */
export function legendItem(color, text, { dot = false } = {}) {
  const swatch = h("span", { class: dot ? "sw dot" : "sw", "aria-hidden": "true" });
  swatch.style.background = color;
  return h("span", { class: "lg-item" }, swatch, h("span", { text }));
}

/**
 * A workplace's name in the page's language: OSM names are Chinese (marked so on the English
 * page); the build's generic "未命名…" names are translated by kind and category.
 */
export function workplaceName(p) {
  const name = p.name || "";
  if (!name || name.startsWith("未命名")) {
    const key = `pl.unnamed.${p.kind || "workplace"}.${p.category || "other"}`;
    const text = t(key);
    return { text: text === key ? t("pl.unnamed") : text, lang: null };
  }
  return localized(name, p.name_en || null);
}

const BASIS_KEYS = {
  footprints: "pl.basis.footprints",
  "site density cap": "pl.basis.site",
  "floor-area cap": "pl.basis.floor",
  "floor-area share": "pl.basis.share",
};

/**
 * A workplace's workers as shown: a registry count as is, an estimate as "≈ N (estimate:
 * basis)". Answers without a basis (plain weights) show the bare number.
 */
export function workersText(p) {
  const n = fmt(p.workers);
  if (p.workers_basis === "registry") return t("pl.gap.workersRegistry", { n });
  const key = BASIS_KEYS[p.workers_basis];
  return key ? t("pl.gap.workersEst", { n, basis: t(key) }) : t("pl.gap.workers", { n });
}

export function createGapView({ map, status, fitTo, popupFocus }) {
  const state = { analysis: "medical", layer: null, byId: new Map(), request: 0, body: null, layers: [] };
  const $ = (id) => document.getElementById(id);

  function params() {
    const num = (id) => $(id).value;
    const common = { min_workers: num("in-min-workers") };
    return state.analysis === "medical"
      ? { ...common, max_minutes: num("in-max-minutes"), include_demo: $("in-include-demo").checked }
      : { ...common, walk_minutes: num("in-walk-minutes"), min_supply_per_1000: num("in-min-supply") };
  }

  function metricText(p) {
    if (state.analysis === "medical") {
      return p.minutes_to_medical === null ? t("pl.gap.noMedical") : t("pl.gap.minutes", { n: fmt(Math.round(p.minutes_to_medical)) });
    }
    return t("pl.gap.outlets", { n: fmt(p.outlets_reachable), per: p.supply_per_1000_workers.toFixed(2) });
  }

  /** Why a workplace is flagged, in the page's language, from the answer's numbers. */
  function reason(p) {
    const summary = state.body?.summary || {};
    const workers = fmt(p.workers);
    if (state.analysis === "medical" && p.minutes_to_medical !== null && p.nearest_medical) {
      const nearest = langText(localized(p.nearest_medical.name, p.nearest_medical.name_en || null));
      return tParts("pl.reason.medical", {
        name: nearest,
        minutes: fmt(Math.round(p.minutes_to_medical)),
        max: fmt(summary.max_minutes),
        workers,
      });
    }
    if (state.analysis === "lunch" && Number.isFinite(p.outlets_reachable)) {
      const key = p.outlets_reachable === 0 ? "pl.reason.lunch.none" : "pl.reason.lunch.few";
      return tParts(key, {
        minutes: fmt(summary.walk_minutes),
        n: fmt(p.outlets_reachable),
        per: p.supply_per_1000_workers.toFixed(2),
        min: fmt(summary.min_supply_per_1000_workers),
        workers,
      });
    }
    const text = document.documentElement.lang === "en" ? p.reason_en : p.reason_zh;
    return [text || ""];
  }

  function renderLegend(breaks) {
    const box = $("pl-legend");
    const labels = COLORS.map((_, k) => {
      if (!breaks.length) return "";
      if (k === 0) return t("pl.legend.upTo", { v: compact(breaks[0]) });
      if (k === COLORS.length - 1) return t("pl.legend.above", { v: compact(breaks[breaks.length - 1]) });
      return t("pl.legend.between", { a: compact(breaks[k - 1]), b: compact(breaks[k]) });
    });
    box.replaceChildren(
      el("strong", t(`pl.legend.${state.analysis}`), "lg-title"),
      ...COLORS.map((color, k) => legendItem(color, labels[k])),
      legendItem(UNFLAGGED, t("pl.legend.unflagged")),
    );
  }

  function renderSummary(summary) {
    const box = $("pl-summary");
    box.replaceChildren(
      el("div", t("pl.gap.flagged", {
        flagged: fmt(summary.flagged),
        total: fmt(summary.workplaces),
        workers: fmt(summary.workers_flagged),
      })),
    );
    const supply = summary.supply;
    if (summary.analysis === "medical" && supply) {
      const layerName = (id) => {
        const layer = state.layers.find((l) => l.id === id);
        return layer ? pick(layer, "name") : id;
      };
      const left = supply.layers.filter((s) => s.demo_left_out > 0);
      box.append(el("div", left.length
        ? t("pl.gap.demoLeftOut", { list: left.map((s) => t("pl.gap.demoLayer", { layer: layerName(s.layer), n: fmt(s.demo_left_out) })).join(t("pl.listSep")) })
        : t(supply.include_demo ? "pl.gap.demoCounted" : "pl.gap.noDemo"), "pl-supply"));
    }
    if (summary.analysis === "lunch") {
      const target = summary.plan_target;
      box.append(el("div", t("pl.gap.lunchTarget", {
        n: summary.worst.length,
        workers: fmt(summary.worst_workers_total),
        places: fmt(target.places),
        target: fmt(target.workers),
      })));
    }
  }

  function focusFeature(id, opener) {
    const layer = state.byId.get(id);
    if (!layer) return;
    fitTo(layer.getBounds ? layer.getBounds() : window.L.latLngBounds([layer.getLatLng()]), { maxZoom: 15 });
    popupFocus.openedBy(opener);
    layer.openPopup();
  }

  function renderList(features) {
    const list = $("pl-list");
    list.replaceChildren();
    for (const f of features.filter((x) => x.properties.flagged).slice(0, LIST_MAX)) {
      const p = f.properties;
      const button = h(
        "button",
        { type: "button", class: "pl-item", dataset: { id: f.id } },
        h("strong", {}, langText(workplaceName(p))),
        ` · ${districtName(p.district) || "—"} · ${workersText(p)} · ${metricText(p)}`,
        h("span", { class: "pl-reason" }, reason(p)),
      );
      button.addEventListener("click", () => focusFeature(f.id, button));
      list.append(h("li", { dataset: { id: f.id } }, button));
    }
  }

  function popup(p) {
    return h(
      "div",
      { class: "pl-popup" },
      h("strong", {}, `#${p.rank} `, langText(workplaceName(p))),
      h("div", { text: `${districtName(p.district) || "—"} · ${workersText(p)} · ${metricText(p)}` }),
      h("div", {}, reason(p)),
    );
  }

  function draw(body) {
    const flaggedScores = body.features.filter((f) => f.properties.flagged).map((f) => f.properties.score);
    const breaks = quantileBreaks(flaggedScores);
    if (state.layer) state.layer.remove();
    state.byId.clear();
    state.layer = window.L.geoJSON(body, {
      style: (f) =>
        f.properties.flagged
          ? { color: "#67000d", weight: 1, fillColor: COLORS[classOf(f.properties.score, breaks)], fillOpacity: 0.85 }
          : { color: UNFLAGGED, weight: 0.5, fillColor: UNFLAGGED, fillOpacity: 0.35 },
      onEachFeature: (f, layer) => {
        state.byId.set(f.id, layer);
        layer.bindPopup(() => popup(f.properties));
      },
    }).addTo(map);
    renderLegend(breaks);
    renderSummary(body.summary);
    renderList(body.features);
    $("pl-note").textContent = t(`pl.note.${state.analysis}`);
  }

  async function load() {
    const request = ++state.request;
    status(t("pl.computing"));
    for (const field of document.querySelectorAll("#pl-form label[data-for]")) {
      field.hidden = field.dataset.for !== state.analysis;
    }
    let body;
    try {
      if (!state.layers.length) state.layers = (await api.layers()).layers;
      body = await getJson(`gaps/${state.analysis}`, params());
    } catch (err) {
      if (request === state.request) status(t("job.failed", { message: err.message || String(err) }), true);
      return;
    }
    if (request !== state.request) return;
    state.body = body;
    draw(body);
    status("");
    document.body.dataset.ready = state.analysis;
  }

  $("pl-form").addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });

  return {
    show(analysis) {
      state.analysis = analysis;
      load();
    },
    hide() {
      state.request += 1; // an answer still on its way is dropped
      if (state.layer) state.layer.remove();
      state.layer = null;
    },
    relabel() {
      if (state.body && state.layer) {
        map.closePopup();
        draw(state.body);
      }
    },
  };
}

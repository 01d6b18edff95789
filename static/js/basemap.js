// The basemaps: the online tile sources the server is configured with (OpenStreetMap,
// Tianditu, Amap, Tencent) and the offline vector basemap built from the shipped OSM data.
//
// At start-up one tile of every configured online source is probed from a worker (with a
// timeout); the first reachable source in the configured order is shown, else the offline
// basemap. Should an online layer later fail to load its first tiles (intranet, proxy), the
// map switches to the offline basemap on its own.
//
// The offline basemap is data/map/basemap.pmtiles, served tile by tile by the API
// (/api/v1/basemap/tiles/{z}/{x}/{y}.mvt) and drawn on canvas with labels by the vendored
// protomaps-leaflet plug-in (loaded on first use), styled in basemap_style.js.
//
// GCJ-02 sources (Amap, Tencent) switch the map to the CRS of gcj02_crs.js, which converts
// WGS84 ↔ GCJ-02 inside the projection: every layer's positions and every click stay WGS84.
// Switching keeps the view centred on the same real place.

import { getLang, onLangChange, t } from "../i18n.js";
import { apiUrl, getJson } from "./api.js";
import { labelRules, paintRules, COLORS } from "./basemap_style.js";
import { crsFor } from "./gcj02_crs.js";

export const OSM_ATTRIBUTION =
  '© <a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener">OpenStreetMap</a> contributors (ODbL)';

const PROBE_TIMEOUT_MS = 4000;
const PROBE_TILE = { z: 10, x: 857, y: 418 }; // People's Square, Shanghai
const TILE_FAILURES_BEFORE_FALLBACK = 4;
const PLUGIN_URL = new URL("../vendor/protomaps-leaflet/protomaps-leaflet.js", import.meta.url);
const OFFLINE = "offline";

/** Fill a Leaflet tile URL template for the probe tile ({s}, {z}/{x}/{y}, {-y}, options). */
function probeUrl(template, options = {}) {
  const values = {
    ...options,
    s: (options.subdomains || "a")[0],
    z: PROBE_TILE.z,
    x: PROBE_TILE.x,
    y: PROBE_TILE.y,
    "-y": (1 << PROBE_TILE.z) - 1 - PROBE_TILE.y,
    r: "",
  };
  return template.replace(/\{ *([\w-]+) *\}/g, (match, key) =>
    Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match,
  );
}

/**
 * Resolve true when the tile server answers a request for one tile within the timeout.
 *
 * The request runs in a worker (tile_probe_worker.js) so that the expected failure on an
 * intranet does not show as an error in the page's console; where workers are not
 * available an image request does the same.
 */
export function probeTiles(template, timeoutMs = PROBE_TIMEOUT_MS, options = {}) {
  return new Promise((resolve) => {
    if (!template) {
      resolve(false);
      return;
    }
    const url = probeUrl(template, options);
    let worker = null;
    let img = null;
    const timer = window.setTimeout(() => finish(false), timeoutMs);
    function finish(ok) {
      window.clearTimeout(timer);
      if (worker) worker.terminate();
      if (img) {
        img.onload = null;
        img.onerror = null;
        if (!ok) img.src = "";
      }
      resolve(ok);
    }
    try {
      worker = new Worker(new URL("./tile_probe_worker.js", import.meta.url));
      worker.onmessage = (event) => finish(event.data === true);
      worker.onerror = () => finish(false);
      worker.postMessage(url);
    } catch {
      worker = null;
      img = new Image();
      img.onload = () => finish(img.naturalWidth > 0);
      img.onerror = () => finish(false);
      img.referrerPolicy = "no-referrer";
      img.src = url;
    }
  });
}

let pluginLoading = null;
/** Load the vendored protomaps-leaflet bundle once (it defines window.protomapsL). */
export function loadVectorPlugin() {
  if (window.protomapsL) return Promise.resolve(window.protomapsL);
  if (!pluginLoading) {
    pluginLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = PLUGIN_URL.href;
      script.async = true;
      script.onload = () => resolve(window.protomapsL);
      script.onerror = () => {
        pluginLoading = null;
        reject(new Error("the vector map plug-in could not be loaded"));
      };
      document.head.append(script);
    });
  }
  return pluginLoading;
}

/** The source list when the server has no /basemap/sources (older API) or a page override. */
function fallbackConfig() {
  return {
    sources: [
      {
        id: "osm",
        crs: "wgs84",
        label: { zh: t("basemap.online"), en: t("basemap.online") },
        attribution: "",
        layers: [{ url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png", maxNativeZoom: 19 }],
      },
    ],
    offline: { url: "basemap/tiles/{z}/{x}/{y}.mvt", maxDataZoom: 14 },
  };
}

/**
 * The page's basemap configuration: the server's (/api/v1/basemap/sources), unless
 * <meta name="servicemap-tiles"> overrides the online tiles (content="" disables them).
 */
async function loadConfig() {
  let config;
  try {
    config = await getJson("basemap/sources");
  } catch {
    config = fallbackConfig();
  }
  const meta = document.querySelector('meta[name="servicemap-tiles"]');
  if (meta) {
    const template = meta.content.trim();
    config.sources = template
      ? [{ ...fallbackConfig().sources[0], id: "custom", layers: [{ url: template, maxNativeZoom: 19 }] }]
      : [];
  }
  return config;
}

export class Basemap {
  /**
   * @param {L.Map} map any Leaflet map
   * @param {{onChange?: (mode: string, reason?: string) => void, districtLabels?: boolean}}
   *   options  districtLabels: draw district names in the offline basemap (a page that
   *   labels districts itself turns them off)
   */
  constructor(map, { onChange = () => {}, districtLabels = true } = {}) {
    this.map = map;
    this.onChange = onChange;
    this.districtLabels = districtLabels;
    this.mode = null; // "online" | "offline"
    this.source = null; // id of the shown source ("offline" or an online source id)
    this.config = null;
    this.reachable = new Map(); // source id -> probe result
    this.onlineLayers = new Map(); // source id -> L.LayerGroup
    this.offline = null;
    this.offlineReady = null;
    if (!map.getPane("basemapPane")) {
      map.createPane("basemapPane");
      map.getPane("basemapPane").style.zIndex = 150;
    }
    this._unsubscribeLang = onLangChange((lang) => this._relabel(lang));
  }

  /** The configured online sources ({id, label, crs}), in probe order. */
  get sources() {
    return (this.config?.sources || []).map((s) => ({ id: s.id, label: s.label, crs: s.crs }));
  }

  get onlineAvailable() {
    return this.sources.length > 0;
  }

  /** The radio choices for a layer panel: every online source, then the offline basemap. */
  choices() {
    const lang = getLang();
    return [
      ...this.sources.map((s) => ({ value: s.id, label: s.label?.[lang] || s.id })),
      { value: OFFLINE, label: t("basemap.offline") },
    ];
  }

  /**
   * Choose the start-up basemap: ?basemap=offline|online|<source id>, else probe the
   * configured sources and show the first reachable one.
   */
  async init() {
    this.config = await loadConfig();
    const requested = new URLSearchParams(window.location.search).get("basemap");
    if (requested === OFFLINE || !this.onlineAvailable) {
      await this.set(OFFLINE);
      return this.mode;
    }
    if (requested === "online" || this._spec(requested)) {
      await this.set(requested);
      return this.mode;
    }
    const results = await Promise.all(this.config.sources.map((spec) => this._probe(spec)));
    const first = this.config.sources.find((spec, i) => results[i]);
    await this.set(first ? first.id : OFFLINE, first ? null : t("basemap.fallback"));
    return this.mode;
  }

  _spec(id) {
    return (this.config?.sources || []).find((spec) => spec.id === id) || null;
  }

  async _probe(spec) {
    const layer = spec.layers[0];
    const options = { ...layer.options, ...(layer.langOptions?.[getLang()] || {}), subdomains: layer.subdomains };
    const ok = await probeTiles(layer.url, PROBE_TIMEOUT_MS, options);
    this.reachable.set(spec.id, ok);
    return ok;
  }

  /**
   * Show a basemap: "offline", "online" (the first reachable, else the first configured
   * online source) or an online source id.
   */
  async set(choice, reason = null) {
    let id = choice;
    if (choice === "online") {
      const sources = this.config?.sources || [];
      id = (sources.find((s) => this.reachable.get(s.id)) || sources[0])?.id || OFFLINE;
    }
    if (id !== OFFLINE && !this._spec(id)) {
      if (choice === "online" || !this.config) id = OFFLINE;
      else throw new Error(`unknown basemap ${choice}`);
    }
    if (id === this.source) return;
    const spec = this._spec(id);
    this._showOnly(null);
    this._setCrs(spec ? spec.crs : "wgs84");
    this.source = id;
    this.mode = id === OFFLINE ? OFFLINE : "online";
    this.map.getContainer().classList.toggle("basemap-offline", id === OFFLINE);
    this.map.getContainer().dataset.basemap = id;
    if (spec) {
      this._onlineLayer(spec).addTo(this.map);
    } else {
      const layer = await this._offlineLayer();
      if (this.source === OFFLINE && layer) layer.addTo(this.map);
    }
    this.onChange(this.mode, reason);
  }

  /** Remove every basemap layer except `keep`. */
  _showOnly(keep) {
    for (const layer of [...this.onlineLayers.values(), this.offline]) {
      if (layer && layer !== keep) layer.remove();
    }
  }

  /** Put the map in the CRS of a source, keeping the same real place in the centre. */
  _setCrs(system) {
    const crs = crsFor(system);
    if (this.map.options.crs === crs) return;
    if (!this.map._loaded) {
      this.map.options.crs = crs; // no view yet: nothing to keep in place
      return;
    }
    const center = this.map.getCenter();
    const zoom = this.map.getZoom();
    this.map.options.crs = crs;
    this.map.setView(center, zoom, { reset: true });
  }

  _onlineLayer(spec) {
    if (this.onlineLayers.has(spec.id)) return this.onlineLayers.get(spec.id);
    const L = window.L;
    const group = L.layerGroup();
    const lang = getLang();
    spec.layers.forEach((layerSpec, index) => {
      const tiles = L.tileLayer(layerSpec.url, {
        maxZoom: 19,
        maxNativeZoom: layerSpec.maxNativeZoom || 18,
        subdomains: layerSpec.subdomains || "abc",
        pane: "basemapPane",
        crossOrigin: false,
        referrerPolicy: "no-referrer",
        attribution: index === 0 ? spec.attribution || "" : "",
        ...layerSpec.options,
        ...(layerSpec.langOptions?.[lang] || {}),
      });
      tiles.langOptions = layerSpec.langOptions || {};
      if (index === 0) this._watchFailures(tiles, spec.id);
      group.addLayer(tiles);
    });
    this.onlineLayers.set(spec.id, group);
    return group;
  }

  /** Fall back to the offline basemap when a source fails its first tiles. */
  _watchFailures(tiles, id) {
    let failures = 0;
    let loads = 0;
    tiles.on("tileload", () => {
      loads += 1;
    });
    tiles.on("tileerror", () => {
      failures += 1;
      if (loads === 0 && failures >= TILE_FAILURES_BEFORE_FALLBACK && this.source === id) {
        this.reachable.set(id, false);
        this.set(OFFLINE, t("basemap.fallback"));
      }
    });
  }

  async _offlineLayer() {
    if (!this.offlineReady) {
      this.offlineReady = this._buildOffline().catch((err) => {
        this.offlineReady = null;
        console.warn("offline basemap unavailable:", err.message);
        return null;
      });
    }
    return this.offlineReady;
  }

  async _buildOffline() {
    const P = await loadVectorPlugin();
    const offline = this.config?.offline;
    if (!offline) throw new Error("the server has no offline basemap");
    // Tile URL relative to the API base ({z}/{x}/{y} must not be URL-encoded).
    const url = apiUrl("basemap/tiles/").href + "{z}/{x}/{y}.mvt";
    this.offline = P.leafletLayer({
      url,
      maxDataZoom: offline.maxDataZoom,
      pane: "basemapPane",
      attribution: "", // the page shows the OSM attribution with every basemap
      backgroundColor: COLORS.land,
      paintRules: paintRules(P),
      labelRules: labelRules(P, getLang(), { districtLabels: this.districtLabels }),
      maxZoom: 20,
    });
    return this.offline;
  }

  /** Re-label after a language switch (vector labels and language-dependent tiles). */
  _relabel(lang) {
    if (this.offline && window.protomapsL) {
      this.offline.labelRules = labelRules(window.protomapsL, lang, {
        districtLabels: this.districtLabels,
      });
      this.offline.clearLayout();
      if (this.map.hasLayer(this.offline)) this.offline.rerenderTiles();
    }
    for (const group of this.onlineLayers.values()) {
      group.eachLayer((tiles) => {
        const options = tiles.langOptions?.[lang];
        if (options) {
          window.L.setOptions(tiles, options);
          if (this.map.hasLayer(tiles)) tiles.redraw();
        }
      });
    }
  }

  /**
   * The labels the offline basemap has placed in the current view at the current zoom:
   * [{text, x, y}] with x, y in container pixels. Empty for an online basemap.
   */
  renderedLabels() {
    if (this.source !== OFFLINE || !this.offline?.labelers) return [];
    const zoom = Math.round(this.map.getZoom());
    const index = this.offline.labelers.getIndex(zoom);
    if (!index) return [];
    const view = this.map.getPixelBounds();
    const seen = new Set();
    const labels = [];
    for (const entry of index.tree.all()) {
      const label = entry.indexedLabel;
      if (seen.has(label) || !label.deduplicationKey) continue;
      seen.add(label);
      const { x, y } = label.anchor;
      if (x < view.min.x || x > view.max.x || y < view.min.y || y > view.max.y) continue;
      labels.push({ text: label.deduplicationKey, x: x - view.min.x, y: y - view.min.y });
    }
    return labels;
  }

  /** Stop following language switches (a map that is removed). */
  destroy() {
    this._unsubscribeLang();
  }
}

/**
 * Build the basemap of any Leaflet map (the planner, an embedding page): probes the
 * configured online sources and falls back to the offline vector basemap.
 *
 * @returns {Promise<Basemap>}
 */
export async function createBasemap(map, options = {}) {
  const basemap = new Basemap(map, options);
  await basemap.init();
  return basemap;
}

// The two basemaps: online OpenStreetMap raster tiles, and an offline vector basemap drawn
// from the shipped layers (district land, major roads) for intranets without internet.
//
// At start-up one tile is probed from a worker (with a timeout); if it fails the offline
// basemap becomes the default. Should the online layer later fail to load any tile
// (intranet, proxy), the map switches to the offline basemap on its own.

import { t } from "../i18n.js";
import { api } from "./api.js";

export const OSM_ATTRIBUTION =
  '© <a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener">OpenStreetMap</a> contributors (ODbL)';

const DEFAULT_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
const PROBE_TIMEOUT_MS = 4000;
const PROBE_TILE = { z: 10, x: 857, y: 418 }; // People's Square, Shanghai
const TILE_FAILURES_BEFORE_FALLBACK = 4;

const ROAD_STYLE = {
  motorway: { color: "#e892a2", weight: 3.0, minZoom: 0 },
  trunk: { color: "#f9b29c", weight: 2.6, minZoom: 0 },
  primary: { color: "#fcd6a4", weight: 2.2, minZoom: 9 },
  secondary: { color: "#f7fabf", weight: 1.6, minZoom: 11 },
  tertiary: { color: "#ffffff", weight: 1.2, minZoom: 12 },
};
const ROAD_CASING = "#b9a99a";

/** The tile URL template: <meta name="servicemap-tiles"> (empty disables online tiles). */
function tileTemplate() {
  const meta = document.querySelector('meta[name="servicemap-tiles"]');
  if (meta) return meta.content.trim() || null;
  return DEFAULT_TILES;
}

function probeUrl(template) {
  return template
    .replace("{s}", "a")
    .replace("{z}", PROBE_TILE.z)
    .replace("{x}", PROBE_TILE.x)
    .replace("{y}", PROBE_TILE.y)
    .replace("{r}", "");
}

/**
 * Resolve true when the tile server answers a request for one tile within the timeout.
 *
 * The request runs in a worker (tile_probe_worker.js) so that the expected failure on an
 * intranet does not show as an error in the page's console; where workers are not
 * available an image request does the same.
 */
export function probeTiles(template, timeoutMs = PROBE_TIMEOUT_MS) {
  return new Promise((resolve) => {
    if (!template) {
      resolve(false);
      return;
    }
    const url = probeUrl(template);
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

function roadClass(highway) {
  return String(highway || "").replace(/_link$/, "");
}

export class Basemap {
  /**
   * @param {L.Map} map
   * @param {{onChange?: (mode: string, reason?: string) => void}} options
   */
  constructor(map, { onChange = () => {} } = {}) {
    this.map = map;
    this.onChange = onChange;
    this.mode = null;
    this.template = tileTemplate();
    this.online = null;
    this.offline = null;
    this.offlineReady = null;
    map.createPane("basemapPane");
    map.getPane("basemapPane").style.zIndex = 150;
    this.renderer = window.L.canvas({ pane: "basemapPane", padding: 0.3 });
  }

  /** Choose the start-up basemap: ?basemap=online|offline, else probe the tiles. */
  async init() {
    const requested = new URLSearchParams(window.location.search).get("basemap");
    if (requested === "offline" || !this.template) {
      await this.set("offline");
      return this.mode;
    }
    if (requested === "online") {
      await this.set("online");
      return this.mode;
    }
    const reachable = await probeTiles(this.template);
    await this.set(reachable ? "online" : "offline", reachable ? null : t("basemap.fallback"));
    return this.mode;
  }

  get onlineAvailable() {
    return Boolean(this.template);
  }

  /** Switch to "online" or "offline". */
  async set(mode, reason = null) {
    if (mode !== "online" && mode !== "offline") throw new Error(`unknown basemap ${mode}`);
    if (mode === "online" && !this.template) mode = "offline";
    if (mode === this.mode) return;
    this.mode = mode;
    if (mode === "online") {
      if (this.offline) this.offline.remove();
      this.map.getContainer().classList.remove("basemap-offline");
      this._onlineLayer().addTo(this.map);
    } else {
      if (this.online) this.online.remove();
      this.map.getContainer().classList.add("basemap-offline");
      const layer = await this._offlineLayer();
      if (this.mode === "offline") layer.addTo(this.map);
    }
    this.onChange(mode, reason);
  }

  _onlineLayer() {
    if (this.online) return this.online;
    this.online = window.L.tileLayer(this.template, {
      maxZoom: 19,
      crossOrigin: false,
      referrerPolicy: "no-referrer",
    });
    let failures = 0;
    let loads = 0;
    this.online.on("tileload", () => {
      loads += 1;
    });
    this.online.on("tileerror", () => {
      failures += 1;
      if (loads === 0 && failures >= TILE_FAILURES_BEFORE_FALLBACK && this.mode === "online") {
        this.set("offline", t("basemap.fallback"));
      }
    });
    return this.online;
  }

  async _offlineLayer() {
    if (!this.offlineReady) this.offlineReady = this._buildOffline();
    return this.offlineReady;
  }

  async _buildOffline() {
    const L = window.L;
    // The OSM attribution is added once to the map (app.js): it stays visible with either
    // basemap, since the offline roads are OSM data too.
    const group = L.layerGroup();
    const [districts, roads] = await Promise.allSettled([api.districts(), api.basemap("roads")]);
    if (districts.status === "fulfilled") {
      L.geoJSON(districts.value, {
        renderer: this.renderer,
        pane: "basemapPane",
        interactive: false,
        style: { color: "#cfc7b8", weight: 0.8, fillColor: "#f6f2ea", fillOpacity: 1 },
      }).addTo(group);
    }
    if (roads.status === "fulfilled") {
      const casing = L.geoJSON(roads.value, {
        renderer: this.renderer,
        pane: "basemapPane",
        interactive: false,
        style: (feature) => this._roadStyle(feature, true),
      });
      const fill = L.geoJSON(roads.value, {
        renderer: this.renderer,
        pane: "basemapPane",
        interactive: false,
        style: (feature) => this._roadStyle(feature, false),
      });
      casing.addTo(group);
      fill.addTo(group);
      this.map.on("zoomend", () => {
        casing.setStyle((feature) => this._roadStyle(feature, true));
        fill.setStyle((feature) => this._roadStyle(feature, false));
      });
    }
    return group;
  }

  _roadStyle(feature, casing) {
    const zoom = this.map.getZoom();
    const style = ROAD_STYLE[roadClass(feature.properties?.highway)] || ROAD_STYLE.secondary;
    if (zoom < style.minZoom) return { opacity: 0, weight: 0 };
    const scale = Math.max(0.45, Math.min(2.4, (zoom - 8) / 4));
    const weight = style.weight * scale;
    return casing
      ? { color: ROAD_CASING, weight: weight + 1.2, opacity: 0.9, lineCap: "round" }
      : { color: style.color, weight, opacity: 1, lineCap: "round" };
  }
}

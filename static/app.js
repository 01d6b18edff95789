// servicemap web map: start-up and wiring. The modules under js/ do the work:
//   api.js         HTTP client for /api/v1
//   basemap.js     configured online tiles (OSM, Tianditu, Amap, Tencent), offline vector basemap
//   overlays.js    district boundaries, metro lines and stations
//   facilities.js  facility markers per layer (whole or per-view loading)
//   nearest.js     the nearest search, its list and result markers
//   analysis.js    route, isochrone and network-coverage drawing
//   legend.js      the map legend for those
//   travel.js      the walk/drive/straight switch and the isochrone toggle
//   when.js        the time a worker asks about (any time, open now, open at a day and time)
//   panel.js       the layer panel and the search controls
//   layout.js      notices, the demo banner, the bottom sheet / side panel, the layer panel
//   focus.js       keyboard focus: popups, Escape, the map as one stop
// The page exposes window.servicemap (documented in docs/webmap.md) for embedding and tests.

import { applyI18n, getLang, onLangChange, pick, setLang, t, wireLangButton } from "./i18n.js";
import { CoverageOverlay, IsochroneLayer, RouteLayer } from "./js/analysis.js";
import { api } from "./js/api.js";
import { Basemap, OSM_ATTRIBUTION } from "./js/basemap.js";
import { h } from "./js/dom.js";
import { FacilityLayers } from "./js/facilities.js";
import {
  keepShapesOutOfTabOrder,
  translateZoomControl,
  wireMapKeyboard,
  wirePopupFocus,
} from "./js/focus.js";
import {
  createDemoBanner,
  createNotices,
  createSheet,
  DESKTOP_QUERY,
  wireLayerPanel,
} from "./js/layout.js";
import { MapLegend } from "./js/legend.js";
import { NearestSearch, nearestElements } from "./js/nearest.js";
import { DistrictsOverlay, MetroOverlay } from "./js/overlays.js";
import {
  renderLayerAbout,
  renderLayerPanel,
  renderLayerSelect,
  renderServiceSelect,
} from "./js/panel.js";
import { PROFILES, TravelControls } from "./js/travel.js";
import { WhenControls } from "./js/when.js";

const L = window.L;
const START_VIEW = { center: [31.2304, 121.4737], zoom: 12 }; // People's Square
const SHANGHAI_BOUNDS = [
  [30.3, 120.5],
  [32.2, 122.5],
];
const DEFAULT_NEAREST_LAYER = "relay_station";

const $ = (id) => document.getElementById(id);

// --- tiny event bus for the hook API ------------------------------------------------------
const listeners = new Map();
function emit(event, detail) {
  for (const callback of listeners.get(event) || []) {
    try {
      callback(detail);
    } catch (err) {
      console.warn("servicemap listener failed", err);
    }
  }
}

/** The start view from ?lon=&lat=&zoom= (WGS84; the embed's "open the full map" link). */
function startView() {
  const params = new URLSearchParams(window.location.search);
  const lon = Number(params.get("lon"));
  const lat = Number(params.get("lat"));
  const zoom = Number(params.get("zoom"));
  const inside = params.has("lon") && params.has("lat") && L.latLngBounds(SHANGHAI_BOUNDS).contains([lat, lon]);
  return {
    center: inside ? [lat, lon] : START_VIEW.center,
    zoom: params.has("zoom") && Number.isInteger(zoom) && zoom >= 8 && zoom <= 19 ? zoom : START_VIEW.zoom,
  };
}

/** The search point of ?from=lon,lat (WGS84), or null. */
function startPoint() {
  const parts = (new URLSearchParams(window.location.search).get("from") || "").split(",").map(Number);
  if (parts.length !== 2 || !parts.every(Number.isFinite)) return null;
  return L.latLngBounds(SHANGHAI_BOUNDS).contains([parts[1], parts[0]]) ? parts : null;
}

// --- map ----------------------------------------------------------------------------------
function createMap() {
  const view = startView();
  const map = L.map("map", {
    zoomControl: false,
    minZoom: 8,
    maxZoom: 19,
    maxBounds: SHANGHAI_BOUNDS,
    maxBoundsViscosity: 0.7,
    tapTolerance: 15,
  }).setView(view.center, view.zoom);
  map.attributionControl.setPrefix(
    '<a href="https://leafletjs.com" target="_blank" rel="noopener">Leaflet</a>',
  );
  map.attributionControl.addAttribution(OSM_ATTRIBUTION);
  // The licence notice is kept in English, as OpenStreetMap words it; marked as such.
  map.attributionControl.getContainer().lang = "en";
  L.control.zoom({ position: "topright" }).addTo(map);
  translateZoomControl(map);
  keepShapesOutOfTabOrder(map);
  const scale = new LocalScale({ position: "bottomleft", imperial: false, maxWidth: 100 }).addTo(map);
  onLangChange(() => scale._update());
  // Marker size follows the zoom (app.css): dots when zoomed out, glyphs when zoomed in.
  const zoomBand = () => {
    const zoom = map.getZoom();
    map.getContainer().dataset.zoomBand = zoom <= 12 ? "low" : zoom <= 14 ? "mid" : "high";
  };
  map.on("zoomend", zoomBand);
  zoomBand();
  return map;
}

/** Leaflet's scale bar with its units in the page's language ("3 公里" / "3 km"). */
const LocalScale = L.Control.Scale.extend({
  _updateMetric(maxMeters) {
    const meters = this._getRoundNum(maxMeters);
    const text = meters < 1000 ? t("distance.m", { n: meters }) : t("distance.km", { n: meters / 1000 });
    this._updateScale(this._mScale, text, meters / maxMeters);
  },
});

const LocateControl = L.Control.extend({
  options: { position: "topright" },
  onAdd() {
    const button = h(
      "button",
      { type: "button", class: "locate-btn", id: "btn-locate" },
      h("img", { src: "icons/locate.svg", alt: "", width: 22, height: 22 }),
    );
    button.title = t("locate.title");
    button.setAttribute("aria-label", t("locate.title"));
    L.DomEvent.disableClickPropagation(button);
    button.addEventListener("click", (e) => this.options.onLocate(e));
    onLangChange(() => {
      button.title = t("locate.title");
      button.setAttribute("aria-label", t("locate.title"));
    });
    return h("div", { class: "leaflet-bar leaflet-control locate-control" }, button);
  },
});

// --- start-up --------------------------------------------------------------------------------
async function main() {
  applyI18n();
  wireLangButton($("btn-lang"));

  const map = createMap();
  const notices = createNotices(map);
  const sheet = createSheet(map);
  const layerPanel = wireLayerPanel();
  const popupFocus = wirePopupFocus(map);
  const legend = new MapLegend(map);
  const route = new RouteLayer(map);
  const isochrones = new IsochroneLayer(map, {
    onChange: (layer) =>
      legend.update({
        isochrones: layer.layer ? { thresholds: layer.thresholds, profile: layer.profile } : null,
      }),
  });
  let rerenderPanel = () => {};
  const coverage = new CoverageOverlay(map, {
    profile: "walk",
    onChange: (overlay) => {
      legend.update({ coverage: overlay.visible });
      rerenderPanel();
    },
  });
  /** Show the walk-network coverage and fit it into view (from the "show coverage" links). */
  const showCoverage = async () => {
    await sheet.reveal();
    try {
      await coverage.setVisible(true);
    } catch (err) {
      notices.set("coverage", t("map.loadError", { message: err.message }), {
        kind: "error",
        timeoutMs: 8000,
      });
      return;
    }
    // The coverage and the chosen point together: how far outside is it?
    const bounds = coverage.group.getBounds();
    const location = nearest?.location;
    if (location) bounds.extend([location.lat, location.lon]);
    map.fitBounds(bounds, sheet.fitPadding());
  };
  const districts = new DistrictsOverlay(map);
  const metro = new MetroOverlay(map);

  const basemap = new Basemap(map, {
    districtLabels: false, // DistrictsOverlay labels the districts on this page
    onChange: (mode, reason) => {
      // The reason is worded by basemap.js in the language of the moment; the fallback
      // notice is worded here again after a language switch.
      const fallback = reason && reason === t("basemap.fallback");
      if (reason) notices.set("basemap", fallback ? () => t("basemap.fallback") : reason, { timeoutMs: 8000 });
      rerenderPanel();
      emit("basemap", { mode });
    },
  });

  let markReady;
  let markFailed;
  const hooks = {
    map,
    L,
    /** Resolves (to this object) once layers, overlays and the basemap are loaded. */
    ready: new Promise((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    }),
    on(event, callback) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(callback);
      return () => listeners.get(event).delete(callback);
    },
    setLanguage: (lang) => setLang(lang),
    getLanguage: getLang,
    setBasemap: (mode) => basemap.set(mode),
    getBasemap: () => basemap.mode,
    /** The Basemap object: sources, source (the shown one), renderedLabels(). */
    basemap,
    drawRoute: (geojson, options) => {
      const layer = route.draw(geojson, options);
      legend.update({ route: layer ? { method: options?.method || "network", profile: "walk" } : null });
      return layer;
    },
    clearRoute: () => {
      route.clear();
      legend.update({ route: null });
    },
    showIsochrones: (geojson, options) => isochrones.show(geojson, options),
    clearIsochrones: () => isochrones.clear(),
    /** Show or hide the outline of the walking network's coverage. */
    showCoverage: (visible = true) => (visible ? showCoverage() : coverage.setVisible(false)),
  };
  hooks.ready.catch(() => {}); // failures are shown on the page; callers may still catch
  window.servicemap = hooks;

  const basemapReady = basemap.init();
  const overlaysReady = Promise.all([districts.setVisible(true), metro.setVisible(true)]).catch(
    (err) => notices.set("overlays", t("map.loadError", { message: err.message }), { kind: "error" }),
  );

  let layers;
  try {
    layers = (await api.layers()).layers;
  } catch (err) {
    notices.set("layers", t("map.loadError", { message: err.message }), { kind: "error" });
    document.body.dataset.ready = "error";
    emit("error", { message: err.message });
    markFailed(err);
    return;
  }
  const layerById = new Map(layers.map((layer) => [layer.id, layer]));
  const vocabulary = new Map();
  for (const layer of layers) {
    for (const service of layer.services || []) {
      vocabulary.set(service.id, { zh: service.zh, en: service.en });
    }
  }

  let nearest = null;
  const facilities = new FacilityLayers(map, {
    layers,
    vocabulary,
    getFrom: () => nearest?.location ?? null,
    onPartial: (partials) => {
      const text = partials
        .map((p) => t("layers.partial", { name: pick(p.layer, "name"), shown: p.shown, total: p.total }))
        .join("\n");
      notices.set("partial", text);
    },
    onError: (layerId, err) =>
      notices.set(`layer-${layerId}`, t("map.loadError", { message: err.message }), {
        kind: "error",
        timeoutMs: 8000,
      }),
  });

  nearest = new NearestSearch({
    map,
    layerInfo: (id) => layerById.get(id) ?? null,
    vocabulary,
    facilities,
    route,
    emit,
    fitPadding: () => sheet.fitPadding(),
    beforeFocus: () => sheet.reveal(),
    onRoute: (drawn) => legend.update({ route: drawn }),
    onShowCoverage: showCoverage,
    popupOpenedBy: (el) => popupFocus.openedBy(el),
    els: nearestElements(),
  });
  const startProfile = new URLSearchParams(window.location.search).get("profile");
  if (PROFILES.includes(startProfile)) nearest.setOption("profile", startProfile);
  const travel = new TravelControls({
    nearest,
    isochrones,
    showCoverage,
    fitPadding: () => sheet.fitPadding(),
    map,
    emit,
    els: { modes: $("travel-mode"), toggle: $("btn-isochrones"), status: $("isochrone-status") },
  });
  const startLayer = new URLSearchParams(window.location.search).get("layer");
  nearest.layerId = layerById.has(startLayer) ? startLayer : DEFAULT_NEAREST_LAYER;
  if (!layerById.has(nearest.layerId)) nearest.layerId = layers[0]?.id ?? null;

  // Search controls in the sheet.
  const layerSelect = $("sel-layer");
  const serviceSelect = $("sel-service");
  const when = new WhenControls({
    els: { kind: $("sel-when"), at: $("when-at"), day: $("sel-when-day"), time: $("in-when-time") },
    onChange: (choice) => {
      nearest.when = choice;
      facilities.when = choice;
      map.closePopup();
      nearest.refresh({ fit: true });
    },
  });
  // The demo notice, once for the layers on the map: the searched one and those shown.
  const demoBanner = createDemoBanner($("demo-banner"), { layerName: (layer) => pick(layer, "name") });
  const updateDemoBanner = () =>
    demoBanner.update(
      layers.filter(
        (layer) => layer.kind === "registry" && (layer.id === nearest.layerId || facilities.isVisible(layer.id)),
      ),
    );
  const renderControls = () => {
    renderLayerSelect(layerSelect, layers, nearest.layerId);
    renderServiceSelect(serviceSelect, layerById.get(nearest.layerId), nearest.service);
    renderLayerAbout($("layer-about"), layerById.get(nearest.layerId));
    when.render();
  };
  renderControls();
  // The searched layer is shown on the map; a layer shown only because it was searched is
  // hidden again when the search moves to another layer.
  let autoShown = null;
  const showSearchedLayer = (layerId) => {
    if (autoShown && autoShown !== layerId) facilities.setVisible(autoShown, false);
    autoShown = null;
    if (!facilities.isVisible(layerId)) {
      autoShown = layerId;
      return facilities.setVisible(layerId, true);
    }
    return Promise.resolve();
  };
  layerSelect.addEventListener("change", async () => {
    nearest.layerId = layerSelect.value;
    nearest.service = null;
    renderServiceSelect(serviceSelect, layerById.get(nearest.layerId), null);
    renderLayerAbout($("layer-about"), layerById.get(nearest.layerId));
    showSearchedLayer(nearest.layerId);
    rerenderPanel();
    updateDemoBanner();
    await nearest.refresh({ fit: true });
  });
  serviceSelect.addEventListener("change", () => {
    nearest.service = serviceSelect.value || null;
    nearest.refresh({ fit: true });
  });

  // Layer panel.
  const overlayModel = [
    { id: "districts", key: "overlay.districts", visible: () => districts.visible, set: (on) => districts.setVisible(on) },
    { id: "metro", key: "overlay.metro", visible: () => metro.visible, set: (on) => metro.setVisible(on) },
    {
      id: "walk-coverage",
      key: "overlay.walkCoverage",
      visible: () => coverage.visible,
      set: (on) =>
        coverage.setVisible(on).catch((err) =>
          notices.set("coverage", t("map.loadError", { message: err.message }), {
            kind: "error",
            timeoutMs: 8000,
          }),
        ),
    },
  ];
  rerenderPanel = () =>
    renderLayerPanel(
      {
        registry: $("layers-registry"),
        demoNote: $("layers-demo-note"),
        context: $("layers-context"),
        overlays: $("layers-overlays"),
        basemap: $("layers-basemap"),
      },
      {
        layers,
        isVisible: (id) => facilities.isVisible(id),
        setVisible: (id, on) => {
          if (id === autoShown) autoShown = null; // the user's choice now
          const done = facilities.setVisible(id, on);
          updateDemoBanner();
          return done;
        },
        overlays: overlayModel,
        basemap: {
          mode: basemap.mode,
          source: basemap.source,
          choices: basemap.choices(),
          onlineAvailable: basemap.onlineAvailable,
          set: (mode) => basemap.set(mode),
        },
      },
    );

  // At start only the searched layer is drawn (context layers are always off by default);
  // ?show=a,b adds registry layers.
  const extra = (new URLSearchParams(window.location.search).get("show") || "").split(",");
  const layersReady = Promise.all([
    showSearchedLayer(nearest.layerId),
    ...layers
      .filter((l) => l.kind === "registry" && extra.includes(l.id) && l.id !== nearest.layerId)
      .map((l) => facilities.setVisible(l.id, true)),
  ]);
  rerenderPanel();
  nearest.render();
  updateDemoBanner();

  // Choosing a location: tap the map, Enter on the focused map (its centre), or geolocation.
  map.on("click", (e) => {
    layerPanel.close();
    hooks.setLocation(e.latlng.lng, e.latlng.lat, { source: "tap" });
  });
  wireMapKeyboard(map, (lon, lat) => {
    layerPanel.close();
    hooks.setLocation(lon, lat, { source: "centre" });
  });
  /** Geolocation; the Locate button that started it is replaced by the results, so
   * keyboard focus moves to the first result (never left on the page's body). */
  const locate = (event) => {
    const button = event?.currentTarget ?? null;
    if (!("geolocation" in navigator)) {
      notices.set("locate", () => t("locate.unsupported"), { timeoutMs: 6000, kind: "error" });
      return;
    }
    notices.set("locate", () => t("locate.busy"));
    navigator.geolocation.getCurrentPosition(
      async (position) => {
        notices.set("locate", null);
        await hooks.setLocation(position.coords.longitude, position.coords.latitude, {
          source: "gps",
          accuracyM: position.coords.accuracy,
        });
        const focusLost = document.activeElement === document.body || document.activeElement === button;
        if (button && focusLost && !nearest.focusFirstResult()) $("nearest-status").focus();
      },
      (error) => {
        // The browser's own message is in the browser's language: say it in ours.
        const reason = { 1: "denied", 2: "unavailable", 3: "timeout" }[error.code] || "unavailable";
        notices.set("locate", () => t(`locate.error.${reason}`), { timeoutMs: 8000, kind: "error" });
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  };
  new LocateControl({ onLocate: locate }).addTo(map);
  $("btn-locate-sheet").addEventListener("click", locate);

  onLangChange(() => {
    renderControls();
    rerenderPanel();
    facilities.relabel();
    districts.relabel();
    metro.relabel();
    nearest.render();
    travel.render();
    legend.render();
    updateDemoBanner();
    emit("language", { lang: getLang() });
  });

  Object.assign(hooks, {
    layers,
    /** Set the query point (WGS84 degrees) and run the nearest search; resolves to results. */
    async setLocation(lon, lat, { source = "api", accuracyM = null, fit = true } = {}) {
      if (!DESKTOP_QUERY.matches && sheet.state === "min") sheet.setState("peek");
      const search = nearest.setLocation(Number(lon), Number(lat), { source, accuracyM, fit });
      travel.render();
      const [results] = await Promise.all([search, travel.refreshIsochrones()]);
      return results;
    },
    getLocation: () => (nearest.location ? { ...nearest.location } : null),
    /** The facility layer the nearest search uses. */
    async setNearestLayer(layerId) {
      if (!layerById.has(layerId)) throw new Error(`unknown layer ${layerId}`);
      layerSelect.value = layerId;
      layerSelect.dispatchEvent(new Event("change"));
    },
    getNearestLayer: () => nearest.layerId,
    /** Extra /nearest parameters for later engines, e.g. setNearestOption("profile", "walk"). */
    setNearestOption(key, value) {
      nearest.setOption(key, value);
      travel.render();
      return nearest.refresh();
    },
    /** Travel mode of the search: "walk" (default), "drive" or "straight"; re-runs it. */
    setProfile: (profile) => travel.setProfile(profile),
    getProfile: () => nearest.profile,
    /** Show or hide the 5/10/15-minute areas around the chosen point; resolves when drawn. */
    setIsochrones: (on) => travel.setIsochrones(on),
    /** The last /nearest request's parameters, the server's echo of it and its status. */
    getNearestQuery: () => ({
      params: nearest.lastParams ? { ...nearest.lastParams } : null,
      query: nearest.query ? { ...nearest.query } : null,
      status: nearest.answer?.status ?? null,
      unreachable: structuredClone(nearest.answer?.unreachable ?? []),
    }),
    refreshNearest: () => nearest.refresh(),
    getNearestResults: () => (nearest.results ? structuredClone(nearest.results) : null),
    selectResult: (index) => nearest.select(index),
    setLayerVisible: async (layerId, visible) => {
      if (layerId === autoShown) autoShown = null;
      await facilities.setVisible(layerId, visible);
      rerenderPanel();
      updateDemoBanner();
    },
    visibleLayers: () => facilities.visibleLayerIds(),
    setSheetState: (state) => sheet.setState(state),
    /** The time the facilities must be open: {kind: "any"|"now"|"at", day: "We", time: "12:30"}. */
    setWhen: (choice) => when.set(choice),
    getWhen: () => ({ ...nearest.when }),
  });
  await Promise.all([basemapReady, overlaysReady, layersReady]);
  const from = startPoint();
  if (from) await hooks.setLocation(from[0], from[1], { source: "api", fit: false });
  document.body.dataset.ready = "true";
  performance.mark("servicemap-ready");
  emit("ready", { basemap: basemap.mode });
  markReady(hooks);
}

main().catch((err) => {
  console.error("servicemap failed to start", err);
});

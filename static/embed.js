// The embeddable map (GET /embed, docs/embed.md): the worker map's modules in a page made to
// live in an iframe. The server checks the URL's parameters and writes them into
// <meta name="servicemap-embed">; bad ones are said on the page by the server, and the map
// is then not started. The message API to the host page is js/embed_messages.js.

import { applyI18n, getLang, onLangChange, pick, t, wireLangButton } from "./i18n.js";
import { RouteLayer } from "./js/analysis.js";
import { api, getJson } from "./js/api.js";
import { Basemap, OSM_ATTRIBUTION } from "./js/basemap.js";
import { h, replaceChildren } from "./js/dom.js";
import { createChannel, hostOrigin, messagePoint, numberField, watchHeight } from "./js/embed_messages.js";
import { FacilityLayers } from "./js/facilities.js";
import {
  keepShapesOutOfTabOrder,
  translateZoomControl,
  wireMapKeyboard,
  wirePopupFocus,
} from "./js/focus.js";
import { createNotices } from "./js/layout.js";
import { NearestSearch, nearestElements } from "./js/nearest.js";
import { renderLayerSelect } from "./js/panel.js";

const L = window.L;
const START = { lon: 121.4737, lat: 31.2304, zoom: 12 }; // People's Square
const CENTRE_ZOOM = 15;
const SHANGHAI_BOUNDS = [
  [30.3, 120.5],
  [32.2, 122.5],
];
const $ = (id) => document.getElementById(id);

function readConfig() {
  const meta = document.querySelector('meta[name="servicemap-embed"]');
  try {
    return JSON.parse(meta?.content || "");
  } catch {
    return null;
  }
}

function createMap(config) {
  const controls = new Set(config.controls);
  const centre = config.center || START;
  const zoom = config.zoom ?? (config.center ? CENTRE_ZOOM : START.zoom);
  const map = L.map("map", {
    zoomControl: false,
    scrollWheelZoom: Boolean(config.scroll), // a page scrolled past the map must not zoom it
    minZoom: 8,
    maxZoom: 19,
    maxBounds: SHANGHAI_BOUNDS,
    maxBoundsViscosity: 0.7,
    tapTolerance: 15,
  }).setView([centre.lat, centre.lon], zoom);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" target="_blank" rel="noopener">Leaflet</a>');
  map.attributionControl.addAttribution(OSM_ATTRIBUTION);
  map.attributionControl.getContainer().lang = "en";
  if (controls.has("zoom")) L.control.zoom({ position: "topright" }).addTo(map);
  translateZoomControl(map);
  keepShapesOutOfTabOrder(map);
  const zoomBand = () => {
    const z = map.getZoom();
    map.getContainer().dataset.zoomBand = z <= 12 ? "low" : z <= 14 ? "mid" : "high";
  };
  map.on("zoomend", zoomBand);
  zoomBand();
  return map;
}

const LocateControl = L.Control.extend({
  options: { position: "topright" },
  onAdd() {
    const button = h(
      "button",
      { type: "button", class: "locate-btn", id: "btn-locate" },
      h("img", { src: "icons/locate.svg", alt: "", width: 22, height: 22 }),
    );
    const label = () => {
      button.title = t("locate.title");
      button.setAttribute("aria-label", t("locate.title"));
    };
    label();
    onLangChange(label);
    L.DomEvent.disableClickPropagation(button);
    button.addEventListener("click", () => this.options.onLocate());
    return h("div", { class: "leaflet-bar leaflet-control locate-control" }, button);
  },
});

/** The travel-mode radios (walk / drive), styled as the worker map's switch. */
function renderProfiles(el, current, onPick) {
  replaceChildren(
    el,
    ["walk", "drive"].map((profile) => {
      const id = `embed-profile-${profile}`;
      const input = h("input", { type: "radio", name: "embed-profile", id, class: "seg-input", value: profile });
      input.checked = profile === current;
      input.addEventListener("change", () => onPick(profile));
      return h("span", { class: "seg-item" }, input, h("label", { for: id, class: "seg-label", text: t(`travel.${profile}`) }));
    }),
  );
}

/** The full map's URL for the current view and choices (opened in a new tab). */
function fullMapUrl({ map, nearest, shown, lang }) {
  const url = new URL("./", window.location.href);
  const centre = map.getCenter();
  const params = url.searchParams;
  params.set("layer", nearest.layerId);
  const others = shown.filter((id) => id !== nearest.layerId);
  if (others.length) params.set("show", others.join(","));
  params.set("lon", centre.lng.toFixed(5));
  params.set("lat", centre.lat.toFixed(5));
  params.set("zoom", String(map.getZoom()));
  params.set("profile", nearest.profile);
  params.set("lang", lang);
  if (nearest.location) params.set("from", `${nearest.location.lon.toFixed(6)},${nearest.location.lat.toFixed(6)}`);
  return url.href;
}

async function main() {
  const config = readConfig();
  applyI18n();
  if (!config) {
    const box = $("embed-errors");
    box.textContent = t("embed.notConfigured");
    box.hidden = false;
    document.body.dataset.ready = "error";
    return;
  }
  const origin = hostOrigin(config);
  const handlers = {};
  const channel = createChannel({ origin, handlers });
  if (config.problems?.length) {
    // The server wrote the problems into the page; the host still learns the size.
    watchHeight(channel.post);
    document.body.dataset.ready = "error";
    channel.post("error", { about: "parameters", message: config.problems.map((p) => `${p.param}: ${p.en}`).join("; ") });
    return;
  }
  const root = document.documentElement;
  root.classList.add(config.height ? "embed-fixed" : "embed-fill");
  if (config.height) root.style.setProperty("--map-h", `${config.height}px`);
  const controls = new Set(config.controls);

  const map = createMap(config);
  const notices = createNotices(map);
  const popupFocus = wirePopupFocus(map);
  const route = new RouteLayer(map);
  const basemap = new Basemap(map, {
    onChange: (mode, reason) => {
      if (reason) notices.set("basemap", reason, { timeoutMs: 8000 });
    },
  });
  const basemapReady = basemap.init();

  let layers;
  try {
    layers = (await api.layers()).layers;
  } catch (err) {
    notices.set("layers", t("map.loadError", { message: err.message }), { kind: "error" });
    document.body.dataset.ready = "error";
    channel.post("error", { about: "layers", message: err.message });
    return;
  }
  const layerById = new Map(layers.map((layer) => [layer.id, layer]));
  const vocabulary = new Map();
  for (const layer of layers) {
    for (const service of layer.services || []) vocabulary.set(service.id, { zh: service.zh, en: service.en });
  }
  let shown = config.layers.filter((id) => layerById.has(id));

  let nearest = null;
  const facilities = new FacilityLayers(map, {
    layers,
    vocabulary,
    getFrom: () => nearest?.location ?? null,
    onError: (layerId, err) =>
      notices.set(`layer-${layerId}`, t("map.loadError", { message: err.message }), { kind: "error", timeoutMs: 8000 }),
  });
  const panel = $("embed-panel");
  panel.classList.toggle("is-compact", !config.list);
  document.querySelector(".embed-layout").classList.toggle("has-list", Boolean(config.list));
  nearest = new NearestSearch({
    map,
    layerInfo: (id) => layerById.get(id) ?? null,
    vocabulary,
    facilities,
    route,
    emit: (event, detail) => {
      if (event === "select") channel.post("select", selectDetail(detail.facility));
      if (event === "nearest") updateLink();
    },
    fitPadding: () => ({ padding: [24, 24] }),
    popupOpenedBy: (el) => popupFocus.openedBy(el),
    els: nearestElements(),
  });
  nearest.k = config.k;
  nearest.layerId = shown[0];
  nearest.setOption("profile", config.profile);

  const selectDetail = (facility) => ({
    id: facility.id,
    layer: facility.layer ?? nearest.layerId,
    name: facility.name ?? null,
    lon: facility.lon ?? null,
    lat: facility.lat ?? null,
  });
  // A facility marker chosen on the map (the numbered results report through the search).
  map.on("popupopen", (e) => {
    const facility = e.popup._source?.facility;
    if (facility) channel.post("select", selectDetail(facility));
  });

  // The bar above the map: layer choice, travel mode, language (each only when asked for).
  const bar = $("embed-bar");
  const layerWrap = $("embed-layer-wrap");
  const layerSelect = $("sel-layer");
  const modes = $("travel-mode");
  const langButton = $("btn-lang");
  const renderBar = () => {
    layerWrap.hidden = !(controls.has("layers") && shown.length > 1);
    renderLayerSelect(layerSelect, layers.filter((layer) => shown.includes(layer.id)), nearest.layerId);
    for (const group of layerSelect.querySelectorAll("optgroup")) if (!group.children.length) group.remove();
    modes.hidden = !controls.has("profile");
    renderProfiles(modes, nearest.profile, (profile) => {
      nearest.setOption("profile", profile);
      nearest.refresh({ fit: true }).then(updateLink);
    });
    langButton.hidden = !controls.has("lang");
    bar.hidden = layerWrap.hidden && modes.hidden && langButton.hidden;
  };
  wireLangButton(langButton);
  layerSelect.addEventListener("change", () => setSearchLayer(layerSelect.value));

  const demo = $("embed-demo");
  const renderDemo = () => {
    const names = shown.map((id) => layerById.get(id)).filter((l) => l?.demo).map((l) => pick(l, "name"));
    demo.hidden = names.length === 0;
    demo.textContent = names.length ? t("embed.demo", { layers: names.join(t("embed.listSep")) }) : "";
  };
  const link = $("embed-fullmap");
  const updateLink = () => {
    link.href = fullMapUrl({ map, nearest, shown, lang: getLang() });
  };
  map.on("moveend", updateLink);

  async function setSearchLayer(layerId) {
    nearest.layerId = layerId;
    nearest.service = null;
    renderBar();
    renderDemo();
    updateLink();
    return nearest.refresh({ fit: Boolean(nearest.location) });
  }

  /** Show exactly these layers; the first is the searched one. */
  async function setLayers(ids) {
    const unknown = ids.filter((id) => !layerById.has(id));
    if (unknown.length || ids.length === 0) throw new Error(t("embed.unknownLayer", { layer: unknown.join(", ") || "—" }));
    for (const id of shown) if (!ids.includes(id)) await facilities.setVisible(id, false);
    shown = [...new Set(ids)];
    await Promise.all(shown.map((id) => facilities.setVisible(id, true)));
    return setSearchLayer(shown[0]);
  }

  const setLocation = async (lon, lat, options) => {
    const results = await nearest.setLocation(lon, lat, options);
    updateLink();
    channel.post("results", {
      ids: (results || []).map((r) => r.facility.id),
      status: nearest.answer?.status ?? null,
      error: nearest.error?.message ?? null,
    });
    return results;
  };
  map.on("click", (e) => setLocation(e.latlng.lng, e.latlng.lat, { source: "tap" }));
  wireMapKeyboard(map, (lon, lat) => setLocation(lon, lat, { source: "centre" }));

  const locate = () => {
    if (!("geolocation" in navigator)) {
      notices.set("locate", () => t("locate.unsupported"), { timeoutMs: 6000, kind: "error" });
      return;
    }
    notices.set("locate", () => t("locate.busy"));
    navigator.geolocation.getCurrentPosition(
      async (position) => {
        notices.set("locate", null);
        await setLocation(position.coords.longitude, position.coords.latitude, {
          source: "gps",
          accuracyM: position.coords.accuracy,
        });
      },
      (error) => {
        const reason = { 1: "denied", 2: "unavailable", 3: "timeout" }[error.code] || "unavailable";
        notices.set("locate", () => t(`locate.error.${reason}`), { timeoutMs: 8000, kind: "error" });
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  };
  if (controls.has("locate")) new LocateControl({ onLocate: locate }).addTo(map);

  // A GCJ-02/BD-09 point of a host message is converted by the server, as the URL's crs is.
  const toWgs84 = (lon, lat, crs) => getJson("to-wgs84", { lon, lat, crs });
  Object.assign(handlers, {
    async flyTo(message) {
      const zoom = numberField(message, "zoom", { optional: true });
      if (zoom !== null && (zoom < 8 || zoom > 19)) throw new Error("zoom must be from 8 to 19");
      const { lon, lat } = await messagePoint(message, toWgs84);
      map.flyTo([lat, lon], zoom ?? map.getZoom(), { duration: 0.6 });
    },
    setLayer(message) {
      const value = message.layer;
      const ids = Array.isArray(value) ? value.map(String) : String(value ?? "").split(",").filter(Boolean);
      return setLayers(ids.map((id) => id.trim()));
    },
    async nearest(message) {
      const { lon, lat } = await messagePoint(message, toWgs84);
      return setLocation(lon, lat, { source: "api" });
    },
  });

  onLangChange(() => {
    renderBar();
    renderDemo();
    facilities.relabel();
    nearest.render();
    updateLink();
  });

  renderBar();
  renderDemo();
  nearest.render();
  updateLink();
  watchHeight(channel.post);
  window.servicemapEmbed = { map, config, nearest, facilities, origin, setLayers, setLocation };
  await Promise.all([basemapReady, ...shown.map((id) => facilities.setVisible(id, true))]);
  document.body.dataset.ready = "true";
  channel.post("ready", { layers: shown, lang: getLang(), version: 1 });
  if (config.locate) locate();
}

main().catch((err) => {
  console.error("servicemap embed failed to start", err);
  document.body.dataset.ready = "error";
});

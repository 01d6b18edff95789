// Facility layers on the map. Small layers are loaded whole once; big layers are loaded for
// the visible bounding box with a limit and reloaded when the map moves, so the page never
// draws tens of thousands of markers at once. Each layer's markers are clustered
// (Leaflet.markercluster, vendored): zoomed out, nearby stations merge into one disc with
// their count in the layer's colour, so markers never pile on top of each other or of the
// worker's position; at the closest zoom, markers at one spot fan out on click.
//
// Markers are not keyboard stops (1,328 relay stations would be 1,328 Tab presses): the map
// is one stop, and the result list is the keyboard path to a facility.

import { api } from "./api.js";
import { debounce, h } from "./dom.js";
import { markerIcon, popupContent } from "./facility_view.js";
import { facilityName, facilityNameParts } from "./format.js";

// Cluster discs are drawn by the plug-in as markers: keep them out of the tab order too.
window.L.MarkerCluster.mergeOptions({ keyboard: false });

/** Title a marker element with the name in the page's language, marked with the name's
 * language when that is not the page's (markers drawn later by the clusters included). */
function markLang(el, facility) {
  if (!el) return;
  el.title = facilityName(facility);
  el.setAttribute("translate", "no"); // a name, a proper noun
  const lang = facilityNameParts(facility).lang;
  if (lang) el.lang = lang;
  else el.removeAttribute("lang");
}

/** Cluster radius in screen pixels by zoom: wide when zoomed out, tight close in. */
function clusterRadius(zoom) {
  if (zoom >= 17) return 16;
  if (zoom >= 15) return 30;
  return 48;
}

/** The cluster disc of a layer: its colour, the number of facilities inside. */
function clusterIcon(layer) {
  return (cluster) => {
    const count = cluster.getChildCount();
    const size = count < 10 ? 30 : count < 100 ? 36 : 42;
    const disc = h("span", { class: "cluster-disc", text: String(count) });
    disc.style.setProperty("--glyph-color", layer.color || "#555");
    return window.L.divIcon({
      html: disc,
      className: "fac-cluster",
      iconSize: [size, size],
      iconAnchor: [size / 2, size / 2],
    });
  };
}

/** Layers with at most this many records are loaded whole. */
export const FULL_LOAD_MAX = 1500;
/** Markers fetched per view for bigger layers. */
export const VIEW_LIMIT = 800;
const BBOX_PAD = 0.15;

/** A facility record (API fields) from a GeoJSON feature. */
export function facilityFromFeature(feature) {
  const facility = { ...(feature.properties || {}), id: feature.id ?? feature.properties?.id };
  const coords = feature.geometry?.type === "Point" ? feature.geometry.coordinates : null;
  facility.lon = coords ? coords[0] : null;
  facility.lat = coords ? coords[1] : null;
  return facility;
}

class LayerState {
  constructor(info) {
    this.info = info;
    this.visible = false;
    this.group = window.L.markerClusterGroup({
      maxClusterRadius: clusterRadius,
      showCoverageOnHover: false,
      spiderfyOnMaxZoom: true,
      chunkedLoading: true,
      iconCreateFunction: clusterIcon(info),
    });
    this.markers = new Map(); // facility id -> marker
    this.unlocated = null; // facilities without position (whole-loaded layers only)
    this.loadedWhole = false;
    this.controller = null;
    this.partial = null; // {shown, total} when the view shows a subset
  }

  get whole() {
    return this.info.count <= FULL_LOAD_MAX;
  }
}

export class FacilityLayers {
  /**
   * @param {L.Map} map
   * @param {object} options
   * @param {object[]} options.layers the /layers records
   * @param {Map} options.vocabulary service id -> {zh, en}
   * @param {() => ({lon, lat}|null)} options.getFrom the current query point (for nav links)
   * @param {(partials: object[]) => void} options.onPartial called with the layers showing a subset
   * @param {(layerId: string, error: Error) => void} options.onError
   */
  constructor(map, { layers, vocabulary, getFrom, onPartial = () => {}, onError = () => {} }) {
    this.map = map;
    this.vocabulary = vocabulary;
    this.getFrom = getFrom;
    this.onPartial = onPartial;
    this.onError = onError;
    this.states = new Map(layers.map((info) => [info.id, new LayerState(info)]));
    this._reloadDebounced = debounce(() => this.reloadViewLayers(), 250);
    map.on("moveend", this._reloadDebounced);
  }

  info(layerId) {
    return this.states.get(layerId)?.info ?? null;
  }

  isVisible(layerId) {
    return Boolean(this.states.get(layerId)?.visible);
  }

  visibleLayerIds() {
    return [...this.states.values()].filter((s) => s.visible).map((s) => s.info.id);
  }

  /** Show or hide a layer; resolves when its markers are loaded. */
  async setVisible(layerId, visible) {
    const state = this.states.get(layerId);
    if (!state) throw new Error(`unknown layer ${layerId}`);
    state.visible = visible;
    if (!visible) {
      state.controller?.abort();
      state.group.remove();
      state.partial = null;
      this._reportPartial();
      return;
    }
    state.group.addTo(this.map);
    await this._load(state);
  }

  /** Facilities of a whole-loaded layer that have no known position (never drawn). */
  async unlocated(layerId) {
    const state = this.states.get(layerId);
    if (!state || !state.whole) return [];
    if (!state.loadedWhole) await this._loadWhole(state);
    return state.unlocated || [];
  }

  /** The marker of a facility, if it is currently drawn. */
  markerFor(facilityId) {
    for (const state of this.states.values()) {
      const marker = state.markers.get(facilityId);
      if (marker && state.visible) return marker;
    }
    return null;
  }

  async reloadViewLayers() {
    const tasks = [];
    for (const state of this.states.values()) {
      if (state.visible && !state.whole) tasks.push(this._loadView(state));
    }
    await Promise.all(tasks);
  }

  async _load(state) {
    try {
      if (state.whole) await this._loadWhole(state);
      else await this._loadView(state);
    } catch (err) {
      if (err.name !== "AbortError") this.onError(state.info.id, err);
    }
  }

  async _loadWhole(state) {
    if (state.loadedWhole) return;
    if (!state.wholePromise) {
      state.wholePromise = api
        .features(state.info.id, { limit: Math.max(1, state.info.count) })
        .then((collection) => {
          const features = collection.features || [];
          state.unlocated = features
            .filter((f) => !f.geometry)
            .map((f) => facilityFromFeature(f));
          this._sync(state, features.filter((f) => f.geometry));
          state.loadedWhole = true;
        })
        .finally(() => {
          state.wholePromise = null;
        });
    }
    await state.wholePromise;
  }

  async _loadView(state) {
    state.controller?.abort();
    const controller = new AbortController();
    state.controller = controller;
    const bounds = this.map.getBounds().pad(BBOX_PAD);
    const bbox = [
      Math.max(-180, bounds.getWest()),
      Math.max(-90, bounds.getSouth()),
      Math.min(180, bounds.getEast()),
      Math.min(90, bounds.getNorth()),
    ]
      .map((v) => v.toFixed(5))
      .join(",");
    try {
      const collection = await api.features(
        state.info.id,
        { bbox, limit: VIEW_LIMIT },
        { signal: controller.signal },
      );
      if (!state.visible || controller.signal.aborted) return;
      this._sync(state, collection.features || []);
      const total = collection.numberMatched ?? collection.features.length;
      const shown = collection.numberReturned ?? collection.features.length;
      state.partial = total > shown ? { shown, total } : null;
      this._reportPartial();
    } catch (err) {
      if (err.name !== "AbortError") this.onError(state.info.id, err);
    }
  }

  /** Make the layer's markers exactly the given located features (reusing existing ones). */
  _sync(state, features) {
    const wanted = new Map();
    for (const feature of features) {
      const facility = facilityFromFeature(feature);
      if (facility.lon === null || facility.lat === null) continue;
      wanted.set(String(facility.id), facility);
    }
    const gone = [];
    for (const [id, marker] of state.markers) {
      if (!wanted.has(id)) {
        gone.push(marker);
        state.markers.delete(id);
      }
    }
    if (gone.length) state.group.removeLayers(gone);
    const added = [];
    for (const [id, facility] of wanted) {
      if (state.markers.has(id)) continue;
      const marker = this._marker(facility, state.info);
      state.markers.set(id, marker);
      added.push(marker);
    }
    if (added.length) state.group.addLayers(added);
  }

  /** The worker's chosen time for open/closed badges in popups ({kind, day, time} or null). */
  set when(value) {
    this._when = value;
  }

  _marker(facility, layer) {
    const marker = window.L.marker([facility.lat, facility.lon], {
      icon: markerIcon(layer),
      title: facilityName(facility),
      keyboard: false,
      riseOnHover: true,
    });
    marker.facility = facility;
    // the hover title is the name: marked Chinese on the English page when it has no English
    marker.on("add", () => markLang(marker.getElement(), facility));
    marker.bindPopup(
      () => popupContent(facility, layer, this.vocabulary, { from: this.getFrom(), when: this._when }),
      { maxWidth: 300, autoPanPaddingTopLeft: [10, 70] },
    );
    return marker;
  }

  /** After a language switch: refresh marker titles; popups rebuild when opened. */
  relabel() {
    this.map.closePopup();
    for (const state of this.states.values()) {
      for (const marker of state.markers.values()) {
        const el = marker.getElement();
        marker.options.title = facilityName(marker.facility);
        markLang(el, marker.facility);
      }
    }
    this._reportPartial();
  }

  _reportPartial() {
    const partials = [];
    for (const state of this.states.values()) {
      if (state.visible && state.partial) partials.push({ layer: state.info, ...state.partial });
    }
    this.onPartial(partials);
  }
}

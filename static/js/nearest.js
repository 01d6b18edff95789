// The nearest-facility search: the query point, the /nearest request, the result list in the
// sheet and the numbered result markers on the map.

import { pick, t } from "../i18n.js";
import { api } from "./api.js";
import { clear, h, replaceChildren } from "./dom.js";
import {
  hoursLine,
  layerGlyph,
  markerIcon,
  navLine,
  phoneLine,
  popupContent,
  servicesLine,
  titleLine,
} from "./facility_view.js";
import { formatDistance, formatDuration, hasLocation, shanghaiIsoMinute } from "./format.js";

export const DEFAULT_K = 5;

function formatAccuracy(accuracyM) {
  return formatDistance(accuracyM);
}

export class NearestSearch {
  /**
   * @param {object} options
   * @param {L.Map} options.map
   * @param {(id: string) => object|null} options.layerInfo
   * @param {Map} options.vocabulary
   * @param {object} options.els {status, list, unlocated, unlocatedSummary, unlocatedList, hint}
   * @param {import("./facilities.js").FacilityLayers} options.facilities
   * @param {object} options.route RouteLayer (drawRoute/clear)
   * @param {(event: string, detail: object) => void} options.emit
   * @param {() => object} options.fitPadding Leaflet fitBounds padding options for the layout
   * @param {() => Promise} options.beforeFocus run before the map focuses a result (the
   *   phone layout lowers the sheet so the map is visible)
   */
  constructor({
    map,
    layerInfo,
    vocabulary,
    els,
    facilities,
    route,
    emit,
    fitPadding,
    beforeFocus = async () => {},
  }) {
    this.beforeFocus = beforeFocus;
    this.map = map;
    this.layerInfo = layerInfo;
    this.vocabulary = vocabulary;
    this.els = els;
    this.facilities = facilities;
    this.route = route;
    this.emit = emit;
    this.fitPadding = fitPadding;
    this.k = DEFAULT_K;
    this.layerId = null;
    this.service = null;
    this.openNow = false;
    this.extraParams = {};
    this.location = null; // {lon, lat, source, accuracyM}
    this.results = null;
    this.error = null;
    this.loading = false;
    this.selected = null;
    this.controller = null;
    this.resultLayer = window.L.layerGroup().addTo(map);
    this.locationLayer = window.L.layerGroup().addTo(map);
    this.resultMarkers = [];
  }

  /** Set the query point (WGS84) and search. */
  async setLocation(lon, lat, { source = "api", accuracyM = null, fit = true } = {}) {
    this.location = { lon, lat, source, accuracyM };
    this._drawLocation();
    this.emit("location", { ...this.location });
    return this.refresh({ fit });
  }

  /** Extra query parameters sent with every search (e.g. {profile: "walk"}); null removes. */
  setOption(key, value) {
    if (value === null || value === undefined || value === "") delete this.extraParams[key];
    else this.extraParams[key] = value;
  }

  async refresh({ fit = false } = {}) {
    this._renderUnlocated();
    if (!this.location || !this.layerId) {
      this._render();
      return null;
    }
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.loading = true;
    this.error = null;
    this._render();
    const params = {
      lon: this.location.lon.toFixed(6),
      lat: this.location.lat.toFixed(6),
      layer: this.layerId,
      k: this.k,
      crs: "wgs84",
      service: this.service,
      open_at: this.openNow ? shanghaiIsoMinute() : null,
      ...this.extraParams,
    };
    try {
      const answer = await api.nearest(params, { signal: controller.signal });
      if (controller.signal.aborted) return null;
      this.results = answer.results || [];
      this.query = answer.query || null;
    } catch (err) {
      if (err.name === "AbortError") return null;
      this.results = [];
      this.error = err;
    } finally {
      if (this.controller === controller) this.loading = false;
    }
    this.selected = null;
    this.route.clear();
    this._drawResults();
    this._render();
    if (fit) this._fit();
    this.emit("nearest", { results: this.results, error: this.error?.message ?? null });
    return this.results;
  }

  /** Focus result i: pan to it, open its popup and draw its route when the API sent one. */
  async select(index) {
    const result = this.results?.[index];
    if (!result) return;
    await this.beforeFocus();
    this.selected = index;
    for (const [i, item] of [...this.els.list.children].entries()) {
      item.classList.toggle("is-selected", i === index);
    }
    const marker = this.resultMarkers[index];
    if (result.route) {
      this.route.draw(result.route, { method: result.method });
    } else {
      this.route.clear();
    }
    if (marker) {
      const target = marker.getLatLng();
      const bounds = window.L.latLngBounds([target]);
      if (this.location) bounds.extend([this.location.lat, this.location.lon]);
      if (result.route) bounds.extend(this.route.bounds() || bounds);
      // Without animation, so the popup's auto-pan measures the final view.
      this.map.fitBounds(bounds, { ...this.fitPadding(), maxZoom: 17, animate: false });
      marker.openPopup();
    }
    this.emit("select", { index, facility: result.facility });
  }

  _drawLocation() {
    this.locationLayer.clearLayers();
    if (!this.location) return;
    const { lon, lat, accuracyM } = this.location;
    if (accuracyM && accuracyM > 15) {
      window.L.circle([lat, lon], {
        radius: accuracyM,
        color: "#1a73e8",
        weight: 1,
        fillOpacity: 0.08,
        interactive: false,
      }).addTo(this.locationLayer);
    }
    window.L.circleMarker([lat, lon], {
      radius: 8,
      color: "#fff",
      weight: 3,
      fillColor: "#1a73e8",
      fillOpacity: 1,
      className: "you-are-here",
    })
      .bindTooltip(() => h("span", { text: t("you.are.here") }), { direction: "top" })
      .addTo(this.locationLayer);
  }

  _drawResults() {
    this.resultLayer.clearLayers();
    this.resultMarkers = [];
    const layer = this.layerInfo(this.layerId);
    for (const [i, result] of (this.results || []).entries()) {
      const facility = result.facility;
      if (!hasLocation(facility)) {
        this.resultMarkers.push(null);
        continue;
      }
      const marker = window.L.marker([facility.lat, facility.lon], {
        icon: markerIcon(layer, { rank: i + 1 }),
        zIndexOffset: 1000 - i,
        title: facility.name || "",
        riseOnHover: true,
      });
      marker.bindPopup(
        () =>
          popupContent(facility, layer, this.vocabulary, { from: this.location, rank: i + 1 }),
        { maxWidth: 300, autoPanPaddingTopLeft: [10, 70] },
      );
      marker.on("click", () => this.select(i));
      marker.addTo(this.resultLayer);
      this.resultMarkers.push(marker);
    }
  }

  _fit() {
    if (!this.location) return;
    const bounds = window.L.latLngBounds([[this.location.lat, this.location.lon]]);
    for (const marker of this.resultMarkers) if (marker) bounds.extend(marker.getLatLng());
    this.map.fitBounds(bounds, { ...this.fitPadding(), maxZoom: 16 });
  }

  /** Rebuild the list (after new results or a language switch). */
  render() {
    this._render();
    this._renderUnlocated();
    this._drawLocation();
  }

  _statusText() {
    if (!this.location) return t("nearest.hint");
    if (this.loading) return t("nearest.loading");
    if (this.error) {
      if (this.error.code === "network") return t("nearest.network");
      if (this.error.code === "outside_service_area") return t("nearest.outside");
      return t("nearest.error", { message: this.error.message });
    }
    if (this.results && this.results.length === 0) return t("nearest.none");
    if (this.location.source === "gps") {
      return t("nearest.from.gps", { accuracy: formatAccuracy(this.location.accuracyM ?? 0) });
    }
    return t(this.location.source === "tap" ? "nearest.from.tap" : "nearest.from.api");
  }

  _render() {
    const { status, list, hint } = this.els;
    status.textContent = this._statusText();
    status.classList.toggle("is-error", Boolean(this.error));
    hint.hidden = Boolean(this.location);
    list.setAttribute("aria-busy", this.loading ? "true" : "false");
    if (this.loading) return;
    clear(list);
    const layer = this.layerInfo(this.layerId);
    for (const [i, result] of (this.results || []).entries()) {
      list.append(this._item(result, i, layer));
    }
  }

  _distanceBlock(result) {
    const estimated = result.method === "estimated";
    const titleKey = estimated
      ? "distance.estimated.title"
      : result.method === "network"
        ? "distance.network.title"
        : "distance.straight.title";
    const profile = this.extraParams.profile || this.query?.profile || null;
    return h(
      "div",
      { class: `result-distance method-${result.method || "straight_line"}`, title: t(titleKey) },
      h(
        "span",
        { class: "result-km" },
        estimated ? `${t("distance.estimated")} ` : null,
        formatDistance(result.distance_m),
      ),
      Number.isFinite(result.duration_s)
        ? h("span", { class: "result-duration", text: formatDuration(result.duration_s, profile) })
        : null,
    );
  }

  _item(result, index, layer) {
    const facility = result.facility;
    const open = () => this.select(index);
    const header = h(
      "button",
      { type: "button", class: "result-head", onClick: open },
      titleLine(facility, layer, { tag: "span", rank: index + 1 }),
      this._distanceBlock(result),
    );
    const address = facility.address
      ? h("p", { class: "result-address", text: facility.address })
      : null;
    return h(
      "li",
      { class: "result", dataset: { facilityId: facility.id, rank: index + 1 } },
      header,
      address,
      hoursLine(facility),
      servicesLine(facility, this.vocabulary),
      phoneLine(facility),
      navLine(facility, this.location),
    );
  }

  async _renderUnlocated() {
    const { unlocated, unlocatedSummary, unlocatedList } = this.els;
    const layerId = this.layerId;
    const layer = this.layerInfo(layerId);
    const items = layerId ? await this.facilities.unlocated(layerId).catch(() => []) : [];
    if (layerId !== this.layerId) return;
    unlocated.hidden = items.length === 0;
    if (items.length === 0) return;
    unlocatedSummary.textContent = t("unlocated.summary", {
      name: layer ? pick(layer, "name") : "",
      n: items.length,
    });
    replaceChildren(
      unlocatedList,
      items.map((facility) =>
        h(
          "li",
          { class: "unlocated-item" },
          h("span", { class: "fac-name" }, layerGlyph(layer, { size: "sm" }), " ", facility.name || facility.id),
          facility.demo ? h("span", { class: "badge badge-demo", text: t("badge.demo") }) : null,
          facility.address ? h("span", { class: "unlocated-address", text: facility.address }) : null,
          phoneLine(facility) || h("span", { class: "muted", text: t("unlocated.noPhone") }),
        ),
      ),
    );
  }
}

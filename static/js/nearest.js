// The nearest-facility search: the query point, the /nearest request (walk, drive or straight
// line; any time, open now or open at a chosen day and time), the result list in the sheet
// with its notes (coverage above the list; estimates and unreachable facilities below it),
// the numbered result markers and the route of the chosen result on the map.
//
// Map panes: the worker's position is drawn in its own pane above every marker, the numbered
// results in a pane between the facility markers and it, so neither is ever hidden.

import { pick, t } from "../i18n.js";
import { api } from "./api.js";
import { clear, h, langText, replaceChildren } from "./dom.js";
import {
  addressParts,
  hoursLine,
  layerGlyph,
  markerIcon,
  navLine,
  phoneLine,
  popupContent,
  servicesLine,
  titleLine,
} from "./facility_view.js";
import { detourFactor } from "./analysis.js";
import {
  facilityNameParts,
  formatDistance,
  formatDuration,
  hasLocation,
  openAtIso,
  resultDistance,
  shanghaiIsoMinute,
} from "./format.js";

/** Pixels within which two numbered results count as on top of each other (fanned out). */
const RESULT_OVERLAP_PX = 22;
const RESULT_SPREAD_PX = 17;

export const DEFAULT_K = 5;

function formatAccuracy(accuracyM) {
  return formatDistance(accuracyM);
}

/** The result list's elements of a page built like index.html (the map and the widget). */
export function nearestElements() {
  const byId = (id) => document.getElementById(id);
  return {
    coverage: byId("nearest-coverage"),
    status: byId("nearest-status"),
    list: byId("nearest-list"),
    hint: byId("hint-actions"),
    unlocated: byId("unlocated"),
    unlocatedSummary: byId("unlocated-summary"),
    unlocatedList: byId("unlocated-list"),
    notes: byId("nearest-notes"),
    unreachable: byId("unreachable"),
  };
}

export class NearestSearch {
  /**
   * @param {object} options
   * @param {L.Map} options.map
   * @param {(id: string) => object|null} options.layerInfo
   * @param {Map} options.vocabulary
   * @param {object} options.els {status, list, unlocated, unlocatedSummary, unlocatedList, hint,
   *   notes, unreachable}
   * @param {import("./facilities.js").FacilityLayers} options.facilities
   * @param {import("./analysis.js").RouteLayer} options.route the route of the chosen result
   * @param {(route: {method, profile}|null) => void} options.onRoute told what route is drawn
   * @param {() => void} options.onShowCoverage shows the network coverage outline
   * @param {(event: string, detail: object) => void} options.emit
   * @param {() => object} options.fitPadding Leaflet fitBounds padding options for the layout
   * @param {() => Promise} options.beforeFocus run before the map focuses a result (the
   *   phone layout lowers the sheet so the map is visible)
   * @param {(el: HTMLElement|null) => void} options.popupOpenedBy tells the popup focus
   *   manager which element opened the next popup (focus returns there when it closes)
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
    onRoute = () => {},
    onShowCoverage = () => {},
    popupOpenedBy = () => {},
  }) {
    this.popupOpenedBy = popupOpenedBy;
    this.beforeFocus = beforeFocus;
    this.onRoute = onRoute;
    this.onShowCoverage = onShowCoverage;
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
    /** When the facility must be open: {kind: "any"|"now"|"at", day: "We", time: "12:30"}. */
    this.when = { kind: "any", day: null, time: null };
    this.extraParams = { profile: "walk" };
    this.location = null; // {lon, lat, source, accuracyM}
    this.results = null;
    this.answer = null; // the /nearest answer without its results: query, status, unreachable
    this.lastParams = null;
    this.error = null;
    this.loading = false;
    this.selected = null;
    this.controller = null;
    map.createPane("resultPane").style.zIndex = 640;
    map.createPane("userPane").style.zIndex = 660;
    this.resultLayer = window.L.layerGroup().addTo(map);
    this.locationLayer = window.L.layerGroup().addTo(map);
    this.resultMarkers = [];
    map.on("zoomend", () => this._spreadResults());
  }

  /** The open_at parameter for the chosen time (null for "any time"). */
  openAt() {
    if (this.when.kind === "now") return shanghaiIsoMinute();
    if (this.when.kind === "at" && this.when.day && this.when.time) {
      return openAtIso(this.when.day, this.when.time);
    }
    return null;
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

  /** The travel profile of the search: "walk" (the API default), "drive" or "straight". */
  get profile() {
    return this.extraParams.profile || this.answer?.query?.profile || "walk";
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
      open_at: this.openAt(),
      ...this.extraParams,
    };
    this.lastParams = { ...params };
    try {
      const answer = await api.nearest(params, { signal: controller.signal });
      if (controller.signal.aborted) return null;
      const { results, ...rest } = answer;
      this.results = results || [];
      this.answer = rest;
    } catch (err) {
      if (err.name === "AbortError") return null;
      this.results = [];
      this.answer = null;
      this.error = err;
    } finally {
      if (this.controller === controller) this.loading = false;
    }
    this.selected = null;
    this._drawResults();
    // The first (nearest) result is the chosen one until the user picks another.
    this._showRoute(this.results.length ? 0 : null);
    this._render();
    if (fit) this._fit();
    this.emit("nearest", {
      results: this.results,
      status: this.answer?.status ?? null,
      query: this.answer?.query ?? null,
      error: this.error?.message ?? null,
    });
    return this.results;
  }

  /** The server's echo of the last query (profile, network, in_coverage …) or null. */
  get query() {
    return this.answer?.query ?? null;
  }

  /** Draw the way to result i (or nothing) and mark it in the list. */
  _showRoute(index) {
    const result = index === null ? null : this.results?.[index];
    this.selected = result ? index : null;
    for (const [i, item] of [...this.els.list.children].entries()) {
      item.classList.toggle("is-selected", i === this.selected);
    }
    const drawn = result ? this.route.drawResult(this.location, result, { profile: this.profile }) : null;
    if (!drawn) this.route.clear();
    this.onRoute(drawn ? { method: result.method || "straight_line", profile: this.profile } : null);
  }

  /**
   * Focus result i: draw the way to it, fit it into view and open the facility's popup.
   * With `opener` (the list entry's button), keyboard focus moves into the popup and back to
   * the opener when the popup closes.
   */
  async select(index, { opener = null } = {}) {
    const result = this.results?.[index];
    if (!result) return;
    await this.beforeFocus();
    this._showRoute(index);
    const marker = this.resultMarkers[index];
    if (marker) {
      const bounds = window.L.latLngBounds([marker.getLatLng()]);
      if (this.location) bounds.extend([this.location.lat, this.location.lon]);
      const routeBounds = this.route.bounds();
      if (routeBounds?.isValid()) bounds.extend(routeBounds);
      // Without animation, so the popup's auto-pan measures the final view.
      this.map.fitBounds(bounds, { ...this.fitPadding(), maxZoom: 17, animate: false });
      this.popupOpenedBy(opener);
      marker.openPopup();
    }
    this.emit("select", { index, facility: result.facility, method: result.method });
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
    window.L.marker([lat, lon], {
      pane: "userPane",
      keyboard: false,
      icon: window.L.divIcon({
        html: h("span", { class: "you-dot" }),
        className: "you-are-here",
        iconSize: [22, 22],
        iconAnchor: [11, 11],
      }),
    })
      .bindTooltip(() => h("span", { text: t("you.are.here") }), { direction: "top", offset: [0, -10] })
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
        pane: "resultPane",
        icon: markerIcon(layer, { rank: i + 1 }),
        zIndexOffset: 1000 - i,
        keyboard: false,
        riseOnHover: true,
      });
      marker.bindPopup(
        () =>
          popupContent(facility, layer, this.vocabulary, {
            from: this.location,
            rank: i + 1,
            profile: this.profile,
            when: this.when,
          }),
        { maxWidth: 300, autoPanPaddingTopLeft: [10, 70] },
      );
      marker.on("click", () => this.select(i));
      marker.addTo(this.resultLayer);
      this.resultMarkers.push(marker);
    }
    this._spreadResults();
  }

  /**
   * Fan out numbered results that fall on the same spot at this zoom (several stations in
   * one building): each keeps its anchor on the facility and is shifted around a small
   * circle, so every number stays visible and clickable.
   */
  _spreadResults() {
    // The worker's position is a fixed member: results on top of it move aside, it never does.
    const placed = this.location
      ? [{ point: this.map.latLngToLayerPoint([this.location.lat, this.location.lon]), members: [], fixed: true }]
      : [];
    for (const marker of this.resultMarkers) {
      if (!marker) continue;
      const point = this.map.latLngToLayerPoint(marker.getLatLng());
      const group = placed.find((g) => g.point.distanceTo(point) < RESULT_OVERLAP_PX);
      if (group) group.members.push(marker);
      else placed.push({ point, members: [marker], fixed: false });
    }
    for (const group of placed) {
      const n = group.members.length;
      group.members.forEach((marker, k) => {
        const glyph = marker.getElement()?.firstElementChild;
        if (!glyph) return;
        if (n === 1 && !group.fixed) {
          glyph.style.transform = "";
          return;
        }
        const angle = -Math.PI / 2 + (2 * Math.PI * k) / n;
        const radius = group.fixed ? RESULT_SPREAD_PX + 6 : RESULT_SPREAD_PX;
        const dx = Math.round(radius * Math.cos(angle));
        const dy = Math.round(radius * Math.sin(angle));
        glyph.style.transform = `translate(${dx}px, ${dy}px)`;
      });
    }
  }

  _fit() {
    if (!this.location) return;
    const bounds = window.L.latLngBounds([[this.location.lat, this.location.lon]]);
    for (const marker of this.resultMarkers) if (marker) bounds.extend(marker.getLatLng());
    const routeBounds = this.route.bounds();
    if (routeBounds?.isValid()) bounds.extend(routeBounds);
    this.map.fitBounds(bounds, { ...this.fitPadding(), maxZoom: 16 });
  }

  /** Rebuild the list (after new results or a language switch). */
  render() {
    this._render();
    this._renderUnlocated();
    this._drawLocation();
    if (!this.loading && this.selected !== null) this._showRoute(this.selected); // relabel
  }

  _statusText() {
    if (!this.location) return t("nearest.hint", { n: this.k });
    if (this.loading) return t("nearest.loading");
    if (this.error) {
      if (this.error.code === "network") return t("nearest.network");
      if (this.error.code === "outside_service_area") return t("nearest.outside");
      return t("nearest.error", { message: this.error.message });
    }
    if (this.answer?.status === "unreachable") return t("nearest.unreachable");
    if (this.answer?.status === "none_within_limit") {
      return t("nearest.noneWithin", { n: this.answer.query?.max_minutes ?? "" });
    }
    if (this.results && this.results.length === 0) return t("nearest.none");
    if (this.location.source === "gps") {
      return t("nearest.from.gps", { accuracy: formatAccuracy(this.location.accuracyM ?? 0) });
    }
    const key = { tap: "nearest.from.tap", centre: "nearest.from.centre" }[this.location.source];
    return t(key || "nearest.from.api");
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
      const item = this._item(result, i, layer);
      item.classList.toggle("is-selected", i === this.selected);
      list.append(item);
    }
    this._renderNotes();
    this._renderUnreachable(layer);
  }

  /**
   * How a result's distance is shown, door to door (see format.js resultDistance). Network:
   * the travel time first, then the distance. Estimated: "约/≈" before both, brown italic,
   * with an 估算/estimate tag. Straight line: the distance marked 直线/straight, no time. A
   * point on top of the facility reads "就在此处 / you are here" instead of "0 米".
   */
  _distanceBlock(result) {
    const method = result.method || "straight_line";
    const estimated = method === "estimated";
    const titleKey = estimated
      ? "distance.estimated.title"
      : method === "network"
        ? "distance.network.title"
        : "distance.straight.title";
    const { distanceM, accessM, here } = resultDistance(result, this.location);
    const distance = formatDistance(distanceM);
    const duration =
      Number.isFinite(result.duration_s) && !here
        ? formatDuration(result.duration_s, this.query?.profile || this.profile)
        : null;
    const minor = duration ? "result-km result-km-minor" : "result-km";
    let lines;
    if (here) {
      lines = [h("span", { class: "result-time result-here", text: t("distance.here") })];
    } else if (method === "network") {
      lines = [duration ? h("span", { class: "result-time", text: duration }) : null, h("span", { class: minor, text: distance })];
    } else if (estimated) {
      lines = [
        duration ? h("span", { class: "result-time", text: duration }) : null,
        h(
          "span",
          { class: minor },
          h("span", { class: "badge badge-estimate", text: t("badge.estimate") }),
          ` ${t("distance.estimated")} ${distance}`,
        ),
      ];
    } else {
      lines = [h("span", { class: "result-km", text: `${t("distance.straight")} ${distance}` })];
    }
    const accessTotal = accessM ? accessM[0] + accessM[1] : 0;
    if (!here && accessM && accessTotal >= 100) {
      lines.push(
        h("span", {
          class: "result-access",
          text: t("distance.access", { origin: formatDistance(accessM[0]), door: formatDistance(accessM[1]) }),
        }),
      );
    }
    return h(
      "div",
      {
        class: `result-distance method-${method}${here ? " is-here" : ""}`,
        title: t(titleKey),
        dataset: { method, distanceM: Number.isFinite(distanceM) ? Math.round(distanceM) : "" },
      },
      lines,
    );
  }

  /**
   * Notes around the list: above it, that the point is outside the network coverage (the
   * figures below are estimates, so it is read first); under it, what 约 means and what a
   * straight line ignores.
   */
  _renderNotes() {
    const { notes, coverage } = this.els;
    if (!notes) return;
    const results = this.results || [];
    const query = this.query;
    const profile = query?.profile || this.profile;
    const parts = [];
    const above = [];
    if (this.location && query && query.in_coverage === false && profile !== "straight") {
      above.push(
        h(
          "p",
          { class: "note note-coverage" },
          h("span", { text: t(`coverage.outside.${profile === "drive" ? "drive" : "walk"}`) }),
          " ",
          profile === "walk"
            ? h("button", {
                type: "button",
                class: "link-btn",
                text: t("coverage.show"),
                onClick: () => this.onShowCoverage(),
              })
            : null,
        ),
      );
    }
    if (results.some((r) => r.method === "estimated")) {
      const note = h("p", { class: "note note-estimate", text: t("estimate.note") });
      parts.push(note);
      const network = query?.network;
      detourFactor(network)
        .then((factor) => {
          if (factor !== null && this.query?.network === network && note.isConnected) {
            note.textContent = t("estimate.note.factor", { factor: factor.toFixed(2) });
          }
        })
        .catch(() => {});
    }
    if (results.some((r) => (r.method || "straight_line") === "straight_line")) {
      parts.push(h("p", { class: "note note-straight", text: t("straight.note") }));
    }
    replaceChildren(notes, parts);
    notes.hidden = parts.length === 0;
    if (coverage) {
      replaceChildren(coverage, above);
      coverage.hidden = above.length === 0;
    } else {
      notes.prepend(...above);
      notes.hidden = parts.length + above.length === 0;
    }
  }

  /** Facilities that cannot be reached (e.g. across the river on foot), with the reason. */
  _renderUnreachable(layer) {
    const { unreachable } = this.els;
    if (!unreachable) return;
    const items = this.answer?.unreachable || [];
    const profile = this.query?.profile === "drive" ? "drive" : "walk";
    if (items.length === 0 || !this.location) {
      replaceChildren(unreachable);
      unreachable.hidden = true;
      return;
    }
    replaceChildren(
      unreachable,
      h("h3", { class: "unreachable-title", text: t(`unreachable.title.${profile}`, { n: items.length }) }),
      h(
        "ul",
        { class: "unreachable-list" },
        items.map((item) =>
          h(
            "li",
            {
              class: "unreachable-item",
              dataset: { facilityId: item.facility?.id ?? "" },
              title: item.reason || null,
            },
            titleLine(item.facility || {}, layer, { tag: "span" }),
            h("span", { class: "unreachable-reason", text: t(`unreachable.reason.${profile}`) }),
            Number.isFinite(item.straight_line_m)
              ? h("span", {
                  class: "unreachable-straight",
                  text: t("unreachable.straight", { d: formatDistance(item.straight_line_m) }),
                })
              : null,
          ),
        ),
      ),
    );
    unreachable.hidden = false;
  }

  /** Move keyboard focus to the first result's button (after a search from a button that
   * the results replace, e.g. Locate). */
  focusFirstResult() {
    const button = this.els.list.querySelector(".result-head");
    if (button) button.focus();
    return Boolean(button);
  }

  _item(result, index, layer) {
    const facility = result.facility;
    const header = h(
      "button",
      { type: "button", class: "result-head" },
      titleLine(facility, layer, { tag: "span", rank: index + 1 }),
      this._distanceBlock(result),
    );
    header.addEventListener("click", () => this.select(index, { opener: header }));
    const address = addressParts(facility);
    return h(
      "li",
      { class: "result", dataset: { facilityId: facility.id, rank: index + 1 } },
      header,
      address ? h("p", { class: "result-address" }, langText(address)) : null,
      hoursLine(facility, { when: this.when }),
      servicesLine(facility, this.vocabulary),
      phoneLine(facility),
      navLine(facility, this.location, { profile: this.profile }),
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
          h("span", { class: "fac-name" }, layerGlyph(layer, { size: "sm" }), " ", langText(facilityNameParts(facility))),
          facility.address ? langText(addressParts(facility), { class: "unlocated-address" }) : null,
          phoneLine(facility) || h("span", { class: "muted", text: t("unlocated.noPhone") }),
        ),
      ),
    );
  }
}

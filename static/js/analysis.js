// Drawing of network answers on the map: the route to a chosen facility (solid along streets,
// dashed and labelled when it is only an estimate), isochrone polygons, and the outline of a
// network's coverage. Data come from /api/v1 (nearest, isochrones, networks); the drawing is
// also reachable through the window.servicemap hooks (see app.js and docs/webmap.md).

import { t } from "../i18n.js";
import { api } from "./api.js";
import { h } from "./dom.js";
import { formatDistance } from "./format.js";

const ISOCHRONE_COLORS = ["#1a9850", "#91cf60", "#f2b600", "#f46d43", "#d73027"];
const ROUTE_COLORS = { walk: "#1a73e8", drive: "#6a3dc8" };
export const ESTIMATE_COLOR = "#8a5a00";
export const COVERAGE_COLOR = "#1b5e20";
const STRAIGHT_COLOR = "#5f6770";
const LABEL_MIN_PX = 140;

/** The colour of an isochrone threshold among the thresholds drawn (green near, red far). */
export function isochroneColor(minutes, thresholds) {
  const sorted = [...new Set(thresholds)].sort((a, b) => a - b);
  const i = Math.max(0, sorted.indexOf(minutes));
  const scaled = Math.round((i / Math.max(1, sorted.length - 1)) * (ISOCHRONE_COLORS.length - 1));
  return ISOCHRONE_COLORS[Math.min(ISOCHRONE_COLORS.length - 1, scaled)];
}

/** The colour of a route line for a travel profile. */
export function routeColor(profile) {
  return ROUTE_COLORS[profile] || ROUTE_COLORS.walk;
}

function label(text, kind) {
  return h("span", { class: `route-label-text route-label-${kind}`, text });
}

/** One route on the map (replaces the previous one). */
export class RouteLayer {
  constructor(map) {
    this.map = map;
    // Above the metro lines (380), below the query point and facility markers (400+).
    map.createPane("routePane");
    map.getPane("routePane").style.zIndex = 395;
    this.layer = null;
    this.method = null;
    this.labelled = null; // the straight line carrying a label, shown when long enough
    map.on("zoomend", () => this._updateLabel());
  }

  /** Show the label of a straight (estimated) line only when it is long enough on screen. */
  _updateLabel() {
    if (!this.labelled || !this.map.hasLayer(this.labelled)) return;
    const [a, b] = this.labelled.getLatLngs();
    const pixels = this.map.latLngToLayerPoint(a).distanceTo(this.map.latLngToLayerPoint(b));
    if (pixels >= LABEL_MIN_PX) this.labelled.openTooltip();
    else this.labelled.closeTooltip();
  }

  /**
   * Draw a route (GeoJSON LineString/MultiLineString, Feature or FeatureCollection); estimated
   * routes (method "estimated") are dashed, since they are not a path along streets.
   */
  draw(geojson, { method = "network", color = ROUTE_COLORS.walk } = {}) {
    this.clear();
    if (!geojson) return null;
    const L = window.L;
    const estimated = method === "estimated";
    const casing = L.geoJSON(geojson, {
      pane: "routePane",
      interactive: false,
      style: { color: "#fff", weight: 8, opacity: 0.9, lineCap: "round", lineJoin: "round" },
    });
    const line = L.geoJSON(geojson, {
      pane: "routePane",
      interactive: false,
      style: {
        color: estimated ? ESTIMATE_COLOR : color,
        weight: 5,
        opacity: 0.95,
        lineCap: "round",
        lineJoin: "round",
        dashArray: estimated ? "8 9" : null,
        className: estimated ? "route-line route-estimated" : "route-line route-network",
      },
    });
    this.method = method;
    this.layer = L.featureGroup([casing, line]).addTo(this.map);
    return this.layer;
  }

  /**
   * Draw what a /nearest result says about the way from the query point to its facility.
   *
   * - `network`: the route along streets (solid), with thin dotted legs from the query point
   *   to where the route starts and from where it ends to the facility (the snapping);
   * - `estimated`: a dashed straight line labelled as an estimate (it is not a route);
   * - `straight_line`: a dotted straight line labelled as the straight-line distance.
   *
   * @param {{lon: number, lat: number}} from the query point (WGS84)
   * @param {object} result one item of the /nearest `results`
   * @param {{profile?: string}} options the travel profile (colours the route)
   */
  drawResult(from, result, { profile = "walk" } = {}) {
    this.clear();
    const facility = result?.facility;
    if (!from || !Number.isFinite(facility?.lon) || !Number.isFinite(facility?.lat)) return null;
    const L = window.L;
    const start = [from.lat, from.lon];
    const end = [facility.lat, facility.lon];
    const parts = [];
    const method = result.method || "straight_line";
    if (method === "network" && result.route?.coordinates?.length >= 2) {
      const coords = result.route.coordinates.map(([lon, lat]) => [lat, lon]);
      const legStyle = {
        pane: "routePane",
        interactive: false,
        color: STRAIGHT_COLOR,
        weight: 2.5,
        opacity: 0.9,
        dashArray: "1 6",
        lineCap: "round",
        className: "route-connector",
      };
      for (const [a, b] of [
        [start, coords[0]],
        [coords[coords.length - 1], end],
      ]) {
        if (this.map.distance(a, b) > 2) parts.push(L.polyline([a, b], legStyle));
      }
      const style = { pane: "routePane", lineCap: "round", lineJoin: "round", interactive: false };
      parts.push(L.polyline(coords, { ...style, color: "#fff", weight: 9, opacity: 0.9 }));
      parts.push(
        L.polyline(coords, {
          ...style,
          color: routeColor(profile),
          weight: 5.5,
          opacity: 0.95,
          className: "route-line route-network",
        }),
      );
    } else {
      const estimated = method === "estimated";
      const kind = estimated ? "estimated" : "straight";
      const line = L.polyline([start, end], {
        pane: "routePane",
        interactive: false,
        color: estimated ? ESTIMATE_COLOR : STRAIGHT_COLOR,
        weight: estimated ? 4 : 3,
        opacity: 0.95,
        dashArray: estimated ? "8 9" : "2 7",
        lineCap: "round",
        className: `route-line route-${kind}`,
      });
      const text = estimated
        ? `${t("route.label.estimated")} · ${t("distance.estimated")} ${formatDistance(result.distance_m)}`
        : `${t("route.label.straight")} ${formatDistance(result.distance_m)}`;
      line.bindTooltip(label(text, kind), {
        permanent: true,
        direction: "center",
        className: `route-label route-label-${kind}`,
      });
      parts.push(line);
      this.labelled = line;
    }
    this.method = method;
    this.layer = L.featureGroup(parts).addTo(this.map);
    this._updateLabel();
    return this.layer;
  }

  bounds() {
    return this.layer ? this.layer.getBounds() : null;
  }

  clear() {
    if (this.layer) this.layer.remove();
    this.layer = null;
    this.method = null;
    this.labelled = null;
  }
}

/** Isochrone polygons, one per threshold (property "minutes"), largest drawn first. */
export class IsochroneLayer {
  constructor(map, { onChange = () => {} } = {}) {
    this.map = map;
    this.onChange = onChange;
    map.createPane("isochronePane");
    map.getPane("isochronePane").style.zIndex = 350;
    this.layer = null;
    this.thresholds = [];
    this.profile = null;
  }

  show(geojson, { fit = true, profile = null } = {}) {
    this.clear({ silent: true });
    if (!geojson) {
      this.onChange(this);
      return null;
    }
    const features = (geojson.type === "FeatureCollection" ? geojson.features : [geojson])
      .slice()
      .sort((a, b) => (b.properties?.minutes ?? 0) - (a.properties?.minutes ?? 0));
    const thresholds = [...new Set(features.map((f) => f.properties?.minutes ?? 0))].sort(
      (a, b) => a - b,
    );
    this.thresholds = thresholds;
    this.profile = profile ?? features[0]?.properties?.profile ?? null;
    this.layer = window.L.geoJSON(
      { type: "FeatureCollection", features },
      {
        pane: "isochronePane",
        style: (feature) => {
          const color = isochroneColor(feature.properties?.minutes ?? 0, thresholds);
          return {
            color,
            weight: 1.5,
            fillColor: color,
            fillOpacity: 0.2,
            className: "isochrone",
          };
        },
        onEachFeature: (feature, layer) => {
          const minutes = feature.properties?.minutes;
          if (minutes !== undefined) {
            layer.bindTooltip(() => h("span", { text: t("isochrone.label", { n: minutes }) }), {
              sticky: true,
            });
          }
        },
      },
    ).addTo(this.map);
    if (fit && this.layer.getBounds().isValid()) this.map.fitBounds(this.layer.getBounds());
    this.onChange(this);
    return this.layer;
  }

  bounds() {
    return this.layer ? this.layer.getBounds() : null;
  }

  clear({ silent = false } = {}) {
    if (this.layer) this.layer.remove();
    this.layer = null;
    this.thresholds = [];
    if (!silent) this.onChange(this);
  }
}

/** The default network of a travel profile in the /networks answer (or null). */
export function defaultNetwork(networks, profile) {
  const list = networks?.networks || [];
  return (
    list.find((n) => (n.default_for_profile || []).includes(profile)) ||
    list.find((n) => n.profile === profile) ||
    null
  );
}

function ringContains(ring, lon, lat) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Whether a GeoJSON (Multi)Polygon, Feature or FeatureCollection contains the point. */
export function geometryContains(geojson, lon, lat) {
  if (!geojson) return false;
  if (geojson.type === "FeatureCollection") {
    return geojson.features.some((f) => geometryContains(f, lon, lat));
  }
  if (geojson.type === "Feature") return geometryContains(geojson.geometry, lon, lat);
  const polygons =
    geojson.type === "Polygon" ? [geojson.coordinates] : geojson.type === "MultiPolygon" ? geojson.coordinates : [];
  return polygons.some(
    ([outer, ...holes]) =>
      ringContains(outer, lon, lat) && !holes.some((hole) => ringContains(hole, lon, lat)),
  );
}

/**
 * Whether the point lies inside the coverage of the profile's default network (where the
 * API routes on streets and draws isochrones); true when the network has no coverage
 * polygon, null when no network of that profile is installed.
 */
export async function networkCovers(profile, lon, lat) {
  const network = defaultNetwork(await api.networks(), profile);
  if (!network) return null;
  return network.coverage ? geometryContains(network.coverage, lon, lat) : true;
}

/** The detour factor (median) used for estimates on a network, or null when unknown. */
export async function detourFactor(networkName) {
  if (!networkName) return null;
  const networks = await api.networks();
  const network = (networks.networks || []).find((n) => n.name === networkName);
  const factor = network?.calibration?.detour_median;
  return Number.isFinite(factor) ? factor : null;
}

/** The outline of the walking network's coverage (where answers are routed, not estimated). */
export class CoverageOverlay {
  constructor(map, { profile = "walk", onChange = () => {} } = {}) {
    this.map = map;
    this.profile = profile;
    this.onChange = onChange;
    if (!map.getPane("coveragePane")) {
      map.createPane("coveragePane");
      map.getPane("coveragePane").style.zIndex = 345;
    }
    this.group = window.L.featureGroup();
    this.loaded = false;
    this.visible = false;
  }

  async load() {
    if (this.loaded) return;
    const network = defaultNetwork(await api.networks(), this.profile);
    if (!network?.coverage) throw new Error(`no ${this.profile} network installed`);
    const L = window.L;
    const common = { pane: "coveragePane", interactive: false };
    // A white casing under a dark green dashed line keeps the outline readable over the
    // coloured metro lines and road fills.
    L.geoJSON(network.coverage, {
      ...common,
      style: { color: "#fff", weight: 7, opacity: 0.85, fill: false },
    }).addTo(this.group);
    L.geoJSON(network.coverage, {
      ...common,
      style: {
        color: COVERAGE_COLOR,
        weight: 3.5,
        opacity: 1,
        dashArray: "12 7",
        fillColor: COVERAGE_COLOR,
        fillOpacity: 0.07,
        className: "coverage-outline",
      },
    }).addTo(this.group);
    this.loaded = true;
  }

  async setVisible(visible, { fit = false } = {}) {
    this.visible = visible;
    if (visible) {
      await this.load();
      if (!this.visible) return;
      this.group.addTo(this.map);
      if (fit) this.map.fitBounds(this.group.getBounds(), { padding: [24, 24] });
    } else {
      this.group.remove();
    }
    this.onChange(this);
  }
}

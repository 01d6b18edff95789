// Drawing of analysis results on the map: a route to a facility and isochrone polygons.
// The network engine fills these through the window.servicemap hooks (see app.js and
// docs/webmap.md); until then they stay empty.

import { t } from "../i18n.js";
import { h } from "./dom.js";

const ISOCHRONE_COLORS = ["#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027"];

/** One route line (GeoJSON LineString/MultiLineString, Feature or FeatureCollection). */
export class RouteLayer {
  constructor(map) {
    this.map = map;
    map.createPane("routePane");
    map.getPane("routePane").style.zIndex = 420;
    this.layer = null;
  }

  /**
   * Draw a route; estimated routes (method "estimated") are dashed, since they are not a
   * path along streets. Replaces any previous route.
   */
  draw(geojson, { method = "network", color = "#1a73e8" } = {}) {
    this.clear();
    if (!geojson) return null;
    const estimated = method === "estimated";
    const L = window.L;
    const casing = L.geoJSON(geojson, {
      pane: "routePane",
      interactive: false,
      style: { color: "#fff", weight: 8, opacity: 0.9, lineCap: "round", lineJoin: "round" },
    });
    const line = L.geoJSON(geojson, {
      pane: "routePane",
      interactive: false,
      style: {
        color,
        weight: 5,
        opacity: 0.95,
        lineCap: "round",
        lineJoin: "round",
        dashArray: estimated ? "2 9" : null,
        className: estimated ? "route-line route-estimated" : "route-line",
      },
    });
    this.layer = L.featureGroup([casing, line]).addTo(this.map);
    return this.layer;
  }

  bounds() {
    return this.layer ? this.layer.getBounds() : null;
  }

  clear() {
    if (this.layer) this.layer.remove();
    this.layer = null;
  }
}

/** Isochrone polygons, one per threshold (property "minutes"), largest drawn first. */
export class IsochroneLayer {
  constructor(map) {
    this.map = map;
    map.createPane("isochronePane");
    map.getPane("isochronePane").style.zIndex = 350;
    this.layer = null;
  }

  show(geojson, { fit = true } = {}) {
    this.clear();
    if (!geojson) return null;
    const features = (geojson.type === "FeatureCollection" ? geojson.features : [geojson])
      .slice()
      .sort((a, b) => (b.properties?.minutes ?? 0) - (a.properties?.minutes ?? 0));
    const thresholds = [...new Set(features.map((f) => f.properties?.minutes ?? 0))].sort(
      (a, b) => a - b,
    );
    const colorOf = (minutes) =>
      ISOCHRONE_COLORS[
        Math.min(
          ISOCHRONE_COLORS.length - 1,
          Math.round(
            (thresholds.indexOf(minutes) / Math.max(1, thresholds.length - 1)) *
              (ISOCHRONE_COLORS.length - 1),
          ),
        )
      ];
    this.layer = window.L.geoJSON(
      { type: "FeatureCollection", features },
      {
        pane: "isochronePane",
        style: (feature) => {
          const color = colorOf(feature.properties?.minutes ?? 0);
          return { color, weight: 1.5, fillColor: color, fillOpacity: 0.22 };
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
    return this.layer;
  }

  clear() {
    if (this.layer) this.layer.remove();
    this.layer = null;
  }
}

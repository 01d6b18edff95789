// Reference overlays: district boundaries with labels, and metro lines with stations.

import { getLang } from "../i18n.js";
import { api } from "./api.js";
import { h } from "./dom.js";

const STATION_MIN_ZOOM = 12;
const DISTRICT_LABEL_ZOOMS = [9, 13];

/** Area-weighted centroid of the largest outer ring of a (Multi)Polygon, as [lat, lon]. */
function labelPoint(geometry) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  let best = null;
  let bestArea = 0;
  for (const polygon of polygons) {
    const ring = polygon[0];
    let area = 0;
    let cx = 0;
    let cy = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
      const cross = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
      area += cross;
      cx += (ring[j][0] + ring[i][0]) * cross;
      cy += (ring[j][1] + ring[i][1]) * cross;
    }
    if (Math.abs(area) > bestArea) {
      bestArea = Math.abs(area);
      best = [cy / (3 * area), cx / (3 * area)];
    }
  }
  return best;
}

function textIcon(className, text) {
  return window.L.divIcon({
    className,
    html: h("span", { text }),
    iconSize: null,
  });
}

/** District boundaries (dashed) with name labels at mid zooms. */
export class DistrictsOverlay {
  constructor(map) {
    this.map = map;
    this.group = window.L.layerGroup();
    this.labels = window.L.layerGroup();
    this.data = null;
    this.visible = false;
    map.on("zoomend", () => this._updateLabels());
  }

  async load() {
    if (this.data) return;
    this.data = await api.districts();
    window.L.geoJSON(this.data, {
      interactive: false,
      style: { color: "#7a5c99", weight: 1.4, opacity: 0.8, dashArray: "5 4", fill: false },
    }).addTo(this.group);
    this._buildLabels();
  }

  _buildLabels() {
    this.labels.clearLayers();
    if (!this.data) return;
    for (const feature of this.data.features) {
      const point = feature.geometry && labelPoint(feature.geometry);
      if (!point) continue;
      const props = feature.properties || {};
      const name = getLang() === "en" && props.name_en ? props.name_en : props.name;
      if (!name) continue;
      window.L.marker(point, {
        icon: textIcon("district-label", name),
        interactive: false,
        keyboard: false,
      }).addTo(this.labels);
    }
  }

  _updateLabels() {
    const zoom = this.map.getZoom();
    const show = this.visible && zoom >= DISTRICT_LABEL_ZOOMS[0] && zoom <= DISTRICT_LABEL_ZOOMS[1];
    if (show && !this.map.hasLayer(this.labels)) this.labels.addTo(this.map);
    if (!show && this.map.hasLayer(this.labels)) this.labels.remove();
  }

  async setVisible(visible) {
    this.visible = visible;
    if (visible) {
      await this.load();
      if (this.visible) this.group.addTo(this.map);
    } else {
      this.group.remove();
    }
    this._updateLabels();
  }

  /** Re-label after a language switch. */
  relabel() {
    this._buildLabels();
  }
}

/** Metro lines (schematic, coloured per line) and station dots from zoom 12. */
export class MetroOverlay {
  constructor(map) {
    this.map = map;
    this.lines = window.L.layerGroup();
    this.stations = window.L.layerGroup();
    this.stationData = [];
    this.loaded = false;
    this.visible = false;
    map.createPane("metroPane");
    map.getPane("metroPane").style.zIndex = 380;
    this.renderer = window.L.svg({ pane: "metroPane" });
    map.on("zoomend", () => this._updateStations());
  }

  async load() {
    if (this.loaded) return;
    this.loaded = true;
    const [lines, stations] = await Promise.allSettled([
      api.basemap("metro_lines"),
      api.features("metro_station", { limit: 2000 }),
    ]);
    if (lines.status === "fulfilled") {
      window.L.geoJSON(lines.value, {
        renderer: this.renderer,
        pane: "metroPane",
        interactive: false,
        style: (feature) => this._lineStyle(feature),
      }).addTo(this.lines);
      this.map.on("zoomend", () => {
        this.lines.eachLayer((layer) => layer.setStyle((feature) => this._lineStyle(feature)));
      });
    }
    if (stations.status === "fulfilled") {
      this.stationData = stations.value.features.filter((f) => f.geometry);
      this._buildStations();
    }
  }

  _lineStyle(feature) {
    const zoom = this.map.getZoom();
    return {
      color: feature.properties?.color || "#666",
      weight: zoom <= 11 ? 2 : zoom <= 13 ? 3 : 4,
      opacity: zoom <= 11 ? 0.6 : 0.8,
      lineCap: "round",
      lineJoin: "round",
    };
  }

  _buildStations() {
    this.stations.clearLayers();
    for (const feature of this.stationData) {
      const [lon, lat] = feature.geometry.coordinates;
      const props = feature.properties || {};
      const name = getLang() === "en" && props.name_en ? props.name_en : props.name;
      const marker = window.L.circleMarker([lat, lon], {
        renderer: this.renderer,
        pane: "metroPane",
        radius: 3.5,
        color: "#333",
        weight: 1.5,
        fillColor: "#fff",
        fillOpacity: 1,
      });
      if (name) marker.bindTooltip(h("span", { text: name }), { direction: "top", offset: [0, -4] });
      marker.addTo(this.stations);
    }
  }

  _updateStations() {
    const show = this.visible && this.map.getZoom() >= STATION_MIN_ZOOM;
    if (show && !this.map.hasLayer(this.stations)) this.stations.addTo(this.map);
    if (!show && this.map.hasLayer(this.stations)) this.stations.remove();
  }

  async setVisible(visible) {
    this.visible = visible;
    if (visible) {
      await this.load();
      if (this.visible) this.lines.addTo(this.map);
    } else {
      this.lines.remove();
    }
    this._updateStations();
  }

  relabel() {
    if (this.stationData.length) this._buildStations();
  }
}

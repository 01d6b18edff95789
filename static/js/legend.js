// The map legend: what the drawn route, the isochrone polygons and the network coverage
// outline mean. It shows only the parts that are on the map and hides itself when empty.

import { t } from "../i18n.js";
import { COVERAGE_COLOR, ESTIMATE_COLOR, isochroneColor, routeColor } from "./analysis.js";
import { h, replaceChildren } from "./dom.js";

function lineSwatch(kind, color) {
  const swatch = h("span", { class: `legend-line legend-line-${kind}`, "aria-hidden": "true" });
  swatch.style.setProperty("--swatch-color", color);
  return swatch;
}

function areaSwatch(color) {
  const swatch = h("span", { class: "legend-area", "aria-hidden": "true" });
  swatch.style.setProperty("--swatch-color", color);
  return swatch;
}

function row(swatch, text) {
  return h("li", { class: "legend-row" }, swatch, h("span", { text }));
}

export class MapLegend {
  /** @param {L.Map} map */
  constructor(map) {
    this.state = { route: null, isochrones: null, coverage: false };
    this.box = h("div", { class: "map-legend leaflet-control", role: "note" });
    this.box.hidden = true;
    window.L.DomEvent.disableClickPropagation(this.box);
    const Control = window.L.Control.extend({
      options: { position: "bottomleft" },
      onAdd: () => this.box,
    });
    new Control().addTo(map);
  }

  /**
   * Change what the legend explains: `route` {method, profile} or null, `isochrones`
   * {thresholds, profile} or null, `coverage` true/false. Omitted keys keep their value.
   */
  update(patch) {
    Object.assign(this.state, patch);
    this.render();
  }

  render() {
    const { route, isochrones, coverage } = this.state;
    const sections = [];
    if (isochrones && isochrones.thresholds.length) {
      const profile = isochrones.profile === "drive" ? "drive" : "walk";
      sections.push(
        h(
          "div",
          { class: "legend-section legend-isochrones" },
          h("p", { class: "legend-title", text: t(`legend.isochrones.${profile}`) }),
          h(
            "ul",
            { class: "legend-list legend-steps" },
            isochrones.thresholds.map((minutes) =>
              row(
                areaSwatch(isochroneColor(minutes, isochrones.thresholds)),
                t("legend.minutes", { n: minutes }),
              ),
            ),
          ),
        ),
      );
    }
    const lines = [];
    if (route?.method === "network") {
      lines.push(row(lineSwatch("solid", routeColor(route.profile)), t("legend.route.network")));
    } else if (route?.method === "estimated") {
      lines.push(row(lineSwatch("dashed", ESTIMATE_COLOR), t("legend.route.estimated")));
    } else if (route) {
      lines.push(row(lineSwatch("dotted", "#5f6770"), t("legend.route.straight")));
    }
    if (coverage) lines.push(row(lineSwatch("coverage", COVERAGE_COLOR), t("legend.coverage")));
    if (lines.length) {
      sections.push(h("ul", { class: "legend-section legend-list legend-lines" }, lines));
    }
    replaceChildren(this.box, sections);
    this.box.hidden = sections.length === 0;
  }
}

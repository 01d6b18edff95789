// The travel-mode switch (walk / drive / straight line) of the nearest search and the
// isochrone toggle ("5/10/15 分钟步行圈"): both act on the chosen point.

import { t } from "../i18n.js";
import { networkCovers } from "./analysis.js";
import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";

export const PROFILES = Object.freeze(["walk", "drive", "straight"]);
export const ISOCHRONE_MINUTES = Object.freeze([5, 10, 15]);

export class TravelControls {
  /**
   * @param {object} options
   * @param {import("./nearest.js").NearestSearch} options.nearest
   * @param {import("./analysis.js").IsochroneLayer} options.isochrones
   * @param {() => Promise} options.showCoverage shows (and fits) the walk-network coverage
   * @param {() => object} options.fitPadding Leaflet fitBounds padding for the layout
   * @param {L.Map} options.map
   * @param {object} options.els {modes, toggle, status} elements of the sheet
   * @param {(event: string, detail: object) => void} options.emit
   */
  constructor({ nearest, isochrones, showCoverage, fitPadding, map, els, emit }) {
    this.nearest = nearest;
    this.isochrones = isochrones;
    this.showCoverage = showCoverage;
    this.fitPadding = fitPadding;
    this.map = map;
    this.els = els;
    this.emit = emit;
    this.isochronesOn = false;
    this.isoState = { kind: null }; // {kind: loading|outside|error|needPoint|done, ...}
    this.controller = null;
    els.toggle.addEventListener("click", () => this.setIsochrones(!this.isochronesOn));
    this.render();
  }

  get profile() {
    return this.nearest.profile;
  }

  /** The profile of the isochrones: the search's, walking for straight-line searches. */
  get isochroneProfile() {
    return this.profile === "drive" ? "drive" : "walk";
  }

  /** Switch the travel mode; re-runs the search (and the isochrones when shown). */
  async setProfile(profile) {
    if (!PROFILES.includes(profile)) throw new Error(`unknown travel profile ${profile}`);
    const changed = profile !== this.profile;
    this.nearest.setOption("profile", profile);
    this.render();
    if (!changed) return this.nearest.results;
    this.emit("profile", { profile });
    const [results] = await Promise.all([
      this.nearest.refresh({ fit: true }),
      this.isochronesOn ? this.refreshIsochrones({ fit: false }) : null,
    ]);
    return results;
  }

  /** Show or hide the 5/10/15-minute areas around the chosen point. */
  async setIsochrones(on) {
    this.isochronesOn = Boolean(on);
    if (!this.isochronesOn) {
      this.controller?.abort();
      this.isochrones.clear();
      this.isoState = { kind: null };
      this.render();
      return null;
    }
    return this.refreshIsochrones({ fit: true });
  }

  /** Fetch and draw the isochrones for the current point (after a move or a mode switch). */
  async refreshIsochrones({ fit = false } = {}) {
    if (!this.isochronesOn) return null;
    const location = this.nearest.location;
    this.controller?.abort();
    if (!location) {
      this.isochrones.clear();
      this.isoState = { kind: "needPoint" };
      this.render();
      return null;
    }
    const controller = new AbortController();
    this.controller = controller;
    const profile = this.isochroneProfile;
    this.isoState = { kind: "loading" };
    this.render();
    try {
      // Asking outside the coverage would be refused (422); say so without asking.
      const covered = await networkCovers(profile, location.lon, location.lat);
      if (controller.signal.aborted || !this.isochronesOn) return null;
      if (covered === false) {
        const err = new Error("outside the network coverage");
        err.code = "out_of_coverage";
        throw err;
      }
      const answer = await api.isochrones(
        {
          lon: location.lon.toFixed(6),
          lat: location.lat.toFixed(6),
          profile,
          minutes: ISOCHRONE_MINUTES.join(","),
        },
        { signal: controller.signal },
      );
      if (controller.signal.aborted || !this.isochronesOn) return null;
      this.isochrones.show(answer, { fit: false, profile });
      if (fit) {
        const bounds = this.isochrones.bounds();
        if (bounds?.isValid()) {
          bounds.extend([location.lat, location.lon]);
          this.map.fitBounds(bounds, { ...this.fitPadding(), maxZoom: 17 });
        }
      }
      this.isoState = { kind: "done" };
      this.emit("isochrones", { profile, count: answer.features?.length ?? 0 });
    } catch (err) {
      if (err.name === "AbortError") return null;
      this.isochrones.clear();
      this.isoState =
        err.code === "out_of_coverage"
          ? { kind: "outside", profile }
          : { kind: "error", message: err.message };
      this.emit("isochrones", { profile, count: 0, error: err.code || err.message });
    } finally {
      if (this.controller === controller) this.controller = null;
    }
    this.render();
    return this.isochrones.layer;
  }

  /** The radio buttons of the switch (built once, so keyboard focus survives re-renders). */
  _buildModes() {
    const { modes } = this.els;
    this.modeInputs = new Map();
    this.modeLabels = new Map();
    replaceChildren(
      modes,
      PROFILES.map((profile) => {
        const input = h("input", {
          type: "radio",
          name: "travel-profile",
          value: profile,
          id: `travel-${profile}`,
          class: "seg-input",
        });
        input.addEventListener("change", () => {
          if (input.checked) this.setProfile(profile);
        });
        const label = h("label", { for: `travel-${profile}`, class: "seg-label" });
        this.modeInputs.set(profile, input);
        this.modeLabels.set(profile, label);
        return h("span", { class: "seg-item" }, input, label);
      }),
    );
  }

  /** Draw the switch, the toggle label and the isochrone message in the current language. */
  render() {
    const { modes, toggle, status } = this.els;
    if (!this.modeInputs) this._buildModes();
    for (const profile of PROFILES) {
      this.modeInputs.get(profile).checked = profile === this.profile;
      this.modeLabels.get(profile).textContent = t(`travel.${profile}`);
    }
    modes.setAttribute("aria-label", t("travel.label"));
    toggle.textContent = t(`isochrone.toggle.${this.isochroneProfile}`);
    toggle.title = t("isochrone.toggle.title");
    toggle.setAttribute("aria-pressed", this.isochronesOn ? "true" : "false");
    toggle.hidden = !this.nearest.location; // the areas are drawn around the chosen point
    toggle.classList.toggle("is-busy", this.isoState.kind === "loading");

    const state = this.isoState;
    let content = [];
    if (state.kind === "needPoint") content = [t("isochrone.needPoint")];
    else if (state.kind === "loading") content = [t("isochrone.loading")];
    else if (state.kind === "error") content = [t("isochrone.error", { message: state.message })];
    else if (state.kind === "outside") {
      content = [
        h("span", { text: t(`isochrone.outside.${state.profile}`) }),
        " ",
        state.profile === "walk"
          ? h("button", {
              type: "button",
              class: "link-btn",
              id: "btn-show-coverage",
              text: t("coverage.show"),
              onClick: () => this.showCoverage(),
            })
          : null,
      ];
    }
    replaceChildren(status, content);
    status.hidden = content.length === 0;
    status.classList.toggle("is-warning", state.kind === "outside" || state.kind === "error");
  }
}

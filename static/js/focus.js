// Keyboard focus around the map: popups take focus when opened from the keyboard path (the
// result list) and give it back when they close; Escape closes an open popup wherever focus
// is; the map itself is one tab stop where the arrow keys pan, +/- zoom and Enter searches
// from the map's centre. Leaflet's own strings (the popup's close button, the zoom buttons)
// are translated here.

import { onLangChange, t } from "../i18n.js";

/** Focusable-on-demand target inside a popup: its heading, else its content. */
function popupTarget(popupEl) {
  const target =
    popupEl.querySelector(".leaflet-popup-content h2, .leaflet-popup-content h3, .leaflet-popup-content strong") ||
    popupEl.querySelector(".leaflet-popup-content");
  if (target && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  return target;
}

function translateCloseButton(popupEl) {
  const close = popupEl?.querySelector(".leaflet-popup-close-button");
  if (close) {
    close.setAttribute("aria-label", t("common.closePopup"));
    close.title = t("common.closePopup");
  }
}

/**
 * Popup focus for a map. Returns {openedBy(el)}: call it just before opening a popup from
 * a control (a list entry's button); focus then moves into the popup, and back to that
 * element when the popup closes (by Escape, its close button or a click on the map).
 */
export function wirePopupFocus(map) {
  let pending = null;
  let opener = null;
  map.on("popupopen", (e) => {
    const popupEl = e.popup.getElement();
    translateCloseButton(popupEl);
    if (pending && popupEl) {
      opener = pending;
      pending = null;
      popupTarget(popupEl)?.focus({ preventScroll: true });
    }
  });
  map.on("popupclose", (e) => {
    const popupEl = e.popup.getElement();
    const focusLost =
      document.activeElement === document.body || (popupEl && popupEl.contains(document.activeElement));
    if (opener && opener.isConnected && focusLost) opener.focus({ preventScroll: true });
    opener = null;
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && map._popup && map.hasLayer(map._popup)) {
      map.closePopup();
    }
  });
  onLangChange(() => {
    const popupEl = map._popup?.getElement();
    translateCloseButton(popupEl);
  });
  return {
    openedBy(el) {
      pending = el || null;
    },
  };
}

/**
 * Keep the map's SVG shapes out of the tab order. Chromium makes an SVG element a tab stop
 * as soon as it has focus listeners, which Leaflet adds to every layer with a tooltip (the
 * 416 metro stations would be 416 Tab presses): an explicit tabindex="-1" keeps them
 * reachable by the mouse only, like the markers.
 */
export function keepShapesOutOfTabOrder(map) {
  map.on("layeradd", (e) => {
    const el = typeof e.layer.getElement === "function" ? e.layer.getElement() : null;
    if (el instanceof SVGElement && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
  });
}

/** Translate the zoom control's buttons (titles and labels), now and after a switch. */
export function translateZoomControl(map) {
  const apply = () => {
    const container = map.getContainer();
    for (const [selector, key] of [
      [".leaflet-control-zoom-in", "map.zoomIn"],
      [".leaflet-control-zoom-out", "map.zoomOut"],
    ]) {
      const button = container.querySelector(selector);
      if (button) {
        button.title = t(key);
        button.setAttribute("aria-label", t(key));
      }
    }
  };
  apply();
  onLangChange(apply);
}

/**
 * The map as one keyboard stop: Enter (or Space) on the focused map searches from its
 * centre, the way a tap searches from the tapped point; the arrow keys and +/- are
 * Leaflet's. A crosshair marks the centre while the map has keyboard focus (app.css).
 */
export function wireMapKeyboard(map, onChoose) {
  const container = map.getContainer();
  container.addEventListener("keydown", (e) => {
    if (e.target !== container) return; // a control or popup inside the map has focus
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      const centre = map.getCenter();
      onChoose(centre.lng, centre.lat);
    }
  });
}

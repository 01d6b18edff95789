// The page's frame around the map: notices over the map, the demo-data banner, the sheet
// (bottom sheet on phones, side panel from 800 px wide) and the layer panel's open/close
// with its keyboard focus.

import { onLangChange, t } from "../i18n.js";
import { h, replaceChildren } from "./dom.js";

export const DESKTOP_QUERY = window.matchMedia("(min-width: 800px)");
const SHEET_STATES = ["min", "peek", "full"];
const DEMO_DISMISSED_KEY = "servicemap.demoDismissed";

const $ = (id) => document.getElementById(id);

// --- notices over the map -----------------------------------------------------------------
/**
 * Short notices over the map, one per key. A message is a string or a function returning
 * one; functions are called again after a language switch, so a notice never stays in the
 * language it was first shown in.
 */
export function createNotices(map) {
  const box = h("div", { class: "map-notices", role: "status", "aria-live": "polite" });
  map.getContainer().append(box);
  window.L.DomEvent.disableClickPropagation(box);
  const slots = new Map(); // key -> {el, message}
  const text = (message) => (typeof message === "function" ? message() : message);
  onLangChange(() => {
    for (const slot of slots.values()) slot.el.textContent = text(slot.message);
  });
  return {
    set(key, message, { timeoutMs = 0, kind = "info" } = {}) {
      let slot = slots.get(key);
      if (!message) {
        slot?.el.remove();
        slots.delete(key);
        return;
      }
      if (!slot) {
        slot = { el: h("div", { class: "map-notice", dataset: { key } }), message };
        slots.set(key, slot);
        box.append(slot.el);
      }
      slot.message = message;
      slot.el.className = `map-notice notice-${kind}`;
      slot.el.textContent = text(message);
      if (timeoutMs) {
        const shown = slot;
        window.setTimeout(() => {
          if (slots.get(key) === shown && shown.message === message) {
            shown.el.remove();
            slots.delete(key);
          }
        }, timeoutMs);
      }
    },
  };
}

// --- demo-data banner ------------------------------------------------------------------------
function dismissedDemo() {
  try {
    return new Set(JSON.parse(window.localStorage.getItem(DEMO_DISMISSED_KEY) || "[]"));
  } catch {
    return new Set();
  }
}

/**
 * The one place the map says that a layer's records are demonstration data (besides the
 * layer panel's badge): a banner naming the demo layers on the map, dismissible (the choice
 * is remembered per layer). A layer whose real registry was imported reports demo: false in
 * /layers and is never named here.
 */
export function createDemoBanner(el, { layerName }) {
  let layers = [];
  const dismissed = dismissedDemo();
  const render = () => {
    const shown = layers.filter((layer) => layer.demo && !dismissed.has(layer.id));
    el.hidden = shown.length === 0;
    if (!shown.length) {
      replaceChildren(el);
      return;
    }
    const names = shown.map((layer) => layerName(layer)).join(t("list.separator"));
    replaceChildren(
      el,
      h("p", { class: "demo-banner-text" }, h("strong", { text: t("demo.banner.title") }), " ", t("demo.banner.text", { layers: names })),
      h("button", {
        type: "button",
        class: "demo-banner-close",
        text: t("demo.banner.dismiss"),
        onClick: () => {
          for (const layer of shown) dismissed.add(layer.id);
          try {
            window.localStorage.setItem(DEMO_DISMISSED_KEY, JSON.stringify([...dismissed]));
          } catch {
            // not remembered; hidden for this page
          }
          const next = document.getElementById("sheet-title");
          render();
          next?.focus();
        },
      }),
    );
  };
  onLangChange(render);
  return {
    /** The layers on the map (searched or shown); the demo ones are named. */
    update(current) {
      layers = current;
      render();
    },
  };
}

// --- sheet (bottom sheet on phones, side panel on desktop) ---------------------------------
export function createSheet(map) {
  const sheet = $("sheet");
  const layout = document.querySelector(".layout");
  function update() {
    const offset = DESKTOP_QUERY.matches ? 0 : sheet.getBoundingClientRect().height;
    layout.style.setProperty("--sheet-offset", `${Math.round(offset)}px`);
  }
  function setState(state) {
    sheet.dataset.state = state;
    $("sheet-handle").setAttribute("aria-expanded", state === "full" ? "true" : "false");
    window.requestAnimationFrame(update);
  }
  function step(delta) {
    const i = SHEET_STATES.indexOf(sheet.dataset.state);
    setState(SHEET_STATES[Math.max(0, Math.min(SHEET_STATES.length - 1, i + delta))]);
  }
  $("sheet-handle").addEventListener("click", () => {
    setState(sheet.dataset.state === "full" ? "peek" : "full");
  });
  let touchY = null;
  const head = sheet.querySelector(".sheet-handle");
  head.addEventListener("touchstart", (e) => (touchY = e.touches[0].clientY), { passive: true });
  head.addEventListener(
    "touchend",
    (e) => {
      if (touchY === null) return;
      const dy = e.changedTouches[0].clientY - touchY;
      touchY = null;
      if (Math.abs(dy) > 30) step(dy < 0 ? 1 : -1);
    },
    { passive: true },
  );
  // A keyboard user arriving in the sheet (skip link, Tab) on a phone sees it raised.
  sheet.addEventListener("focusin", () => {
    if (!DESKTOP_QUERY.matches && sheet.dataset.state === "min") setState("peek");
  });
  sheet.addEventListener("transitionend", update);
  new ResizeObserver(update).observe(sheet);
  DESKTOP_QUERY.addEventListener("change", () => {
    update();
    map.invalidateSize();
  });
  update();
  return {
    setState,
    /** Lower a full sheet so the map shows; resolves once the layout has settled. */
    reveal() {
      if (DESKTOP_QUERY.matches || sheet.dataset.state !== "full") return Promise.resolve();
      setState("peek");
      return new Promise((resolve) => window.setTimeout(resolve, 260));
    },
    get state() {
      return sheet.dataset.state;
    },
    /** fitBounds padding that keeps features out from under the sheet. */
    fitPadding() {
      if (DESKTOP_QUERY.matches) return { padding: [48, 48] };
      const covered = sheet.getBoundingClientRect().height;
      return { paddingTopLeft: [36, 36], paddingBottomRight: [56, covered + 24] };
    },
  };
}

// --- layer panel open/close ----------------------------------------------------------------
/**
 * The layer panel's button: opening moves keyboard focus into the panel (its heading),
 * Escape or the close button closes it and gives focus back to the button.
 */
export function wireLayerPanel() {
  const panel = $("layer-panel");
  const button = $("btn-layers");
  const title = $("layer-panel-title");
  const set = (open, { restoreFocus = false } = {}) => {
    const wasOpen = !panel.hidden;
    panel.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open && !wasOpen) title.focus();
    if (!open && wasOpen && (restoreFocus || panel.contains(document.activeElement))) button.focus();
  };
  button.addEventListener("click", () => set(panel.hidden, { restoreFocus: true }));
  $("btn-layers-close").addEventListener("click", () => set(false, { restoreFocus: true }));
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      set(false, { restoreFocus: true });
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !panel.hidden && !document.querySelector(".leaflet-popup")) {
      set(false, { restoreFocus: true });
    }
  });
  return { close: () => set(false), get open() { return !panel.hidden; } };
}

// The page's frame around the map: notices over the map, the sheet (bottom sheet on phones,
// side panel from 800 px wide) and the layer panel's open/close wiring.

import { h } from "./dom.js";

export const DESKTOP_QUERY = window.matchMedia("(min-width: 800px)");
const SHEET_STATES = ["min", "peek", "full"];

const $ = (id) => document.getElementById(id);

// --- notices over the map -----------------------------------------------------------------
export function createNotices(map) {
  const box = h("div", { class: "map-notices", role: "status", "aria-live": "polite" });
  map.getContainer().append(box);
  window.L.DomEvent.disableClickPropagation(box);
  const slots = new Map();
  return {
    set(key, text, { timeoutMs = 0, kind = "info" } = {}) {
      let el = slots.get(key);
      if (!text) {
        el?.remove();
        slots.delete(key);
        return;
      }
      if (!el) {
        el = h("div", { class: "map-notice", dataset: { key } });
        slots.set(key, el);
        box.append(el);
      }
      el.className = `map-notice notice-${kind}`;
      el.textContent = text;
      if (timeoutMs) {
        window.setTimeout(() => {
          if (slots.get(key) === el && el.textContent === text) {
            el.remove();
            slots.delete(key);
          }
        }, timeoutMs);
      }
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
export function wireLayerPanel() {
  const panel = $("layer-panel");
  const button = $("btn-layers");
  const set = (open) => {
    panel.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
  };
  button.addEventListener("click", () => set(panel.hidden));
  $("btn-layers-close").addEventListener("click", () => set(false));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") set(false);
  });
  return { close: () => set(false) };
}

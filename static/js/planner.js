// The planners' page: one map (the worker map's basemap and district labels) and four tabs,
// following the ARIA tabs pattern (arrow keys, Home/End, one tab stop): the medical and
// lunch gaps of parks and buildings (gap_view.js), site planning (plan_view.js) and the
// check-up vehicle routes (route_view.js). One language at a time, with the same switch as
// the worker map.

import { applyI18n, onLangChange, t, wireLangButton } from "../i18n.js";
import { renderAccount } from "./account.js";
import { api } from "./api.js";
import { Basemap, OSM_ATTRIBUTION } from "./basemap.js";
import { keepShapesOutOfTabOrder, translateZoomControl, wirePopupFocus } from "./focus.js";
import { createGapView } from "./gap_view.js";
import { DistrictsOverlay } from "./overlays.js";
import { createPlanView } from "./plan_view.js";
import { createRouteView } from "./route_view.js";

const L = window.L;
const $ = (id) => document.getElementById(id);

applyI18n();
wireLangButton($("btn-lang"));

const map = L.map("pl-map", { preferCanvas: true, minZoom: 8, maxZoom: 18 }).setView([31.15, 121.45], 9);
map.attributionControl.setPrefix(
  '<a href="https://leafletjs.com" target="_blank" rel="noopener">Leaflet</a>',
);
map.attributionControl.addAttribution(OSM_ATTRIBUTION);
map.attributionControl.getContainer().lang = "en"; // the licence notice, as OSM words it
translateZoomControl(map);
keepShapesOutOfTabOrder(map);
const popupFocus = wirePopupFocus(map);

/** The status line above the panels: text, or an error in the error colour. */
function status(text, isError = false) {
  const node = $("pl-status");
  node.textContent = text;
  node.classList.toggle("error", isError);
}

/** Fit the map to what was just computed or chosen (padding clear of the panel edge). */
function fitTo(bounds, { maxZoom = 15 } = {}) {
  if (bounds?.isValid()) map.fitBounds(bounds, { padding: [28, 28], maxZoom });
}

const context = { map, status, fitTo, popupFocus };
const gapView = createGapView(context);
const planView = createPlanView(context);
const routeView = createRouteView(context);
const VIEWS = { medical: gapView, lunch: gapView, plan: planView, route: routeView };
const PANELS = { medical: "gap-panel", lunch: "gap-panel", plan: "plan-panel", route: "route-panel" };

// --- tabs (ARIA tabs pattern, automatic activation) -----------------------------------------
const tabs = [...document.querySelectorAll('.pl-tabs [role="tab"]')];
let current = null;

function activate(tab, { focus = false } = {}) {
  const mode = tab.dataset.analysis;
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
  }
  if (focus) tab.focus();
  for (const id of new Set(Object.values(PANELS))) $(id).hidden = id !== PANELS[mode];
  $(PANELS[mode]).setAttribute("aria-labelledby", tab.id);
  if (mode === current) return;
  const previous = current ? VIEWS[current] : null;
  current = mode;
  if (previous && previous !== VIEWS[mode]) previous.hide();
  map.closePopup();
  VIEWS[mode].show(mode);
}

for (const tab of tabs) tab.addEventListener("click", () => activate(tab));
document.querySelector(".pl-tabs").addEventListener("keydown", (e) => {
  const i = tabs.indexOf(document.activeElement);
  if (i < 0) return;
  const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
  if (next === undefined) return;
  e.preventDefault();
  activate(tabs[(next + tabs.length) % tabs.length], { focus: true });
});

/** Hooks for embedding and tests: the map and the last plan answer. */
window.servicemapPlanner = { map, planResult: () => planView.result };

onLangChange(() => {
  for (const view of new Set(Object.values(VIEWS))) view.relabel?.();
});

// --- basemap and place labels (the worker map's modules) -------------------------------------
async function start() {
  renderAccount(document.getElementById("pl-account"), { staffLink: true });
  const basemap = new Basemap(map, {});
  const districts = new DistrictsOverlay(map);
  onLangChange(() => districts.relabel());
  basemap.init().catch(() => null); // online tiles or the offline vector basemap
  const bounds = await districts
    .setVisible(true)
    .then(() => api.districts())
    .then((data) => L.geoJSON(data).getBounds())
    .catch((err) => {
      status(t("pl.loadError", { message: err.message || String(err) }), true);
      return null;
    });
  if (bounds) map.fitBounds(bounds);
  activate(tabs[0]);
}

start();

// The staff registry page (staff.html): four tabs following the ARIA tabs pattern — import a
// spreadsheet (staff_import.js), the district's records with the record editor
// (staff_records.js), the review queue with cards (staff_review.js) and a record's history
// (staff_history.js). Signed-in staff only; editors do not see the review tab.

import { applyI18n, t, wireLangButton } from "../i18n.js";
import { renderAccount } from "./account.js";
import { api } from "./api.js";
import { createHistoryView } from "./staff_history.js";
import { createImportView } from "./staff_import.js";
import { createRecordsView } from "./staff_records.js";
import { createReviewView } from "./staff_review.js";

const $ = (id) => document.getElementById(id);

applyI18n();
wireLangButton($("btn-lang"));

/** The status line: text, or an error in the error colour. */
function status(text, isError = false) {
  const node = $("st-status");
  node.textContent = text;
  node.classList.toggle("error", isError);
}

const tabs = [...document.querySelectorAll('.st-tabs [role="tab"]')];
const views = {};
let current = null;

function activate(tab, { focus = false } = {}) {
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !selected;
  }
  if (focus) tab.focus();
  const name = tab.id.replace("tab-", "");
  if (name !== current) {
    current = name;
    status("");
    views[name]?.show();
  }
}

function wireTabs() {
  for (const tab of tabs) tab.addEventListener("click", () => activate(tab));
  document.querySelector(".st-tabs").addEventListener("keydown", (e) => {
    const shown = tabs.filter((tab) => !tab.hidden);
    const i = shown.indexOf(document.activeElement);
    if (i < 0) return;
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: shown.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    activate(shown[(next + shown.length) % shown.length], { focus: true });
  });
}

async function start() {
  const actor = await renderAccount($("st-account"));
  if (!actor) {
    for (const tab of tabs) tab.hidden = true;
    for (const panel of document.querySelectorAll('[role="tabpanel"]')) panel.hidden = true;
    $("st-signin").hidden = false;
    return;
  }
  const reviewer = actor.role === "reviewer" || actor.role === "admin";
  $("tab-review").hidden = !reviewer;
  let layers = [];
  try {
    layers = (await api.layers()).layers?.filter((layer) => layer.kind === "registry") ?? [];
  } catch (err) {
    status(t("st.failed", { message: err.message }), true);
  }
  const context = {
    actor, reviewer, layers, status,
    showHistory(id) {
      activate($("tab-history"));
      views.history.load(id);
    },
  };
  views.import = createImportView(context);
  views.records = createRecordsView(context);
  views.review = createReviewView(context);
  views.history = createHistoryView(context);
  wireTabs();
  const wanted = new URLSearchParams(location.search).get("tab");
  const first = tabs.find((tab) => tab.id === `tab-${wanted}` && !tab.hidden) || tabs[0];
  activate(first);
  document.body.dataset.ready = "1";
}

start();

// The history tab: every change of one record, newest first — who, when, what changed.

import { onLangChange, t, tParts } from "../i18n.js";
import { getJson } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { changeList, dataText, failure, table, when } from "./staff_common.js";

export function createHistoryView({ status }) {
  const $ = (id) => document.getElementById(id);
  const list = $("hist-list");
  let last = null;

  function actionName(action) {
    const text = t(`st.hist.${action}`);
    return text === `st.hist.${action}` ? action : text;
  }

  function render() {
    if (!last) return;
    if (!last.entries.length) {
      replaceChildren(list, h("p", {}, t("st.history.empty")));
      return;
    }
    const rows = last.entries.map((entry) => h("tr", {},
      h("td", {}, when(entry.at)),
      h("td", {}, h("bdi", { class: "st-actor", translate: "no" }, entry.actor || "—"),
        entry.role ? ` (${entry.role})` : ""),
      h("td", {}, actionName(entry.action)),
      h("td", {}, changeList(entry.changes)),
      h("td", {}, entry.comment ? dataText(entry.comment) : "",
        entry.source_file ? h("div", {}, tParts("st.history.fromImport",
          { file: dataText(entry.source_file), row: entry.source_row ?? "—" })) : null)));
    replaceChildren(list, table([t("st.history.col.at"), t("st.history.col.actor"),
      t("st.history.col.action"), t("st.history.col.changes"), t("st.history.col.comment")], rows,
    { caption: last.facility_id }));
  }

  async function load(id) {
    $("hist-id").value = id;
    status(t("st.loading"));
    try {
      last = await getJson(`facilities/${encodeURIComponent(id)}/history`);
      status("");
      render();
    } catch (err) {
      last = null;
      replaceChildren(list);
      status(failure(err), true);
    }
  }

  $("hist-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = $("hist-id").value.trim();
    if (id) load(id);
  });
  onLangChange(render);
  return { show() {}, load };
}

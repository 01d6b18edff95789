// The import tab: choose a layer, a file and its CRS, run a dry run, read the report row by
// row (the failing cells named by column letter, messages in the page's language), then
// commit (all or only the valid rows) and optionally submit for review.

import { onLangChange, t, tParts } from "../i18n.js";
import { ApiError, postForm, postJson } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { dataText, failure, fillLayers, problemMessage, table } from "./staff_common.js";

export function createImportView({ layers, status }) {
  const $ = (id) => document.getElementById(id);
  const report = $("imp-report");
  let last = null;

  fillLayers($("imp-layer"), layers);

  function problemText(problem) {
    const message = problemMessage(problem);
    const column = dataText(problem.column || "");
    if (problem.column_letter) {
      return tParts("st.import.cell", { letter: problem.column_letter, column, message });
    }
    return problem.column ? tParts("st.import.cellNoLetter", { column, message }) : message;
  }

  function problemItem(problem, severity) {
    return h("li", {
      class: `st-problem ${severity}`,
      dataset: { column: problem.column_letter || "", code: problem.code || "" },
    }, h("mark", { class: "st-cell" }, problemText(problem)));
  }

  function render() {
    if (!last) return;
    const errors = last.errors || [];
    const warnings = last.warnings || [];
    const byRow = new Map();
    for (const [list, severity] of [[errors, "error"], [warnings, "warning"]]) {
      for (const problem of list) {
        if (problem.row === null || problem.row === undefined) continue;
        if (!byRow.has(problem.row)) byRow.set(problem.row, []);
        byRow.get(problem.row).push(problemItem(problem, severity));
      }
    }
    const fileProblems = [...errors, ...warnings].filter((p) => p.row === null || p.row === undefined);
    const rows = (last.outcomes || []).map((outcome) => {
      const name = outcome.changes?.name;
      return h("tr", { class: `st-outcome ${outcome.action}`, dataset: { row: outcome.row } },
        h("td", {}, String(outcome.row)),
        h("td", {}, h("span", { class: `st-badge ${outcome.action}` }, t(`st.action.${outcome.action}`))),
        h("td", {}, dataText(Array.isArray(name) ? name[1] ?? "" : outcome.record_id || "")),
        h("td", {}, byRow.has(outcome.row) ? h("ul", { class: "st-problems" }, byRow.get(outcome.row)) : ""));
    });
    const summary = t(last.committed ? "st.import.committed" : "st.import.summary", {
      rows: last.rows, created: last.created, updated: last.updated, unchanged: last.unchanged,
      skipped: last.skipped, errors: new Set(errors.map((p) => p.row)).size,
    });
    replaceChildren(report,
      h("p", { class: "st-summary", id: "imp-summary" }, summary),
      last.refused ? h("p", { class: "st-message" }, t("st.import.notCommitted")) : null,
      fileProblems.length ? h("div", {}, h("h3", {}, t("st.import.fileProblems")),
        h("ul", { class: "st-problems" }, fileProblems.map((p) => problemItem(p, "error")))) : null,
      h("div", { class: "st-table-wrap", tabindex: "0" }, table([t("st.import.col.row"), t("st.import.col.action"),
        t("st.import.col.name"), t("st.import.col.problem")], rows)));
    $("imp-actions").hidden = !(last.dry_run && !last.committed);
  }

  function show(answer, refused = false) {
    last = { ...answer, refused };
    render();
  }

  $("imp-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = $("imp-file").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("layer", $("imp-layer").value);
    if ($("imp-crs").value) form.append("crs", $("imp-crs").value);
    form.append("dry_run", "true");
    status(t("st.import.checking"));
    try {
      show(await postForm("imports", form));
      status("");
    } catch (err) {
      status(failure(err), true);
    }
  });

  async function commit(commitValid) {
    if (!last?.import_id) return;
    try {
      const answer = await postJson(`imports/${encodeURIComponent(last.import_id)}/commit`,
        { commit_valid: commitValid, submit: $("imp-submit").checked });
      show(answer);
      status(t("st.import.committed", { created: answer.created, updated: answer.updated,
        skipped: answer.skipped }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && err.body?.outcomes) {
        show({ ...err.body, dry_run: true }, true);
        status(t("st.import.notCommitted"), true);
      } else status(failure(err), true);
    }
  }
  $("imp-commit").addEventListener("click", () => commit(false));
  $("imp-commit-valid").addEventListener("click", () => commit(true));
  onLangChange(() => {
    fillLayers($("imp-layer"), layers);
    render();
  });
  return { show() {} };
}

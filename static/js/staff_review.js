// The review tab (reviewers and administrators): submitted records with their changes
// against what workers see (old → new), bulk approve or return with a reason, and the
// yellow / red card dialog (reason, date, deadline), also opened from the records tab.

import { onLangChange, t } from "../i18n.js";
import { getJson, postJson } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { changeList, dataText, district, failure, table } from "./staff_common.js";

const $ = (id) => document.getElementById(id);
const hiddenText = (text) => h("span", { class: "visually-hidden" }, text);
let cardTarget = null; // {record, status, done}

/** Open the card dialog for a record; `done` runs after a card was issued. */
export function openCardDialog(record, status, done) {
  cardTarget = { record, status, done };
  $("card-record").replaceChildren(dataText(record.name));
  $("card-reason").value = "";
  $("card-date").value = new Date().toISOString().slice(0, 10);
  $("card-deadline").value = "";
  $("card-message").textContent = "";
  $("card-dialog").showModal();
  $("card-reason").focus();
}

function wireCardDialog() {
  const dialog = $("card-dialog");
  $("card-cancel").addEventListener("click", () => dialog.close());
  $("card-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!cardTarget) return;
    const reason = $("card-reason").value.trim();
    if (!reason) {
      $("card-message").textContent = t("st.card.needReason");
      return;
    }
    const kind = $("card-kind").value;
    const body = { kind, reason, issued_on: $("card-date").value || null };
    if ($("card-deadline").value) body.deadline = $("card-deadline").value;
    try {
      await postJson(`facilities/${encodeURIComponent(cardTarget.record.id)}/cards`, body);
      dialog.close();
      const { record, status, done } = cardTarget;
      status(t("st.card.issued", { name: record.name, kind: t(`st.card.${kind}`) }));
      done?.();
    } catch (err) {
      $("card-message").textContent = failure(err);
    }
  });
}

export function createReviewView({ reviewer, status }) {
  const list = $("rev-list");
  let page = null;
  let recent = []; // records approved on this page: a card may follow at once
  wireCardDialog();

  function renderRecent() {
    const box = $("rev-recent");
    if (!recent.length) {
      replaceChildren(box);
      return;
    }
    const rows = recent.map((record) => h("tr", { dataset: { id: record.id } },
      h("td", {}, dataText(record.name)),
      h("td", {}, district(record.district)),
      h("td", {}, h("button", { type: "button", class: "st-card-open",
        onclick: () => openCardDialog(record, status, load) }, t("st.review.card")))));
    replaceChildren(box, h("h3", {}, t("st.review.recent")), table([t("st.records.col.name"),
      t("st.records.col.district"), hiddenText(t("st.review.card"))], rows));
  }

  function render() {
    renderRecent();
    if (!page) return;
    if (!page.items.length) {
      replaceChildren(list, h("p", {}, t("st.review.empty")));
      return;
    }
    const rows = page.items.map(({ record, changes }) => h("tr", { dataset: { id: record.id } },
      h("td", {}, h("input", { type: "checkbox", class: "st-select", value: record.id,
        "aria-label": t("st.records.select", { name: record.name }) })),
      h("td", {}, dataText(record.name)),
      h("td", {}, district(record.district)),
      h("td", {}, changeList(changes)),
      h("td", {}, h("button", { type: "button", class: "st-card-open",
        onclick: () => openCardDialog(record, status, load) }, t("st.review.card")))));
    replaceChildren(list, table([hiddenText(t("st.records.col.select")), t("st.records.col.name"),
      t("st.records.col.district"), t("st.review.col.changes"), hiddenText(t("st.review.card"))], rows));
  }

  async function load() {
    if (!reviewer) {
      $("rev-role").hidden = false;
      return;
    }
    try {
      page = await getJson("review/queue", { limit: 200 });
      render();
    } catch (err) {
      status(failure(err), true);
    }
  }

  const selected = () => [...list.querySelectorAll(".st-select:checked")].map((box) => box.value);

  async function act(action) {
    const ids = selected();
    if (!ids.length) {
      status(t("st.records.nothingSelected"), true);
      return;
    }
    const comment = $("rev-comment").value.trim();
    if (action === "return" && !comment) {
      status(t("st.review.needComment"), true);
      return;
    }
    try {
      const answer = await postJson(`review/${action}`, comment ? { ids, comment } : { ids });
      if (action === "approve") recent = answer.items.map((item) => item.record);
      await load();
      status(t(action === "approve" ? "st.review.approved.done" : "st.review.returned.done",
        { n: answer.total }));
    } catch (err) {
      status(failure(err), true);
    }
  }
  $("rev-approve").addEventListener("click", () => act("approve"));
  $("rev-return").addEventListener("click", () => act("return"));
  onLangChange(render);
  return { show: load };
}

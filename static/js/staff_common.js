// Pieces shared by the staff registry tabs: layer choices, values in change lists, tables.

import { districtName, getLang, langTag, localized, pick, t } from "../i18n.js";
import { ApiError } from "./api.js";
import { h, langText } from "./dom.js";

/** Fill a <select> with the registry layers (names in the page's language). */
export function fillLayers(select, layers, { any = false } = {}) {
  const value = select.value;
  select.replaceChildren(
    ...(any ? [h("option", { value: "" }, t("st.records.anyState"))] : []),
    ...layers.map((layer) => h("option", { value: layer.id }, pick(layer, "name"))),
  );
  if (value) select.value = value;
}

/** A stored value as short text: null as a dash, lists joined, objects as JSON. */
export function valueText(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.length ? value.map(valueText).join(", ") : "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Text from the data (a name, an address) marked with its script's language. */
export function dataText(text) {
  return langText(localized(String(text ?? ""), ""));
}

/** A district in the page's language. */
export function district(name) {
  return name ? districtName(name) : "—";
}

/** A list of changes {field: [old, new]} as "field: old → new" lines. */
// bookkeeping the reviewer need not read (the id, the state itself, provenance)
const QUIET_FIELDS = new Set(["id", "layer", "review", "demo", "flags", "updated_at", "source", "extra"]);

export function changeList(changes) {
  const entries = Object.entries(changes || {}).filter(([field, pair]) => {
    const [before, after] = Array.isArray(pair) ? pair : [null, pair];
    return !QUIET_FIELDS.has(field) && valueText(before) !== valueText(after);
  });
  if (!entries.length) return "—";
  return h("ul", { class: "st-changes" }, entries.map(([field, pair]) => {
    const [before, after] = Array.isArray(pair) ? pair : [null, pair];
    return h("li", {},
      h("code", { translate: "no" }, field), ": ",
      h("span", { class: "st-old" }, dataText(valueText(before))), " → ",
      h("span", { class: "st-new" }, dataText(valueText(after))));
  }));
}

/** A table with a header row and body rows (cells: nodes or strings). */
export function table(headers, rows, { caption = null } = {}) {
  return h("table", { class: "st-table" },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows));
}

/** The review state's name in the page's language. */
export function stateName(review) {
  const key = `st.review.${review}`;
  const text = t(key);
  return text === key ? review : text;
}

/** A review flag in the page's language (the geocoder's own reasons as they are). */
export function flagName(flag) {
  const key = `st.flag.${flag}`;
  const text = t(key);
  return text === key ? flag : text;
}

/** An ISO timestamp in the page's language. */
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(langTag());
}

/** The message of a failed call for the status line. */
export function failure(err) {
  if (err instanceof ApiError) return t("st.failed", { message: err.message });
  return t("st.failed", { message: String(err?.message || err) });
}

/** A problem's message in the page's language. */
export function problemMessage(problem) {
  return (getLang() === "en" ? problem.message_en : problem.message_zh)
    || problem.message_zh || problem.message_en || problem.code || "";
}

// Interface strings in Chinese (default) and English, and the language switch.
//
// The strings live in static/i18n/ (common.js, map.js for the worker map, planner.js for the
// planners' page, embed.js for the embeddable map, staff.js for the registry pages); every string a person sees goes through
// t(). One language is shown at a
// time: text that has no translation (a facility's Chinese name, an address) is written in a
// span marked lang="zh-CN" (see localized() and dom.js langText()), so screen readers switch
// voice and the browser tests can tell a proper noun from a missing translation.
//
// Static markup is translated through attributes:
//   data-i18n="key"              -> element.textContent
//   data-i18n-title="key"        -> title attribute
//   data-i18n-aria-label="key"   -> aria-label attribute
//   data-i18n-placeholder="key"  -> placeholder attribute
// <html data-title-key="key"> names the document title's key (default "app.title").
// Dynamic text calls t(key, params). Parameters are substituted into plain strings which are
// always written with textContent, never parsed as HTML.

import COMMON from "./i18n/common.js";
import EMBED from "./i18n/embed.js";
import MAP from "./i18n/map.js";
import PLANNER from "./i18n/planner.js";
import STAFF from "./i18n/staff.js";

export const LANGUAGES = Object.freeze(["zh", "en"]);
/** Every string table by language (exported for the key-parity test). */
export const STRINGS = Object.freeze({
  zh: { ...COMMON.zh, ...MAP.zh, ...PLANNER.zh, ...EMBED.zh, ...STAFF.zh },
  en: { ...COMMON.en, ...MAP.en, ...PLANNER.en, ...EMBED.en, ...STAFF.en },
});
const STORAGE_KEY = "servicemap.lang";
const listeners = new Set();

function initialLanguage() {
  const fromUrl = new URLSearchParams(window.location.search).get("lang");
  if (fromUrl && LANGUAGES.includes(fromUrl)) return fromUrl;
  try {
    const stored = window.localStorage.getItem(STORAGE_KEY);
    if (stored && LANGUAGES.includes(stored)) return stored;
  } catch {
    // Storage may be disabled (private mode, embedded frames): fall through to the default.
  }
  return "zh";
}

let current = initialLanguage();

/** The active language code, "zh" or "en". */
export function getLang() {
  return current;
}

/** The BCP 47 tag of a language code ("zh-CN" / "en"). */
export function langTag(lang = current) {
  return lang === "zh" ? "zh-CN" : "en";
}

/**
 * Translate a key, substituting {name} placeholders from params.
 * Unknown keys fall back to Chinese, then to the key itself, so a missing string is visible
 * but never breaks the page (the key-parity test keeps both tables complete).
 */
export function t(key, params = {}) {
  const template = STRINGS[current][key] ?? STRINGS.zh[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (match, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : match,
  );
}

/**
 * Like t(), but parameters may be DOM nodes (a name in its own lang span): returns the
 * pieces, strings and nodes, to append in order.
 */
export function tParts(key, params = {}) {
  const template = STRINGS[current][key] ?? STRINGS.zh[key] ?? key;
  const parts = [];
  let last = 0;
  for (const match of template.matchAll(/\{(\w+)\}/g)) {
    parts.push(template.slice(last, match.index));
    const name = match[1];
    const value = Object.prototype.hasOwnProperty.call(params, name) ? params[name] : match[0];
    parts.push(value instanceof Node ? value : String(value));
    last = match.index + match[0].length;
  }
  parts.push(template.slice(last));
  return parts.filter((part) => part !== "");
}

/** Whether a translation exists for key in the active language. */
export function has(key) {
  return Object.prototype.hasOwnProperty.call(STRINGS[current], key);
}

/** "Label：" (zh) or "Label: " (en) for a label key. */
export function label(key) {
  return t("common.labelled", { label: t(key) });
}

/** The language a text is written in, by its script: "zh-CN", "en" or null (digits only). */
export function scriptLang(text) {
  if (/[\u3400-\u9fff]/.test(text)) return "zh-CN";
  if (/[A-Za-z]/.test(text)) return "en";
  return null;
}

/**
 * A text in the active language when there is one, else the other: {text, lang} where lang
 * is set when the text is written in another language than the page's (a Chinese name on
 * the English page; an OpenStreetMap name in Latin letters on the Chinese page).
 */
export function localized(zh, en) {
  const text = current === "en" ? en || zh || "" : zh || en || "";
  const written = scriptLang(text);
  return { text, lang: written && written !== langTag() ? written : null };
}

/** Pick the zh or en variant of a bilingual record field (e.g. name_zh / name_en). */
export function pick(record, base) {
  const preferred = record[`${base}_${current}`];
  if (preferred) return preferred;
  return record[`${base}_zh`] ?? record[`${base}_en`] ?? "";
}

/** A district's name in the active language (its Chinese name when it is not one of the 16). */
export function districtName(name) {
  if (!name) return "";
  const key = `district.${name}`;
  return has(key) ? t(key) : name;
}

/** Translate the static markup below root (see the attribute conventions at the top). */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.title = t(el.dataset.i18nTitle);
  }
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.setAttribute("placeholder", t(el.dataset.i18nPlaceholder));
  }
  document.documentElement.lang = langTag();
  document.title = t(document.documentElement.dataset.titleKey || "app.title");
}

/** Switch language, persist the choice and notify listeners. */
export function setLang(lang) {
  if (!LANGUAGES.includes(lang)) throw new Error(`unknown language ${lang}`);
  if (lang === current) return;
  current = lang;
  try {
    window.localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Not persisted; the switch still applies to this page.
  }
  applyI18n();
  for (const listener of listeners) listener(lang);
}

/** Register a callback run after every language switch. Returns an unsubscribe function. */
export function onLangChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Wire a language button (its text names the other language): click switches, the label
 * follows the language.
 */
export function wireLangButton(button) {
  const sync = () => {
    button.textContent = t("lang.button");
    button.lang = current === "zh" ? "en" : "zh-CN";
    button.title = t("lang.switch"); // the name stays the visible text ("EN" / "中文")
  };
  sync();
  button.addEventListener("click", () => setLang(current === "zh" ? "en" : "zh"));
  onLangChange(sync);
}

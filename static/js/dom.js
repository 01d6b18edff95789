// Safe DOM construction. Every piece of text goes in through textContent or a property, so
// facility data (names, addresses, notes) can never be parsed as HTML.

import { langTag } from "../i18n.js";

/**
 * Create an element.
 *
 * attrs: "class" -> className, "text" -> textContent, "dataset" -> data-* attributes,
 * "on<Event>" functions -> listeners, other keys -> setAttribute (values stringified; never
 * use this for event-handler attributes). Children: nodes or strings (strings become text
 * nodes); null/undefined/false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key.startsWith("on")) {
      throw new Error(`refusing to set handler attribute ${key}`);
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Remove every child of el. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Replace the children of el. */
export function replaceChildren(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

/**
 * A link href only for the schemes this page produces itself; anything else becomes "#".
 * Guards against javascript: or data: URLs sneaking in through data.
 */
export function safeHref(url) {
  try {
    const parsed = new URL(url, window.location.href);
    if (["http:", "https:", "tel:", "geo:"].includes(parsed.protocol)) return parsed.href;
  } catch {
    // fall through
  }
  return "#";
}

/** Run fn at most once per wait milliseconds, after the calls stop. */
export function debounce(fn, waitMs) {
  let timer = null;
  return (...args) => {
    if (timer !== null) window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      timer = null;
      fn(...args);
    }, waitMs);
  };
}

/** An element with optional text content and class name. */
export function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

/** A number grouped for the active language, or a dash when absent. */
export const fmt = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString(langTag()));

/**
 * A span for a {text, lang} piece (see i18n.js localized()): lang is set when the text is
 * not in the page's language (a Chinese name on the English page). Names and addresses
 * from the data ({proper: true}, the default) are proper nouns: translate="no" keeps
 * translation tools off them.
 */
export function langText(part, attrs = {}, { proper = true } = {}) {
  return h("span", {
    ...attrs,
    lang: part?.lang || null,
    translate: proper ? "no" : null,
    text: part?.text ?? "",
  });
}

/** A popup body: the first line bold, the others plain; empty lines dropped. Lines are
 * strings, nodes or arrays of them. */
export function popupBox(lines) {
  const box = el("div", undefined, "pl-popup");
  lines
    .filter((line) => line && !(Array.isArray(line) && line.length === 0))
    .forEach((line, k) => box.append(h(k ? "div" : "strong", {}, line)));
  return box;
}

// Staff login: posts the credentials as JSON to the session endpoint, then returns to the
// page named by ?next= — only a path on this same origin; anything else (another host,
// "//host", "javascript:", backslashes) falls back to the map.

import { applyStrings, getLang, t, toggleLang } from "./login_i18n.js";

const DEFAULT_NEXT = "./";
let signedIn = null; // the /auth/me answer while a session is open

function apiBase() {
  const meta = document.querySelector('meta[name="servicemap-api"]');
  const base = meta?.content || "api/v1/";
  return new URL(base.endsWith("/") ? base : `${base}/`, document.baseURI);
}

/** The same-origin URL to return to after logging in (exported for the browser test). */
export function safeNext(raw, origin = window.location.origin) {
  if (typeof raw !== "string" || raw === "" || raw.length > 2000) return DEFAULT_NEXT;
  // a path on this site: one leading slash, no scheme-relative "//" or "/\", no controls
  if (!raw.startsWith("/") || raw.startsWith("//") || raw.includes("\\")) return DEFAULT_NEXT;
  if (/[\u0000-\u001f\u007f]/.test(raw)) return DEFAULT_NEXT;
  let url;
  try {
    url = new URL(raw, origin);
  } catch {
    return DEFAULT_NEXT;
  }
  if (url.origin !== origin) return DEFAULT_NEXT;
  if (url.pathname.endsWith("/login.html")) return DEFAULT_NEXT;
  return `${url.pathname}${url.search}${url.hash}`;
}

function nextTarget() {
  return safeNext(new URLSearchParams(window.location.search).get("next"));
}

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

const els = {
  form: () => document.getElementById("lg-form"),
  username: () => document.getElementById("lg-username"),
  password: () => document.getElementById("lg-password"),
  submit: () => document.getElementById("lg-submit"),
  error: () => document.getElementById("lg-error"),
  status: () => document.getElementById("lg-status"),
  signedIn: () => document.getElementById("lg-signed-in"),
  signedInText: () => document.getElementById("lg-signed-in-text"),
  continueLink: () => document.getElementById("lg-continue"),
  lang: () => document.getElementById("lg-lang"),
};

function showError(message, invalid = []) {
  els.error().textContent = message;
  for (const input of [els.username(), els.password()]) {
    if (invalid.includes(input)) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
  if (invalid.length) invalid[0].focus();
}

function setStatus(message) {
  els.status().textContent = message;
}

function renderSignedIn() {
  const box = els.signedIn();
  if (!signedIn) {
    box.hidden = true;
    els.form().hidden = false;
    return;
  }
  const name = signedIn.display_name || signedIn.username;
  els.signedInText().textContent = t("login.signedIn", { name, role: t(`role.${signedIn.role}`) });
  els.continueLink().setAttribute("href", nextTarget());
  box.hidden = false;
  els.form().hidden = true;
}

function renderLang() {
  applyStrings();
  const button = els.lang();
  button.setAttribute("lang", getLang() === "zh" ? "en" : "zh-CN");
  renderSignedIn();
}

async function loginRequest(username, password) {
  let response;
  try {
    response = await fetch(new URL("auth/login", apiBase()), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ username, password }),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    return { error: t("login.network") };
  }
  if (response.ok) return { ok: true };
  let body = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status only
  }
  if (response.status === 401) return { error: t("login.bad"), invalid: "password" };
  if (response.status === 429) {
    const seconds = Number.parseInt(response.headers.get("Retry-After") || "60", 10);
    return { error: t("login.locked", { seconds: Number.isFinite(seconds) ? seconds : 60 }) };
  }
  if (response.status === 422) return { error: t("login.invalid", { message: body.message || "" }) };
  return { error: t("login.failed", { message: body.message || response.status }) };
}

async function onSubmit(event) {
  event.preventDefault();
  const username = els.username().value.trim();
  const password = els.password().value;
  if (!username || !password) {
    const missing = [!username && els.username(), !password && els.password()].filter(Boolean);
    showError(t("login.missing"), missing);
    return;
  }
  showError("");
  els.submit().disabled = true;
  setStatus(t("login.busy"));
  const result = await loginRequest(username, password);
  if (result.ok) {
    setStatus(t("login.done"));
    window.location.replace(nextTarget());
    return;
  }
  els.submit().disabled = false;
  setStatus("");
  els.password().value = "";
  showError(result.error, result.invalid === "password" ? [els.password()] : []);
}

async function checkSession() {
  if (!readCookie("servicemap_csrf")) {
    // no session cookies: nothing to ask (and no 401 in the console)
    signedIn = null;
    renderSignedIn();
    return;
  }
  try {
    const response = await fetch(new URL("auth/me", apiBase()), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    });
    signedIn = response.ok ? await response.json() : null;
  } catch {
    signedIn = null;
  }
  renderSignedIn();
}

async function onLogout() {
  try {
    await fetch(new URL("auth/logout", apiBase()), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": signedIn?.csrf_token || readCookie("servicemap_csrf") },
    });
  } catch {
    // the cookies expire anyway; show the form again
  }
  signedIn = null;
  renderSignedIn();
  setStatus(t("login.loggedOut"));
  els.username().focus();
}

function init() {
  renderLang();
  els.form().addEventListener("submit", onSubmit);
  els.lang().addEventListener("click", () => {
    toggleLang();
    renderLang();
  });
  document.getElementById("lg-logout").addEventListener("click", onLogout);
  els.continueLink().setAttribute("href", nextTarget());
  checkSession();
  els.username().focus();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();

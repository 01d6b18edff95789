// Thin client for the servicemap HTTP API (/api/v1). Errors come back as ApiError carrying
// the server's user-safe message; aborted requests reject with an AbortError, which callers
// ignore.

import { t } from "../i18n.js";

/** An error answer of the API ({"error": code, "message": ...}) or a network failure. */
export class ApiError extends Error {
  constructor(message, { status = 0, code = "network", body = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.body = body; // the parsed answer (an import's refused report), or null
  }
}

function apiBase() {
  const meta = document.querySelector('meta[name="servicemap-api"]');
  const base = meta?.content || "api/v1/";
  return new URL(base.endsWith("/") ? base : `${base}/`, document.baseURI);
}

/** Build an absolute API URL from a path ("layers") and query parameters (nulls dropped). */
export function apiUrl(path, params = {}) {
  const url = new URL(path, apiBase());
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    url.searchParams.set(key, String(value));
  }
  return url;
}

const CSRF_COOKIE = "servicemap_csrf";

/** The staff session's CSRF token (a readable cookie set at login), or null. */
export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** Fetch a URL and resolve its JSON body; reject with an ApiError that carries the API's message.
 * Writes carry the session's CSRF token (cookie-authenticated staff sessions need it). */
async function fetchJson(url, init = {}) {
  let response;
  const method = (init.method || "GET").toUpperCase();
  const token = method === "GET" || method === "HEAD" ? null : csrfToken();
  if (token) init = { ...init, headers: { ...(init.headers || {}), "X-CSRF-Token": token } };
  try {
    response = await fetch(url, { credentials: "same-origin", ...init });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(err.message || "network error");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body?.message || `HTTP ${response.status}`;
    throw new ApiError(message, { status: response.status, code: body?.error || "http", body });
  }
  return body;
}

/** GET a JSON document from the API. */
export function getJson(path, params = {}, { signal } = {}) {
  return fetchJson(apiUrl(path, params), {
    signal,
    headers: { Accept: "application/json, application/geo+json" },
  });
}

/** The signed-in staff member ({username, role, district}), or null for anonymous visitors. */
export async function whoAmI() {
  // no session cookie pair: a visitor, nothing to ask (and no 401 in the console)
  if (!csrfToken()) return null;
  try {
    return await getJson("auth/me");
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return null;
    throw err;
  }
}

/** POST a JSON body; resolve the JSON answer, reject with an ApiError on failure. */
export function postJson(path, body) {
  return fetchJson(apiUrl(path), {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
}

/** Send a JSON body with any method and extra headers (PATCH with If-Match …). */
export function sendJson(method, path, body, headers = {}) {
  return fetchJson(apiUrl(path), {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** POST a multipart form (a file upload); the browser sets the boundary. */
export function postForm(path, formData) {
  return fetchJson(apiUrl(path), { method: "POST", headers: { Accept: "application/json" }, body: formData });
}

/**
 * Submit a background job (`POST /api/v1/{kind}`) and poll it until it is done or failed.
 *
 * @param {string} kind "plans" or "routes"
 * @param {object} request the job's JSON body
 * @param {{isCurrent: () => boolean, onStatus: (text: string, isError?: boolean) => void,
 *   pollMs?: number}} options isCurrent() turns false when a newer job replaced this one
 * @returns {Promise<object|null>} the finished job, or null when it failed, could not be
 *   submitted or reached (onStatus has said why) or was replaced
 */
export async function runJob(kind, request, { isCurrent, onStatus, pollMs = 1000 }) {
  onStatus(t("job.submitting"));
  // The server's messages are in English: shown after a translated lead-in.
  const fail = (err) => {
    if (!isCurrent()) return null;
    if (err instanceof ApiError && err.status === 401) onStatus(t("job.loginNeeded"), true);
    else onStatus(t("job.failed", { message: err.message || String(err) }), true);
    return null;
  };
  let created;
  try {
    created = await postJson(kind, request);
  } catch (err) {
    return fail(err);
  }
  const path = `${kind}/${encodeURIComponent(created.id)}`;
  for (;;) {
    if (!isCurrent()) return null;
    let answer;
    try {
      answer = await getJson(path);
    } catch (err) {
      return fail(err);
    }
    if (!isCurrent()) return null;
    if (answer.status === "done") return answer;
    if (answer.status === "failed") return fail(new ApiError(answer.error || "failed"));
    const pct = answer.progress.fraction === null ? "" : ` ${Math.round(100 * answer.progress.fraction)}%`;
    onStatus(t("job.computing", { pct }));
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

// Static geography (districts, basemap layers) is fetched once per page.
const staticCache = new Map();
function getStatic(path) {
  if (!staticCache.has(path)) {
    const request = getJson(path);
    request.catch(() => staticCache.delete(path));
    staticCache.set(path, request);
  }
  return staticCache.get(path);
}

export const api = {
  layers: (opts) => getJson("layers", {}, opts),
  features: (layerId, params, opts) =>
    getJson(`layers/${encodeURIComponent(layerId)}/features`, params, opts),
  facility: (id, opts) => getJson(`facilities/${encodeURIComponent(id)}`, {}, opts),
  districts: () => getStatic("districts"),
  basemap: (name) => getStatic(`basemap/${encodeURIComponent(name)}`),
  nearest: (params, opts) => getJson("nearest", params, opts),
  isochrones: (params, opts) => getJson("isochrones", params, opts),
  /** The installed road networks with their coverage polygons (fetched once). */
  networks: () => getStatic("networks"),
};

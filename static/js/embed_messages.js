// The message API of the embeddable map (docs/embed.md): postMessage to and from the page
// that frames it, always with an exact target origin and a checked event.origin.
//
// widget -> host: servicemap:ready, servicemap:select {id}, servicemap:resize {height},
//                 servicemap:results {ids, status}, servicemap:error {message, about}
// host -> widget: servicemap:flyTo {lon, lat, zoom, crs}, servicemap:setLayer {layer},
//                 servicemap:nearest {lon, lat, crs}   (crs: wgs84 by default, gcj02, bd09)

export const PREFIX = "servicemap:";

/**
 * The origin of the page framing this one, or null (not framed, or not an allowed host).
 *
 * The browser's word comes first (location.ancestorOrigins, where it exists); then the
 * `origin` parameter the loader passes; then the referrer's origin. A wrong claim only
 * makes messages go nowhere: postMessage to an origin that is not the parent's is dropped
 * by the browser, and messages are taken only from the parent with that origin.
 *
 * @param {{origin: string|null, embedOrigins: string[]}} config
 */
export function hostOrigin(config, win = window) {
  if (win.parent === win) return null;
  const ancestors = win.location.ancestorOrigins;
  let origin = ancestors && ancestors.length ? ancestors[0] : null;
  if (!origin) origin = config.origin || null;
  if (!origin && win.document.referrer) {
    try {
      origin = new URL(win.document.referrer).origin;
    } catch {
      origin = null;
    }
  }
  if (!origin || origin === "null") return null;
  const allowed = config.embedOrigins || ["*"];
  const own = origin === win.location.origin; // the service's own pages (builder, example)
  if (!own && !allowed.includes("*") && !allowed.includes(origin)) return null;
  return origin;
}

/**
 * Wire the message channel to the host.
 *
 * @param {object} options
 * @param {string|null} options.origin the host's origin (see hostOrigin); null: no channel
 * @param {Record<string, (message: object) => (Promise|void)>} options.handlers by short
 *   type ("flyTo"); a handler that throws answers servicemap:error
 * @returns {{post: (type: string, detail?: object) => boolean}}
 */
export function createChannel({ origin, handlers, win = window }) {
  const post = (type, detail = {}) => {
    if (!origin) return false;
    win.parent.postMessage({ ...detail, type: `${PREFIX}${type}` }, origin);
    return true;
  };
  if (origin) {
    win.addEventListener("message", async (event) => {
      if (event.source !== win.parent || event.origin !== origin) return;
      const data = event.data;
      if (!data || typeof data !== "object" || typeof data.type !== "string") return;
      if (!data.type.startsWith(PREFIX)) return;
      const type = data.type.slice(PREFIX.length);
      const handler = Object.prototype.hasOwnProperty.call(handlers, type) ? handlers[type] : null;
      if (!handler) {
        post("error", { about: data.type, message: `unknown message type ${data.type}` });
        return;
      }
      try {
        await handler(data);
      } catch (err) {
        post("error", { about: data.type, message: String(err?.message || err) });
      }
    });
  }
  return { post };
}

/** A finite number from a message field, or an Error naming the field. */
export function numberField(message, name, { optional = false } = {}) {
  const value = message[name];
  if ((value === undefined || value === null) && optional) return null;
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isFinite(number)) {
    throw new Error(`${name} must be a number (got ${JSON.stringify(value)?.slice(0, 40)})`);
  }
  return number;
}

/** The coordinate systems a host message may give its point in (as the `crs` URL parameter). */
export const MESSAGE_CRS = ["wgs84", "gcj02", "bd09"];

/**
 * A message's point in WGS84: its `lon`/`lat` as given when `crs` is absent or "wgs84";
 * otherwise converted by the server (`toWgs84(lon, lat, crs)`, the conversion the URL's
 * `crs` parameter gets), so the widget holds no conversion formula of its own.
 *
 * @param {object} message
 * @param {(lon: number, lat: number, crs: string) => Promise<{lon: number, lat: number}>} toWgs84
 */
export async function messagePoint(message, toWgs84) {
  const lon = numberField(message, "lon");
  const lat = numberField(message, "lat");
  const given = message.crs ?? "wgs84";
  const crs = typeof given === "string" ? given.trim().toLowerCase() : "";
  if (!MESSAGE_CRS.includes(crs)) {
    throw new Error(`crs must be one of ${MESSAGE_CRS.join(", ")} (got ${JSON.stringify(given)?.slice(0, 40)})`);
  }
  if (crs === "wgs84") return { lon, lat };
  const point = await toWgs84(lon, lat, crs);
  return { lon: point.lon, lat: point.lat };
}

/** Post the page's content height to the host whenever it changes. */
export function watchHeight(post, root = document.documentElement) {
  let last = 0;
  const send = () => {
    const height = Math.ceil(root.scrollHeight);
    if (height !== last) {
      last = height;
      post("resize", { height });
    }
  };
  new ResizeObserver(send).observe(root);
  if (document.body) new ResizeObserver(send).observe(document.body);
  send();
}

/*
 * servicemap widget loader (docs/embed.md). One line on any page:
 *
 *   <script src="https://HOST/widget.js" data-layer="relay_station" data-lang="zh" async></script>
 *
 * creates an iframe of HOST/embed with the data-* choices (layer, lon, lat, crs, locate,
 * zoom, k, profile, lang, controls, list, scroll, basemap; height is the map's height in
 * px, 400 by default; data-target names an element to put the frame in, else it goes
 * right after the script), sizes it to its content (servicemap:resize), and exposes the
 * message API:
 *
 *   const widget = window.servicemapWidgets[0];   // or script.servicemapWidget
 *   widget.on("select", (m) => console.log(m.id)); // also DOM events "servicemap:select"
 *   widget.flyTo(121.47, 31.23, 15); widget.setLayer("health_point"); widget.nearest(lon, lat);
 *   widget.flyTo(121.4787, 31.2285, 16, "gcj02");   // an Amap point (also "bd09")
 *
 * Messages go only to the widget's own origin, and only messages from that origin and
 * that frame are taken.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var base = new URL(script.src, document.baseURI);
  var widgetOrigin = base.origin;
  var data = script.dataset;
  var NAMES = ["layer", "lon", "lat", "crs", "locate", "zoom", "k", "profile", "lang", "controls",
    "list", "scroll", "basemap"];
  var params = new URLSearchParams();
  NAMES.forEach(function (name) {
    if (data[name] !== undefined) params.set(name, data[name]);
  });
  params.set("height", data.height || "400");
  if (window.location.origin && window.location.origin !== "null") {
    params.set("origin", window.location.origin);
  }
  var iframe = document.createElement("iframe");
  iframe.src = new URL("embed?" + params.toString(), base).href;
  iframe.title = data.title || (data.lang === "en" ? "Worker service map" : "职工服务地图");
  iframe.allow = "geolocation";
  iframe.referrerPolicy = "strict-origin-when-cross-origin";
  iframe.className = "servicemap-widget";
  iframe.style.cssText = "display:block;border:0;width:" + (data.width || "100%") +
    ";max-width:100%;min-width:280px;height:" + (Number(data.height || 400) + 90) + "px";

  var target = data.target ? document.getElementById(data.target) : null;
  if (target) target.appendChild(iframe);
  else if (script.parentNode && script.parentNode !== document.head) script.parentNode.insertBefore(iframe, script.nextSibling);
  else (document.body || document.documentElement).appendChild(iframe);

  var listeners = {};
  var queue = [];
  var isReady = false;
  var resolveReady;
  var widget = {
    iframe: iframe,
    origin: widgetOrigin,
    ready: new Promise(function (resolve) { resolveReady = resolve; }),
    /** Listen to "ready", "select", "resize", "results", "error"; returns an unsubscribe. */
    on: function (type, callback) {
      (listeners[type] = listeners[type] || []).push(callback);
      return function () {
        listeners[type] = (listeners[type] || []).filter(function (c) { return c !== callback; });
      };
    },
    /** Send a message (queued until the widget is ready). */
    post: function (message) {
      if (!isReady) { queue.push(message); return; }
      iframe.contentWindow.postMessage(message, widgetOrigin);
    },
    /** crs (optional): "wgs84" (default), "gcj02" (Amap, Tencent) or "bd09" (Baidu). */
    flyTo: function (lon, lat, zoom, crs) {
      var message = { type: "servicemap:flyTo", lon: lon, lat: lat, zoom: zoom };
      if (crs !== undefined) message.crs = crs;
      widget.post(message);
    },
    setLayer: function (layer) { widget.post({ type: "servicemap:setLayer", layer: layer }); },
    nearest: function (lon, lat, crs) {
      var message = { type: "servicemap:nearest", lon: lon, lat: lat };
      if (crs !== undefined) message.crs = crs;
      widget.post(message);
    },
  };

  window.addEventListener("message", function (event) {
    if (event.origin !== widgetOrigin || event.source !== iframe.contentWindow) return;
    var message = event.data;
    if (!message || typeof message.type !== "string" || message.type.indexOf("servicemap:") !== 0) return;
    var type = message.type.slice("servicemap:".length);
    if (type === "resize" && typeof message.height === "number" && isFinite(message.height)) {
      iframe.style.height = Math.max(120, Math.min(4000, Math.ceil(message.height))) + "px";
    }
    if (type === "ready" && !isReady) {
      isReady = true;
      resolveReady(widget);
      queue.splice(0).forEach(widget.post);
    }
    (listeners[type] || []).forEach(function (callback) {
      try { callback(message); } catch (err) { console.warn("servicemap widget listener failed", err); }
    });
    iframe.dispatchEvent(new CustomEvent(message.type, { detail: message, bubbles: true }));
  });

  script.servicemapWidget = widget;
  (window.servicemapWidgets = window.servicemapWidgets || []).push(widget);
})();

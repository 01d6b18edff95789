// The snippet builder (embed-builder.html): staff choose the layers, the centre (by moving
// the preview, or typed in WGS84/GCJ-02/BD-09), the size and the language, and copy the
// one-line loader or the iframe code. The preview is /embed itself, on this origin.

import { applyI18n, getLang, onLangChange, pick, t, wireLangButton } from "../i18n.js";
import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";

const $ = (id) => document.getElementById(id);
const CONTROLS = ["zoom", "locate", "layers", "profile", "lang"];
const DEFAULT_CONTROLS = ["zoom", "locate"];

/** The service's base URL (where /embed and /widget.js live). */
function serviceBase() {
  return new URL("./", window.location.href);
}

/** The choices of the form as /embed parameters (defaults left out). */
export function embedParams(form) {
  const params = new URLSearchParams();
  if (form.layers.length) params.set("layer", form.layers.join(","));
  if (form.lon !== "" && form.lat !== "") {
    params.set("lon", form.lon);
    params.set("lat", form.lat);
    if (form.crs !== "wgs84") params.set("crs", form.crs);
  }
  if (form.zoom) params.set("zoom", form.zoom);
  if (form.locate) params.set("locate", "1");
  if (form.k && form.k !== "5") params.set("k", form.k);
  if (form.profile !== "walk") params.set("profile", form.profile);
  params.set("lang", form.lang);
  if (form.list) params.set("list", "1");
  const controls = form.controls.join(",");
  if (controls !== DEFAULT_CONTROLS.join(",")) params.set("controls", controls || "none");
  return params;
}

function escapeAttr(value) {
  return String(value).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}

/** The one-line loader and the iframe code for the form's choices. */
export function snippets(form, base = serviceBase()) {
  const params = embedParams(form);
  const data = [...params.entries()].map(([key, value]) => ` data-${key}="${escapeAttr(value)}"`).join("");
  const height = Number(form.height) || 400;
  const script = `<script src="${new URL("widget.js", base).href}"${data} data-height="${height}"${
    form.width ? ` data-width="${Number(form.width)}px"` : ""
  } async></script>`;
  const src = new URL(`embed?${params}`, base).href;
  const title = form.lang === "en" ? "Worker service map" : "职工服务地图";
  const iframe =
    `<iframe src="${escapeAttr(src)}" width="${form.width ? Number(form.width) : "100%"}" ` +
    `height="${height + (form.list ? 0 : 60)}" title="${title}" style="border:0;max-width:100%" ` +
    `loading="lazy" allow="geolocation"></iframe>`;
  return { script, iframe, src };
}

async function main() {
  applyI18n();
  wireLangButton($("btn-lang"));
  const layers = (await api.layers()).layers.filter((layer) => layer.count > 0);
  let chosen = ["relay_station"]; // in the order they were ticked: the first is searched
  const layerBox = $("builder-layers");
  const controlBox = $("builder-controls");
  const controls = new Set(DEFAULT_CONTROLS);
  const renderChoices = () => {
    replaceChildren(
      layerBox,
      layers.map((layer) => {
        const box = h("input", { type: "checkbox", value: layer.id, id: `layer-${layer.id}` });
        box.checked = chosen.includes(layer.id);
        box.addEventListener("change", () => {
          chosen = chosen.filter((id) => id !== layer.id);
          if (box.checked) chosen.push(layer.id);
          update();
        });
        return h("label", { class: "chk", for: `layer-${layer.id}` }, box, ` ${pick(layer, "name")}`);
      }),
    );
    replaceChildren(
      controlBox,
      CONTROLS.map((name) => {
        const box = h("input", { type: "checkbox", value: name, id: `control-${name}` });
        box.checked = controls.has(name);
        box.addEventListener("change", () => {
          if (box.checked) controls.add(name);
          else controls.delete(name);
          update();
        });
        return h("label", { class: "chk", for: `control-${name}` }, box, ` ${t(`builder.control.${name}`)}`);
      }),
    );
  };
  const read = () => ({
    layers: [...chosen],
    lon: $("in-lon").value.trim(),
    lat: $("in-lat").value.trim(),
    crs: $("sel-crs").value,
    zoom: $("in-zoom").value.trim(),
    locate: $("chk-locate").checked,
    width: $("in-width").value.trim(),
    height: $("in-height").value.trim(),
    lang: $("sel-lang").value,
    profile: $("sel-profile").value,
    k: $("in-k").value.trim(),
    list: $("chk-list").checked,
    controls: CONTROLS.filter((name) => controls.has(name)),
  });
  const preview = $("preview");
  let shownSrc = null;
  const update = () => {
    const form = read();
    const { script, iframe, src } = snippets(form);
    $("out-script").value = script;
    $("out-iframe").value = iframe;
    if (src !== shownSrc) {
      shownSrc = src;
      document.body.dataset.preview = "loading";
      preview.src = src;
    }
  };
  // Moving the preview's map picks the centre and the zoom (WGS84). The preview says when
  // it is ready through the message API; being on this origin, its map is then read directly.
  window.addEventListener("message", (event) => {
    if (event.origin !== window.location.origin || event.source !== preview.contentWindow) return;
    if (event.data?.type !== "servicemap:ready") return;
    const embed = preview.contentWindow.servicemapEmbed;
    embed?.map.on("moveend", () => {
      const centre = embed.map.getCenter();
      $("in-lon").value = centre.lng.toFixed(5);
      $("in-lat").value = centre.lat.toFixed(5);
      $("sel-crs").value = "wgs84";
      $("in-zoom").value = String(embed.map.getZoom());
      const { script, iframe, src } = snippets(read());
      $("out-script").value = script;
      $("out-iframe").value = iframe;
      shownSrc = src; // the preview already shows this view: no reload
    });
    document.body.dataset.preview = "ready";
  });
  $("builder-form").addEventListener("input", update);
  $("builder-form").addEventListener("change", update);
  $("sel-lang").value = getLang();
  const copy = async (id) => {
    const area = $(id);
    try {
      await navigator.clipboard.writeText(area.value);
    } catch {
      area.select();
      document.execCommand("copy");
    }
    $("builder-status").textContent = t("builder.copied");
  };
  $("btn-copy-script").addEventListener("click", () => copy("out-script"));
  $("btn-copy-iframe").addEventListener("click", () => copy("out-iframe"));
  onLangChange(() => {
    renderChoices();
    applyI18n();
  });
  renderChoices();
  update();
  document.body.dataset.ready = "true";
}

main().catch((err) => {
  console.error("embed builder failed to start", err);
  $("builder-status").textContent = t("map.loadError", { message: err.message });
  document.body.dataset.ready = "error";
});

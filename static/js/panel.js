// The layer panel (facility layers with counts and their demo badge, overlays, basemap) and
// the sheet's search controls (layer, service).

import { pick, t } from "../i18n.js";
import { h, replaceChildren } from "./dom.js";
import { demoBadge, layerGlyph } from "./facility_view.js";

function countText(count) {
  return t("layers.count", { n: Number(count).toLocaleString(document.documentElement.lang) });
}

/** One checkbox row of the layer panel. */
function layerRow({ id, checked, onToggle, glyph, name, description, count, demo }) {
  const inputId = `layer-toggle-${id}`;
  const input = h("input", { type: "checkbox", id: inputId, dataset: { layer: id } });
  input.checked = checked;
  input.addEventListener("change", () => onToggle(input.checked));
  return h(
    "li",
    { class: "layer-row" },
    input,
    h(
      "label",
      { for: inputId },
      glyph,
      h(
        "span",
        { class: "layer-text" },
        h("span", { class: "layer-name" }, h("span", { text: name }), demo ? demoBadge() : null),
        description ? h("span", { class: "layer-desc", text: description }) : null,
      ),
      count === null ? null : h("span", { class: "layer-count", text: countText(count) }),
    ),
  );
}

function radioRow({ name, value, checked, label, onSelect, disabled = false }) {
  const inputId = `${name}-${value}`;
  const input = h("input", { type: "radio", name, value, id: inputId, disabled });
  input.checked = checked;
  input.addEventListener("change", () => {
    if (input.checked) onSelect(value);
  });
  return h("li", { class: "layer-row" }, input, h("label", { for: inputId }, h("span", { class: "layer-text", text: label })));
}

/**
 * Render the layer panel.
 *
 * @param {object} els {registry, context, overlays, basemap} list elements
 * @param {object} model {layers, isVisible(id), setVisible(id, on), overlays: [{id, key,
 *   visible, set(on)}], basemap: {mode, source?, choices?: [{value, label, disabled?}],
 *   onlineAvailable, set(value)}}
 */
export function renderLayerPanel(els, model) {
  const rows = (kind) =>
    model.layers
      .filter((layer) => layer.kind === kind)
      .map((layer) =>
        layerRow({
          id: layer.id,
          checked: model.isVisible(layer.id),
          onToggle: (on) => model.setVisible(layer.id, on),
          glyph: layerGlyph(layer, { size: "sm" }),
          name: pick(layer, "name"),
          description: pick(layer, "description"),
          count: layer.count,
          demo: layer.demo,
        }),
      );
  replaceChildren(els.registry, rows("registry"));
  if (els.demoNote) {
    const demo = model.layers.some((layer) => layer.kind === "registry" && layer.demo);
    els.demoNote.hidden = !demo;
    replaceChildren(els.demoNote, demo ? [demoBadge(), " ", t("badge.demo.title")] : []);
  }
  replaceChildren(els.context, rows("context"));
  replaceChildren(
    els.overlays,
    model.overlays.map((overlay) =>
      layerRow({
        id: overlay.id,
        checked: overlay.visible(),
        onToggle: (on) => overlay.set(on),
        glyph: h("span", { class: `glyph glyph-sm overlay-${overlay.id}`, "aria-hidden": "true" }),
        name: t(overlay.key),
        description: null,
        count: null,
        demo: false,
      }),
    ),
  );
  // The basemap's own choices (each configured online source, then offline) when it has them.
  const basemapChoices =
    model.basemap.choices ||
    ["online", "offline"].map((mode) => ({
      value: mode,
      label: t(`basemap.${mode}`),
      disabled: mode === "online" && !model.basemap.onlineAvailable,
    }));
  replaceChildren(
    els.basemap,
    basemapChoices.map((choice) =>
      radioRow({
        name: "basemap",
        value: choice.value,
        checked: (model.basemap.source || model.basemap.mode) === choice.value,
        label: choice.label,
        disabled: Boolean(choice.disabled),
        onSelect: (value) => model.basemap.set(value),
      }),
    ),
  );
}

/** Fill the nearest-layer select: registry layers, then context layers, as option groups. */
export function renderLayerSelect(select, layers, selectedId) {
  const group = (kind, labelKey) =>
    h(
      "optgroup",
      { label: t(labelKey) },
      layers
        .filter((layer) => layer.kind === kind && layer.count > 0)
        .map((layer) => {
          const option = h("option", { value: layer.id, text: pick(layer, "name") });
          option.selected = layer.id === selectedId;
          return option;
        }),
    );
  replaceChildren(select, group("registry", "layers.registry"), group("context", "layers.context"));
}

/** Fill the service select with the layer's vocabulary (first option: any service). */
export function renderServiceSelect(select, layer, selectedService) {
  const services = layer?.services || [];
  const any = h("option", { value: "", text: t("nearest.anyService") });
  const options = services.map((service) => {
    const option = h("option", { value: service.id, text: pick({ name_zh: service.zh, name_en: service.en }, "name") });
    option.selected = service.id === selectedService;
    return option;
  });
  replaceChildren(select, any, options);
  select.hidden = services.length === 0;
}

/** A short card about the searched layer: glyph, name, count, description. */
export function renderLayerAbout(el, layer) {
  if (!layer) {
    replaceChildren(el);
    return;
  }
  replaceChildren(
    el,
    h(
      "p",
      { class: "layer-about-title" },
      layerGlyph(layer, { size: "sm" }),
      h("span", { text: pick(layer, "name") }),
      h("span", { class: "layer-count", text: countText(layer.count) }),
    ),
    h("p", { class: "layer-about-text", text: pick(layer, "description") }),
  );
}

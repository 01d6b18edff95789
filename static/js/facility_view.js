// DOM views of one facility: the marker icon, the popup and the pieces shared with the
// nearest list. All facility text is written through textContent (see dom.js).

import { t } from "../i18n.js";
import { h } from "./dom.js";
import {
  facilityName,
  hoursText,
  isOpenAt,
  navigationLinks,
  precisionLabel,
  serviceLabels,
  statusLabel,
  telHref,
} from "./format.js";

/** The round coloured marker glyph of a layer (also used in lists and the layer panel). */
export function layerGlyph(layer, { size = "md", rank = null } = {}) {
  const glyph = h("span", {
    class: `glyph glyph-${size}`,
    "aria-hidden": "true",
    text: rank === null ? layer?.icon || "•" : String(rank),
  });
  glyph.style.setProperty("--glyph-color", layer?.color || "#555");
  return glyph;
}

/** A Leaflet divIcon for a facility marker of the layer; rank numbers the nearest results. */
export function markerIcon(layer, { rank = null } = {}) {
  const size = rank === null ? 26 : 34;
  const el = layerGlyph(layer, { size: rank === null ? "md" : "lg", rank });
  return window.L.divIcon({
    html: el,
    className: rank === null ? "fac-marker" : "fac-marker fac-marker-ranked",
    iconSize: [size, size],
    iconAnchor: [size / 2, size / 2],
    popupAnchor: [0, -size / 2],
  });
}

export function demoBadge() {
  return h("span", { class: "badge badge-demo", title: t("badge.demo.title"), text: t("badge.demo") });
}

function statusBadge(facility) {
  if (!facility.status || facility.status === "active") return null;
  return h("span", { class: `badge badge-status status-${facility.status}`, text: statusLabel(facility.status) });
}

function openBadge(facility) {
  const open = isOpenAt(facility.hours);
  if (open === null) return null;
  return h("span", {
    class: open ? "badge badge-open" : "badge badge-closed",
    text: open ? t("hours.openNow") : t("hours.closedNow"),
  });
}

/** Name line: glyph, name, demo and status badges. */
export function titleLine(facility, layer, { tag = "h3", rank = null } = {}) {
  return h(
    tag,
    { class: "fac-title" },
    layerGlyph(layer, { size: "sm", rank }),
    h(
      "span",
      { class: "fac-title-text" },
      h("span", { class: "fac-name", text: facilityName(facility) }),
      facility.demo ? demoBadge() : null,
      statusBadge(facility),
    ),
  );
}

/** Hours line with an open/closed badge computed in Shanghai time. */
export function hoursLine(facility) {
  return h(
    "p",
    { class: "fac-hours" },
    h("span", { class: "fac-label", text: `${t("field.hours")}：` }),
    h("span", { text: hoursText(facility) }),
    " ",
    openBadge(facility),
  );
}

/** Service chips. */
export function servicesLine(facility, vocabulary) {
  const labels = serviceLabels(facility.services, vocabulary);
  if (labels.length === 0) return null;
  return h(
    "ul",
    { class: "chips", "aria-label": t("field.services") },
    labels.map((label) => h("li", { class: "chip", text: label })),
  );
}

/** Phone as a tel: link (or plain text when it is not dialable). */
export function phoneLine(facility) {
  if (!facility.phone) return null;
  const href = telHref(facility.phone);
  const content = href
    ? h("a", { class: "fac-phone", href, text: facility.phone, "aria-label": `${t("call")} ${facility.phone}` })
    : h("span", { text: facility.phone });
  return h("p", { class: "fac-line" }, h("span", { class: "fac-label", text: `${t("field.phone")}：` }), content);
}

/** Navigation links (maps app, Amap, OSM) opening in a new context; profile walk or drive. */
export function navLine(facility, from, { profile = "walk" } = {}) {
  const links = navigationLinks(facility, from, profile);
  if (links.length === 0) return null;
  return h(
    "p",
    { class: "fac-nav" },
    h("span", { class: "fac-label", text: `${t("nav.label")}：` }),
    links.map((link) =>
      h("a", {
        class: "nav-link",
        href: link.href,
        target: link.href.startsWith("http") ? "_blank" : null,
        rel: "noopener noreferrer",
        text: t(link.key),
      }),
    ),
  );
}

function textLine(labelKey, value) {
  if (value === null || value === undefined || value === "") return null;
  return h("p", { class: "fac-line" }, h("span", { class: "fac-label", text: `${t(labelKey)}：` }), h("span", { text: String(value) }));
}

/** The popup content of a facility marker. */
export function popupContent(
  facility,
  layer,
  vocabulary,
  { from = null, rank = null, profile = "walk" } = {},
) {
  const precisionText = precisionLabel(facility.location_precision);
  const precision =
    precisionText && Number.isFinite(facility.uncertainty_m)
      ? t("field.precision.value", { precision: precisionText, n: Math.round(facility.uncertainty_m) })
      : precisionText;
  return h(
    "div",
    { class: "fac-popup", dataset: { facilityId: facility.id } },
    titleLine(facility, layer, { tag: "h3", rank }),
    textLine("field.address", facility.address),
    textLine("field.district", facility.district),
    hoursLine(facility),
    servicesLine(facility, vocabulary),
    phoneLine(facility),
    facility.capacity ? textLine("field.capacity", facility.capacity) : null,
    facility.area_m2 ? textLine("field.area", t("field.area.value", { n: Math.round(facility.area_m2) })) : null,
    precision && facility.location_precision !== "exact" ? textLine("field.precision", precision) : null,
    navLine(facility, from, { profile }),
    facility.source
      ? h("p", { class: "fac-source" }, `${t("field.source")}：`, facility.source)
      : null,
  );
}

// DOM views of one facility: the marker icon, the popup and the pieces shared with the
// nearest list. All facility text is written through textContent (see dom.js); text that is
// not in the page's language (a Chinese name or address on the English page) is marked with
// its lang.
//
// A worker sees services, hours and how to get there; registry states (new, upgraded,
// yellow card) and the demo flag are for planners and are not repeated on every entry (the
// demo flag is said once per layer: layer panel and banner).

import { districtName, label, localized, t } from "../i18n.js";
import { h, langText } from "./dom.js";
import {
  facilityNameParts,
  hoursParts,
  isOpenAt,
  navigationLinks,
  phoneNumbers,
  precisionLabel,
  serviceLabels,
  shanghaiMoment,
  sourceParts,
} from "./format.js";

/**
 * The SVG icon of each layer (Maki, CC0, vendored in icons/maki/): they render the same
 * everywhere, unlike emoji, which show as empty boxes without an emoji font.
 */
export const LAYER_ICONS = Object.freeze({
  health_point: "hospital",
  fitness_station: "fitness-centre",
  relay_station: "heart",
  rest_room: "lodging",
  training_site: "rail-metro",
  service_centre: "town-hall",
  hospital: "hospital-JP",
  community_health: "doctor",
  clinic: "doctor",
  pharmacy: "pharmacy",
  food: "restaurant-noodle",
  toilet: "toilet",
  metro_station: "rail-metro",
  workplace_park: "industry",
  workplace_building: "building",
});

/** URL of a layer's icon, or null when it has none. */
export function layerIconUrl(layer) {
  const name = layer && LAYER_ICONS[layer.id];
  return name ? new URL(`../icons/maki/${name}.svg`, import.meta.url).href : null;
}

/** The round coloured marker glyph of a layer (also used in lists and the layer panel). */
export function layerGlyph(layer, { size = "md", rank = null } = {}) {
  const icon = rank === null ? layerIconUrl(layer) : null;
  const glyph = h(
    "span",
    { class: `glyph glyph-${size}${icon ? " glyph-has-icon" : ""}`, "aria-hidden": "true" },
    icon ? h("span", { class: "glyph-icon" }) : rank === null ? layer?.icon || "•" : String(rank),
  );
  glyph.style.setProperty("--glyph-color", layer?.color || "#555");
  if (icon) glyph.style.setProperty("--glyph-icon", `url("${icon}")`);
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

/** The layer's demo badge (layer panel): its records are demonstration data. */
export function demoBadge() {
  return h("span", { class: "badge badge-demo", title: t("badge.demo.title"), text: t("badge.demo") });
}

/** The moment an open/closed badge is computed for: now, or the worker's chosen day and time. */
export function momentOf(when) {
  if (when?.kind === "at") {
    const [hh, mm] = String(when.time || "12:00").split(":").map(Number);
    return { day: when.day, minutes: hh * 60 + mm };
  }
  return shanghaiMoment();
}

function openBadge(facility, when) {
  const open = isOpenAt(facility.hours, momentOf(when));
  if (open === null) return null;
  const at = when?.kind === "at";
  const text = at
    ? t(open ? "hours.openAt" : "hours.closedAt", { day: t(`day.short.${when.day}`), time: when.time })
    : t(open ? "hours.openNow" : "hours.closedNow");
  return h("span", { class: open ? "badge badge-open" : "badge badge-closed", text });
}

/** Name line: glyph and name (marked Chinese on the English page when it has no English name). */
export function titleLine(facility, layer, { tag = "h3", rank = null } = {}) {
  return h(
    tag,
    { class: "fac-title" },
    layerGlyph(layer, { size: "sm", rank }),
    h("span", { class: "fac-title-text" }, langText(facilityNameParts(facility), { class: "fac-name" })),
  );
}

/** Hours line with an open/closed badge for now or the chosen time (Shanghai). */
export function hoursLine(facility, { when = null } = {}) {
  return h(
    "p",
    { class: "fac-hours" },
    h("span", { class: "fac-label", text: label("field.hours") }),
    hoursParts(facility).map((part, i) => [
      i ? " " : null,
      part.note
        ? h("span", { class: "fac-hours-note" }, t("hours.noteOpen"), langText(part, {}, { proper: false }), t("hours.noteClose"))
        : langText(part, {}, { proper: false }),
    ]),
    " ",
    openBadge(facility, when),
  );
}

/** Service chips. */
export function servicesLine(facility, vocabulary) {
  const labels = serviceLabels(facility.services, vocabulary);
  if (labels.length === 0) return null;
  return h(
    "ul",
    { class: "chips", "aria-label": t("field.services") },
    labels.map((text) => h("li", { class: "chip", text })),
  );
}

/**
 * Phone numbers as tel: links, one per number ("63773621、53062331" gives two), each with
 * its label; the record's phone_note (whose number it is) after them.
 */
export function phoneLine(facility) {
  const numbers = phoneNumbers(facility.phone);
  if (numbers.length === 0) return null;
  const note = facility.extra?.phone_note;
  return h(
    "p",
    { class: "fac-line fac-phones" },
    h("span", { class: "fac-label", text: label("field.phone") }),
    numbers.map((number, i) => [
      i ? h("span", { class: "sep", "aria-hidden": "true", text: " · " }) : null,
      number.href
        ? h(
            "a",
            {
              class: "fac-phone",
              href: number.href,
              "aria-label": t("call.number", {
                number: number.text,
                label: number.label ? ` ${number.label.text}` : "",
              }),
            },
            number.text,
          )
        : h("span", { text: number.text }),
      number.label ? [" ", h("span", { class: "fac-phone-label" }, t("hours.noteOpen"), langText(number.label, {}, { proper: false }), t("hours.noteClose"))] : null,
    ]),
    note && (note.zh || note.en) ? [" ", langText(localized(note.zh, note.en), { class: "fac-phone-note" }, { proper: false })] : null,
  );
}

/** Navigation links (maps app, Amap, OSM) opening in a new context; profile walk or drive. */
export function navLine(facility, from, { profile = "walk" } = {}) {
  const links = navigationLinks(facility, from, profile);
  if (links.length === 0) return null;
  return h(
    "p",
    { class: "fac-nav" },
    h("span", { class: "fac-label", text: label("nav.label") }),
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

function textLine(labelKey, value, { proper = false } = {}) {
  if (value === null || value === undefined || value === "") return null;
  const part = typeof value === "object" ? value : { text: String(value), lang: null };
  return h("p", { class: "fac-line" }, h("span", { class: "fac-label", text: label(labelKey) }), langText(part, {}, { proper }));
}

/** The address as {text, lang}: the registries write addresses in Chinese. */
export function addressParts(facility) {
  return facility.address ? localized(facility.address, null) : null;
}

/** The popup content of a facility marker. */
export function popupContent(
  facility,
  layer,
  vocabulary,
  { from = null, rank = null, profile = "walk", when = null } = {},
) {
  const precisionText = precisionLabel(facility.location_precision);
  const precision =
    precisionText && Number.isFinite(facility.uncertainty_m)
      ? t("field.precision.value", { precision: precisionText, n: Math.round(facility.uncertainty_m) })
      : precisionText;
  const source = sourceParts(facility);
  return h(
    "div",
    { class: "fac-popup", dataset: { facilityId: facility.id } },
    // h2: the popup sits in the map, before the sheet's h2 in the page's outline
    titleLine(facility, layer, { tag: "h2", rank }),
    textLine("field.address", addressParts(facility), { proper: true }),
    textLine("field.district", facility.district ? districtName(facility.district) : null),
    hoursLine(facility, { when }),
    servicesLine(facility, vocabulary),
    phoneLine(facility),
    facility.capacity ? textLine("field.capacity", facility.capacity) : null,
    facility.area_m2 ? textLine("field.area", t("field.area.value", { n: Math.round(facility.area_m2) })) : null,
    precision && facility.location_precision !== "exact" ? textLine("field.precision", precision) : null,
    navLine(facility, from, { profile }),
    source ? h("p", { class: "fac-source" }, label("field.source"), langText(source, {}, { proper: false })) : null,
  );
}

// The records tab: the caller's district records (state, last verified, flags; filter by
// layer and state), bulk submit, and the record editor — name, address, phone and a
// draggable pin on a Leaflet map that says how far it moved, with the gazetteer's placement
// candidates for coarse or flagged records. Saves send If-Match; a 412 says someone else
// changed the record.

import { onLangChange, t, tParts } from "../i18n.js";
import { ApiError, getJson, postJson, sendJson } from "./api.js";
import { Basemap, OSM_ATTRIBUTION } from "./basemap.js";
import { h, replaceChildren } from "./dom.js";
import { dataText, district, failure, fillLayers, flagName, stateName, table } from "./staff_common.js";
import { openCardDialog } from "./staff_review.js";

const L = window.L;
const hiddenText = (text) => h("span", { class: "visually-hidden" }, text);
const COARSE = new Set(["road", "subdistrict", "district", "unknown"]);
const SHANGHAI = [31.2, 121.45];

export function createRecordsView({ layers, reviewer, status, showHistory }) {
  const $ = (id) => document.getElementById(id);
  let page = null;
  let editing = null; // {record, etag, origin: LatLng|null}
  let map = null;
  let marker = null;
  let candidates = [];
  let loaded = false;

  fillLayers($("rec-layer"), layers, { any: true });

  // --- the list -----------------------------------------------------------------------------
  function renderList() {
    if (!page) return;
    const list = $("rec-list");
    if (!page.items.length) {
      replaceChildren(list, h("p", {}, t("st.records.none")));
      return;
    }
    const rows = page.items.map(({ record }) => h("tr", { dataset: { id: record.id } },
      h("td", {}, h("input", { type: "checkbox", class: "st-select", value: record.id,
        "aria-label": t("st.records.select", { name: record.name }) })),
      h("td", {}, dataText(record.name)),
      h("td", { "data-label": t("st.records.col.district") }, district(record.district)),
      h("td", { "data-label": t("st.records.col.state") }, stateName(record.review),
        record.card ? ` · ${record.card.kind}` : ""),
      h("td", { "data-label": t("st.records.col.verified") }, record.last_verified || "—"),
      h("td", { "data-label": t("st.records.col.flags"), class: "st-flag-cell" },
        (record.flags || []).map(flagName).join(", ")),
      h("td", { class: "st-row-actions" },
        h("button", { type: "button", class: "st-edit", onclick: () => open(record.id) }, t("st.records.edit")),
        reviewer ? h("button", { type: "button", class: "st-card-open",
          onclick: () => openCardDialog(record, status, load) }, t("st.review.card")) : null)));
    replaceChildren(list,
      h("p", {}, t("st.records.count", { total: page.total, shown: page.items.length })),
      table([hiddenText(t("st.records.col.select")), t("st.records.col.name"),
        t("st.records.col.district"), t("st.records.col.state"), t("st.records.col.verified"),
        t("st.records.col.flags"), hiddenText(t("st.records.edit"))], rows));
  }

  async function load() {
    status(t("st.loading"));
    try {
      page = await getJson("records", { layer: $("rec-layer").value, review: $("rec-state").value, limit: 200 });
      loaded = true;
      status("");
      renderList();
    } catch (err) {
      status(failure(err), true);
    }
  }

  $("rec-filter").addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  $("rec-submit").addEventListener("click", async () => {
    const ids = [...document.querySelectorAll("#rec-list .st-select:checked")].map((box) => box.value);
    if (!ids.length) {
      status(t("st.records.nothingSelected"), true);
      return;
    }
    try {
      const answer = await postJson("review/submit", { ids });
      await load();
      status(t("st.records.submitted", { n: answer.total }));
    } catch (err) {
      status(failure(err), true);
    }
  });

  // --- the editor ---------------------------------------------------------------------------
  function ensureMap() {
    if (map) return;
    map = L.map("rec-map", { minZoom: 8, maxZoom: 19 }).setView(SHANGHAI, 11);
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution(OSM_ATTRIBUTION);
    map.attributionControl.getContainer().lang = "en"; // the licence notice, as OSM words it
    new Basemap(map, {}).init().catch(() => null); // online tiles or the offline vector basemap
    getJson("districts").then((geo) => {
      L.geoJSON(geo, { interactive: false, style: { color: "#777", weight: 1, fill: false } }).addTo(map);
    }).catch(() => null);
    map.on("click", (e) => {
      if (editing && !marker) placeMarker(e.latlng);
    });
  }

  function placeMarker(latlng) {
    if (marker) marker.setLatLng(latlng);
    else {
      marker = L.marker(latlng, { draggable: true, autoPan: true, alt: t("st.editor.pin"),
        title: t("st.editor.pin"), keyboard: true }).addTo(map);
      marker.on("drag dragend", showMoved);
    }
    showMoved();
  }

  function movedMetres() {
    if (!marker) return null;
    if (!editing.origin) return 0;
    return Math.round(map.distance(editing.origin, marker.getLatLng()));
  }

  function showMoved() {
    const node = $("ed-moved");
    if (!editing) return;
    if (!marker) node.textContent = t("st.editor.noPosition");
    else {
      const metres = movedMetres();
      const moved = !editing.origin || metres > 0;
      node.textContent = moved ? t("st.editor.moved", { metres }) : t("st.editor.notMoved");
      node.dataset.metres = String(metres);
    }
  }

  function renderEditor() {
    if (!editing) return;
    const { record } = editing;
    replaceChildren($("rec-editor-title"), tParts("st.editor.title", { name: dataText(record.name) }));
    $("ed-flags").textContent = record.flags?.length
      ? t("st.editor.flags", { flags: record.flags.map(flagName).join(", ") }) : "";
    const box = $("ed-candidates");
    if (!candidates.length) replaceChildren(box);
    else {
      replaceChildren(box, h("h3", {}, t("st.editor.candidates")),
        h("ul", {}, candidates.map((c) => h("li", {}, h("button", {
          type: "button", class: "st-candidate",
          onclick: () => { placeMarker(L.latLng(c.lat, c.lon)); map.panTo([c.lat, c.lon]); },
        }, tParts("st.editor.useCandidate", { name: dataText(c.name), kind: c.kind, score: c.score }))))));
    }
    showMoved();
  }

  async function loadCandidates(record) {
    candidates = [];
    const coarse = COARSE.has(record.location_precision) || (record.flags || []).length > 0;
    const q = record.address || record.name;
    if (!coarse || !q) return;
    try {
      const answer = await getJson("geocode", { q, district: record.district });
      candidates = answer.candidates || [];
    } catch {
      candidates = []; // candidates are a help, not a condition of editing
    }
  }

  async function open(id) {
    $("ed-message").textContent = "";
    try {
      const answer = await getJson(`facilities/${encodeURIComponent(id)}/record`);
      const { record } = answer;
      const located = record.lon !== null && record.lon !== undefined && record.lat !== null;
      editing = { record, etag: answer.etag, origin: located ? L.latLng(record.lat, record.lon) : null };
      $("rec-editor").hidden = false;
      ensureMap();
      map.invalidateSize();
      if (marker) {
        marker.remove();
        marker = null;
      }
      if (located) {
        placeMarker(editing.origin);
        map.setView(editing.origin, 16);
      }
      $("ed-name").value = record.name || "";
      $("ed-address").value = record.address || "";
      $("ed-phone").value = record.phone || "";
      $("ed-comment").value = "";
      await loadCandidates(record);
      renderEditor();
      $("rec-editor").dataset.id = id;
      $("rec-editor-title").scrollIntoView?.({ block: "nearest" });
    } catch (err) {
      status(failure(err), true);
    }
  }

  function changedFields() {
    const { record } = editing;
    const fields = {};
    for (const [key, input] of [["name", "ed-name"], ["address", "ed-address"], ["phone", "ed-phone"]]) {
      const value = $(input).value.trim();
      if (value !== (record[key] || "")) fields[key] = value || null;
    }
    if (marker && (!editing.origin || movedMetres() > 0)) {
      const at = marker.getLatLng();
      fields.lon = Number(at.lng.toFixed(6));
      fields.lat = Number(at.lat.toFixed(6));
    }
    return fields;
  }

  $("rec-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!editing) return;
    const message = $("ed-message");
    const fields = changedFields();
    if (!Object.keys(fields).length) {
      message.textContent = t("st.editor.nothing");
      return;
    }
    const comment = $("ed-comment").value.trim();
    try {
      const answer = await sendJson("PATCH", `facilities/${encodeURIComponent(editing.record.id)}`,
        comment ? { ...fields, comment } : fields, { "If-Match": editing.etag });
      const { record } = answer;
      editing = { record, etag: answer.etag,
        origin: record.lon !== null && record.lon !== undefined ? L.latLng(record.lat, record.lon) : null };
      message.classList.remove("error");
      message.textContent = t("st.editor.saved", { version: answer.version });
      renderEditor();
      if (loaded) load();
    } catch (err) {
      message.classList.add("error");
      message.textContent = err instanceof ApiError && err.status === 412
        ? t("st.editor.stale") : failure(err);
      message.dataset.status = String(err.status ?? "");
    }
  });
  $("ed-reload").addEventListener("click", () => editing && open(editing.record.id));
  $("ed-history").addEventListener("click", () => editing && showHistory(editing.record.id));

  onLangChange(() => {
    fillLayers($("rec-layer"), layers, { any: true });
    renderList();
    renderEditor();
  });
  return {
    show() {
      if (!loaded) load();
      if (map) map.invalidateSize();
    },
    open,
  };
}

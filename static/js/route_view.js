// Check-up routes tab of the planners' page (体检车排班): paste or upload a check-up request
// (JSON, or a bookings CSV merged into it), run it as a job (POST /api/v1/routes), poll the
// progress, then draw each vehicle-day in its own colour with numbered stops (legs on the
// road network solid, estimated legs dashed), list the schedule per vehicle-day and the
// bookings that could not be planned with their reasons, and link the printable schedule and
// the CSV. Times are 24-hour, the half-day slot is named on its own, the parts of a split
// booking are numbered in the order they are visited, packages are shown by name. All text
// goes in through textContent, never innerHTML.

import { getLang, has, localized, t } from "../i18n.js";
import { ApiError, getJson, runJob } from "./api.js";
import { el, fmt, h, langText, popupBox } from "./dom.js";
import { legendItem } from "./gap_view.js";

const POLL_MS = 500;
const STYLE = `
#route-panel textarea { width: 100%; height: 9em; font: 12px monospace; }
#route-panel .rt-row { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; font-size: 13px; margin: 4px 0; }
#route-panel .rt-row input[type=number] { width: 5em; }
#route-panel .rt-vd { border-left: 6px solid #999; padding: 2px 6px; margin: 6px 0; font-size: 12px; }
#route-panel .rt-vd-head { display: block; width: 100%; text-align: left; background: none; border: 0; padding: 2px 0; font: inherit; cursor: pointer; }
#route-panel .rt-vd ol { margin: 2px 0 0 18px; padding: 0; }
#route-panel .rt-late { color: #b00020; }
#route-panel .rt-est { color: #7a5b00; }
#route-panel .rt-links a { margin-right: 10px; }
#route-panel .rt-unassigned li { font-size: 12px; margin: 3px 0; }
#route-panel .rt-time { font-variant-numeric: tabular-nums; font-weight: 600; }
.rt-num { background: #fff; border: 2px solid #333; border-radius: 50%; width: 20px; height: 20px;
  line-height: 16px; text-align: center; font: bold 11px system-ui, sans-serif; box-sizing: border-box; }
.rt-depot { background: #222; color: #fff; width: 16px; height: 16px; line-height: 16px; text-align: center;
  font: bold 10px system-ui, sans-serif; }
`;

/** Mark a marker's element (its hover title is a name) with the name's language. */
function markTitleLang(marker, name) {
  marker.on("add", () => {
    const lang = localized(name, null).lang;
    if (lang) marker.getElement()?.setAttribute("lang", lang);
  });
  return marker;
}

function numberIcon(seq, color) {
  const node = el("div", seq, "rt-num");
  node.style.borderColor = color;
  node.style.color = color;
  return window.L.divIcon({ html: node, className: "", iconSize: [20, 20], iconAnchor: [10, 10] });
}

function buildPanel(root) {
  const style = el("style", STYLE);
  const intro = el("p", "", "pl-note");
  const form = el("form");
  form.id = "route-form";
  form.className = "pl-form";
  const textLabel = h("label", { for: "route-json", class: "visually-hidden" });
  const text = el("textarea");
  text.id = "route-json";
  text.spellcheck = false;
  text.lang = "en"; // JSON: its keys are the API's, in English
  text.setAttribute("translate", "no");
  text.placeholder = '{"days": 5, "vehicles": [...], "packages": [...], "bookings": [...]}';
  const row1 = el("div", undefined, "rt-row");
  const sample = el("button", "");
  sample.type = "button";
  sample.id = "route-sample";
  const fileLabel = h("label", { for: "route-file" });
  const file = el("input");
  file.type = "file";
  file.id = "route-file";
  file.accept = ".json,.csv,application/json,text/csv";
  row1.append(sample, fileLabel, file);
  const row2 = el("div", undefined, "rt-row");
  const limitText = el("span");
  const limitLabel = h("label", { for: "route-time" }, limitText, " ");
  const limit = el("input");
  limit.type = "number";
  limit.id = "route-time";
  limit.min = "1";
  limit.max = "120";
  limit.step = "1";
  limit.value = "10";
  limitLabel.append(limit);
  const run = el("button", "");
  run.type = "submit";
  run.id = "route-run";
  row2.append(limitLabel, run);
  form.append(textLabel, text, row1, row2);
  const summary = el("div", undefined, "pl-summary");
  summary.id = "route-summary";
  const links = el("div", undefined, "rt-links rt-row");
  links.id = "route-links";
  const dayRow = el("div", undefined, "rt-row");
  const dayText = el("span");
  const dayLabel = h("label", { for: "route-day" }, dayText, " ");
  const day = el("select");
  day.id = "route-day";
  dayLabel.append(day);
  dayRow.append(dayLabel);
  const legend = el("p", undefined, "pl-legend");
  const notes = el("ul", undefined, "pl-note");
  notes.id = "route-notes";
  notes.hidden = true;
  const scheduleTitle = el("h2");
  const schedule = el("div");
  schedule.id = "route-schedule";
  const unassignedTitle = el("h2");
  const unassigned = el("ol", undefined, "rt-unassigned pl-list");
  unassigned.id = "route-unassigned";
  root.replaceChildren(style, intro, form, summary, links, dayRow, legend, notes,
    scheduleTitle, schedule, unassignedTitle, unassigned);
  const ui = { form, text, sample, file, limit, summary, links, day, notes, schedule, unassigned, legend };
  ui.relabel = () => {
    intro.textContent = t("pl.route.intro");
    textLabel.textContent = t("pl.route.request");
    sample.textContent = t("pl.route.sample");
    fileLabel.textContent = t("pl.route.file");
    limitText.textContent = t("pl.route.timeLimit");
    run.textContent = t("pl.route.run");
    dayText.textContent = t("pl.route.day");
    scheduleTitle.textContent = t("pl.route.schedule");
    unassignedTitle.textContent = t("pl.route.unassigned");
    legend.replaceChildren(
      legendItem("#555", t("pl.route.legend.network")),
      legendItem("repeating-linear-gradient(90deg, #555 0 4px, transparent 4px 7px)", t("pl.route.legend.estimated")),
    );
  };
  ui.relabel();
  return ui;
}

/** "2023-06-05 周一" / "Mon 2023-06-05". */
function dateLabel(iso) {
  const day = ["Su", "Mo", "Tu", "We", "Th", "Fr", "Sa"][new Date(`${iso}T12:00:00Z`).getUTCDay()];
  return t("pl.route.date", { date: iso, day: t(`day.short.${day}`) });
}

export function createRouteView({ map, status, fitTo }) {
  const root = document.getElementById("route-panel");
  const ui = buildPanel(root);
  const group = window.L.layerGroup();
  const renderer = window.L.svg(); // SVG (the page prefers canvas): legs keep their class and colour
  const routeLayers = new Map();
  let run = 0;
  let body = null;
  let packages = new Map(); // package id -> name, from the request that was planned
  let partOrder = new Map(); // "booking|route index|HH:MM" -> part number in visiting order

  function currentRequest() {
    const raw = ui.text.value.trim();
    if (!raw) throw new ApiError(t("pl.route.empty"));
    try {
      return JSON.parse(raw);
    } catch (err) {
      throw new ApiError(t("pl.route.badJson", { message: err.message }));
    }
  }

  async function loadSample() {
    status(t("pl.route.loadingSample"));
    try {
      const sample = await getJson("routes/sample");
      ui.text.value = JSON.stringify(sample, null, 1);
      status(t("pl.route.sampleLoaded", { bookings: fmt(sample.bookings?.length ?? 0), vehicles: fmt(sample.vehicles?.length ?? 0) }));
    } catch (err) {
      status(t("job.failed", { message: err.message || String(err) }), true);
    }
  }

  async function loadFile() {
    const f = ui.file.files[0];
    if (!f) return;
    const content = await f.text();
    if (f.name.toLowerCase().endsWith(".csv")) {
      // bookings as CSV: keep the vehicles, packages and horizon of the current request
      let base = {};
      try {
        base = ui.text.value.trim() ? JSON.parse(ui.text.value) : {};
      } catch {
        base = {};
      }
      delete base.bookings;
      base.bookings_csv = content;
      ui.text.value = JSON.stringify(base, null, 1);
      status(t("pl.route.csvLoaded", { name: f.name }));
    } else {
      ui.text.value = content;
      status(t("pl.route.fileLoaded", { name: f.name }));
    }
  }

  function visible(route) {
    return ui.day.value === "" || String(route.day) === ui.day.value;
  }

  /** A package by name: as the request names it (Chinese), the documents' packages
   * translated on the English page. */
  function packageParts(id) {
    const key = `pl.package.${id}`;
    if (getLang() === "en" && has(key)) return { text: t(key), lang: null };
    if (packages.has(id)) return localized(packages.get(id), null);
    return has(key) ? { text: t(key), lang: null } : { text: id, lang: null };
  }

  /** Part k/n of a split booking, numbered in the order of the visits (day, time, then
   * vehicle: two vehicles may serve parts of one booking side by side). */
  function partText(booking, route, start, parts) {
    if (!(parts > 1)) return "";
    const k = partOrder.get(`${booking}|${route}|${start}`);
    return ` ${t("pl.route.part", { k: k ?? "?", n: parts })}`;
  }

  function computePartOrder() {
    const visits = new Map();
    for (const r of body.routes) {
      for (const s of r.stops) {
        if (!(s.parts > 1)) continue;
        if (!visits.has(s.booking)) visits.set(s.booking, []);
        visits.get(s.booking).push({ day: r.day, start: s.start, route: r.index, vehicle: r.vehicle });
      }
    }
    partOrder = new Map();
    for (const [booking, list] of visits) {
      list.sort((a, b) => a.day - b.day || a.start.localeCompare(b.start) || a.vehicle.localeCompare(b.vehicle));
      list.forEach((v, i) => partOrder.set(`${booking}|${v.route}|${v.start}`, i + 1));
    }
  }

  /** "13:00–14:14 · 下午场" and, when the vehicle waits, "08:26 到达". */
  function visitTime(s) {
    const waits = s.eta && s.eta !== s.start;
    return [
      h("span", { class: "rt-time", text: t("pl.route.interval", { start: s.start, end: s.end }) }),
      ` · ${t(`pl.slot.${s.slot}`)}`,
      waits ? ` · ${t("pl.route.arrives", { eta: s.eta })}` : "",
    ];
  }

  function draw() {
    group.clearLayers();
    routeLayers.clear();
    if (!body) return;
    const L = window.L;
    const features = body.geojson.features;
    const shownRoutes = new Set(body.routes.filter(visible).map((r) => r.index));
    for (const f of features) {
      const p = f.properties;
      if (p.kind === "route" && shownRoutes.has(p.index)) {
        const layers = [];
        f.geometry.coordinates.forEach((line, k) => {
          const estimated = p.leg_methods[k] === "estimated";
          const poly = L.polyline(line.map(([x, y]) => [y, x]), {
            renderer, color: p.color, weight: 4, opacity: 0.85, dashArray: estimated ? "6 6" : null,
            className: `rt-leg rt-leg-${estimated ? "estimated" : "network"}`,
          });
          poly.bindPopup(() => popupBox([[langText(localized(p.vehicle, null)), ` · ${dateLabel(p.date)}`],
            t("pl.route.legSummary", { stops: fmt(p.stops), km: fmt(p.distance_km), min: fmt(p.travel_min) }),
            t(estimated ? "pl.route.legend.estimated" : "pl.route.legend.network")]));
          poly.addTo(group);
          layers.push(poly);
        });
        routeLayers.set(p.index, layers);
      }
    }
    for (const f of features) {
      const p = f.properties;
      const ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
      if (p.kind === "stop" && shownRoutes.has(p.route)) {
        const part = partText(p.booking, p.route, p.start, p.parts);
        const marker = markTitleLang(
          L.marker(ll, { icon: numberIcon(p.seq, p.color), title: `${p.seq} ${p.name || p.booking}`, keyboard: false }),
          p.name || p.booking,
        );
        marker.bindPopup(() => popupBox([[`${p.seq}. `, langText(localized(p.name || p.booking, null)), part],
          [langText(localized(p.vehicle, null)), ` · ${dateLabel(p.date)}`],
          visitTime(p),
          [t("pl.route.workers", { n: fmt(p.workers) }), " · ", langText(packageParts(p.package)), ` · ${t("pl.route.load", { n: fmt(p.load_slot) })}`],
          p.lateness_min > 0 ? t("pl.route.late", { n: fmt(p.lateness_min) }) : ""]));
        marker.addTo(group);
      } else if (p.kind === "depot") {
        const node = el("div", "D", "rt-depot");
        markTitleLang(L.marker(ll, { icon: L.divIcon({ html: node, className: "", iconSize: [16, 16] }), title: p.name, keyboard: false }), p.name)
          .bindPopup(() => popupBox([langText(localized(p.name, null)), t("pl.route.depot")])).addTo(group);
      } else if (p.kind === "unassigned" && ui.day.value === "") {
        L.circleMarker(ll, { renderer, radius: 6, color: "#555", weight: 2, fillColor: "#fff", fillOpacity: 0.9, className: "rt-unassigned-marker" })
          .bindPopup(() => popupBox([langText(localized(p.name || p.booking, null)), t(`pl.reason.${p.reason}`),
            p.message ? h("span", { lang: "en", text: p.message }) : ""])).addTo(group);
      }
    }
  }

  function routesBounds(indices) {
    const layers = indices.flatMap((i) => routeLayers.get(i) || []);
    if (!layers.length) return null;
    let bounds = layers[0].getBounds();
    for (const l of layers.slice(1)) bounds = bounds.extend(l.getBounds());
    return bounds;
  }

  function renderSchedule() {
    ui.schedule.replaceChildren();
    for (const r of body.routes.filter(visible)) {
      const box = el("div", undefined, "rt-vd");
      box.style.borderLeftColor = r.color;
      box.dataset.route = String(r.index);
      const head = h(
        "button",
        { type: "button", class: "rt-vd-head" },
        h("strong", {}, langText(localized(r.vehicle, null)), ` · ${dateLabel(r.date)}`),
        h("span", { style: "display:block" }, langText(localized(r.depot_name, null)),
          ` · ${t("pl.route.vehicleDay", { depart: r.depart, back: r.return, am: fmt(r.load_am), pm: fmt(r.load_pm), km: fmt(r.distance_km) })}`),
      );
      head.addEventListener("click", () => fitTo(routesBounds([r.index]), { maxZoom: 14 }));
      const list = el("ol");
      r.stops.forEach((s, k) => {
        const item = h("li", {}, visitTime(s), " · ", langText(localized(s.name || s.booking, null)),
          partText(s.booking, r.index, s.start, s.parts),
          ` · ${t("pl.route.workers", { n: fmt(s.workers) })} · `, langText(packageParts(s.package)));
        if (s.lateness_min > 0) item.append(el("span", ` · ${t("pl.route.late", { n: fmt(s.lateness_min) })}`, "rt-late"));
        if (r.legs[k]?.method === "estimated") item.append(el("span", ` · ${t("pl.route.estimatedLeg")}`, "rt-est"));
        list.append(item);
      });
      box.append(head, list);
      ui.schedule.append(box);
    }
  }

  function renderDays() {
    const chosen = ui.day.value;
    const days = [...new Map(body.routes.map((r) => [r.day, r.date])).entries()].sort((a, b) => a[0] - b[0]);
    const all = el("option", t("pl.route.allDays"));
    all.value = "";
    ui.day.replaceChildren(all, ...days.map(([d, date]) => {
      const o = el("option", dateLabel(date));
      o.value = String(d);
      return o;
    }));
    ui.day.value = chosen;
  }

  function render() {
    const s = body.summary;
    ui.summary.replaceChildren(
      el("div", t("pl.route.summary.served", { served: fmt(s.served_workers), total: fmt(s.total_workers), bookings: fmt(s.bookings_served), of: fmt(s.bookings), days: fmt(s.vehicle_days) })),
      el("div", t("pl.route.summary.driving", { h: fmt(s.travel_h), km: fmt(s.distance_km), share: s.network_share === null ? "—" : `${Math.round(100 * s.network_share)}%` })),
      el("div", `${t(s.feasible ? "pl.route.checked" : "pl.route.checkFailed")} · ${t("pl.summary.seconds", { s: s.seconds })}`, s.feasible ? "plan-status-optimal" : "plan-status-infeasible"),
    );
    const schedule = el("a", t("pl.route.printable"));
    schedule.href = body.links.schedule;
    schedule.target = "_blank";
    schedule.rel = "noopener";
    schedule.id = "route-schedule-link";
    const csv = el("a", t("pl.route.csv"));
    csv.href = body.links.csv;
    csv.id = "route-csv-link";
    ui.links.replaceChildren(schedule, csv);
    ui.notes.replaceChildren(...body.notes.map((n) => h("li", { lang: "en", text: n })));
    ui.notes.hidden = !body.notes.length;
    renderDays();
    ui.unassigned.replaceChildren(...body.unassigned.map((u) => {
      const item = el("li");
      item.append(h("strong", {}, langText(localized(u.name || u.booking, null)), u.parts > 1 ? ` ${t("pl.route.part", { k: u.part, n: u.parts })}` : ""),
        ` · ${t("pl.route.workers", { n: fmt(u.workers) })} · ${t(`pl.reason.${u.reason}`)}`);
      if (u.message) item.append(h("div", { class: "pl-reason", lang: "en", text: u.message }));
      return item;
    }));
    if (!body.unassigned.length) ui.unassigned.append(el("li", t("pl.route.noneUnassigned")));
    renderSchedule();
    draw();
  }

  async function start() {
    const mine = ++run;
    let request;
    try {
      request = currentRequest();
    } catch (err) {
      status(err.message, true);
      document.body.dataset.ready = "route-error";
      return;
    }
    request.time_limit_s = Number(ui.limit.value) || 10;
    const answer = await runJob("routes", request, {
      isCurrent: () => mine === run,
      onStatus: status,
      pollMs: POLL_MS,
    });
    if (mine !== run) return;
    if (answer === null) {
      document.body.dataset.ready = "route-error";
      return;
    }
    body = answer;
    packages = new Map((request.packages || []).map((p) => [p.id, p.name || p.id]));
    computePartOrder();
    render();
    fitTo(routesBounds(body.routes.map((r) => r.index)), { maxZoom: 14 });
    status("");
    document.body.dataset.ready = "route";
  }

  ui.form.addEventListener("submit", (e) => { e.preventDefault(); start(); });
  ui.sample.addEventListener("click", loadSample);
  ui.file.addEventListener("change", () => { loadFile().catch((err) => status(err.message || String(err), true)); });
  ui.day.addEventListener("change", () => {
    if (!body) return;
    renderSchedule();
    draw();
    fitTo(routesBounds(body.routes.filter(visible).map((r) => r.index)), { maxZoom: 14 });
  });

  return {
    show() {
      group.addTo(map);
      status("");
    },
    hide() {
      group.remove();
    },
    relabel() {
      ui.relabel();
      if (body) {
        map.closePopup();
        render();
      }
    },
  };
}

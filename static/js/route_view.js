// Check-up routes tab of the planner view (体检车排班): paste or upload a check-up request
// (JSON, or a bookings CSV merged into it), run it as a job (POST /api/v1/routes), poll
// the progress, then draw each vehicle-day in its own colour with numbered stops (legs on
// the road network solid, estimated legs dashed), list the schedule per vehicle-day and
// the bookings that could not be planned with their reasons, and link the printable
// schedule and the CSV. All text goes in through textContent, never innerHTML.

import { ApiError, getJson, runJob } from "./api.js";
import { el, fmt, popupBox } from "./dom.js";

const POLL_MS = 500;
const REASON_TEXT = {
  capacity: "容量不足 capacity",
  time_window: "时段不符 time window",
  skill: "缺少设备 equipment (skill)",
  unreachable: "无法到达 unreachable",
};
const STYLE = `
#route-panel textarea { width: 100%; height: 9em; font: 12px monospace; }
#route-panel .rt-row { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; font-size: 13px; margin: 4px 0; }
#route-panel .rt-row input[type=number] { width: 5em; }
#route-panel .rt-vd { border-left: 6px solid #999; padding: 2px 6px; margin: 6px 0; font-size: 12px; cursor: pointer; }
#route-panel .rt-vd ol { margin: 2px 0 0 18px; padding: 0; }
#route-panel .rt-late { color: #b00020; }
#route-panel .rt-est { color: #7a5b00; }
#route-panel .rt-links a { margin-right: 10px; }
#route-panel .rt-unassigned li { font-size: 12px; margin: 3px 0; }
.rt-num { background: #fff; border: 2px solid #333; border-radius: 50%; width: 20px; height: 20px;
  line-height: 16px; text-align: center; font: bold 11px system-ui, sans-serif; box-sizing: border-box; }
.rt-depot { background: #222; color: #fff; width: 16px; height: 16px; line-height: 16px; text-align: center;
  font: bold 10px system-ui, sans-serif; }
`;

function numberIcon(seq, color) {
  const node = el("div", seq, "rt-num");
  node.style.borderColor = color;
  node.style.color = color;
  return L.divIcon({ html: node, className: "", iconSize: [20, 20], iconAnchor: [10, 10] });
}

function buildPanel(root) {
  const style = el("style", STYLE);
  const intro = el("p", "上传或粘贴预约与车辆（JSON，或预约 CSV），计算各车每日路线。 Upload or paste the bookings and vehicles (JSON, or a bookings CSV), then plan each vehicle's days.", "pl-note");
  const form = el("form");
  form.id = "route-form";
  form.className = "pl-form";
  const text = el("textarea");
  text.id = "route-json";
  text.spellcheck = false;
  text.placeholder = '{"days": 5, "vehicles": [...], "packages": [...], "bookings": [...]}';
  const row1 = el("div", undefined, "rt-row");
  const sample = el("button", "示例 · Sample");
  sample.type = "button";
  sample.id = "route-sample";
  const file = el("input");
  file.type = "file";
  file.id = "route-file";
  file.accept = ".json,.csv,application/json,text/csv";
  row1.append(sample, file);
  const row2 = el("div", undefined, "rt-row");
  const limitLabel = el("label", "时限（秒）/ time limit s ");
  const limit = el("input");
  limit.type = "number";
  limit.id = "route-time";
  limit.min = "1";
  limit.max = "120";
  limit.step = "1";
  limit.value = "10";
  limitLabel.append(limit);
  const run = el("button", "排班 · Plan routes");
  run.type = "submit";
  run.id = "route-run";
  row2.append(limitLabel, run);
  form.append(text, row1, row2);
  const summary = el("div", undefined, "pl-summary");
  summary.id = "route-summary";
  const links = el("div", undefined, "rt-links rt-row");
  links.id = "route-links";
  const dayRow = el("div", undefined, "rt-row");
  const dayLabel = el("label", "日期 / day ");
  const day = el("select");
  day.id = "route-day";
  dayLabel.append(day);
  dayRow.append(dayLabel);
  const legend = el("p", "实线：路网行车 · solid: on the road network；虚线：估算 · dashed: estimated", "pl-legend");
  const notes = el("ul", undefined, "pl-note");
  notes.id = "route-notes";
  notes.hidden = true;
  const schedule = el("div");
  schedule.id = "route-schedule";
  const unassigned = el("ol", undefined, "rt-unassigned pl-list");
  unassigned.id = "route-unassigned";
  root.replaceChildren(style, intro, form, summary, links, dayRow, legend, notes,
    el("h2", "各车日程 · Schedule per vehicle-day"), schedule,
    el("h2", "未能安排 · Not planned"), unassigned);
  return { form, text, sample, file, limit, summary, links, day, notes, schedule, unassigned };
}

export function createRouteView(map, { status }) {
  const root = document.getElementById("route-panel");
  const ui = buildPanel(root);
  const group = L.layerGroup();
  const renderer = L.svg(); // SVG (the page prefers canvas): legs keep their class and colour
  const routeLayers = new Map();
  let run = 0;
  let body = null;

  function currentRequest() {
    const raw = ui.text.value.trim();
    if (!raw) throw new ApiError("请先载入示例或上传请求 · load the sample or upload a request first");
    try {
      return JSON.parse(raw);
    } catch (err) {
      throw new ApiError(`JSON: ${err.message}`);
    }
  }

  async function loadSample() {
    status("载入示例… loading the sample…");
    try {
      const sample = await getJson("routes/sample");
      ui.text.value = JSON.stringify(sample, null, 1);
      status(sample.description || "");
    } catch (err) {
      status(err.message || String(err), true);
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
      status(`预约 CSV 已载入 bookings CSV loaded: ${f.name}`);
    } else {
      ui.text.value = content;
      status(`已载入 loaded: ${f.name}`);
    }
  }

  function visible(route) {
    return ui.day.value === "" || String(route.day) === ui.day.value;
  }

  function draw() {
    group.clearLayers();
    routeLayers.clear();
    if (!body) return;
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
          poly.bindPopup(() => popupBox([`${p.vehicle} · ${p.date}`,
            `${p.stops} 站 stops · ${p.distance_km} km · ${p.travel_min} min`,
            estimated ? "估算 estimated leg" : "路网 on the road network"]));
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
        const marker = L.marker(ll, { icon: numberIcon(p.seq, p.color), title: `${p.seq} ${p.name}`, keyboard: false });
        const part = p.parts > 1 ? ` (${p.part}/${p.parts})` : "";
        marker.bindPopup(() => popupBox([`${p.seq}. ${p.name || p.booking}${part}`,
          `${p.vehicle} · ${p.date} ${p.slot}`,
          `到达 ETA ${p.eta} · ${p.start}–${p.end}`,
          `${fmt(p.workers)} 人 workers · ${p.package} · 累计 load ${fmt(p.load_slot)}`,
          p.lateness_min > 0 ? `迟到 late ${p.lateness_min} min` : ""]));
        marker.addTo(group);
      } else if (p.kind === "depot") {
        const node = el("div", "D", "rt-depot");
        L.marker(ll, { icon: L.divIcon({ html: node, className: "", iconSize: [16, 16] }), title: p.name, keyboard: false })
          .bindPopup(() => popupBox([p.name, `出发点 depot ${p.id}`])).addTo(group);
      } else if (p.kind === "unassigned" && ui.day.value === "") {
        L.circleMarker(ll, { renderer, radius: 6, color: "#555", weight: 2, fillColor: "#fff", fillOpacity: 0.9, className: "rt-unassigned-marker" })
          .bindPopup(() => popupBox([p.name || p.booking, `${REASON_TEXT[p.reason] || p.reason}`, p.message])).addTo(group);
      }
    }
  }

  function renderSchedule() {
    ui.schedule.replaceChildren();
    for (const r of body.routes.filter(visible)) {
      const box = el("div", undefined, "rt-vd");
      box.style.borderLeftColor = r.color;
      box.dataset.route = String(r.index);
      box.tabIndex = 0;
      const head = el("strong", `${r.vehicle} · ${r.date}`);
      box.append(head, el("div", `${r.depot_name}: 出发 depart ${r.depart} · 返回 back ${r.return} · 上午 AM ${r.load_am} / 下午 PM ${r.load_pm} 人 · ${r.distance_km} km`));
      const list = el("ol");
      r.stops.forEach((s, k) => {
        const part = s.parts > 1 ? ` (${s.part}/${s.parts})` : "";
        const item = el("li", `${s.eta} ${s.slot} ${s.name || s.booking}${part} · ${s.workers} 人 · ${s.package}`);
        if (s.lateness_min > 0) item.append(el("span", ` · 迟到 late ${s.lateness_min} min`, "rt-late"));
        if (r.legs[k]?.method === "estimated") item.append(el("span", " · 估算 est.", "rt-est"));
        list.append(item);
      });
      box.append(list);
      const focus = () => {
        const layers = routeLayers.get(r.index);
        if (!layers?.length) return;
        let bounds = layers[0].getBounds();
        for (const l of layers.slice(1)) bounds = bounds.extend(l.getBounds());
        map.fitBounds(bounds, { maxZoom: 14, padding: [20, 20] });
      };
      box.addEventListener("click", focus);
      box.addEventListener("keydown", (e) => { if (e.key === "Enter") focus(); });
      ui.schedule.append(box);
    }
  }

  function render() {
    const s = body.summary;
    ui.summary.replaceChildren(
      el("div", `已安排 planned: ${fmt(s.served_workers)} / ${fmt(s.total_workers)} 人 workers · ${fmt(s.bookings_served)} / ${fmt(s.bookings)} 预约 bookings · ${fmt(s.vehicle_days)} 车日 vehicle-days`),
      el("div", `行车 driving: ${s.travel_h} h · ${fmt(s.distance_km)} km · 路网路段 legs on the network ${s.network_share === null ? "—" : `${Math.round(100 * s.network_share)}%`}`),
      el("div", `${s.feasible ? "独立校验通过 checked feasible" : "校验未通过 check failed"} · ${s.seconds} s`, s.feasible ? "plan-status-optimal" : "plan-status-infeasible"),
    );
    const schedule = el("a", "打印日程 · Printable schedule");
    schedule.href = body.links.schedule;
    schedule.target = "_blank";
    schedule.rel = "noopener";
    schedule.id = "route-schedule-link";
    const csv = el("a", "CSV");
    csv.href = body.links.csv;
    csv.id = "route-csv-link";
    ui.links.replaceChildren(schedule, csv);
    ui.notes.replaceChildren(...body.notes.map((n) => el("li", n)));
    ui.notes.hidden = !body.notes.length;
    const days = [...new Map(body.routes.map((r) => [r.day, r.date])).entries()].sort((a, b) => a[0] - b[0]);
    const all = el("option", "全部 all days");
    all.value = "";
    ui.day.replaceChildren(all, ...days.map(([d, date]) => {
      const o = el("option", date);
      o.value = String(d);
      return o;
    }));
    ui.unassigned.replaceChildren(...body.unassigned.map((u) => {
      const part = u.parts > 1 ? ` (${u.part}/${u.parts})` : "";
      const item = el("li");
      item.append(el("strong", `${u.name || u.booking}${part}`), document.createTextNode(` · ${u.workers} 人 · ${REASON_TEXT[u.reason] || u.reason}`));
      item.append(el("div", u.message, "pl-reason"));
      return item;
    }));
    if (!body.unassigned.length) ui.unassigned.append(el("li", "无 none"));
    renderSchedule();
    draw();
    const layers = [...routeLayers.values()].flat();
    if (layers.length) {
      let bounds = layers[0].getBounds();
      for (const l of layers.slice(1)) bounds = bounds.extend(l.getBounds());
      map.fitBounds(bounds, { padding: [20, 20] });
    }
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
    render();
    status("");
    document.body.dataset.ready = "route";
  }

  ui.form.addEventListener("submit", (e) => { e.preventDefault(); start(); });
  ui.sample.addEventListener("click", loadSample);
  ui.file.addEventListener("change", () => { loadFile().catch((err) => status(err.message || String(err), true)); });
  ui.day.addEventListener("change", () => { if (body) { renderSchedule(); draw(); } });

  return {
    show() {
      group.addTo(map);
      status("");
    },
    hide() {
      group.remove();
    },
  };
}

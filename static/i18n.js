// Interface strings in Chinese (default) and English, and the language switch.
//
// Static markup is translated through attributes:
//   data-i18n="key"             -> element.textContent
//   data-i18n-title="key"       -> title attribute
//   data-i18n-aria-label="key"  -> aria-label attribute
// Dynamic text calls t(key, params). Parameters are substituted into plain strings which are
// always written with textContent, never parsed as HTML.

const STRINGS = {
  zh: {
    "app.title": "职工服务地图",
    "map.label": "地图",
    "lang.switch": "Switch to English",
    "lang.button": "EN",
    "common.close": "关闭",
    "sheet.toggle": "展开或收起列表",
    "layers.button": "图层",
    "layers.title": "地图图层",
    "layers.registry": "工会服务设施",
    "layers.context": "参考图层（OpenStreetMap）",
    "layers.overlays": "区界与地铁",
    "layers.count": "{n} 处",
    "layers.partial": "{name}：显示 {shown}/{total} 处，放大地图查看全部",
    "overlay.districts": "区界",
    "overlay.metro": "地铁线路与车站",
    "basemap.title": "底图",
    "basemap.online": "在线地图（OpenStreetMap）",
    "basemap.offline": "离线矢量底图",
    "basemap.fallback": "在线底图无法访问，已切换到离线矢量底图。",
    "badge.demo": "示例",
    "badge.demo.title": "示例数据：由公开地图数据按规则生成，并非正式名录",
    "nearest.title": "离我最近",
    "nearest.layer": "设施类型",
    "nearest.service": "服务",
    "nearest.anyService": "全部服务",
    "nearest.openNow": "正在开放",
    "nearest.hint": "点击地图任意位置，或使用定位，查看最近的 5 处设施。",
    "nearest.loading": "正在查找……",
    "nearest.none": "附近没有符合条件的设施。",
    "nearest.from.tap": "以地图上选定的位置为起点",
    "nearest.from.gps": "以您的当前位置为起点（精度约 {accuracy}）",
    "nearest.from.api": "以指定位置为起点",
    "nearest.error": "查询失败：{message}",
    "nearest.network": "无法连接服务器，请稍后再试。",
    "nearest.outside": "该位置不在服务范围（上海市 16 个区）内，请在上海市内选择位置。",
    "distance.m": "{n} 米",
    "distance.km": "{n} 公里",
    "distance.estimated": "约",
    "badge.estimate": "估算",
    "distance.estimated.title": "估算距离：按直线距离和绕行系数估算，不是实际路线",
    "distance.straight.title": "直线距离",
    "distance.network.title": "全程距离：走到道路、沿道路、再走到门口",
    "duration.walk": "步行约 {n} 分钟",
    "duration.drive": "驾车约 {n} 分钟",
    "duration.min": "约 {n} 分钟",
    "hours.always": "24 小时开放",
    "hours.unknown": "开放时间未知",
    "hours.openNow": "开放中",
    "hours.closedNow": "已休息",
    "field.address": "地址",
    "field.hours": "开放时间",
    "field.services": "服务",
    "field.phone": "电话",
    "field.district": "所在区",
    "field.status": "状态",
    "field.capacity": "容纳人数",
    "field.area": "面积",
    "field.area.value": "{n} 平方米",
    "field.source": "来源",
    "field.precision": "位置精度",
    "field.precision.value": "{precision}，误差约 {n} 米",
    "field.updated": "更新于",
    "precision.exact": "精确位置",
    "precision.exact-station": "车站位置",
    "precision.depot-area": "车辆基地范围",
    "precision.address-landmark": "按地址附近地标定位",
    "precision.station-proxy": "以附近车站代替",
    "precision.host-site": "所在场所位置",
    "precision.unknown": "位置未知",
    "nav.label": "导航",
    "nav.app": "地图应用",
    "nav.amap": "高德地图",
    "nav.osm": "OSM 路线",
    "call": "拨打",
    "show.onMap": "在地图上查看",
    "unlocated.summary": "位置待核实的{name}（{n} 处，未在地图上显示）",
    "unlocated.noPhone": "电话未知",
    "locate.button": "定位我的位置",
    "locate.title": "定位我的位置",
    "locate.busy": "正在定位……",
    "locate.denied": "无法获取位置（{message}）。请点击地图选择位置。",
    "locate.unsupported": "此浏览器不支持定位，请点击地图选择位置。",
    "you.are.here": "您选择的位置",
    "route.title": "路线",
    "isochrone.label": "{n} 分钟可达范围",
    "status.planned": "筹建中",
    "status.new": "新建",
    "status.active": "运行中",
    "status.upgraded": "已提升",
    "status.yellow_card": "黄牌整改",
    "status.red_card": "红牌摘牌",
    "status.closed": "已关闭",
    "status.unknown_location": "位置未知",
    "map.loadError": "图层加载失败：{message}",
    "planner.link": "规划视图",
    "planner.title": "规划视图：园区楼宇的医疗与午餐缺口",
    "travel.label": "出行方式",
    "travel.walk": "步行",
    "travel.drive": "驾车",
    "travel.straight": "直线",
    "isochrone.toggle.walk": "5/10/15 分钟步行圈",
    "isochrone.toggle.drive": "5/10/15 分钟驾车圈",
    "isochrone.toggle.title": "在地图上画出从所选位置出发 5、10、15 分钟可到达的范围",
    "isochrone.needPoint": "请先点击地图选择位置，再显示步行圈。",
    "isochrone.loading": "正在计算可达范围……",
    "isochrone.outside.walk": "该位置不在步行路网覆盖范围（中心城区）内，无法画出步行圈。",
    "isochrone.outside.drive": "该位置不在驾车路网覆盖范围内，无法画出驾车圈。",
    "isochrone.error": "无法计算可达范围：{message}",
    "legend.isochrones.walk": "步行可达范围",
    "legend.isochrones.drive": "驾车可达范围",
    "legend.minutes": "{n} 分钟",
    "legend.route.network": "沿道路的路线",
    "legend.route.estimated": "估算：直线距离×绕行系数",
    "legend.route.straight": "直线距离",
    "legend.coverage": "步行路网覆盖范围",
    "coverage.show": "显示路网覆盖范围",
    "coverage.outside.walk": "该位置不在步行路网覆盖范围（中心城区）内，以下距离和时间为估算。",
    "coverage.outside.drive": "该位置不在驾车路网覆盖范围内，以下距离和时间为估算。",
    "overlay.walkCoverage": "步行路网覆盖范围（中心城区）",
    "estimate.note": "约 = 估算：直线距离×绕行系数，不是实际路线",
    "estimate.note.factor": "约 = 估算：直线距离×绕行系数（{factor}），不是实际路线",
    "straight.note": "直线距离：两点之间的直线，不考虑道路和河流",
    "distance.straight": "直线",
    "route.label.estimated": "估算，非实际路线",
    "route.label.straight": "直线距离",
    "nearest.unreachable": "附近的设施都无法沿道路到达。",
    "nearest.noneWithin": "{n} 分钟内没有可到达的设施。",
    "unreachable.title.walk": "步行无法到达（{n} 处）",
    "unreachable.title.drive": "驾车无法到达（{n} 处）",
    "unreachable.reason.walk": "步行无法到达（河对岸无桥梁/轮渡数据）",
    "unreachable.reason.drive": "驾车无法到达（路网中没有连通的道路）",
    "unreachable.straight": "直线距离 {d}，不是路线距离",
  },
  en: {
    "app.title": "Worker Service Map",
    "map.label": "Map",
    "lang.switch": "切换到中文",
    "lang.button": "中文",
    "common.close": "Close",
    "sheet.toggle": "Expand or collapse the list",
    "layers.button": "Layers",
    "layers.title": "Map layers",
    "layers.registry": "Union service facilities",
    "layers.context": "Reference layers (OpenStreetMap)",
    "layers.overlays": "Districts and metro",
    "layers.count": "{n}",
    "layers.partial": "{name}: showing {shown} of {total}; zoom in to see all",
    "overlay.districts": "District boundaries",
    "overlay.metro": "Metro lines and stations",
    "basemap.title": "Basemap",
    "basemap.online": "Online map (OpenStreetMap)",
    "basemap.offline": "Offline vector basemap",
    "basemap.fallback": "Online tiles are unreachable; showing the offline vector basemap.",
    "badge.demo": "demo",
    "badge.demo.title": "Demonstration data generated by rule from open map data, not an official list",
    "nearest.title": "Nearest to me",
    "nearest.layer": "Facility type",
    "nearest.service": "Service",
    "nearest.anyService": "Any service",
    "nearest.openNow": "Open now",
    "nearest.hint": "Tap anywhere on the map, or locate yourself, to see the 5 nearest facilities.",
    "nearest.loading": "Searching…",
    "nearest.none": "No matching facility nearby.",
    "nearest.from.tap": "From the point you picked on the map",
    "nearest.from.gps": "From your current position (accuracy about {accuracy})",
    "nearest.from.api": "From the given point",
    "nearest.error": "Search failed: {message}",
    "nearest.network": "Cannot reach the server; please try again later.",
    "nearest.outside": "That point is outside the service area (the 16 districts of Shanghai); pick a point in Shanghai.",
    "distance.m": "{n} m",
    "distance.km": "{n} km",
    "distance.estimated": "≈",
    "badge.estimate": "estimate",
    "distance.estimated.title": "Estimate: straight-line distance times a detour factor, not a route",
    "distance.straight.title": "Straight-line distance",
    "distance.network.title": "Door-to-door distance: to the street, along it, and on to the door",
    "duration.walk": "about {n} min walk",
    "duration.drive": "about {n} min drive",
    "duration.min": "about {n} min",
    "hours.always": "Open 24 hours",
    "hours.unknown": "Opening hours unknown",
    "hours.openNow": "Open now",
    "hours.closedNow": "Closed now",
    "field.address": "Address",
    "field.hours": "Hours",
    "field.services": "Services",
    "field.phone": "Phone",
    "field.district": "District",
    "field.status": "Status",
    "field.capacity": "Capacity",
    "field.area": "Area",
    "field.area.value": "{n} m²",
    "field.source": "Source",
    "field.precision": "Location",
    "field.precision.value": "{precision}, ±{n} m",
    "field.updated": "Updated",
    "precision.exact": "exact position",
    "precision.exact-station": "station position",
    "precision.depot-area": "depot area",
    "precision.address-landmark": "landmark near the address",
    "precision.station-proxy": "nearby station used as proxy",
    "precision.host-site": "position of the host site",
    "precision.unknown": "position unknown",
    "nav.label": "Directions",
    "nav.app": "Maps app",
    "nav.amap": "Amap",
    "nav.osm": "OSM route",
    "call": "Call",
    "show.onMap": "Show on map",
    "unlocated.summary": "{name} with unconfirmed location ({n}, not drawn on the map)",
    "unlocated.noPhone": "phone unknown",
    "locate.button": "Locate me",
    "locate.title": "Locate me",
    "locate.busy": "Locating…",
    "locate.denied": "Could not get your position ({message}). Tap the map to pick a point.",
    "locate.unsupported": "This browser cannot locate you; tap the map to pick a point.",
    "you.are.here": "Your chosen point",
    "route.title": "Route",
    "isochrone.label": "reachable in {n} min",
    "status.planned": "planned",
    "status.new": "new",
    "status.active": "active",
    "status.upgraded": "upgraded",
    "status.yellow_card": "yellow card (rectifying)",
    "status.red_card": "red card (delisted)",
    "status.closed": "closed",
    "status.unknown_location": "location unknown",
    "map.loadError": "Could not load a layer: {message}",
    "planner.link": "Planner",
    "planner.title": "Planner view: medical and lunch gaps of parks and buildings",
    "travel.label": "Travel mode",
    "travel.walk": "Walk",
    "travel.drive": "Drive",
    "travel.straight": "Straight line",
    "isochrone.toggle.walk": "5/10/15 min walk areas",
    "isochrone.toggle.drive": "5/10/15 min drive areas",
    "isochrone.toggle.title": "Draw the areas reachable within 5, 10 and 15 minutes from the chosen point",
    "isochrone.needPoint": "Tap the map to choose a point first, then show the walk areas.",
    "isochrone.loading": "Computing reachable areas…",
    "isochrone.outside.walk": "This point is outside the walking network coverage (the central area); no walk areas can be drawn.",
    "isochrone.outside.drive": "This point is outside the driving network coverage; no drive areas can be drawn.",
    "isochrone.error": "Could not compute the reachable areas: {message}",
    "legend.isochrones.walk": "Reachable on foot",
    "legend.isochrones.drive": "Reachable by car",
    "legend.minutes": "{n} min",
    "legend.route.network": "Route along streets",
    "legend.route.estimated": "Estimate: straight line × detour factor",
    "legend.route.straight": "Straight-line distance",
    "legend.coverage": "Walking network coverage",
    "coverage.show": "Show network coverage",
    "coverage.outside.walk": "This point is outside the walking network coverage (the central area); distances and times below are estimates.",
    "coverage.outside.drive": "This point is outside the driving network coverage; distances and times below are estimates.",
    "overlay.walkCoverage": "Walking network coverage (central area)",
    "estimate.note": "≈ = estimate: straight line × detour factor, not a route",
    "estimate.note.factor": "≈ = estimate: straight line × detour factor ({factor}), not a route",
    "straight.note": "Straight line: the direct line between two points, ignoring streets and rivers",
    "distance.straight": "straight",
    "route.label.estimated": "estimate, not a route",
    "route.label.straight": "straight line",
    "nearest.unreachable": "None of the nearby facilities can be reached along streets.",
    "nearest.noneWithin": "No facility can be reached within {n} minutes.",
    "unreachable.title.walk": "Not reachable on foot ({n})",
    "unreachable.title.drive": "Not reachable by car ({n})",
    "unreachable.reason.walk": "Not reachable on foot (across the river, no bridge or ferry in the data)",
    "unreachable.reason.drive": "Not reachable by car (no connected road in the network)",
    "unreachable.straight": "{d} in a straight line, not a route distance",
  },
};

export const LANGUAGES = Object.freeze(["zh", "en"]);
const STORAGE_KEY = "servicemap.lang";
const listeners = new Set();

function initialLanguage() {
  const fromUrl = new URLSearchParams(window.location.search).get("lang");
  if (fromUrl && LANGUAGES.includes(fromUrl)) return fromUrl;
  try {
    const stored = window.localStorage.getItem(STORAGE_KEY);
    if (stored && LANGUAGES.includes(stored)) return stored;
  } catch {
    // Storage may be disabled (private mode, embedded frames): fall through to the default.
  }
  return "zh";
}

let current = initialLanguage();

/** The active language code, "zh" or "en". */
export function getLang() {
  return current;
}

/**
 * Translate a key, substituting {name} placeholders from params.
 * Unknown keys fall back to Chinese, then to the key itself, so a missing string is visible
 * but never breaks the page.
 */
export function t(key, params = {}) {
  const template = STRINGS[current][key] ?? STRINGS.zh[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (match, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : match,
  );
}

/** Pick the zh or en variant of a bilingual record field (e.g. name_zh / name_en). */
export function pick(record, base) {
  const preferred = record[`${base}_${current}`];
  if (preferred) return preferred;
  return record[`${base}_zh`] ?? record[`${base}_en`] ?? "";
}

/** Translate the static markup below root (see the attribute conventions at the top). */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.title = t(el.dataset.i18nTitle);
  }
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  document.title = t("app.title");
}

/** Switch language, persist the choice and notify listeners. */
export function setLang(lang) {
  if (!LANGUAGES.includes(lang)) throw new Error(`unknown language ${lang}`);
  if (lang === current) return;
  current = lang;
  try {
    window.localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Not persisted; the switch still applies to this page.
  }
  applyI18n();
  for (const listener of listeners) listener(lang);
}

/** Register a callback run after every language switch. Returns an unsubscribe function. */
export function onLangChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

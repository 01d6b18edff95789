// Formatting of facility fields for display: distances, durations, opening hours, services,
// status and navigation links. Everything returns plain strings or URLs.

import { getLang, t } from "../i18n.js";

const SHANGHAI_TZ = "Asia/Shanghai";
const DAY_CODES = ["Su", "Mo", "Tu", "We", "Th", "Fr", "Sa"];

/** "350 米" / "1.2 公里" (zh) or "350 m" / "1.2 km" (en). */
export function formatDistance(distanceM) {
  if (!Number.isFinite(distanceM)) return "";
  if (distanceM < 1000) {
    const rounded = distanceM < 100 ? Math.round(distanceM) : Math.round(distanceM / 10) * 10;
    return t("distance.m", { n: rounded });
  }
  const km = distanceM < 10000 ? (distanceM / 1000).toFixed(1) : Math.round(distanceM / 1000);
  return t("distance.km", { n: km });
}

/** A travel time for the given profile ("walk" / "drive" / other), in whole minutes. */
export function formatDuration(durationS, profile) {
  if (!Number.isFinite(durationS)) return "";
  const minutes = Math.max(1, Math.round(durationS / 60));
  if (profile === "walk") return t("duration.walk", { n: minutes });
  if (profile === "drive") return t("duration.drive", { n: minutes });
  return t("duration.min", { n: minutes });
}

/** The current weekday code ("Mo"…) and minutes since midnight in Shanghai. */
export function shanghaiNow(date = new Date()) {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: SHANGHAI_TZ,
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date);
  const get = (type) => parts.find((p) => p.type === type)?.value;
  const day = get("weekday").slice(0, 2);
  return { day, minutes: Number(get("hour")) * 60 + Number(get("minute")) };
}

/** Shanghai local date-time "YYYY-MM-DDTHH:MM" for the API's open_at parameter. */
export function shanghaiIsoMinute(date = new Date()) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: SHANGHAI_TZ,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date);
  const get = (type) => parts.find((p) => p.type === type)?.value;
  return `${get("year")}-${get("month")}-${get("day")}T${get("hour")}:${get("minute")}`;
}

function toMinutes(hhmm) {
  const match = /^(\d{1,2}):(\d{2})$/.exec(hhmm || "");
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
}

/**
 * Whether structured hours say the facility is open at the given moment: true, false, or
 * null when the hours are unknown. Rules closing after midnight (closes <= opens) carry over
 * into the next day.
 */
export function isOpenAt(hours, date = new Date()) {
  if (!hours) return null;
  if (hours.always_open) return true;
  const rules = hours.rules || [];
  if (rules.length === 0) return null;
  const { day, minutes } = shanghaiNow(date);
  const yesterday = DAY_CODES[(DAY_CODES.indexOf(day) + 6) % 7];
  for (const rule of rules) {
    const opens = toMinutes(rule.opens);
    const closes = toMinutes(rule.closes);
    if (opens === null || closes === null) continue;
    const days = rule.days || [];
    if (closes > opens) {
      if (days.includes(day) && minutes >= opens && minutes < closes) return true;
    } else {
      // Overnight (e.g. 22:00-06:00) or a full day written 00:00-00:00.
      if (days.includes(day) && minutes >= opens) return true;
      if (days.includes(yesterday) && minutes < closes) return true;
    }
  }
  return false;
}

/** The opening-hours text in the active language. */
export function hoursText(facility) {
  const text = getLang() === "en" ? facility.hours_text_en : facility.hours_text_zh;
  if (text) return text;
  const other = getLang() === "en" ? facility.hours_text_zh : facility.hours_text_en;
  if (other) return other;
  if (facility.hours?.always_open) return t("hours.always");
  return t("hours.unknown");
}

/** The facility name in the active language (English name when present and chosen). */
export function facilityName(facility) {
  if (getLang() === "en" && facility.name_en) return facility.name_en;
  return facility.name || facility.name_en || facility.id || "";
}

/** Translated labels of service ids, using the vocabulary served with /layers. */
export function serviceLabels(serviceIds, vocabulary) {
  const lang = getLang();
  return (serviceIds || []).map((id) => vocabulary.get(id)?.[lang] || id);
}

/** A translated facility status. */
export function statusLabel(status) {
  if (!status) return "";
  const key = `status.${status}`;
  const label = t(key);
  return label === key ? status : label;
}

/** A translated location precision (unknown codes are shown as they are). */
export function precisionLabel(precision) {
  if (!precision) return "";
  const key = `precision.${precision}`;
  const label = t(key);
  return label === key ? precision : label;
}

/** Whether the facility has a drawable position. */
export function hasLocation(facility) {
  return Number.isFinite(facility?.lon) && Number.isFinite(facility?.lat);
}

/** A tel: URL from a phone string (digits, +, and the first number of a list). */
export function telHref(phone) {
  if (!phone) return null;
  const first = String(phone).split(/[,，;；/、]/)[0];
  const digits = first.replace(/[^\d+]/g, "");
  return digits.length >= 3 ? `tel:${digits}` : null;
}

/**
 * Navigation links to a facility (WGS84): a geo: URI for the phone's maps app, an Amap
 * navigation link (told the coordinates are WGS84) and an OpenStreetMap directions link,
 * on foot or by car after the travel profile ("drive" means by car, anything else on foot).
 */
export function navigationLinks(facility, from, profile = "walk") {
  const byCar = profile === "drive";
  if (!hasLocation(facility)) return [];
  const lat = facility.lat.toFixed(6);
  const lon = facility.lon.toFixed(6);
  const name = facilityName(facility);
  const links = [
    {
      key: "nav.app",
      href: `geo:${lat},${lon}?q=${lat},${lon}(${encodeURIComponent(name)})`,
    },
  ];
  const amap = new URL("https://uri.amap.com/navigation");
  amap.searchParams.set("to", `${lon},${lat},${name}`);
  amap.searchParams.set("mode", byCar ? "car" : "walk");
  amap.searchParams.set("coordinate", "wgs84");
  amap.searchParams.set("callnative", "1");
  amap.searchParams.set("src", "servicemap");
  if (from) amap.searchParams.set("from", `${from.lon.toFixed(6)},${from.lat.toFixed(6)}`);
  links.push({ key: "nav.amap", href: amap.href });
  const osm = new URL("https://www.openstreetmap.org/directions");
  osm.searchParams.set("engine", byCar ? "fossgis_osrm_car" : "fossgis_osrm_foot");
  const start = from ? `${from.lat.toFixed(6)},${from.lon.toFixed(6)}` : "";
  osm.searchParams.set("route", `${start};${lat},${lon}`);
  links.push({ key: "nav.osm", href: osm.href });
  return links;
}

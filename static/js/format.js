// Formatting of facility fields for display: distances, durations, opening hours, phones,
// sources and navigation links. Everything returns plain strings, URLs or {text, lang}
// pieces (lang set when the text is not in the page's language, see i18n.js localized()).

import { getLang, has, localized, t } from "../i18n.js";

const SHANGHAI_TZ = "Asia/Shanghai";
/** Week days in the API's codes, Monday first (as the time choice lists them). */
export const WEEKDAYS = Object.freeze(["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]);
const JS_DAY_CODES = ["Su", "Mo", "Tu", "We", "Th", "Fr", "Sa"];
/** Under this straight-line distance (m) the point is on top of the facility: "you are here". */
export const HERE_M = 20;

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

/** Great-circle distance in metres between two {lon, lat} points (WGS84). */
export function haversineM(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const s =
    Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(s)));
}

/**
 * The distance of a /nearest result as the page shows it, door to door.
 *
 * Newer answers say so themselves: `distance_m` includes the walk from the point to the
 * street and from the street to the door, with `network_m` and `access_m: [origin,
 * facility]` beside it. Older answers measured street to street only, which reads "0 米"
 * when both snap to the same street; there the straight line is the honest lower bound.
 * Returns {distanceM, accessM: [o, f] | null, here} where `here` means the point is on top
 * of the facility (straight line under HERE_M).
 */
export function resultDistance(result, from) {
  const facility = result.facility || {};
  const straight = from && hasLocation(facility) ? haversineM(from, facility) : null;
  const access = Array.isArray(result.access_m) && result.access_m.length === 2 ? result.access_m : null;
  let distanceM = Number.isFinite(result.distance_m) ? result.distance_m : straight;
  if (!access && straight !== null && Number.isFinite(distanceM)) distanceM = Math.max(distanceM, straight);
  return { distanceM, accessM: access, here: straight !== null && straight < HERE_M };
}

/** The weekday code ("Mo"…) and minutes since midnight of a moment in Shanghai. */
export function shanghaiMoment(date = new Date()) {
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

/**
 * open_at for "day at HH:MM" (Shanghai time): the coming such day, today included. Opening
 * hours repeat every week, so any date with that week day gives the same answer.
 */
export function openAtIso(day, hhmm, now = new Date()) {
  const today = shanghaiMoment(now).day;
  const ahead = (WEEKDAYS.indexOf(day) - WEEKDAYS.indexOf(today) + 7) % 7;
  const date = shanghaiIsoMinute(new Date(now.getTime() + ahead * 86400000)).slice(0, 10);
  return `${date}T${hhmm}`;
}

function toMinutes(hhmm) {
  const match = /^(\d{1,2}):(\d{2})$/.exec(hhmm || "");
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
}

/**
 * Whether structured hours say the facility is open at a moment {day, minutes} (Shanghai;
 * default now): true, false, or null when the hours are unknown. Rules closing after
 * midnight (closes <= opens) carry over into the next day.
 */
export function isOpenAt(hours, moment = shanghaiMoment()) {
  if (!hours) return null;
  if (hours.always_open) return true;
  const rules = hours.rules || [];
  if (rules.length === 0) return null;
  const { day, minutes } = moment;
  const yesterday = JS_DAY_CODES[(JS_DAY_CODES.indexOf(day) + 6) % 7];
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

/** Week days of a rule as ranges: "周一至周五" / "Mon–Fri", every day "每天" / "Daily". */
export function formatDays(days) {
  const indices = [...new Set(days)].map((d) => WEEKDAYS.indexOf(d)).filter((i) => i >= 0).sort((a, b) => a - b);
  if (indices.length === 7) return t("days.all");
  const ranges = [];
  let start = indices[0];
  let previous = indices[0];
  for (const index of [...indices.slice(1), null]) {
    if (index !== null && index === previous + 1) {
      previous = index;
      continue;
    }
    const first = t(`day.short.${WEEKDAYS[start]}`);
    if (start === previous) ranges.push(first);
    else ranges.push(t("days.range", { from: first, to: t(`day.short.${WEEKDAYS[previous]}`) }));
    start = previous = index;
  }
  return ranges.join(t("days.separator"));
}

function formatRule(rule) {
  const overnight = (toMinutes(rule.closes) ?? 0) <= (toMinutes(rule.opens) ?? 0);
  const times = overnight
    ? t("hours.overnight", { opens: rule.opens, closes: rule.closes })
    : t("hours.interval", { opens: rule.opens, closes: rule.closes });
  return `${formatDays(rule.days || [])} ${times}`;
}

/**
 * The opening hours as pieces [{text, lang}], in the active language: the rules formatted
 * here (not the API's hours_text), the note translated when it is a known one and written as
 * given (marked Chinese) otherwise. Unknown hours say how to ask: the record's
 * extra.hours_note, else "call to ask" when there is a phone, else "unknown".
 */
export function hoursParts(facility) {
  const hours = facility.hours;
  if (!hours) {
    const note = facility.extra?.hours_note;
    if (note && (note.zh || note.en)) return [localized(note.zh, note.en)];
    return [{ text: t(facility.phone ? "hours.askPhone" : "hours.unknown"), lang: null }];
  }
  const parts = [];
  if (hours.always_open) parts.push({ text: t("hours.always"), lang: null });
  else if ((hours.rules || []).length) {
    parts.push({ text: hours.rules.map(formatRule).join(t("days.ruleSeparator")), lang: null });
  } else if (!hours.note) {
    parts.push({ text: t("hours.unknown"), lang: null });
  }
  if (hours.note) {
    const key = `hours.note.${hours.note}`;
    parts.push(has(key) ? { text: t(key), lang: null, note: true } : { ...localized(hours.note, null), note: true });
  }
  return parts;
}

/** The opening-hours text in the active language (pieces joined). */
export function hoursText(facility) {
  return hoursParts(facility)
    .map((part) => (part.note ? t("hours.noteWrap", { note: part.text }) : part.text))
    .join(" ");
}

/** The facility name in the active language: English name when present and chosen. */
export function facilityName(facility) {
  return facilityNameParts(facility).text;
}

/** {text, lang} of the facility name (lang "zh-CN" when an English page shows a Chinese name). */
export function facilityNameParts(facility) {
  const named = localized(facility.name, facility.name_en);
  return named.text ? named : { text: facility.id || "", lang: null };
}

/** Translated labels of service ids, using the vocabulary served with /layers. */
export function serviceLabels(serviceIds, vocabulary) {
  const lang = getLang();
  return (serviceIds || []).map((id) => vocabulary.get(id)?.[lang] || id);
}

/** A translated location precision (unknown codes are shown as they are). */
export function precisionLabel(precision) {
  if (!precision) return "";
  const key = `precision.${precision}`;
  return has(key) ? t(key) : precision;
}

/**
 * Where a record comes from, in the active language: demonstration records, OpenStreetMap,
 * the union's 2023 plan, the metro station list; any other source as written.
 */
export function sourceParts(facility) {
  const source = String(facility.source || "");
  if (!source) return null;
  if (facility.demo || source.startsWith("demo:")) return { text: t("source.demo"), lang: null };
  if (/^上海市总工会(\d{4})年实事项目/.test(source)) {
    return { text: t("source.ftuPlan", { year: /^上海市总工会(\d{4})/.exec(source)[1] }), lang: null };
  }
  if (source.startsWith("OpenStreetMap")) return { text: t("source.osm"), lang: null };
  if (source.startsWith("Amap metro station")) return { text: t("source.metro"), lang: null };
  return /[\u4e00-\u9fff]/.test(source) ? localized(source, null) : localized(null, source);
}

/** Whether the facility has a drawable position. */
export function hasLocation(facility) {
  return Number.isFinite(facility?.lon) && Number.isFinite(facility?.lat);
}

/** Labels written after numbers in the registries' phone fields, translated for display. */
const PHONE_LABELS = { 在职: "phone.label.working", 退休: "phone.label.retired" };

function dialable(number) {
  const groups = number.split(/[-\s]+/).filter(Boolean);
  const digits = groups.join("");
  if (digits.startsWith("+")) return digits;
  // Mobile numbers, then area code + number (021-…), then Shanghai's 8-digit local numbers
  // (workers' phones often carry SIMs from other provinces: the area code is dialled too);
  // a group after an 8-digit number is an extension, dialled after a pause (",").
  if (/^1\d{10}$/.test(digits)) return `+86${digits}`;
  if (groups[0].startsWith("0") && groups.length >= 2) {
    const ext = groups.length > 2 ? `,${groups.slice(2).join("")}` : "";
    return `+86${groups[0].slice(1)}${groups[1]}${ext}`;
  }
  if (/^\d{8}$/.test(groups[0])) {
    const ext = groups.length > 1 ? `,${groups.slice(1).join("")}` : "";
    return `+8621${groups[0]}${ext}`;
  }
  return digits.length >= 3 ? digits : null;
}

/**
 * The numbers of a phone field, each with its tel: URL and label: "63773621、53062331" is
 * two numbers, "33362765(在职) 33362769(退休)" two labelled ones, "68472222-88104" one with
 * an extension. Returns [{text, href, label}] (href null when not dialable).
 */
export function phoneNumbers(phone) {
  if (!phone) return [];
  const numbers = [];
  const pattern = /(\+?\d[\d-]*\d)\s*(?:[（(]([^）)]*)[）)])?/g;
  for (const match of String(phone).matchAll(pattern)) {
    const text = match[1].trim();
    const raw = match[2]?.trim() || null;
    const labelKey = raw ? PHONE_LABELS[raw] : null;
    const href = dialable(text);
    numbers.push({
      text,
      href: href ? `tel:${href}` : null,
      label: raw ? (labelKey ? { text: t(labelKey), lang: null } : localized(raw, null)) : null,
    });
  }
  return numbers;
}

/** A tel: URL for the first number of a phone field (or null). */
export function telHref(phone) {
  return phoneNumbers(phone)[0]?.href ?? null;
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

// The look of the offline vector basemap: protomaps-leaflet paint and label rules for the
// layers of data/map/basemap.pmtiles (see layers/build/vector_basemap.py).
//
// A calm street map: a warm light land, blue-grey water, soft green parks, white streets
// with grey casings (major roads pale yellow), dashed violet borders. Zooms in the rules
// are display zooms. Labels are placed by the plug-in without collisions, in rule order
// (earlier rules win): districts, the river, major streets, stations, secondary streets,
// subdistricts (zoom 14–15), minor streets, parks. Street names are 12–13 px with a white
// halo: legible on a 390 px phone.

const FONT_FAMILY =
  '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif';

export const COLORS = Object.freeze({
  land: "#f5f2eb",
  outside: "#e3e5e8",
  water: "#b7d4e8",
  waterText: "#3f6f96",
  park: "#d6e9c9",
  parkText: "#3f6d33",
  workplace: "#efe7e1",
  building: "#e2dbd1",
  buildingEdge: "#d3c9bc",
  border: "#8c7aa6",
  subBorder: "#b9aecb",
  casing: "#cbc3b8",
  street: "#ffffff",
  major: "#fbe3a9",
  majorCasing: "#d8b26a",
  path: "#b0a898",
  text: "#2f2f2f",
  minorText: "#555049",
  placeText: "#57437a",
  halo: "#ffffff",
});

const ROAD_CLASSES = ["motorway", "trunk", "primary", "secondary", "tertiary", "minor", "service", "path"];

/** Line widths (px) per display zoom, for each road class. */
const ROAD_WIDTH = {
  motorway: [[7, 0.8], [10, 1.6], [12, 2.6], [14, 5], [16, 10], [18, 24]],
  trunk: [[7, 0.8], [10, 1.6], [12, 2.6], [14, 5], [16, 10], [18, 24]],
  primary: [[8, 0.5], [11, 1.2], [13, 2.6], [15, 6], [17, 14], [19, 40]],
  secondary: [[10, 0.5], [12, 1.2], [14, 3], [16, 8], [17, 12], [19, 34]],
  tertiary: [[11, 0.4], [13, 1.2], [15, 4], [17, 10], [19, 30]],
  minor: [[12, 0.4], [14, 1.2], [15, 2.6], [17, 8], [19, 24]],
  service: [[14, 0.4], [16, 2], [17, 4], [19, 12]],
  path: [[15, 0.6], [17, 1.4], [19, 2.4]],
};
const MIN_ZOOM = {
  motorway: 8,
  trunk: 8,
  primary: 9,
  secondary: 11,
  tertiary: 12,
  minor: 13,
  service: 15,
  path: 15,
};

/** Piecewise-linear interpolation of [zoom, value] stops (held flat outside them). */
function interpolate(stops) {
  return (z) => {
    if (z <= stops[0][0]) return stops[0][1];
    for (let i = 1; i < stops.length; i += 1) {
      const [z1, v1] = stops[i];
      if (z <= z1) {
        const [z0, v0] = stops[i - 1];
        return v0 + ((v1 - v0) * (z - z0)) / (z1 - z0);
      }
    }
    return stops[stops.length - 1][1];
  };
}

function isMajor(kind) {
  return kind === "motorway" || kind === "trunk" || kind === "primary";
}

function roadRules(P) {
  const casings = [];
  const fills = [];
  // Smallest classes first, so bigger roads are painted over them.
  for (const kind of [...ROAD_CLASSES].reverse()) {
    const width = interpolate(ROAD_WIDTH[kind]);
    const filter = (z, f) => f.props.class === kind;
    if (kind === "path") {
      fills.push({
        dataLayer: "road",
        minzoom: MIN_ZOOM[kind],
        filter,
        symbolizer: new P.LineSymbolizer({ color: COLORS.path, width, dash: [3, 2], opacity: 0.9 }),
      });
      continue;
    }
    casings.push({
      dataLayer: "road",
      minzoom: Math.max(MIN_ZOOM[kind], 12),
      filter: (z, f) => filter(z, f) && !f.props.tunnel,
      symbolizer: new P.LineSymbolizer({
        color: isMajor(kind) ? COLORS.majorCasing : COLORS.casing,
        width: (z) => width(z) + (z >= 15 ? 2 : 1.2),
        lineCap: "round",
        lineJoin: "round",
      }),
    });
    fills.push({
      dataLayer: "road",
      minzoom: MIN_ZOOM[kind],
      filter,
      symbolizer: new P.LineSymbolizer({
        color: isMajor(kind) ? COLORS.major : COLORS.street,
        width,
        opacity: (z, f) => (f.props.tunnel ? 0.55 : 1),
        lineCap: "round",
        lineJoin: "round",
      }),
    });
  }
  return [...casings, ...fills];
}

/** Paint rules (bottom to top). */
export function paintRules(P) {
  return [
    {
      dataLayer: "outside",
      symbolizer: new P.PolygonSymbolizer({ fill: COLORS.outside }),
    },
    {
      dataLayer: "workplace",
      minzoom: 11,
      symbolizer: new P.PolygonSymbolizer({ fill: COLORS.workplace }),
    },
    {
      dataLayer: "park",
      symbolizer: new P.PolygonSymbolizer({ fill: COLORS.park }),
    },
    {
      dataLayer: "water",
      symbolizer: new P.PolygonSymbolizer({ fill: COLORS.water }),
    },
    {
      dataLayer: "building",
      minzoom: 14,
      symbolizer: new P.PolygonSymbolizer({
        fill: COLORS.building,
        stroke: COLORS.buildingEdge,
        width: (z) => (z >= 16 ? 0.8 : 0),
        opacity: (z) => (z >= 15 ? 1 : 0.7),
      }),
    },
    {
      dataLayer: "boundary",
      minzoom: 12,
      filter: (z, f) => f.props.admin_level === 8,
      symbolizer: new P.LineSymbolizer({ color: COLORS.subBorder, width: 1, dash: [4, 3] }),
    },
    ...roadRules(P),
    {
      dataLayer: "boundary",
      filter: (z, f) => f.props.admin_level === 6,
      symbolizer: new P.LineSymbolizer({
        color: COLORS.border,
        width: (z) => (z >= 13 ? 1.6 : 1.1),
        dash: [6, 4],
        opacity: 0.8,
      }),
    },
    {
      dataLayer: "metro",
      maxzoom: 12,
      symbolizer: new P.LineSymbolizer({
        color: (z, f) => f.props.color || "#888888",
        width: 1.4,
        opacity: 0.55,
      }),
    },
  ];
}

/**
 * Wrap a label symbolizer so every label it places carries its text as the plug-in's
 * deduplication key: the same name is not placed twice within `distancePx`, and the
 * placed labels can be listed from the plug-in's label index (Basemap.renderedLabels()).
 */
class NamedLabel {
  constructor(symbolizer, textOf, distancePx) {
    this.symbolizer = symbolizer;
    this.textOf = textOf;
    this.distancePx = distancePx;
  }

  place(layout, geom, feature) {
    const labels = this.symbolizer.place(layout, geom, feature);
    if (!labels) return labels;
    const text = this.textOf(feature);
    for (const label of labels) {
      label.deduplicationKey = label.deduplicationKey || text;
      label.deduplicationDistance = label.deduplicationDistance || this.distancePx;
    }
    return labels;
  }
}

/** The label text of a feature in a language: English where the data has it, else Chinese. */
export function labelText(props, lang) {
  if (lang === "en" && props.name_en) return props.name_en;
  return props.name || "";
}

function font(size, weight = 400, style = "") {
  return `${style ? `${style} ` : ""}${weight} ${size}px ${FONT_FAMILY}`;
}

/** Label rules for a language ("zh" or "en"), highest priority first. */
export function labelRules(P, lang, { districtLabels = true } = {}) {
  const props = lang === "en" ? ["name_en", "name"] : ["name"];
  const textOf = (f) => labelText(f.props, lang);
  const halo = { stroke: COLORS.halo, width: 3 };
  const rules = [];
  if (districtLabels) {
    rules.push({
      dataLayer: "place",
      maxzoom: 13,
      filter: (z, f) => f.props.kind === "district",
      symbolizer: new NamedLabel(
        new P.CenteredTextSymbolizer({
          labelProps: props,
          font: (z) => font(z >= 11 ? 15 : 13, 600),
          fill: COLORS.placeText,
          ...halo,
        }),
        textOf,
        400,
      ),
    });
  }
  const streetLabel = (classes, minzoom, size, fill) => ({
    dataLayer: "road",
    minzoom,
    filter: (z, f) => classes.includes(f.props.class) && Boolean(f.props.name),
    sort: (a, b) => (a.rank ?? 9) - (b.rank ?? 9),
    symbolizer: new P.LineLabelSymbolizer({
      labelProps: props,
      font: (z) => font(z >= 17 ? size + 1 : size, 500),
      fill,
      ...halo,
      position: P.LineLabelPlacement?.Center ?? 2,
      repeatDistance: 320,
    }),
  });
  rules.push(
    {
      dataLayer: "water_label",
      minzoom: 10,
      symbolizer: new P.LineLabelSymbolizer({
        labelProps: props,
        font: font(13, 500, "italic"),
        fill: COLORS.waterText,
        stroke: COLORS.water,
        width: 0,
        position: P.LineLabelPlacement?.Center ?? 2,
        repeatDistance: 600,
      }),
    },
    streetLabel(["motorway", "trunk", "primary"], 13, 13, COLORS.text),
    {
      dataLayer: "station",
      minzoom: 14,
      symbolizer: new NamedLabel(
        new P.OffsetTextSymbolizer({
          labelProps: props,
          font: (z, f) => font(12, f?.props.interchange ? 600 : 500),
          fill: "#37474f",
          ...halo,
          offsetX: 7,
          offsetY: 7,
        }),
        textOf,
        200,
      ),
    },
    streetLabel(["secondary"], 14, 12, COLORS.text),
    {
      dataLayer: "place",
      minzoom: 14,
      maxzoom: 15,
      filter: (z, f) => f.props.kind === "subdistrict",
      symbolizer: new NamedLabel(
        new P.CenteredTextSymbolizer({
          labelProps: props,
          font: font(12, 500),
          fill: "#7a6c8f",
          ...halo,
        }),
        textOf,
        300,
      ),
    },
    streetLabel(["tertiary", "minor"], 15, 12, COLORS.minorText),
    streetLabel(["service", "path"], 17, 11, COLORS.minorText),
    {
      dataLayer: "park_label",
      minzoom: 12,
      filter: (z, f) => z >= 15 || f.props.area_m2 >= (z >= 14 ? 20000 : z >= 13 ? 50000 : 500000),
      symbolizer: new NamedLabel(
        new P.CenteredTextSymbolizer({
          labelProps: ["name"],
          font: font(12, 500),
          fill: COLORS.parkText,
          ...halo,
        }),
        textOf,
        300,
      ),
    },
  );
  return rules;
}

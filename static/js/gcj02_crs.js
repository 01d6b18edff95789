// A Leaflet CRS for basemaps whose tiles are drawn in GCJ-02 (Amap, Tencent).
//
// The page keeps every position in WGS84. This CRS is Web Mercator of the GCJ-02 position:
// project() converts WGS84 → GCJ-02 before the Mercator projection and unproject() converts
// back, so every marker, route, polygon and click of every layer lands on the right street
// of GCJ-02 tiles with no change to the layers' code, and map.getCenter(), click events and
// bounds stay WGS84. The conversion is the vendored gcoord library (its GCJ-02 → WGS84
// inverse iterates to 1e-6°, about 0.1 m).

import gcoord from "../vendor/gcoord/gcoord.esm-browser.prod.js";

const L = window.L;
const Mercator = L.Projection.SphericalMercator;

/** WGS84 → GCJ-02 (Leaflet LatLng in, LatLng out). */
export function wgs84ToGcj02(latlng) {
  const [lng, lat] = gcoord.transform([latlng.lng, latlng.lat], gcoord.WGS84, gcoord.GCJ02);
  return L.latLng(lat, lng);
}

/** GCJ-02 → WGS84 (Leaflet LatLng in, LatLng out). */
export function gcj02ToWgs84(latlng) {
  const [lng, lat] = gcoord.transform([latlng.lng, latlng.lat], gcoord.GCJ02, gcoord.WGS84);
  return L.latLng(lat, lng);
}

const Gcj02Mercator = {
  bounds: Mercator.bounds,
  R: Mercator.R,
  project(latlng) {
    return Mercator.project(wgs84ToGcj02(L.latLng(latlng)));
  },
  unproject(point) {
    return gcj02ToWgs84(Mercator.unproject(point));
  },
};

/** Web Mercator over GCJ-02: the CRS of Amap and Tencent tiles, with WGS84 LatLngs. */
export const CRS_GCJ02 = L.extend({}, L.CRS.EPSG3857, {
  code: "GCJ02",
  projection: Gcj02Mercator,
});

/** The Leaflet CRS for a source's coordinate system ("wgs84" or "gcj02"). */
export function crsFor(system) {
  return system === "gcj02" ? CRS_GCJ02 : L.CRS.EPSG3857;
}

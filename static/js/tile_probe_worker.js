// Tile reachability probe, run in a dedicated worker.
//
// The page posts a tile URL; the worker answers true when the tile server responds at all
// (an opaque no-cors response is enough) and false when the request fails (no route, no
// DNS, refused). Probing from a worker keeps the expected failure on an intranet out of the
// page's console: the page reacts by choosing the offline basemap, nothing is wrong.
self.onmessage = async (event) => {
  try {
    await fetch(event.data, { mode: "no-cors", cache: "no-store", referrerPolicy: "no-referrer" });
    self.postMessage(true);
  } catch {
    self.postMessage(false);
  }
};

"""Offline geocoding quality and speed on held-out named OSM places.

Takes named places of the shipped gazetteer that a district sheet would name (parks, 园区,
buildings, hospitals, community health centres, metro stations, malls, address points),
splits them 50/50 with a fixed seed into a development half (used while tuning the matcher)
and a held-out test half, and writes one query per place the way a district would: the name
with noise (district prefix or none, ``上海市``, full-width digits, a legal-form suffix, a
dropped character, or the place given as the host of a facility: ``XX职工健身驿站``), and an
address where one can be formed (OSM ``addr:*`` tags, or the named road nearest the place).

Reported on the test half: the share placed within 300 m of the OSM point, the share placed
more than 1 km away **without** a review flag, the precision mix, the gazetteer load time and
the time per row (and a 5,000-row import).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.crs import haversine_m
from geo.geocode.matcher import GeocodeQuery, OfflineGeocoder
from layers.registry.gazetteer_io import load_gazetteer
from layers.registry.shipped import DEFAULT_DATA_DIR

SEED = 20230215
KINDS = frozenset({
    "park", "industrial_park", "commercial_area", "building", "hospital", "community_health",
    "metro_station", "address", "mall", "community_centre", "university", "college", "museum",
})
NEAR_M, FAR_M = 300.0, 1000.0
FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def _nearest_road(offline: OfflineGeocoder, index: int, max_m: float = 120.0) -> str | None:
    gaz = offline.gazetteer
    point = shapely.Point(gaz.x[index], gaz.y[index])
    best: tuple[float, str] | None = None
    for road_index, road in enumerate(gaz.roads):
        if road.district != gaz.districts[index]:
            continue
        if abs(road.lon - gaz.lon[index]) > 0.05 or abs(road.lat - gaz.lat[index]) > 0.05:
            continue
        distance = gaz.road_metric(road_index).distance(point)
        if distance <= max_m and (best is None or distance < best[0]):
            best = (distance, road.name)
    return best[1] if best else None


_STREETS: dict[int, tuple[str, int]] = {}


def make_query(offline: OfflineGeocoder, index: int, rng: random.Random) -> tuple[GeocodeQuery, str]:
    """A district-style query for one gazetteer place, and the noise applied."""
    gaz = offline.gazetteer
    name = gaz.names[index]
    district = gaz.districts[index]
    noise = rng.choice(["plain", "city_prefix", "no_district", "fullwidth", "suffix", "drop_char",
                        "host", "park_field"])
    record_name: str | None = name
    park_name = None
    form_district: str | None = district
    if noise == "city_prefix" and district:
        record_name = f"上海市{district}{name}"
    elif noise == "no_district":
        form_district = None
    elif noise == "fullwidth":
        record_name = name.translate(FULLWIDTH)
    elif noise == "suffix":
        record_name = f"{name}有限公司" if gaz.kinds[index] in {"industrial_park", "building"} else f"{name}（总部）"
    elif noise == "drop_char" and len(name) >= 6:
        cut = rng.randrange(1, len(name) - 1)
        record_name = name[:cut] + name[cut + 1 :]
    elif noise == "host":
        record_name = f"{name}职工健身驿站"
    elif noise == "park_field":
        record_name, park_name = "职工服务站", name
    address = None
    street = _STREETS.get(index)
    if street is not None:
        address = f"{form_district or ''}{street[0]}{street[1]}号"
    elif rng.random() < 0.5:
        road = _nearest_road(offline, index)
        if road:
            address = f"{form_district or ''}{road}"
    return GeocodeQuery(record_name, address, form_district, park_name), noise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--per-half", type=int, default=600, help="places in each half")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = parser.parse_args()

    started = time.perf_counter()
    offline = OfflineGeocoder(load_gazetteer(args.data))
    load_s = time.perf_counter() - started
    gaz = offline.gazetteer
    for street, points in gaz.addresses.items():
        for number, place in points:
            _STREETS[place] = (street, number)

    rng = random.Random(SEED)
    pool = [i for i in range(len(gaz)) if gaz.kinds[i] in KINDS and len(gaz.names[i]) >= 3
            and not gaz.names[i].endswith("号")]
    rng.shuffle(pool)
    dev, test = pool[: args.per_half], pool[args.per_half : 2 * args.per_half]
    figures: dict[str, Any] = {"load_s": round(load_s, 3), "places": len(gaz),
                               "pool": len(pool), "seed": SEED}
    for half_name, half in (("dev", dev), ("test", test)):
        queries = [make_query(offline, i, rng) for i in half]
        for query, _ in queries[:20]:
            offline.place(query)  # warm caches
        t0 = time.perf_counter()
        placements = [offline.place(query) for query, _ in queries]
        elapsed = time.perf_counter() - t0
        distance = np.array([
            float(haversine_m(gaz.lon[i], gaz.lat[i], p.lon, p.lat)) if p.located else np.inf
            for i, p in zip(half, placements, strict=True)
        ])
        far_unflagged = [(gaz.names[i], q.name, p.precision.value, round(float(d)))
                         for i, (q, _), p, d in zip(half, queries, placements, distance, strict=True)
                         if d > FAR_M and not p.needs_review]
        fine = np.array([p.precision.value in {"exact", "building", "road"} for p in placements])
        noise_near: dict[str, list[int]] = {}
        for (_, noise), d in zip(queries, distance, strict=True):
            noise_near.setdefault(noise, [0, 0])
            noise_near[noise][0] += int(d <= NEAR_M)
            noise_near[noise][1] += 1
        figures[half_name] = {
            "rows": len(half),
            "within_300m": round(float(np.mean(distance <= NEAR_M)), 4),
            "far_unflagged": round(len(far_unflagged) / len(half), 4),
            "far_fine_precision": round(float(np.mean((distance > FAR_M) & fine)), 4),
            "flagged": round(float(np.mean([p.needs_review for p in placements])), 4),
            "precision": dict(Counter(p.precision.value for p in placements).most_common()),
            "within_300m_by_noise": {k: f"{v[0]}/{v[1]}" for k, v in sorted(noise_near.items())},
            "ms_per_row": round(elapsed / len(half) * 1000, 3),
            "far_unflagged_examples": far_unflagged[:5],
        }
    rows = [make_query(offline, i, rng)[0] for i in (test * 10)[:5000]]
    t0 = time.perf_counter()
    for query in rows:
        offline.place(query)
    figures["import_5000_rows_s"] = round(time.perf_counter() - t0, 2)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
        return
    test_figures = figures["test"]
    print("### Offline geocoding of held-out named OSM places\n")
    print(f"Gazetteer: {figures['places']:,} places, loaded in {figures['load_s']:.2f} s; "
          f"pool {figures['pool']:,} named places, seed {SEED}.\n")
    print("| half | rows | within 300 m | > 1 km unflagged | > 1 km at exact/building/road | "
          "flagged for review | ms/row |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for half_name in ("dev", "test"):
        f = figures[half_name]
        print(f"| {half_name} | {f['rows']} | {f['within_300m']:.1%} | {f['far_unflagged']:.1%} | "
              f"{f['far_fine_precision']:.1%} | {f['flagged']:.1%} | {f['ms_per_row']:.3f} |")
    print(f"\nPrecision mix (test): {test_figures['precision']}")
    print(f"Within 300 m by noise (test): {test_figures['within_300m_by_noise']}")
    print(f"5,000-row import (offline): {figures['import_5000_rows_s']:.2f} s")
    if test_figures["far_unflagged_examples"]:
        print(f"Far and unflagged (examples): {test_figures['far_unflagged_examples']}")


if __name__ == "__main__":
    main()

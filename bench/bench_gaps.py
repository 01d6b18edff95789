"""Coverage gaps: whole-city computation time and one-facility incremental updates.

Targets: the whole city (medical + lunch, from a cold start: reading workplaces, official
employment, networks and facility layers) in at most 30 s; adding or removing one facility
updates the answer in at most 1 s. Peer in the same run: a full rerun of the catchments
with the inputs already loaded (what a non-incremental service would do on every edit).
Prints a markdown report.

Usage: ``python bench/bench_gaps.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine_line

from layers.gaps.service import GapService, ShippedSource
from layers.registry.schema import Facility, FacilityStatus

DATA = REPO / "data"


class EditableSource(ShippedSource):
    """Shipped facilities plus in-memory additions and removals, versioned per layer."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.added: dict[str, list[Facility]] = {}
        self.removed: set[str] = set()
        self.versions: dict[str, int] = {}

    def version(self, layer: str) -> object:
        return self.versions.get(layer, 0)

    def facilities(self, layer: str) -> list[Facility]:
        every = super().facilities(layer) + self.added.get(layer, [])
        return [f for f in every if f.id not in self.removed]

    def add(self, facility: Facility) -> None:
        self.added.setdefault(facility.layer, []).append(facility)
        self.versions[facility.layer] = self.versions.get(facility.layer, 0) + 1

    def remove(self, facility_id: str) -> None:
        self.removed.add(facility_id)
        layer = facility_id.split(":")[0]
        self.versions[layer] = self.versions.get(layer, 0) + 1


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _peer(service: GapService, source: EditableSource) -> GapService:
    """A new service sharing the loaded inputs but no catchments (a full rerun)."""
    peer = GapService(source, DATA)
    for name in ("workplaces", "allocation", "reach_model"):
        peer.__dict__[name] = getattr(service, name)
    return peer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="incremental updates timed")
    args = parser.parse_args()

    source = EditableSource(DATA)
    service = GapService(source, DATA)
    start = time.perf_counter()
    medical = service.medical_gaps()
    t_medical = time.perf_counter() - start
    lunch = service.lunch_gaps()
    t_city = time.perf_counter() - start
    t_lunch = t_city - t_medical

    wp = service.workplaces
    flagged = np.flatnonzero(medical.gaps.flagged)
    rng = np.random.default_rng(20230215)
    add_med, rm_med, add_food, rm_food, full_med, full_lunch = [], [], [], [], [], []
    for k in range(args.repeat):
        i = int(rng.choice(flagged))
        hp = Facility(id=f"health_point:bench-{k}", layer="health_point", name="（测试）健康服务点",
                      lon=float(wp.lon[i]), lat=float(wp.lat[i]), source="bench",
                      status=FacilityStatus.NEW)  # fmt: skip
        source.add(hp)
        add_med.append(_timed(service.medical_gaps))
        full_med.append(_timed(_peer(service, source).medical_gaps))
        source.remove(hp.id)
        rm_med.append(_timed(service.medical_gaps))
        outlet = Facility(id=f"food:bench-{k}", layer="food", name="（测试）职工食堂",
                          lon=float(wp.lon[i]), lat=float(wp.lat[i]), source="bench",
                          services=["canteen"])  # fmt: skip
        source.add(outlet)
        add_food.append(_timed(service.lunch_gaps))
        full_lunch.append(_timed(_peer(service, source).lunch_gaps))
        source.remove(outlet.id)
        rm_food.append(_timed(service.lunch_gaps))

    def med(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:,.0f} ms"

    print("# Coverage gaps benchmark\n")
    print(machine_line())
    print(f"\n{len(wp):,} workplaces ({int((service.reach_model.wp_network >= 0).sum()):,} on a "
          f"walk network), {sum(x.counted for x in medical.supply):,} medical resources "
          f"({medical.demo_left_out:,} demonstration health points left out), "
          f"{len(source.facilities('food')):,} food outlets; "
          f"{medical.n_flagged:,} medically underserved, {lunch.n_flagged:,} with a lunch "
          f"difficulty.\n")  # fmt: skip
    print("| measurement | time | target | peer: full rerun (inputs loaded) |")
    print("|---|---:|---:|---:|")
    print(f"| whole city, cold start (medical + lunch) | {t_city:.1f} s | ≤ 30 s | — |")
    print(f"| of which medical / lunch | {t_medical:.1f} s / {t_lunch:.1f} s | | |")
    print(f"| add one health point (median of {args.repeat}) | {med(add_med)} | ≤ 1 s | "
          f"{med(full_med)} |")
    print(f"| remove one health point | {med(rm_med)} | ≤ 1 s | {med(full_med)} |")
    print(f"| add one canteen | {med(add_food)} | ≤ 1 s | {med(full_lunch)} |")
    print(f"| remove one canteen | {med(rm_food)} | ≤ 1 s | {med(full_lunch)} |")
    worst = lunch.worst
    print(f"\nThe 10 worst lunch places hold {worst.workers_total:,} workers (plan target: "
          f"{worst.target_places} places, {worst.target_workers:,} workers).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

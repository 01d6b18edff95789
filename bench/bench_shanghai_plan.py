"""The Shanghai site-planning case: 20 new health points, at least one per district.

    python bench/bench_shanghai_plan.py              # ours + PySAL spopt (PuLP + CBC)
    python bench/bench_shanghai_plan.py --no-spopt   # ours only

Demand: the 5,426 deduplicated parks and buildings with their estimated workers (shipped
data); existing sites: the serving health points (demonstration records, counted with
``include_demo``); candidates: the serving relay stations, district service centres, rest
rooms and fitness stations of the default host types (no public toilets); costs: walking minutes
(network inside the central walk network, calibrated estimate elsewhere), stored only
within 15 minutes. Ours: MCLP with 20 new sites, ≥ 1 per district, budget ¥300,000, solved
to proven optimality with HiGHS; then the unconstrained 20-site MCLP.

spopt (``MCLP.from_cost_matrix`` with ``predefined_facilities_arr`` for the existing points,
``p_facilities`` = existing + 20, PuLP's CBC) gets the same coverage: a dense matrix with
the stored minutes and a large value elsewhere. spopt has no district rule, so the
unconstrained model is compared as is, and the district model by adding one PuLP row per
district (Σ new sites in the district ≥ 1) to spopt's problem before solving. spopt builds
one PuLP term per (workplace, site) pair, zero or not (10 million here), so it is given
only the workplaces that some site covers; the others add 0 to both objectives. The spopt
time is model building plus solving; ours is the whole solve from the sparse matrix.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.location import LocationProblem, SolveOptions, solve_mclp
from layers.gaps.service import GapService, ShippedSource
from layers.plans.service import PlanRequest, PlanService
from layers.registry.shipped import DEFAULT_DATA_DIR

N_NEW = 20
MAX_MINUTES = 15.0
FAR = 1e6


def run_spopt(cost: np.ndarray, weight: np.ndarray, existing: np.ndarray, p_total: int,
              district_of: list[str | None] | None) -> dict[str, float]:  # fmt: skip
    """spopt MCLP on a dense matrix; optionally with ≥ 1 new site per district added."""
    import pulp
    from spopt.locate import MCLP

    predefined = np.zeros(cost.shape[1], dtype=int)
    predefined[existing] = 1
    started = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, weight, service_radius=MAX_MINUTES,
                                  p_facilities=p_total, predefined_facilities_arr=predefined)  # fmt: skip
    built = time.perf_counter()
    if district_of is not None:
        for district in sorted({d for d in district_of if d}):
            cols = [j for j, d in enumerate(district_of) if d == district]
            model.problem += pulp.lpSum(model.fac_vars[j] for j in cols) >= 1
    model.solve(pulp.PULP_CBC_CMD(msg=False), results=False)
    done = time.perf_counter()
    objective = float(pulp.value(model.problem.objective))
    status = pulp.LpStatus[model.problem.status]
    return {"objective": objective, "build_s": built - started, "solve_s": done - built,
            "seconds": done - started, "status": status}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-spopt", action="store_true", help="skip spopt")
    args = parser.parse_args()

    t0 = time.perf_counter()
    gaps = GapService(ShippedSource(DEFAULT_DATA_DIR), DEFAULT_DATA_DIR)
    service = PlanService.from_gap_service(gaps)
    demand = service.demand
    load_s = time.perf_counter() - t0
    request = PlanRequest(n_new=N_NEW, max_minutes=MAX_MINUTES, district_min=1,
                          budget_yuan=N_NEW * 15_000.0, time_limit_s=600,
                          include_demo=True)  # fmt: skip
    result = service.solve(request)
    s = result.summary
    sites = service.sites(request)
    costs = service.costs(request, sites)
    print("## Shanghai: 20 new health points, ≥ 1 per district, 15-minute walk\n")
    print(f"- workplaces {len(demand):,} ({demand.workers.sum():,.0f} workers), existing health "
          f"points {s['n_existing']}, candidate hosts {s['n_candidates']:,}")  # fmt: skip
    print(f"- walking pairs within 15 min: {s['costs']['pairs']:,} "
          f"({', '.join(f'{k} {v:,}' for k, v in s['costs']['methods'].items())}), "
          f"computed in {s['costs']['seconds']:.2f} s; inputs loaded in {load_s:.1f} s")  # fmt: skip
    print(f"- **status {s['status']}** (gap {s['gap']:.0%}), objective {s['objective']:,} workers "
          f"within 15 min (before {s['workers_covered_before']:,}), **newly covered "
          f"{s['workers_newly_covered']:,}** in {s['workplaces_newly_covered']:,} workplaces; "
          f"solve {s['seconds']:.2f} s, whole request {s['total_seconds']:.2f} s\n")  # fmt: skip
    print("| district | new sites | workers newly covered |\n|---|---:|---:|")
    for row in result.districts:
        print(f"| {row['district']} | {row['new_sites']} | {row['newly_covered']:,} |")
    print()

    # the same matrix, without district rule and budget
    free = LocationProblem(costs.minutes, demand.workers, fixed_sites=sites.existing,
                           eligible_sites=sites.candidates)  # fmt: skip
    unconstrained = solve_mclp(free, N_NEW, MAX_MINUTES, options=SolveOptions(time_limit_s=600))
    rows = [("≥ 1 per district + budget", float(s["objective"]), str(s["status"]),
             float(s["seconds"]), "district"),
            ("unconstrained", float(unconstrained.objective or 0.0), str(unconstrained.status),
             unconstrained.seconds, None)]  # fmt: skip
    print("| model | ours objective | ours status | ours s | spopt objective | spopt status "
          "| spopt s (build + solve) | speed-up |\n|---|---:|---|---:|---:|---|---:|---:|")
    dense = None
    spopt_rows = 0
    if not args.no_spopt:
        keep = np.flatnonzero(np.diff(costs.minutes.indptr) > 0)  # every stored pair covers
        dense = np.full((keep.size, costs.shape[1]), FAR)
        sub = costs.minutes[keep].tocoo()
        dense[sub.row, sub.col] = sub.data
        spopt_rows = keep.size
    for name, ours_obj, ours_status, ours_s, rule in rows:
        if dense is None:
            print(f"| {name} | {ours_obj:,.0f} | {ours_status} | {ours_s:.2f} | – | – | – | – |")
            continue
        districts = None
        if rule == "district":
            districts = [None] * sites.n_existing + sites.districts(sites.candidates)
        peer = run_spopt(dense, demand.workers[keep], sites.existing,
                         sites.n_existing + N_NEW, districts)  # fmt: skip
        same = "=" if abs(peer["objective"] - ours_obj) < 0.5 else "≠"
        print(f"| {name} | {ours_obj:,.0f} | {ours_status} | {ours_s:.2f} "
              f"| {peer['objective']:,.0f} {same} | {peer['status']} "
              f"| {peer['seconds']:.1f} ({peer['build_s']:.1f} + {peer['solve_s']:.1f}) "
              f"| {peer['seconds'] / max(ours_s, 1e-9):.0f}× |")  # fmt: skip
    print("\nOurs: HiGHS on the sparse pairs of all workplaces (rows with equal cover sets "
          "merged); spopt: PuLP model from the dense matrix of the "
          + ("" if dense is None else f"{spopt_rows:,} ")
          + "workplaces some site covers, solved by CBC.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

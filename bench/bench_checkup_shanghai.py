"""Shanghai check-up routing case: 300 bookings in the 16 districts, 6 vehicles, 10 days.

The request is the demonstration generator's (``layers/checkups/sample.py``, fixed seed,
DEMO data at real workplace locations; 10 % of the positions given as GCJ-02 and
converted at the edge). Drive times come from the network service (the citywide drive
network where it covers both ends, the calibrated estimate elsewhere). Both solvers get
the same matrices, the same model and the same wall-clock search budget:

* **ours** -- :func:`geo.routing.checkup.solve_checkup` as the API runs it (the PyVRP
  portfolio on the machine's cores, 2 here);
* **PyVRP** -- the same model built by ``solve_checkup`` through ``geo.routing.vrptw``
  (``to_pyvrp``), solved by plain ``pyvrp.solve`` with one seed in one process, stopped at
  the same wall-clock deadline; the routes are read back and explained by the same code,
  so the figures are comparable.

Every plan is validated by the independent checker (``check_checkup_plan``). Printed:
a markdown table with time, bookings and workers served, unserved bookings by reason,
priority-weighted bookings served, drive hours and km, vehicle-days, share of legs on
the road network.

Usage::

    python bench/bench_checkup_shanghai.py --time-limit 30
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import geo.routing.checkup as checkup_module  # noqa: E402
from geo.routing.feasibility import check_checkup_plan  # noqa: E402
from geo.routing.vrptw import (  # noqa: E402
    VrptwSolution,
    routes_from_pyvrp,
    solution_distance,
    to_pyvrp,
    unassigned_clients,
)
from layers.checkups.sample import generate_checkup_request  # noqa: E402
from layers.checkups.service import CheckupResult, CheckupService  # noqa: E402
from layers.networks import NetworkService  # noqa: E402
from layers.registry.service import Registry  # noqa: E402
from layers.registry.shipped import iter_facilities  # noqa: E402
from layers.store import open_store  # noqa: E402

DATA = REPO / "data"


def _plain_pyvrp(problem, time_limit_s, seed=0, n_workers=None, scaling=None,
                 on_progress=None):
    """Drop-in for ``solve_vrptw``: one ``pyvrp.solve`` run, one seed, one process."""
    import pyvrp

    start = time.perf_counter()
    deadline = start + time_limit_s
    mapping = to_pyvrp(problem, scaling)
    # a wall-clock deadline: MaxRuntime would start counting only after pyvrp.solve's own
    # set-up (neighbourhoods of thousands of alternatives), giving the peer extra time
    res = pyvrp.solve(mapping.data, lambda _best: time.perf_counter() >= deadline,
                      seed=seed, collect_stats=False)  # fmt: skip
    routes = routes_from_pyvrp(mapping, res.best)
    return VrptwSolution(
        routes=routes, distance=solution_distance(problem, routes),
        unassigned=unassigned_clients(problem, routes), feasible=bool(res.best.is_feasible()),
        runtime_s=time.perf_counter() - start, iterations=int(res.num_iterations), seed=seed,
    )  # fmt: skip


def _row(name: str, result: CheckupResult, seconds: float) -> dict:
    plan, problem = result.plan, result.problem
    body = result.to_dict()["summary"]
    priority = {b.id: b.priority for b in problem.bookings}
    fully = {b.id for b in problem.bookings} - {u.booking_id for u in plan.unassigned}
    violations = check_checkup_plan(problem, plan, result.travel.duration_s)
    reasons = body["unassigned_by_reason"]
    return {
        "solver": name,
        "seconds": seconds,
        "served": len(fully),
        "unserved": len(problem.bookings) - len(fully),
        "reasons": ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) or "—",
        "weighted": sum(priority[b] for b in fully),
        "workers": f"{plan.served_workers:,} / {plan.total_workers:,}",
        "drive_h": plan.total_travel_s / 3600,
        "drive_km": plan.total_distance_m / 1000,
        "vehicle_days": len(plan.routes),
        "network_share": body["network_share"],
        "feasible": "yes" if not violations else f"NO ({len(violations)})",
    }


def main(argv: list[str] | None = None) -> int:
    """Run the case and print the table."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--time-limit", type=float, default=30.0, help="search seconds")
    parser.add_argument("--bookings", type=int, default=300)
    parser.add_argument("--vehicles", type=int, default=6)
    parser.add_argument("--working-days", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="search seed")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    request = generate_checkup_request(DATA, n_bookings=args.bookings, n_vehicles=args.vehicles,
                                       working_days=args.working_days, gcj_share=0.1)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'registry.db'}")
        registry = Registry(store, DATA)
        registry.upsert(iter_facilities(DATA, "service_centre"))
        service = CheckupService(registry, NetworkService(registry, DATA / "networks"))
        t1 = time.perf_counter()
        prepared = service.check(request)
        t2 = time.perf_counter()
        travel = service.travel(prepared)
        t3 = time.perf_counter()
        service.travel = lambda _prepared: travel  # type: ignore[method-assign]  # same matrices
        ours = service.solve(prepared, args.time_limit, args.seed, with_geometry=True)
        rows = [_row("ours (portfolio)", ours, ours.plan.runtime_s)]
        t_draw = ours.seconds - ours.plan.runtime_s  # checking, explaining and drawing
        n_legs = sum(len(r.stops) + 1 for r in ours.plan.routes)
        with mock.patch.object(checkup_module, "solve_vrptw", _plain_pyvrp):
            peer = service.solve(prepared, args.time_limit, args.seed, with_geometry=False)
            rows.append(_row("PyVRP (plain solve, 1 seed)", peer, peer.plan.runtime_s))
        store.close()
    p = prepared.problem
    print(f"Shanghai check-up case (DEMO bookings, seed of the request "
          f"{request['description'].split('seed ')[1].split(')')[0]}): {len(p.bookings)} "
          f"bookings, {sum(b.workers for b in p.bookings):,} workers, "
          f"{len({b['district'] for b in request['bookings']})} districts, "
          f"{len(p.vehicles)} vehicles at {len(p.depots)} depots, {args.working_days} working "
          f"days; search budget {args.time_limit:g} s; cpus {os.cpu_count()}, load "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"Request generated in {t1 - t0:.1f} s, checked in {t2 - t1:.2f} s "
          f"({', '.join(prepared.notes[:1])}); drive matrices "
          f"{len(p.depots) + len(p.bookings)}² in {t3 - t2:.1f} s ({travel.method}, "
          f"{100 * float((~travel.estimated).mean()):.0f} % of pairs on the network, "
          f"{len(travel.off_street)} places off-street)")  # fmt: skip
    print(f"After the search: independent check and {n_legs} legs drawn along the streets "
          f"in {t_draw:.1f} s. Column s: model building + search + reading the routes back "
          "(solve_checkup's wall-clock time)\n")  # fmt: skip
    print("| solver | s | bookings served | unserved (reasons) | priority-weighted served "
          "| workers served | drive h | drive km | vehicle-days | legs on network | feasible |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        share = "—" if r["network_share"] is None else f"{100 * r['network_share']:.0f} %"
        print(f"| {r['solver']} | {r['seconds']:.1f} | {r['served']} | {r['unserved']} "
              f"({r['reasons']}) | {r['weighted']} | {r['workers']} | {r['drive_h']:.2f} | "
              f"{r['drive_km']:,.0f} | {r['vehicle_days']} | {share} | {r['feasible']} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

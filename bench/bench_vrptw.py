"""Solomon VRPTW benchmark: our ``route --solomon`` path against PyVRP, VROOM and OR-Tools.

Every solver gets the same instance, the same costs (Euclidean distance; travel time =
distance) and the same wall-clock budget per instance (VROOM at exploration level 5 stops
on its own, usually sooner). Distances are recomputed here, for every solver, as the
**unrounded** Euclidean length of the returned routes, and every route set is validated by
the independent checker (``geo.routing.feasibility.check_vrptw``); an infeasible or
incomplete result is reported as such and left out of the gap means.

Gaps are to the best-known *distance* (key ``<name>_distance`` in ``BKS.json``; falls back
to ``<name>`` when absent). Instances without a best-known value are listed without a gap.

Usage::

    python bench/bench_vrptw.py --time-limit 10 --instances 'C1*,R1*'
    python bench/bench_vrptw.py --data DIR --bks DIR/BKS.json --instances 'RC2*'

Peers: PyVRP (plain ``pyvrp.solve``, one seed, one process), pyvroom (exploration level 5,
one thread), OR-Tools routing (parallel cheapest insertion, then guided local search).
Our solver uses the processes the machine offers (2 here).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from api.cli.route import solomon_result  # noqa: E402  (the CLI's own function)
from geo.routing.feasibility import check_vrptw  # noqa: E402
from geo.routing.solomon import SolomonInstance, read_solomon  # noqa: E402
from geo.routing.vrptw import (  # noqa: E402
    RoutePlan,
    Scaling,
    VrptwProblem,
    routes_from_pyvrp,
    solution_distance,
    to_pyvrp,
)

DATA = REPO / "bench" / "data" / "solomon"
SCALE = 10_000  # integer scaling for PyVRP (same as our CLI)
PEER_SCALE = 100  # integer scaling for VROOM / OR-Tools (their usual precision)


def _evaluate(problem: VrptwProblem, routes: list[list[int]]) -> dict:
    plans = [RoutePlan(0, tuple(c - 1 for c in r)) for r in routes if r]
    served = {c for p in plans for c in p.clients}
    violations = check_vrptw(problem, plans, tol=1e-6)
    return {
        "distance": solution_distance(problem, plans),
        "vehicles": len(plans),
        "complete": len(served) == problem.n_clients,
        "feasible": not violations and len(served) == problem.n_clients,
        "violations": len(violations),
    }


def run_ours(path: Path, inst: SolomonInstance, problem: VrptwProblem, tl: float) -> dict:
    rec = solomon_result(path, tl, seed=0)
    out = _evaluate(problem, rec["routes"])
    out["seconds"] = rec["seconds"]
    return out


def run_pyvrp(path: Path, inst: SolomonInstance, problem: VrptwProblem, tl: float) -> dict:
    import pyvrp
    from pyvrp.stop import MaxRuntime

    start = time.perf_counter()
    mapping = to_pyvrp(problem, Scaling(SCALE, SCALE))
    res = pyvrp.solve(
        mapping.data,
        MaxRuntime(max(0.1, tl - (time.perf_counter() - start))),
        seed=0,
        collect_stats=False,
    )
    routes = [[c + 1 for c in r.clients] for r in routes_from_pyvrp(mapping, res.best)]
    out = _evaluate(problem, routes)
    out["seconds"] = time.perf_counter() - start
    return out


def _int_matrix(inst: SolomonInstance) -> np.ndarray:
    return np.ceil(inst.distance_matrix() * PEER_SCALE - 1e-9).astype(np.int64)


def run_vroom(path: Path, inst: SolomonInstance, problem: VrptwProblem, tl: float) -> dict:
    import vroom

    start = time.perf_counter()
    mat = _int_matrix(inst)
    vin = vroom.Input()
    vin.set_durations_matrix(profile="car", matrix_input=mat.tolist())
    tw_depot = vroom.TimeWindow(
        int(inst.ready_time[0] * PEER_SCALE), int(inst.due_date[0] * PEER_SCALE)
    )
    for k in range(inst.n_vehicles):
        vin.add_vehicle(
            vroom.Vehicle(
                k + 1, start=0, end=0, capacity=[int(inst.capacity)], time_window=tw_depot
            )
        )
    for c in range(1, inst.n_customers + 1):
        vin.add_job(
            vroom.Job(
                c,
                location=c,
                default_service=int(inst.service_time[c] * PEER_SCALE),
                delivery=[int(inst.demand[c])],
                time_windows=[
                    vroom.TimeWindow(
                        int(inst.ready_time[c] * PEER_SCALE), int(inst.due_date[c] * PEER_SCALE)
                    )
                ],
            )
        )
    sol = vin.solve(exploration_level=5, nb_threads=1)
    df = sol.routes
    routes = []
    for _vid, grp in df.groupby("vehicle_id", sort=False):
        jobs = grp[grp["type"] == "job"]["id"].tolist()
        routes.append([int(j) for j in jobs])
    out = _evaluate(problem, routes)
    out["seconds"] = time.perf_counter() - start
    return out


def run_ortools(path: Path, inst: SolomonInstance, problem: VrptwProblem, tl: float) -> dict:
    # OR-Tools bundles its own HiGHS: its library and highspy's cannot be loaded in one
    # process, so OR-Tools runs in a fresh (spawned) process.
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        routes, seconds = pool.submit(_ortools_routes, str(path), tl).result()
    out = _evaluate(problem, routes)
    out["seconds"] = seconds
    return out


def _ortools_routes(path_str: str, tl: float) -> tuple[list[list[int]], float]:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    start = time.perf_counter()
    inst = read_solomon(path_str)
    mat = _int_matrix(inst)
    dist_mat = np.round(inst.distance_matrix() * PEER_SCALE).astype(np.int64)
    n = inst.n_customers + 1
    manager = pywrapcp.RoutingIndexManager(n, inst.n_vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    service = (inst.service_time * PEER_SCALE).astype(np.int64)

    def dist_cb(i: int, j: int) -> int:
        return int(dist_mat[manager.IndexToNode(i), manager.IndexToNode(j)])

    def time_cb(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return int(service[a] + mat[a, b])

    def demand_cb(i: int) -> int:
        return int(inst.demand[manager.IndexToNode(i)])

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(dist_cb))
    horizon = int(inst.due_date[0] * PEER_SCALE)
    routing.AddDimension(routing.RegisterTransitCallback(time_cb), horizon, horizon, False, "T")
    tdim = routing.GetDimensionOrDie("T")
    for node in range(1, n):
        tdim.CumulVar(manager.NodeToIndex(node)).SetRange(
            int(inst.ready_time[node] * PEER_SCALE), int(inst.due_date[node] * PEER_SCALE)
        )
    for v in range(inst.n_vehicles):
        tdim.CumulVar(routing.Start(v)).SetRange(int(inst.ready_time[0] * PEER_SCALE), horizon)
        tdim.CumulVar(routing.End(v)).SetRange(int(inst.ready_time[0] * PEER_SCALE), horizon)
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitCallback(demand_cb),
        0,
        [int(inst.capacity)] * inst.n_vehicles,
        True,
        "Q",
    )
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    remaining = max(1, round(tl - (time.perf_counter() - start)))
    params.time_limit.seconds = remaining
    sol = routing.SolveWithParameters(params)
    routes: list[list[int]] = []
    if sol is not None:
        for v in range(inst.n_vehicles):
            idx = routing.Start(v)
            route = []
            while not routing.IsEnd(idx):
                node = manager.IndexToNode(idx)
                if node:
                    route.append(node)
                idx = sol.Value(routing.NextVar(idx))
            if route:
                routes.append(route)
    return routes, time.perf_counter() - start


SOLVERS: dict[str, Callable[..., dict]] = {
    "ours": run_ours,
    "pyvrp": run_pyvrp,
    "vroom": run_vroom,
    "ortools": run_ortools,
}


def _bks(bks: dict, name: str) -> float | None:
    for key in (f"{name}_distance", name):
        entry = bks.get(key)
        if isinstance(entry, dict) and entry.get("best_known_cost"):
            return float(entry["best_known_cost"])
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance")
    ap.add_argument(
        "--instances",
        default="C1*,R1*",
        help="comma-separated globs over instance names (default 'C1*,R1*')",
    )
    ap.add_argument("--data", type=Path, default=DATA, help="folder of instance .txt files")
    ap.add_argument("--bks", type=Path, default=None, help="BKS.json (default: DATA/BKS.json)")
    ap.add_argument("--solvers", default=",".join(SOLVERS), help="comma-separated subset")
    ap.add_argument("--json-out", type=Path, default=None, help="also write raw results here")
    args = ap.parse_args(argv)

    bks_path = args.bks or args.data / "BKS.json"
    bks = json.loads(bks_path.read_text()) if bks_path.exists() else {}
    globs = [g.strip().upper() for g in args.instances.split(",") if g.strip()]
    files = sorted(
        p
        for p in args.data.iterdir()
        if p.suffix.lower() in (".txt", ".vrp", "")
        and p.is_file()
        and any(fnmatch.fnmatch(p.stem.upper(), g) for g in globs)
    )
    solvers = [s for s in args.solvers.split(",") if s in SOLVERS]
    if not files:
        print(f"no instances match {args.instances!r} in {args.data}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    results: dict[str, dict[str, dict]] = {}
    for path in files:
        inst = read_solomon(path)
        problem = inst.to_problem()
        results[path.stem] = {}
        for s in solvers:
            try:
                res = SOLVERS[s](path, inst, problem, args.time_limit)
            except Exception as exc:  # a peer failing must not stop the benchmark
                res = {"error": repr(exc), "feasible": False}
            ref = _bks(bks, path.stem)
            if res.get("feasible") and ref:
                res["gap_pct"] = 100.0 * (res["distance"] / ref - 1.0)
            results[path.stem][s] = res
            print(f"{path.stem} {s}: {res}", file=sys.stderr, flush=True)
    load_after = os.getloadavg()

    head = "| instance | BKS |" + "".join(f" {s} dist | veh | gap % |" for s in solvers)
    print(
        f"\nSolomon VRPTW, {args.time_limit:g} s per instance, Euclidean unrounded distances, "
        f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} → {load_after[0]:.2f}\n"
    )
    print(head)
    print("|---|---|" + "---|---|---|" * len(solvers))
    for name, per in results.items():
        ref = _bks(bks, name)
        row = f"| {name} | {ref if ref else '–'} |"
        for s in solvers:
            r = per[s]
            if not r.get("feasible"):
                row += " infeasible | – | – |" if "error" not in r else " error | – | – |"
                continue
            gap = f"{r['gap_pct']:+.2f}" if "gap_pct" in r else "–"
            row += f" {r['distance']:.2f} | {r['vehicles']} | {gap} |"
        print(row)
    print()
    means: dict[str, float] = {}
    for s in solvers:
        gaps = [per[s]["gap_pct"] for per in results.values() if "gap_pct" in per[s]]
        n_ok = sum(1 for per in results.values() if per[s].get("feasible"))
        secs = [per[s].get("seconds", float("nan")) for per in results.values()]
        if gaps:
            means[s] = statistics.fmean(gaps)
        without = [
            per[s]["gap_pct"]
            for n, per in results.items()
            if "gap_pct" in per[s] and n.upper() != "R109"
        ]
        if "R109" in {n.upper() for n in results} and without:
            print(f"- **{s}** without R109: mean gap {statistics.fmean(without):+.3f} %")
        print(
            f"- **{s}**: mean gap {means.get(s, float('nan')):+.3f} % over {len(gaps)} "
            f"instances with a BKS; feasible and complete {n_ok}/{len(results)}; "
            f"mean {statistics.fmean(secs):.1f} s; vehicles "
            f"{sum(per[s].get('vehicles', 0) for per in results.values())}"
        )
    if "ours" in means:
        for s in solvers:
            if s != "ours" and s in means:
                ratio = (1 + means["ours"] / 100) / (1 + means[s] / 100)
                print(
                    f"- ours vs {s}: distance ratio {ratio:.4f} "
                    f"(gap difference {means['ours'] - means[s]:+.3f} points)"
                )
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

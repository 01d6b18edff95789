"""p-median benchmark: OR-Library instances, ours (HiGHS) side by side with PySAL spopt (CBC).

Usage (from the repository root)::

    python bench/bench_pmedian.py                      # pmed1-10 in bench/data/pmed, + spopt
    python bench/bench_pmedian.py --no-spopt           # ours only
    python bench/bench_pmedian.py --generate           # 40 generated instances, OR-Library sizes
    python bench/bench_pmedian.py --generate --only 38,39,40

``--generate`` builds instances the way Beasley generated pmed1-40: a Hamiltonian cycle
1-2-…-n-1 plus random edges up to n²/50 edges in total, costs uniform in 1..100, duplicates
allowed (the last occurrence counts), with the same (n, p) as pmed1-40; fixed seed. Their
optima are unknown here; the table shows whether ours proved optimality.

Prints a markdown table and totals. spopt builds the full n² assignment model in PuLP and
solves it with CBC, on the same cost matrices, in the same run.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from geo.location import (  # noqa: E402
    LocationProblem,
    SolveOptions,
    read_orlib_pmedian,
    solve_pmedian,
)
from geo.location.orlib import shortest_path_costs  # noqa: E402

DATA = ROOT / "bench" / "data" / "pmed"

#: (n, p) of OR-Library pmed1 … pmed40.
ORLIB_SIZES = (
    [(100, p) for p in (5, 10, 10, 20, 33)]
    + [(200, p) for p in (5, 10, 20, 40, 67)]
    + [(300, p) for p in (5, 10, 30, 60, 100)]
    + [(400, p) for p in (5, 10, 40, 80, 133)]
    + [(500, p) for p in (5, 10, 50, 100, 167)]
    + [(600, p) for p in (5, 10, 60, 120, 200)]
    + [(700, p) for p in (5, 10, 70, 140)]
    + [(800, p) for p in (5, 10, 80)]
    + [(900, p) for p in (5, 10, 90)]
)


@dataclass
class Instance:
    name: str
    cost: np.ndarray
    p: int
    optimum: float | None


def generate_instance(n: int, p: int, seed: int) -> np.ndarray:
    """Shortest-path costs of a Beasley-style random graph (cycle + random edges)."""
    rng = np.random.default_rng(seed)
    n_edges = n * n // 50
    cycle = np.column_stack([np.arange(n), (np.arange(n) + 1) % n])
    extra = rng.integers(0, n, size=(n_edges - n, 2))
    ends = np.vstack([cycle, extra])
    weight = rng.integers(1, 101, size=n_edges)
    lo = np.minimum(ends[:, 0], ends[:, 1])
    hi = np.maximum(ends[:, 0], ends[:, 1])
    _, last_rev = np.unique((lo * n + hi)[::-1], return_index=True)
    keep = np.sort(n_edges - 1 - last_rev)
    edges = np.column_stack([lo[keep], hi[keep], weight[keep]])
    return shortest_path_costs(n, edges)


def orlib_instances(names: list[str]) -> list[Instance]:
    with (DATA / "optimal.csv").open() as handle:
        optima = {row["instance"]: float(row["optimal"]) for row in csv.DictReader(handle)}
    out = []
    for name in names:
        inst = read_orlib_pmedian(DATA / f"{name}.txt")
        out.append(Instance(name, inst.cost, inst.p, optima.get(name)))
    return out


def generated_instances(indices: list[int], seed: int) -> list[Instance]:
    out = []
    for k in indices:
        n, p = ORLIB_SIZES[k - 1]
        cost = generate_instance(n, p, seed + k)
        out.append(Instance(f"gen{k}", cost, p, None))
    return out


def run_spopt(cost: np.ndarray, p: int) -> tuple[float, float]:
    import pulp
    from spopt.locate import PMedian

    t0 = time.perf_counter()
    model = PMedian.from_cost_matrix(cost, np.ones(cost.shape[0]), p)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False, threads=1))
    return float(model.problem.objective.value()), time.perf_counter() - t0


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generate", action="store_true", help="40 generated OR-Library-sized")
    parser.add_argument("--only", help="comma-separated instance numbers (1..40 / 1..10)")
    parser.add_argument("--no-spopt", action="store_true", help="skip spopt")
    parser.add_argument("--spopt", action="store_true", help="run spopt on generated too")
    parser.add_argument("--seed", type=int, default=20240501, help="generator seed")
    parser.add_argument("--time-limit", type=float, default=600.0, help="per instance, s")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    if args.generate:
        indices = [int(x) for x in args.only.split(",")] if args.only else list(range(1, 41))
        instances = generated_instances(indices, args.seed)
        use_spopt = args.spopt
    else:
        indices = [int(x) for x in args.only.split(",")] if args.only else list(range(1, 11))
        instances = orlib_instances([f"pmed{k}" for k in indices])
        use_spopt = not args.no_spopt
    print(
        "| instance | n | p | optimum | ours objective | ours status | ours s "
        "| spopt objective | spopt s | speed-up |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    total_ours = total_spopt = 0.0
    n_optimal = n_match = 0
    for inst in instances:
        result = solve_pmedian(
            LocationProblem(inst.cost), inst.p, options=SolveOptions(time_limit_s=args.time_limit)
        )
        total_ours += result.seconds
        n_optimal += result.is_optimal
        spopt_obj = spopt_s = None
        if use_spopt:
            spopt_obj, spopt_s = run_spopt(inst.cost, inst.p)
            total_spopt += spopt_s
        reference = inst.optimum if inst.optimum is not None else spopt_obj
        if reference is not None and abs(reference - (result.objective or 0)) < 1e-6:
            n_match += 1
        speed = f"{spopt_s / result.seconds:.1f}×" if spopt_s else "–"
        status = str(result.status)
        if not result.is_optimal and result.gap is not None:
            status += f" (gap {result.gap:.3%})"
        print(
            f"| {inst.name} | {inst.cost.shape[0]} | {inst.p} | {_fmt(inst.optimum)} "
            f"| {_fmt(result.objective)} | {status} | {result.seconds:.2f} "
            f"| {_fmt(spopt_obj)} | {'–' if spopt_s is None else f'{spopt_s:.2f}'} | {speed} |",
            flush=True,
        )
    print()
    print(f"instances: {len(instances)}, proven optimal: {n_optimal}, ", end="")
    print(f"equal to the known/spopt optimum: {n_match}")
    print(f"total seconds: ours {total_ours:.1f}", end="")
    if total_spopt:
        print(f", spopt {total_spopt:.1f}, speed-up {total_spopt / total_ours:.1f}×")
    else:
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

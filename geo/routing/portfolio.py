"""A cooperative portfolio of PyVRP iterated-local-search runs on several processes.

Each worker process runs PyVRP's iterated local search (its ``LocalSearch`` operators,
``PenaltyManager`` and late-acceptance hill climbing — the loop of
``pyvrp.IteratedLocalSearch.run``, reproduced here so that it can exchange solutions) with
its own seed and its own parameter variant. The workers share the best feasible solution
found so far through shared memory:

* a worker publishes a new feasible best as soon as it has one (then at most every
  ``PUBLISH_S`` seconds) if it beats the shared one, so the best-so-far is visible early;
* every ``sync_s`` seconds a worker whose own best is worse than the shared best by more
  than a relative margin adopts the shared best as its current and best solution (a warm restart), keeping its
  own random stream, so the workers keep exploring different neighbourhoods of the best
  solution.

The parent process only waits, reports progress (the shared best cost is readable at any
moment) and, at the deadline, collects the workers' final bests and returns the cheapest.
Everything is bounded by one wall-clock deadline that includes process start-up.

With ``max_iterations`` instead of a time limit and one worker the search is fully
reproducible for a given seed; with several workers and a wall-clock limit the result
depends on timing (the seeds are still fixed).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from geo.routing.recombine import RouteCollector, RoutePool, applies, best_partition

logger = logging.getLogger(__name__)

#: Margin by which the shared best must beat a worker's best before it is adopted.
ADOPT_MARGIN = 1e-4
#: Candidates within this relative margin of the best cost feed the route pool.
POOL_SLACK = 0.02
#: Largest route pool kept per worker.
POOL_MAX = 60_000
#: Seconds between publications of a worker's improved feasible best to the shared state.
PUBLISH_S = 0.5
#: Share of its time after which the last worker searches with one route fewer.
FLEET_CUT = 0.3
#: Share of the budget kept for the final set-partitioning recombination (at least 0.3 s).
RECOMBINE_SHARE = 0.05


@dataclass(frozen=True)
class SearchVariant:
    """PyVRP search parameters of one portfolio member.

    Attributes
    ----------
    num_neighbours
        Size of the granular neighbourhood (PyVRP default 50).
    history_length
        Late-acceptance history length (PyVRP default 300).
    max_perturbations
        Upper bound on the random perturbations per iteration (PyVRP default 25).
    weight_wait_time
        Weight of waiting time in the neighbourhood proximity (PyVRP default 0.2).
    """

    num_neighbours: int = 50
    history_length: int = 300
    max_perturbations: int = 25
    weight_wait_time: float = 0.2


#: The default portfolio: PyVRP's default parameters on every worker (seeds differ).
DEFAULT_VARIANTS: tuple[SearchVariant, ...] = (
    SearchVariant(),
    SearchVariant(),
)


@dataclass
class PortfolioResult:
    """Outcome of :func:`solve_portfolio`.

    Attributes
    ----------
    solution
        The best PyVRP ``Solution`` found (feasible when any feasible one was found).
    cost
        Its PyVRP objective (integer, scaled).
    iterations
        Iterations summed over all workers.
    seed
        The base seed.
    runtime_s
        Wall-clock time spent.
    worker_costs
        Final best cost of each worker (``None`` if the worker failed).
    """

    solution: object
    cost: int
    iterations: int
    seed: int
    runtime_s: float
    worker_costs: list[int | None]


def _encode(solution: object) -> list[int]:
    out = [0]
    for route in solution.routes():  # type: ignore[attr-defined]
        visits = [a.idx for a in route if a.is_client()]
        if visits:
            out[0] += 1
            out += [int(route.vehicle_type()), len(visits), *visits]
    return out


def _decode(data: object, code: list[int]) -> object:
    import pyvrp

    routes = []
    pos = 1
    for _ in range(code[0]):
        vt, n = code[pos], code[pos + 1]
        routes.append(pyvrp.Route(data, code[pos + 2 : pos + 2 + n], vt))  # type: ignore[arg-type]
        pos += 2 + n
    return pyvrp.Solution(data, routes)  # type: ignore[arg-type]


class _Shared:
    """Best-so-far shared between processes: cost, solution code and a lock."""

    def __init__(self, ctx: object, n_clients: int) -> None:
        self.size = 1 + 3 * n_clients + 8
        self.lock = ctx.Lock()  # type: ignore[attr-defined]
        self.cost = ctx.Value("q", -1, lock=False)  # type: ignore[attr-defined]
        self.code = ctx.Array("q", self.size, lock=False)  # type: ignore[attr-defined]

    def publish(self, cost: int, code: list[int]) -> bool:
        if len(code) > self.size:
            return False
        with self.lock:
            if self.cost.value == -1 or cost < self.cost.value:
                self.cost.value = cost
                self.code[: len(code)] = code
                return True
        return False

    def read(self) -> tuple[int, list[int] | None]:
        with self.lock:
            cost = int(self.cost.value)
            if cost == -1:
                return cost, None
            n = int(self.code[0])
            pos = 1
            for _ in range(n):
                pos += 2 + int(self.code[pos + 1])
            return cost, list(self.code[:pos])


class _Progress:
    """Stands in for :class:`_Shared` in a one-process search: reports each publication."""

    def __init__(self, on_progress: Callable[[float, int], None], start: float) -> None:
        self.on_progress = on_progress
        self.start = start
        self.cost = -1

    def publish(self, cost: int, code: list[int]) -> bool:
        if self.cost == -1 or cost < self.cost:
            self.cost = cost
            self.on_progress(time.monotonic() - self.start, cost)
            return True
        return False

    def read(self) -> tuple[int, list[int] | None]:
        return -1, None  # nothing to adopt


def _make_search(data: object, variant: SearchVariant, seed: int) -> tuple:
    from pyvrp import PenaltyManager, RandomNumberGenerator, SolveParams
    from pyvrp.search import (
        LocalSearch,
        NeighbourhoodParams,
        PerturbationManager,
        PerturbationParams,
        compute_neighbours,
    )

    params = SolveParams()
    rng = RandomNumberGenerator(seed=seed)
    n_clients = data.num_clients  # type: ignore[attr-defined]
    nb = NeighbourhoodParams(
        weight_wait_time=variant.weight_wait_time,
        num_neighbours=max(1, min(variant.num_neighbours, n_clients - 1)),
    )
    neighbours = compute_neighbours(data, nb)  # type: ignore[arg-type]
    perturbation = PerturbationManager(
        PerturbationParams(1, max(1, min(variant.max_perturbations, n_clients)))
    )
    ls = LocalSearch(data, rng, neighbours, perturbation)  # type: ignore[arg-type]
    for op in params.operators:
        if op.supports(data):
            ls.add_operator(op(data))
    pm = PenaltyManager(params.penalty.midpoint_penalties(data), params.penalty)  # type: ignore[arg-type]
    return rng, ls, pm


def run_search(
    data: object,
    variant: SearchVariant,
    seed: int,
    deadline: float,
    max_iterations: int | None = None,
    initial_code: list[int] | None = None,
    shared: _Shared | _Progress | None = None,
    sync_s: float = 0.5,
    pool: RouteCollector | None = None,
) -> tuple[object, int, int]:
    """Run one iterated local search until ``deadline`` (``time.monotonic``) or iterations.

    When ``pool`` is given, the feasible routes of every candidate within
    ``POOL_SLACK`` of the best cost are added to it (for set-partitioning recombination).

    Returns
    -------
    tuple
        ``(best PyVRP solution, its cost, iterations)``.
    """
    from pyvrp import Solution
    from pyvrp.RingBuffer import RingBuffer

    rng, ls, pm = _make_search(data, variant, seed)
    if initial_code is not None:
        init = _decode(data, initial_code)
    else:
        init = ls(Solution.make_random(data, rng), pm.max_cost_evaluator(), exhaustive=True)  # type: ignore[arg-type]

    history: RingBuffer = RingBuffer(variant.history_length)
    best = curr = init
    # only a feasible solution becomes ``best``; until one is found, keep the candidate
    # closest to feasibility (least penalised) for the caller's repair
    closest = init
    closest_cost = pm.cost_evaluator().penalised_cost(init)
    cost_eval = pm.cost_evaluator()
    init_cost_ref = init
    iters = 0
    next_sync = time.monotonic() + sync_s
    # a new feasible best is published at most every ``PUBLISH_S`` (at once if it is the
    # first), so the best-so-far is visible early, not only at the exchange points
    next_publish = 0.0
    unpublished = bool(init.is_feasible())
    while True:
        if max_iterations is not None and iters >= max_iterations:
            break
        if time.monotonic() >= deadline:
            break
        iters += 1
        cost_eval = pm.cost_evaluator()
        cand = ls(curr, cost_eval, exhaustive=False)
        pm.register(cand)
        if cand.is_feasible() and (
            not best.is_feasible() or cost_eval.cost(cand) < cost_eval.cost(best)
        ):
            best = cand
            cand = ls(cand, cost_eval, exhaustive=True)
            if cand.is_feasible():
                best = cand
            unpublished = True
            if pool is not None:
                pool.add(best)
        if (
            pool is not None
            and best.is_feasible()
            and cost_eval.penalised_cost(cand) <= (1 + POOL_SLACK) * cost_eval.cost(best)
        ):
            pool.add(cand)

        cand_cost = cost_eval.penalised_cost(cand)
        if not best.is_feasible() and cand_cost < closest_cost:
            closest, closest_cost = cand, cand_cost
        curr_cost = cost_eval.penalised_cost(curr)
        late = history.peek()
        late_cost = cost_eval.penalised_cost(late if late is not None else init_cost_ref)
        if cand_cost < late_cost or cand_cost < curr_cost:
            curr = cand
            curr_cost = cand_cost
        if curr_cost < late_cost or late is None:
            history.append(curr)
        else:
            history.skip()

        if (
            shared is not None
            and unpublished
            and best.is_feasible()
            and time.monotonic() >= next_publish
        ):
            unpublished = False
            next_publish = time.monotonic() + PUBLISH_S
            shared.publish(int(cost_eval.cost(best)), _encode(best))
        if shared is not None and time.monotonic() >= next_sync:
            next_sync = time.monotonic() + sync_s
            own = cost_eval.cost(best)
            if best.is_feasible():
                shared.publish(int(own), _encode(best))
            shared_cost, code = shared.read()
            if code is not None and shared_cost < own * (1 - ADOPT_MARGIN):
                best = curr = _decode(data, code)
                history.clear()
    if not best.is_feasible():  # no feasible solution: hand back the closest one
        best = closest
    final_cost = int(pm.cost_evaluator().cost(best))
    return best, final_cost, iters


class _FleetLimited:
    """The shared best as seen by a search with at most ``max_routes`` routes.

    Publications pass through (a solution with fewer routes is valid for the full fleet);
    a shared solution with more routes than the limit is never adopted.
    """

    def __init__(self, shared: _Shared, max_routes: int) -> None:
        self.shared = shared
        self.max_routes = max_routes

    def publish(self, cost: int, code: list[int]) -> bool:
        return self.shared.publish(cost, code)

    def read(self) -> tuple[int, list[int] | None]:
        cost, code = self.shared.read()
        if code is not None and code[0] > self.max_routes:
            return cost, None
        return cost, code


def fewer_routes_start(data: object, code: list[int]) -> tuple[object, list[int]] | None:
    """The problem with a fleet one route smaller than solution ``code`` uses, and a start.

    The start is ``code`` without its route of fewest clients (the search re-inserts
    them). None when the fleet cannot shrink (a single route, or several vehicle types).
    """
    n_routes = code[0]
    if n_routes <= 1 or data.num_vehicle_types != 1:  # type: ignore[attr-defined]
        return None
    routes, pos = [], 1
    for _ in range(n_routes):
        n = code[pos + 1]
        routes.append(code[pos : pos + 2 + n])
        pos += 2 + n
    routes.remove(min(routes, key=lambda r: r[1]))
    vehicle_type = data.vehicle_type(0)  # type: ignore[attr-defined]
    smaller = data.replace(  # type: ignore[attr-defined]
        vehicle_types=[vehicle_type.replace(num_available=n_routes - 1)]
    )
    return smaller, [n_routes - 1] + [x for r in routes for x in r]


def _worker_main(
    data: object,
    variant: SearchVariant,
    seed: int,
    deadline: float,
    max_iterations: int | None,
    shared: _Shared,
    sync_s: float,
    conn: object,
    use_pool: bool,
    fleet_cut: float | None = None,
) -> None:  # pragma: no cover - runs in a child process
    try:
        pool = RouteCollector(POOL_MAX) if use_pool else None
        switch = None
        if fleet_cut is not None and max_iterations is None:
            now = time.monotonic()
            switch = now + fleet_cut * max(0.0, deadline - now)
        best, cost, iters = run_search(
            data, variant, seed, switch or deadline, max_iterations, None, shared, sync_s, pool
        )
        if switch is not None:
            best, cost, iters = _search_fewer_routes(
                data, variant, seed, deadline, shared, sync_s, pool, best, cost, iters
            )
        if best.is_feasible():  # type: ignore[attr-defined]
            shared.publish(cost, _encode(best))
        conn.send((cost, _encode(best), iters, None if pool is None else pool.pool))  # type: ignore[attr-defined]
    except Exception as exc:  # report, never hang the parent
        conn.send(("error", repr(exc), 0))  # type: ignore[attr-defined]
    finally:
        conn.close()  # type: ignore[attr-defined]


def _search_fewer_routes(
    data: object,
    variant: SearchVariant,
    seed: int,
    deadline: float,
    shared: _Shared,
    sync_s: float,
    pool: RouteCollector | None,
    best: object,
    cost: int,
    iters: int,
) -> tuple[object, int, int]:
    """Continue until ``deadline`` with one route fewer than the best known solution.

    Distance-optimal plans often use fewer routes than a search that may open every
    vehicle settles on; this member of the portfolio looks there while the others keep
    the full fleet. Its feasible solutions are valid for the full fleet too.
    """

    def best_known() -> list[int] | None:
        """The cheaper of this worker's feasible best and the shared best, as a code."""
        shared_cost, code = shared.read()
        if best.is_feasible() and (code is None or cost < shared_cost):  # type: ignore[attr-defined]
            return _encode(best)
        return code

    def better(found: object, found_cost: int) -> tuple[object, int]:
        """``found`` (as a solution of the full problem) if it beats ``best``, else ``best``."""
        if found.is_feasible() and (not best.is_feasible() or found_cost < cost):  # type: ignore[attr-defined]
            return _decode(data, _encode(found)), found_cost
        return best, cost

    code = best_known()
    start = None if code is None else fewer_routes_start(data, code)
    if start is None or time.monotonic() >= deadline:
        return best, cost, iters
    smaller, start_code = start
    limited = _FleetLimited(shared, start_code[0])
    # a third of the remaining time to find a plan with fewer routes at all; without one,
    # go back to the full fleet from the best known plan for the rest
    trial_end = time.monotonic() + (deadline - time.monotonic()) / 3
    with warnings.catch_warnings():  # PyVRP warns when the smaller fleet looks infeasible
        warnings.simplefilter("ignore")
        found, found_cost, more = run_search(
            smaller, variant, seed + 7, trial_end, None, start_code, limited, sync_s, pool
        )
        iters += more
        if found.is_feasible():  # type: ignore[attr-defined]
            found, found_cost, more = run_search(
                smaller, variant, seed + 11, deadline, None, _encode(found), limited, sync_s,
                pool,
            )  # fmt: skip
            return (*better(found, found_cost), iters + more)
    found, found_cost, more = run_search(
        data, variant, seed + 13, deadline, None, best_known(), shared, sync_s, pool
    )
    return (*better(found, found_cost), iters + more)


def _context() -> object:
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def default_workers() -> int:
    """Worker processes to use: the CPUs available to this process, at most 2."""
    try:
        n_cpu = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n_cpu = os.cpu_count() or 1
    return max(1, min(2, n_cpu))


def solve_portfolio(
    data: object,
    time_limit_s: float = 10.0,
    seed: int = 0,
    n_workers: int | None = None,
    variants: tuple[SearchVariant, ...] = DEFAULT_VARIANTS,
    max_iterations: int | None = None,
    sync_s: float = 0.5,
    on_progress: Callable[[float, int], None] | None = None,
    recombine: bool = True,
) -> PortfolioResult:
    """Solve PyVRP ``data`` with a portfolio of cooperating search processes.

    Parameters
    ----------
    data
        A ``pyvrp.ProblemData``.
    time_limit_s
        Wall-clock budget in seconds, start-up and collection included.
    seed
        Base seed; worker ``i`` uses ``seed + 1009 * i``.
    n_workers
        Number of processes; ``None`` uses :func:`default_workers`. With 1 the search
        runs in this process.
    variants
        Parameter variants, assigned to workers round-robin.
    max_iterations
        Optional iteration cap per worker (for reproducible runs).
    sync_s
        Seconds between exchanges of the best solution.
    on_progress
        Called about every 0.05 s with ``(elapsed_s, best_cost)`` (cost -1 when no
        feasible solution is known yet); a worker publishes a new feasible best at once,
        then at most every ``PUBLISH_S``. With one worker it is called at each publication.
    recombine
        Keep the last ``RECOMBINE_SHARE`` of the budget for set-partitioning
        recombination of the pooled routes (only where :func:`recombine.applies`).

    Returns
    -------
    PortfolioResult
        The best solution found.
    """
    start = time.monotonic()
    margin_s = min(0.25, 0.05 * time_limit_s)
    end = start + max(0.05, time_limit_s - margin_s)
    use_pool = recombine and applies(data)
    reserve_s = min(0.1 * time_limit_s, max(0.3, RECOMBINE_SHARE * time_limit_s))
    deadline = end - (reserve_s if use_pool else 0.0)
    n_workers = default_workers() if n_workers is None else max(1, n_workers)
    seeds = [seed + 1009 * i for i in range(n_workers)]

    if n_workers == 1:
        pool = RouteCollector(POOL_MAX) if use_pool else None
        local = None if on_progress is None else _Progress(on_progress, start)
        best, cost, iters = run_search(
            data, variants[0], seeds[0], deadline, max_iterations, None, local, sync_s, pool
        )
        best, cost = _recombine(data, [pool.pool] if pool else [], best, cost, end)
        return PortfolioResult(best, cost, iters, seed, time.monotonic() - start, [cost])

    ctx = _context()
    shared = _Shared(ctx, data.num_clients)  # type: ignore[attr-defined]
    procs = []
    conns = []
    for i in range(n_workers):
        parent_conn, child_conn = ctx.Pipe(duplex=False)  # type: ignore[attr-defined]
        proc = ctx.Process(  # type: ignore[attr-defined]
            target=_worker_main,
            args=(
                data,
                variants[i % len(variants)],
                seeds[i],
                deadline,
                max_iterations,
                shared,
                sync_s,
                child_conn,
                use_pool,
                FLEET_CUT if i == n_workers - 1 and use_pool else None,
            ),
            daemon=True,
        )
        proc.start()
        child_conn.close()
        procs.append(proc)
        conns.append(parent_conn)

    results: list[tuple | None] = [None] * n_workers
    pending = set(range(n_workers))
    hard_stop = deadline + max(5.0, time_limit_s)
    try:
        while pending and time.monotonic() < hard_stop:
            for i in list(pending):
                if conns[i].poll(0.05):
                    try:
                        results[i] = conns[i].recv()
                    except EOFError:
                        results[i] = None
                    pending.discard(i)
            if on_progress is not None:
                on_progress(time.monotonic() - start, shared.read()[0])
    except BaseException:
        # the caller stops the search (a cancelled job raises from on_progress): stop the
        # workers now rather than letting them search until their deadline
        for proc in procs:
            proc.terminate()
        raise
    finally:
        for proc in procs:
            proc.join(timeout=1.0)
            if proc.is_alive():
                proc.terminate()
                with contextlib.suppress(Exception):
                    proc.join(timeout=1.0)

    best_sol = None
    best_cost: int | None = None
    worker_costs: list[int | None] = []
    pools: list[RoutePool] = []
    total_iters = 0
    for i, res in enumerate(results):
        if res is None or res[0] == "error":
            logger.warning("portfolio worker %d failed: %s", i, None if res is None else res[1])
            worker_costs.append(None)
            continue
        cost, code, iters, pool_i = res
        if pool_i:
            pools.append(pool_i)
        total_iters += iters
        worker_costs.append(cost)
        sol = _decode(data, code)
        if best_cost is None or (sol.is_feasible(), -cost) > (  # type: ignore[attr-defined]
            best_sol.is_feasible(),  # type: ignore[attr-defined]
            -best_cost,
        ):
            best_sol, best_cost = sol, cost
    shared_cost, shared_code = shared.read()
    if shared_code is not None and (
        best_sol is None
        or not best_sol.is_feasible()  # type: ignore[attr-defined]
        or shared_cost < (best_cost or 0)
    ):
        best_sol, best_cost = _decode(data, shared_code), shared_cost
    if best_sol is None:  # every worker failed: fall back to a short in-process search
        logger.warning("all portfolio workers failed; searching in-process")
        best_sol, best_cost, total_iters = run_search(
            data, variants[0], seeds[0], time.monotonic() + max(0.5, margin_s), max_iterations
        )
    if pools and best_sol is not None and best_sol.is_feasible():  # type: ignore[attr-defined]
        best_sol, best_cost = _recombine(data, pools, best_sol, int(best_cost or 0), end)
    logger.debug("portfolio: costs %s, %d iterations", worker_costs, total_iters)
    return PortfolioResult(
        best_sol, int(best_cost or 0), total_iters, seed, time.monotonic() - start, worker_costs
    )


def _recombine(
    data: object, pools: list[RoutePool], best: object, cost: int, end: float
) -> tuple[object, int]:
    """Improve ``best`` by set partitioning over the merged route pools, until ``end``."""
    if not pools or not best.is_feasible():  # type: ignore[attr-defined]
        return best, cost
    merged: RoutePool = {}
    for pool in pools:
        merged.update(pool)
    incumbent = []
    for route in best.routes():  # type: ignore[attr-defined]
        key = tuple(a.idx for a in route if a.is_client())
        if key:
            merged[key] = int(route.distance())
            incumbent.append(key)
    n_vehicles = data.num_vehicles  # type: ignore[attr-defined]
    try:
        found = best_partition(
            merged,
            data.num_clients,
            n_vehicles,
            incumbent,
            end - time.monotonic(),  # type: ignore[attr-defined]
        )
    except Exception as exc:  # the search result stands if the MIP fails
        logger.warning("set-partitioning recombination failed: %r", exc)
        return best, cost
    if found is None or found[1] >= cost:
        return best, cost
    routes, new_cost = found
    code = [len(routes)]
    for r in routes:
        code += [0, len(r), *r]
    candidate = _decode(data, code)
    if not candidate.is_feasible():  # type: ignore[attr-defined]
        return best, cost
    logger.debug("recombination improved %d -> %d", cost, new_cost)
    return candidate, int(new_cost)

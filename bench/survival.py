"""Benchmark: the fast survival sweep against the naive per-node whole-network LP.

Generates a seeded synthetic network (default: the scale published for Ford's network, about
4,400 supplier sites over 10 tiers and 50 plants), sweeps every supply node with the fast
sweep (one compile, sub-network LPs proven exact, warm starts, worker processes), and runs the
naive way -- compile the whole network and solve the whole-network LP afresh for each
disrupted node -- on a random sample of nodes when doing all of them would take too long.
Prints sizes, both times, the ratio and the largest difference on the nodes both solved.

    .venv/bin/python bench/survival.py                     # default size, 2 workers
    .venv/bin/python bench/survival.py --suppliers 300 --plants 5 --naive-sample 0  # all
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import time

from supplyshock.analysis.survival.model import build_model
from supplyshock.analysis.survival.solve import FullSolver, Outcome
from supplyshock.analysis.survival.sweep import default_horizon, disruptions, solve_all
from supplyshock.analysis.survival.synthetic import synthetic_network


def _diff(a: Outcome, b: Outcome) -> float:
    """Largest difference: TTS in days (relative beyond 1 day), impact relative."""
    if math.isinf(a.tts) or math.isinf(b.tts):
        d = 0.0 if a.tts == b.tts else math.inf
    else:
        d = abs(a.tts - b.tts) / max(1.0, abs(b.tts))
    for x, y in ((a.lost_margin, b.lost_margin), (a.lost_units, b.lost_units)):
        if x is not None and y is not None:
            d = max(d, abs(x - y) / max(1.0, abs(y)))
    return d


def _cpu() -> float:
    """CPU seconds used by this process and its finished child processes."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--suppliers", type=int, default=4400)
    ap.add_argument("--plants", type=int, default=50)
    ap.add_argument("--tiers", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--naive-sample",
        type=int,
        default=40,
        help="nodes to time the naive way on (0: every node)",
    )
    args = ap.parse_args()

    t0 = time.perf_counter()
    net = synthetic_network(
        suppliers=args.suppliers, plants=args.plants, tiers=args.tiers, seed=args.seed
    )
    t_gen = time.perf_counter() - t0
    print(
        f"network: {len(net.sites)} sites ({args.suppliers} suppliers, {args.plants} plants, "
        f"{args.tiers} tiers), {len(net.parts)} parts, {len(net.lanes)} lanes, "
        f"{len(net.bom)} BOM lines  [generated in {t_gen:.1f} s]"
    )

    t0 = time.perf_counter()
    cpu0 = _cpu()
    model = build_model(net)
    items = disruptions(model, "node")
    horizon = default_horizon(items)
    outcomes = solve_all(model, items, workers=args.workers, horizon=horizon)
    t_fast = time.perf_counter() - t0
    cpu_fast = _cpu() - cpu0
    print(
        f"LP: {model.n_rows} rows x {model.n_cols + 1} columns; {len(model.nodes)} part-site "
        f"nodes, {len(items)} disrupted one at a time; horizon {horizon:g} days"
    )
    print(
        f"fast sweep (compile + all nodes, {args.workers} workers): {t_fast:.1f} s wall, "
        f"{cpu_fast:.1f} s CPU (this process and its workers; on a shared machine CPU / "
        f"workers is the wall time it would take with the cores to itself)"
    )

    rng = random.Random(args.seed)
    picked = list(range(len(items)))
    sampled = 0 < args.naive_sample < len(items)
    if sampled:
        picked = sorted(rng.sample(picked, args.naive_sample))
    t0 = time.perf_counter()
    cpu0 = _cpu()
    naive: list[Outcome] = []
    for i in picked:
        d, ttr = items[i]
        whole = build_model(net)  # afresh, as a modelling layer would
        naive.append(FullSolver(whole, horizon=horizon).solve(d, ttr))
    t_naive_part = time.perf_counter() - t0
    cpu_naive = (_cpu() - cpu0) * len(items) / len(picked)
    t_naive = t_naive_part * len(items) / len(picked)
    how = (
        f"estimated from {len(picked)} random nodes ({t_naive_part:.1f} s, one core)"
        if sampled
        else "all nodes, one core"
    )
    print(f"naive sweep: {t_naive:.0f} s ({how})")
    print(
        f"ratio naive / fast: {t_naive / t_fast:.0f}x wall; CPU {cpu_naive:.0f} s / "
        f"{cpu_fast:.1f} s = {cpu_naive / cpu_fast:.0f}x"
    )
    worst = max((_diff(outcomes[i], o) for i, o in zip(picked, naive, strict=True)), default=0.0)
    print(f"largest difference on {len(picked)} nodes (TTS and impact, relative): {worst:.2e}")
    finite = [o.tts for o in outcomes if math.isfinite(o.tts)]
    at_risk = sum(1 for o in outcomes if o.ttr is not None and o.tts < o.ttr)
    print(
        f"answers: {len(outcomes) - len(finite)} nodes survive indefinitely, "
        f"{sum(o.beyond_horizon for o in outcomes)} beyond the horizon, "
        f"{at_risk} with TTS < TTR"
    )


if __name__ == "__main__":
    main()

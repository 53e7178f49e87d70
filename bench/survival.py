"""Benchmark: the fast survival sweep against the naive per-node LP, on every generator.

For each generator -- the three-tier network short before anything fails (350 nodes), the
Ford-scale network (about 4,400 supplier sites over 10 tiers and 50 plants) and its crisis
variant (5 % of capacity rows short) -- in the same run:

* the fast sweep (``solve_all``, solver "auto": the region method, or the warm whole-network
  LP where the baseline is short and the region method loses), every node;
* the naive way: compile the whole network and solve its LP afresh per disrupted node, on every
  node when that is estimated under ``--budget`` seconds, otherwise on a random sample
  (stated, extrapolated);
* a warm-started whole-network loop (one HiGHS model, bounds changed per node), likewise;
* LPs per node and the largest difference between the fast answers and the others.

Wall and CPU seconds; the ratio is naive / fast.

    .venv/bin/python bench/survival.py                       # every generator, 2 workers
    .venv/bin/python bench/survival.py --only three-tier     # one of them
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import time
from collections import Counter
from collections.abc import Callable

from supplyshock.analysis.survival.model import SurvivalModel, build_model
from supplyshock.analysis.survival.solve import Disruption, FullSolver, Outcome, WarmSolver
from supplyshock.analysis.survival.sweep import default_horizon, disruptions, solve_all
from supplyshock.analysis.survival.synthetic import (
    crisis_network,
    synthetic_network,
    three_tier_network,
)
from supplyshock.domain.network import Network

GENERATORS: dict[str, Callable[[int], Network]] = {
    "three-tier": lambda seed: three_tier_network(seed=seed, short_share=0.1),
    "ford": lambda seed: synthetic_network(seed=seed),
    "ford-crisis": lambda seed: crisis_network(seed=seed, short_share=0.05),
}
Items = list[tuple[Disruption, float | None]]


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


def _loop(
    name: str,
    solve: Callable[[int], Outcome],
    n: int,
    budget: float,
    sample: int,
    rng: random.Random,
) -> tuple[dict[int, Outcome], float, float, str]:
    """Solve nodes one by one: all of them when the first few say that fits ``budget``
    seconds, else a random sample. Returns answers, extrapolated wall and CPU, and how."""
    order = list(range(n))
    rng.shuffle(order)
    got: dict[int, Outcome] = {}
    t0, c0 = time.perf_counter(), _cpu()
    for k, i in enumerate(order):
        got[i] = solve(i)
        spent = time.perf_counter() - t0
        if k + 1 >= 3 and spent / (k + 1) * n > budget and k + 1 >= min(sample, n):
            break
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    if len(got) == n:
        return got, wall, cpu, f"all {n} nodes"
    scale = n / len(got)
    how = f"{len(got)} random nodes ({wall:.1f} s), extrapolated to {n}"
    print(f"  {name}: all nodes estimated over {budget:.0f} s: sampled")
    return got, wall * scale, cpu * scale, how


def run(gen: str, args: argparse.Namespace) -> dict[str, str]:
    t0 = time.perf_counter()
    net = GENERATORS[gen](args.seed)
    model: SurvivalModel = build_model(net)
    items: Items = disruptions(model, "node")
    horizon = default_horizon(items)
    short = len(model.deficit_rows())
    n_cap = int(sum(1 for k in model.row_kind if k in (1, 2)))
    print(
        f"\n== {gen}: {len(net.sites)} sites, {len(net.parts)} parts, {len(net.lanes)} lanes; "
        f"LP {model.n_rows} rows x {model.n_cols + 1} columns; {len(items)} nodes; "
        f"{short} rows short before any disruption ({short / max(1, n_cap):.1%} of the "
        f"{n_cap} capacity rows, {short / model.n_rows:.2%} of all rows); horizon "
        f"{horizon:g} d  [built in {time.perf_counter() - t0:.1f} s]"
    )
    t0, c0 = time.perf_counter(), _cpu()
    fast = solve_all(model, items, workers=args.workers, horizon=horizon)
    t_fast, c_fast = time.perf_counter() - t0, _cpu() - c0
    methods = Counter(o.method for o in fast)
    lps = sum(o.solves for o in fast) / len(fast)
    print(
        f"  fast: {t_fast:.2f} s wall, {c_fast:.2f} s CPU ({args.workers} workers); "
        f"methods {dict(methods)}; {lps:.2f} LPs per node"
    )
    rng = random.Random(args.seed)

    def naive(i: int) -> Outcome:
        whole = build_model(net)  # afresh, as a modelling layer would
        return FullSolver(whole, horizon=horizon).solve(*items[i])

    warm_solver = WarmSolver(model, horizon)
    nv, t_nv, c_nv, how_nv = _loop("naive", naive, len(items), args.budget, args.sample, rng)
    wm, t_wm, c_wm, how_wm = _loop(
        "warm", lambda i: warm_solver.solve(*items[i]), len(items), args.budget, args.sample, rng
    )
    worst = max(
        [_diff(fast[i], o) for i, o in nv.items()] + [_diff(fast[i], o) for i, o in wm.items()]
    )
    print(f"  naive (build + whole LP per node, one core): {t_nv:.1f} s wall, {c_nv:.1f} s CPU "
          f"[{how_nv}]")  # fmt: skip
    print(f"  warm whole-network loop (one core): {t_wm:.1f} s wall, {c_wm:.1f} s CPU "
          f"[{how_wm}]")  # fmt: skip
    print(
        f"  ratio naive/fast: {t_nv / t_fast:.1f}x wall, {c_nv / c_fast:.1f}x CPU; "
        f"largest difference {worst:.1e} on {len(nv)} + {len(wm)} nodes"
    )
    return {
        "generator": gen,
        "fast": f"{t_fast:.2f} / {c_fast:.2f}",
        "naive": f"{t_nv:.1f} / {c_nv:.1f}",
        "warm": f"{t_wm:.1f} / {c_wm:.1f}",
        "LPs/node": f"{lps:.2f}",
        "max diff": f"{worst:.1e}",
        "ratio": f"{t_nv / t_fast:.0f}x",
        "method": ",".join(sorted(methods)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", choices=sorted(GENERATORS), action="append")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--budget", type=float, default=120.0, help="seconds under which naive/warm do all nodes"
    )
    ap.add_argument("--sample", type=int, default=20, help="nodes sampled past the budget")
    args = ap.parse_args()
    rows = [run(g, args) for g in (args.only or list(GENERATORS))]
    print("\n| generator | fast wall/CPU s | naive wall/CPU s | warm loop wall/CPU s | "
          "LPs/node | max diff | naive/fast | method |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r.values()) + " |")


if __name__ == "__main__":
    main()

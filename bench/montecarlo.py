"""Benchmark: the vectorised Monte Carlo engine against the SimPy reference on the same model.

The model is the synthetic layered network (``data/synthetic.py``, default 500
sites) under a synthetic registry: a CN licence on Dy-bearing materials (approval 0.8 per
shipment, review 10-40 days) and a CN ban on one component maker lifted on a uniformly drawn
day in the second half of 2025. The reference is timed on a sample of draws (default 5) and
its time scaled to the full number of draws; the script says so in its output. Agreement is
the mean of min(days to standstill, horizon) and of units lost per product, compared within
4 combined standard errors.

    .venv/bin/python bench/montecarlo.py [--sites 500] [--draws 10000] [--days 365]
                                         [--ref-draws 5] [--agree-draws 30] [--workers 2]
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

from supplyshock.analysis.montecarlo.assumptions import Assumptions
from supplyshock.analysis.montecarlo.engine import simulate
from supplyshock.analysis.montecarlo.model import compile_model
from supplyshock.analysis.montecarlo.reference import simulate_reference
from supplyshock.data.synthetic import layered_network, layered_registry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sites", type=int, default=500)
    ap.add_argument("--draws", type=int, default=10000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--ref-draws", type=int, default=5, help="draws the reference is timed on")
    ap.add_argument(
        "--agree-draws", type=int, default=30, help="reference draws used for the agreement check"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    net = layered_network(args.sites, seed=args.seed)
    reg = layered_registry()
    a = Assumptions.model_validate(
        {
            "name": "bench",
            "start": "2025-06-01",
            "horizon_days": args.days,
            "measures": {
                "syn-licence": {
                    "approval": 0.8,
                    "review_days": {"dist": "uniform", "low": 10, "high": 40},
                },
                "syn-ban": {
                    "lifted": {"dist": "uniform", "low": "2025-07-01", "high": "2025-12-31"}
                },
            },
        }
    )
    model = compile_model(net, reg, a)
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start "
        "(other work on the machine slows both engines)"
    )
    print(
        f"model: {len(net.sites)} sites, {model.n_nodes} nodes, {len(model.lane_ids)} lanes "
        f"({len(model.ctrl)} reached by a measure), {len(model.dem_node)} plant products, "
        f"{args.days} days"
    )

    t0 = time.perf_counter()
    vec = simulate(
        model, args.draws, seed=args.seed, chunk=args.chunk, workers=args.workers, trace=0
    )
    t_vec = time.perf_counter() - t0
    print(
        f"vectorised engine: {args.draws} draws in {t_vec:.2f} s "
        f"({args.draws / t_vec:,.0f} draws/s, {args.workers} processes, chunks of {args.chunk})"
    )

    n_ref = max(args.ref_draws, args.agree_draws)
    t0 = time.perf_counter()
    ref = simulate_reference(model, args.ref_draws, seed=args.seed + 1)
    t_ref_sample = time.perf_counter() - t0
    per_draw = t_ref_sample / args.ref_draws
    t_ref = per_draw * args.draws
    print(
        f"SimPy reference: timed on a SAMPLE of {args.ref_draws} draws ({t_ref_sample:.2f} s, "
        f"{per_draw:.3f} s/draw); scaled to {args.draws} draws: {t_ref:,.0f} s "
        f"({1 / per_draw:.2f} draws/s)"
    )
    ratio = t_ref / t_vec
    print(f"speed-up per draw: {ratio:,.0f}x (target >= 100x)")
    print(
        f"10,000-draw target (< 60 s): "
        f"{'met' if t_vec * 10000 / args.draws < 60 else 'NOT met'} "
        f"({t_vec * 10000 / args.draws:.1f} s for 10,000 draws)"
    )

    if n_ref > args.ref_draws:
        more = simulate_reference(model, n_ref - args.ref_draws, seed=args.seed + 2)
        stop = np.concatenate([ref.stop, more.stop], axis=1)
        lost = np.concatenate([ref.lost, more.lost], axis=1)
    else:
        stop, lost = ref.stop, ref.lost
    worst, fails = 0.0, 0
    H = model.horizon
    for v_arr, r_arr in ((np.minimum(vec.stop, H), np.minimum(stop, H)), (vec.lost, lost)):
        for i in range(v_arr.shape[0]):
            v, r = v_arr[i], r_arr[i]
            se = math.sqrt(v.var(ddof=1) / len(v) + r.var(ddof=1) / len(r))
            z = (
                abs(v.mean() - r.mean()) / se
                if se > 0
                else (0.0 if v.mean() == r.mean() else math.inf)
            )
            worst = max(worst, z)
            fails += z > 4
    n_checks = 2 * vec.stop.shape[0]
    print(
        f"agreement ({n_ref} reference draws vs {args.draws} vectorised, per product: mean days "
        f"to standstill and mean units lost): {n_checks - fails}/{n_checks} within 4 standard "
        f"errors, worst |z| = {worst:.2f}"
    )


if __name__ == "__main__":
    main()

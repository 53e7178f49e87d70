"""The vectorised Monte Carlo engine: every future of a chunk of draws stepped at once, day by day.

State is held as ``(nodes, draws)`` arrays (each node's draws contiguous), so gathering a set of
nodes copies whole rows; sums over lanes or BOM edges are sparse matrix products and minima
over a node's inputs are loops of ``np.minimum`` over padded index columns (``reduceat`` along
rows is ten times slower). One day is, in this order (the same in the SimPy reference,
``reference.py``):

1. **arrivals**: shipments due today are added to their customer node;
2. **production**: sources add their target; make-nodes, level by level (children first), make
   ``x = min(target, min_i inv_i / qty_i)``; when several make-nodes draw on one input and
   together want more than it holds, each is scaled down by the worst ratio
   ``inv_i / wanted_i`` among its inputs, then inputs are consumed and outputs added;
3. **sales**: a plant sells ``min(stock, demand)`` of each finished product; the first day
   sales fall below ``standstill_share x demand`` is the product's standstill day;
4. **shipping**: each lane asks for its flow (nothing on a day a ban applies); a supplier short
   of stock serves all its lanes in the same proportion; licensed shipments are approved with
   probability ``p`` (per shipment: each day anew; per applicant: once per lane) after the
   review time, refused ones are lost; shipments arrive after ``lead (+ review)`` days.

Draws are split into chunks of ``chunk`` draws, each with its own random stream spawned from
``seed``, so a result depends only on (model, runs, seed, chunk), not on the number of threads.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

from supplyshock.analysis.montecarlo.chunk import ChunkOut, run_chunk
from supplyshock.analysis.montecarlo.model import SimModel
from supplyshock.analysis.montecarlo.ops import Ops, build_ops
from supplyshock.analysis.montecarlo.results import SimResult

# Re-exported: the engine's pieces stay importable from here.
__all__ = ["ChunkOut", "Ops", "Progress", "build_ops", "run_chunk", "simulate"]

Progress = Callable[[int, int], None]  # (steps done, total steps); a step is one day of a chunk


def simulate(
    model: SimModel,
    runs: int,
    *,
    seed: int = 0,
    chunk: int = 256,
    trace: int = 200,
    workers: int = 1,
    progress: Progress | None = None,
) -> SimResult:
    """Draw ``runs`` futures of ``model``.

    Parameters
    ----------
    model : the compiled network, registry and assumptions (:func:`compile_model`).
    runs : number of draws R (>= 1).
    seed : root of the random streams; equal (model, runs, seed, chunk) give equal results.
    chunk : draws stepped together (memory ~ ``chunk x (nodes + lanes x lead)`` floats).
    trace : how many draws keep their daily sales and input cover (for fan charts).
    workers : processes stepping chunks in parallel (progress then advances a chunk at a time).
    progress : called with (steps done, total steps) after every simulated day of a chunk.
    """
    if runs < 1:
        raise ValueError("runs must be at least 1")
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    sizes = [min(chunk, runs - k) for k in range(0, runs, chunk)]
    seqs = np.random.SeedSequence(seed).spawn(len(sizes))
    traces, left = [], trace
    for n in sizes:
        traces.append(min(n, max(left, 0)))
        left -= n
    total = len(sizes) * model.horizon
    done = [0]

    def tick() -> None:
        if progress is not None:
            done[0] += 1
            progress(done[0], total)

    jobs = list(zip(sizes, seqs, traces, strict=True))
    if workers > 1 and len(jobs) > 1:
        # Processes, not threads: much of a day is NumPy indexing that holds the GIL.
        ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futs = [pool.submit(run_chunk, model, n, s, t) for n, s, t in jobs]
            for f in as_completed(futs):
                f.result()
                for _ in range(model.horizon):
                    tick()
            outs = [f.result() for f in futs]
    else:
        ops = build_ops(model)
        outs = [run_chunk(model, n, s, t, tick, ops) for n, s, t in jobs]
    return SimResult.from_arrays(
        model,
        seed=seed,
        stop=np.concatenate([o.stop for o in outs], axis=1),
        lost=np.concatenate([o.lost for o in outs], axis=1),
        sales=np.concatenate([o.sales for o in outs], axis=2),
        cover=np.concatenate([o.cover for o in outs], axis=2),
    )

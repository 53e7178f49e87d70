"""Sweep every node (or site) of a network: TTS, TTR, performance impact and the REI ranking.

The sweep compiles the network once, then solves each disruption on its own sub-network
(:class:`~supplyshock.analysis.survival.solve.RegionSolver`). Disruptions are independent, so
chunks of them run in worker processes (each with its own HiGHS instances) or on a Dask
cluster when a scheduler is given.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Literal

from supplyshock.analysis.survival.choose import Choice, Chosen, Method, choose, make_solver
from supplyshock.analysis.survival.model import SurvivalModel, build_model
from supplyshock.analysis.survival.solve import (
    INF,
    Disruption,
    Outcome,
    _Base,
    node_disruption,
    site_disruption,
)
from supplyshock.domain.network import Network

Level = Literal["node", "site"]
#: Below this many disruptions, starting worker processes costs more than it saves.
MIN_PARALLEL = 200
#: Chunks per worker: enough that the last ones finish close together.
_CHUNKS_PER_WORKER = 48
_WORTH_A_POOL = 2.0  # seconds of work, one process, below which workers cost more than they save
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class NodeRisk:
    """One row of the risk table. ``part`` is None for a site-level disruption."""

    site: str
    part: str | None
    tts: float  # days; inf when the rest of the network covers the node indefinitely
    ttr: float | None
    lost_units: float | None
    lost_margin: float | None
    rei: float | None  # impact / worst impact, 0..1
    at_risk: bool  # TTS < TTR: the nodes to act on
    beyond_horizon: bool = False  # TTS is at least ``tts`` days (finite, not solved further)
    method: str = "region"  # how it was solved: "region", "warm" (whole network) or "full"

    @property
    def label(self) -> str:
        return self.site if self.part is None else f"{self.site}/{self.part}"


def disruptions(
    model: SurvivalModel, level: Level = "node", only: Sequence[str] | None = None
) -> list[tuple[Disruption, float | None]]:
    """The disruptions of a sweep with each one's TTR (its site's ``ttr_days``).

    ``only`` restricts the sweep to labels ``site/part`` (node level) or site ids.
    """
    out: list[tuple[Disruption, float | None]] = []
    if level == "site":
        sites = sorted({model.nodes[n][0] for n in model.supply_nodes})
        if only is not None:
            unknown = sorted(set(only) - set(model.site_nodes))
            if unknown:
                raise KeyError(f"unknown site {unknown[0]!r}")
            sites = list(only)
        return [(site_disruption(model, s), model.site_ttr.get(s)) for s in sites]
    nodes = model.supply_nodes
    if only is not None:
        wanted = []
        for label in only:
            site, _, part = label.partition("/")
            if (site, part) not in model.node_index:
                raise KeyError(f"unknown node {label!r} (expected SITE/PART)")
            wanted.append(model.node_index[(site, part)])
        nodes = wanted
    for n in nodes:
        out.append((node_disruption(model, n), model.ttr(n)))
    return out


# -- workers -------------------------------------------------------------------------------


class _Solvers(threading.local):
    """This worker thread's solver, one per model (the CSR copy and the bounds are not free,
    so not one per task). Per thread: a Dask worker may run tasks on several threads at
    once, and a solver (its HiGHS instances, its scratch state) serves one disruption at a
    time."""

    token: str | None = None
    solver: _Base | None = None

    def get(self, model: SurvivalModel, token: str, horizon: float | None, method: Chosen) -> _Base:
        if self.solver is None or self.token != token:
            self.token, self.solver = token, make_solver(model, method, horizon)
        return self.solver


_SOLVERS = _Solvers()
_POOL = "pool"  # the token of a process pool's model (each pool process has one)


def _init_worker(model: SurvivalModel, horizon: float | None, method: Chosen) -> None:
    _SOLVERS.get(model, _POOL, horizon, method)


def _solve_chunk(chunk: list[tuple[Disruption, float | None]]) -> list[Outcome]:
    solver = _SOLVERS.solver
    assert solver is not None  # built by _init_worker
    return [solver.solve(d, ttr) for d, ttr in chunk]


def _solve_chunk_dask(
    chunk: list[tuple[Disruption, float | None]],
    model: SurvivalModel,
    token: str,
    horizon: float | None,
    method: Chosen,
) -> list[Outcome]:
    _SOLVERS.get(model, token, horizon, method)
    return _solve_chunk(chunk)


def _chunks(total: int, n: int) -> list[list[int]]:
    """Item indices split into ``n`` strided chunks (0, n, 2n, ...; 1, n+1, ...).

    Hard disruptions cluster (deep tiers come last in node order); striding spreads them so
    that no worker is left with a slow tail while the others idle.
    """
    n = max(1, min(n, total))
    return [list(range(k, total, n)) for k in range(n)]


def _gather(
    finished: Iterable[tuple[list[int], list[Outcome]]], total: int, progress: Progress | None
) -> list[Outcome]:
    """Outcomes of chunks (their item indices, their outcomes) as they finish, back in item
    order, reporting progress on the way."""
    out: list[Outcome | None] = [None] * total
    done = 0
    for idx, got in finished:
        for i, o in zip(idx, got, strict=True):
            out[i] = o
        done += len(idx)
        if progress is not None:
            progress(done, total)
    return [o for o in out if o is not None]


def solve_all(
    model: SurvivalModel,
    items: list[tuple[Disruption, float | None]],
    *,
    workers: int = 1,
    scheduler: Any = None,
    progress: Progress | None = None,
    solver: Method = "auto",
    horizon: float | None = None,
) -> list[Outcome]:
    """Solve every disruption; results come back in the order of ``items``.

    ``scheduler`` is a ``distributed.Client`` or a scheduler address; ``workers`` > 1 uses a
    process pool on this machine; otherwise everything runs here. ``horizon``: see
    :class:`~supplyshock.analysis.survival.solve.RegionSolver`. ``solver``: "auto" (the
    region method, or the warm whole-network LP where the baseline is short and the region
    method loses: :mod:`~supplyshock.analysis.survival.choose`), or one of them by name
    ("full": the naive whole-network LP built afresh per disruption). Every outcome names
    its ``method``.
    """
    choice = choose(model, items, horizon, solver)
    found = choice.found
    todo = [i for i in range(len(items)) if i not in found]
    rest = _solve(model, [items[i] for i in todo], workers, scheduler, progress, horizon, choice)
    out: list[Outcome | None] = [found.get(i) for i in range(len(items))]
    for i, o in zip(todo, rest, strict=True):
        out[i] = o
    return [o for o in out if o is not None]


def _solve(
    model: SurvivalModel,
    items: list[tuple[Disruption, float | None]],
    workers: int,
    scheduler: Any,
    progress: Progress | None,
    horizon: float | None,
    choice: Choice,
) -> list[Outcome]:
    total = len(items)
    method = choice.method
    if scheduler is not None:
        return _solve_dask(model, items, scheduler, progress, horizon, method)
    # Worker processes start in about half a second and each solves the undisrupted network
    # again (warm solver): not worth it for a sweep the trial says is shorter than that.
    short = choice.per_item is not None and choice.per_item * total < _WORTH_A_POOL
    if workers <= 1 or total < MIN_PARALLEL or method == "full" or short:
        s = choice.solver or make_solver(model, method, horizon)
        out = []
        for i, (d, ttr) in enumerate(items):
            out.append(s.solve(d, ttr))
            if progress is not None and (i % 50 == 49 or i == total - 1):
                progress(i + 1, total)
        return out
    # Many chunks per worker so the progress bar moves and a slow chunk does not idle cores.
    chunks = _chunks(total, workers * _CHUNKS_PER_WORKER)
    init = (model, horizon, method)
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=init) as pool:
        futs = {pool.submit(_solve_chunk, [items[i] for i in c]): c for c in chunks}
        return _gather(((futs[f], f.result()) for f in as_completed(futs)), total, progress)


def _solve_dask(
    model: SurvivalModel,
    items: list[tuple[Disruption, float | None]],
    scheduler: Any,
    progress: Progress | None,
    horizon: float | None,
    method: Chosen,
) -> list[Outcome]:
    import distributed as _distributed

    dist: Any = _distributed  # untyped
    Client, dask_completed = dist.Client, dist.as_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        chunks = _chunks(len(items), n_workers * _CHUNKS_PER_WORKER)
        shared = client.scatter(model, broadcast=True)
        token = uuid.uuid4().hex
        futs = client.map(
            _solve_chunk_dask,
            [[items[i] for i in c] for c in chunks],
            model=shared,
            token=token,
            horizon=horizon,
            method=method,
            pure=False,
        )
        order = {f.key: c for f, c in zip(futs, chunks, strict=True)}
        finished = ((order[f.key], f.result()) for f in dask_completed(futs))
        return _gather(finished, len(items), progress)
    finally:
        if client is not scheduler:
            client.close()


# -- the risk table --------------------------------------------------------------------------


def risk_table(
    model: SurvivalModel, items: list[tuple[Disruption, float | None]], outcomes: list[Outcome]
) -> list[NodeRisk]:
    """REI = impact / worst impact (margin lost; units when no node loses margin), ranked."""
    use_margin = any((o.lost_margin or 0) > 0 for o in outcomes)
    worst = max(
        ((o.lost_margin if use_margin else o.lost_units) or 0.0 for o in outcomes), default=0.0
    )
    rows: list[NodeRisk] = []
    for (d, _ttr), o in zip(items, outcomes, strict=True):
        site, _, part = d.label.partition("/")
        impact = o.lost_margin if use_margin else o.lost_units
        rei = None if impact is None else (impact / worst if worst > 0 else 0.0)
        at_risk = o.ttr is not None and o.tts < o.ttr
        rows.append(
            NodeRisk(
                site,
                part or None,
                o.tts,
                o.ttr,
                o.lost_units,
                o.lost_margin,
                rei,
                at_risk,
                o.beyond_horizon,
                o.method,
            )
        )
    rows.sort(key=lambda r: (-(r.rei or 0.0), r.tts, r.label))
    return rows


def sweep(
    network: Network | SurvivalModel,
    *,
    level: Level = "node",
    only: Sequence[str] | None = None,
    default_ttr: float | None = None,
    workers: int | None = 1,
    scheduler: Any = None,
    progress: Progress | None = None,
    horizon: float | Literal["auto"] | None = "auto",
) -> list[NodeRisk]:
    """Disrupt every supply node (or site) in turn; the ranked risk table.

    ``default_ttr`` stands in for sites without ``ttr_days``; ``workers=None`` uses every core.
    ``horizon``: TTS past it is reported as "at least the horizon" unless it is unbounded
    ("auto": the longest TTR, see :func:`default_horizon`; None: exact TTS however long).
    """
    model = network if isinstance(network, SurvivalModel) else build_model(network)
    items = disruptions(model, level, only)
    if default_ttr is not None:
        items = [(d, default_ttr if ttr is None else ttr) for d, ttr in items]
    n = workers if workers is not None else (os.cpu_count() or 1)
    h = default_horizon(items) if horizon == "auto" else horizon
    outcomes = solve_all(model, items, workers=n, scheduler=scheduler, progress=progress, horizon=h)
    return risk_table(model, items, outcomes)


def default_horizon(items: list[tuple[Disruption, float | None]]) -> float:
    """The longest TTR of the sweep, at least 30 days.

    A node is at risk when TTS < TTR, and its impact is zero when TTS >= TTR, so telling
    TTS apart beyond the longest TTR changes neither the REI nor the list to act on.
    """
    return max([30.0] + [ttr for _d, ttr in items if ttr is not None])


__all__ = [
    "INF",
    "NodeRisk",
    "default_horizon",
    "disruptions",
    "risk_table",
    "solve_all",
    "sweep",
]

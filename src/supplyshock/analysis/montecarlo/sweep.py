"""Sweeps over many scenarios or parameter grids, one Dask task per scenario.

Each scenario is compiled on the caller's side (the registry and network stay there) and its
picklable :class:`SimModel` is shipped to a worker, which runs the vectorised engine and sends
back the summary. The cluster is the one at the ``scheduler`` address the caller passes (the
service layer passes ``settings.dask_scheduler``), else a ``LocalCluster`` started for the sweep;
tests pass their own client. Nothing here reads settings. Results are identical to
running :func:`engine.simulate` locally with the same seeds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from supplyshock.analysis.montecarlo.assumptions import Assumptions
from supplyshock.analysis.montecarlo.engine import simulate
from supplyshock.analysis.montecarlo.model import SimModel, compile_model
from supplyshock.analysis.montecarlo.results import Summary
from supplyshock.domain.controls import Registry
from supplyshock.domain.network import Network


def grid(base: Assumptions, axes: Mapping[str, Sequence[Any]]) -> list[Assumptions]:
    """Every combination of the values on ``axes``, applied to ``base``.

    An axis is a dotted path into the assumptions, e.g. ``"measures.cn-rare-earths-2025-04.
    approval"`` or ``"demand_cv"``; each variant is named ``base.name`` plus its values.
    """
    out: list[Assumptions] = []
    keys = list(axes)
    for values in itertools.product(*(axes[k] for k in keys)):
        data = base.model_dump(mode="json", exclude_none=True)
        for key, value in zip(keys, values, strict=True):
            _set(data, key.split("."), value)
        label = ",".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in zip(keys, values, strict=True))
        data["name"] = f"{base.name}[{label}]"
        out.append(Assumptions.model_validate(data))
    return out


def _set(data: dict[str, Any], path: list[str], value: Any) -> None:
    node = data
    for p in path[:-1]:
        node = node.setdefault(p, {})
    node[path[-1]] = value


def _run(model: SimModel, runs: int, seed: int, chunk: int) -> Summary:
    return simulate(model, runs, seed=seed, chunk=chunk, trace=0).summary()


@contextmanager
def dask_client(address: str | None = None) -> Iterator[Any]:
    """A client for the scheduler at ``address``, else for a LocalCluster started here."""
    from distributed import Client, LocalCluster

    if address:
        with Client(address) as client:  # type: ignore[no-untyped-call]
            yield client
    else:
        with LocalCluster(  # type: ignore[no-untyped-call]
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        ) as cluster:
            with Client(cluster) as client:  # type: ignore[no-untyped-call]
                yield client


def sweep(
    network: Network,
    registry: Registry,
    scenarios: Sequence[Assumptions],
    *,
    runs: int,
    seed: int = 0,
    chunk: int = 256,
    client: Any = None,
    scheduler: str | None = None,
) -> list[Summary]:
    """Summaries of every scenario, computed on a Dask cluster, in the order given.

    Every scenario uses the same ``seed`` (common random numbers), so differences between
    scenarios are not blurred by different draws. ``client`` (a ``distributed.Client``) or else
    ``scheduler`` (an address) says where to run; with neither, a LocalCluster is started.
    """
    models = [compile_model(network, registry, a) for a in scenarios]
    if client is None:
        with dask_client(scheduler) as own:
            return _submit(own, models, runs, seed, chunk)
    return _submit(client, models, runs, seed, chunk)


def _submit(client: Any, models: list[SimModel], runs: int, seed: int, chunk: int) -> list[Summary]:
    futures = [client.submit(_run, m, runs, seed, chunk, pure=False) for m in models]
    return list(client.gather(futures))

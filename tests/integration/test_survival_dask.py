"""The survival sweep on a Dask cluster gives the same table as the local sweep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from supplyshock.analysis.survival.sweep import sweep
from supplyshock.analysis.survival.synthetic import synthetic_network

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def test_dask_sweep_equals_local_sweep(client: object) -> None:
    net = synthetic_network(suppliers=30, plants=3, tiers=4, alternates=0.2, seed=11)
    seen: list[int] = []
    remote = sweep(net, scheduler=client, progress=lambda done, total: seen.append(done))
    local = sweep(net, workers=1)
    assert [(r.label, r.tts, r.lost_units, r.lost_margin) for r in remote] == [
        (r.label, r.tts, r.lost_units, r.lost_margin) for r in local
    ]
    # Progress reached the end, in order.
    assert seen == sorted(seen) and seen[-1] == len(local)

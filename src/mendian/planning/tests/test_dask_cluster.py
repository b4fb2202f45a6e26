"""Forecast chunks on a Dask LocalCluster of worker processes give exactly the in-process results
(issue 4: for very large chains the same code runs on Dask). Needs no database."""

from __future__ import annotations

from distributed import Client, LocalCluster

from mendian.planning.forecasting.engine import ForecastConfig, chunked, run_chunks
from mendian.planning.forecasting.synthetic import make_chain


def _by_key(results):
    return {r.key: (r.demand_class, r.model, r.forecast, r.mase, r.wape) for r in results}


def test_forecast_chunks_on_a_dask_local_cluster_of_processes_equal_the_in_process_run():
    inputs = [c.inp for c in make_chain(stores=1, skus=5, days=120, seed=2)]
    cfg = ForecastConfig(horizon=7, drivers=frozenset())
    local = run_chunks(chunked(inputs, 2), cfg)
    assert len(local) == 5

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        with Client(cluster) as client:
            assert len(client.scheduler_info()["workers"]) == 2
            seen: list[int] = []
            remote = run_chunks(chunked(inputs, 2), cfg, executor=client.get_executor(), n_jobs=2,
                                on_done=lambda r: seen.append(len(r)))
    finally:
        cluster.close()

    assert sorted(seen) == [1, 2, 2]  # three chunks of 2, 2 and 1 series came back
    assert _by_key(remote) == _by_key(local)
    assert len({r.key for r in remote}) == 5

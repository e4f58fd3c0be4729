"""Where a run's steps execute: Dagster's default (a process per step on the run's machine), or a Dask
cluster, the distributed engine for scaling the per-batch work beyond one machine.

`PIPELINE_EXECUTOR=dask` selects Dask (dagster-dask). `PIPELINE_DASK_ADDRESS` (e.g.
tcp://dask-scheduler:8786) names an existing cluster; without it the run starts a local cluster of
`PIPELINE_DASK_WORKERS` worker processes (default: one per core). Workers must see the same raw/ and
processed/ storage (a shared filesystem or object-store URLs) and the same Dagster instance.
"""

from __future__ import annotations

import os

import dagster as dg

EXECUTOR_ENV = "PIPELINE_EXECUTOR"
DASK_ADDRESS_ENV = "PIPELINE_DASK_ADDRESS"
DASK_WORKERS_ENV = "PIPELINE_DASK_WORKERS"


def executor_from_env() -> dg.ExecutorDefinition | None:
    """The executor the environment asks for; None keeps Dagster's default."""
    kind = os.environ.get(EXECUTOR_ENV, "").strip().lower()
    if kind in ("", "default", "multiprocess"):
        return None
    if kind != "dask":
        raise ValueError(f"{EXECUTOR_ENV}={kind!r}: expected 'dask' or unset")
    from pipeline.defs.dask_executor import dask_executor  # dask takes a second to import: only when asked for

    return dask_executor.configured({"cluster": dask_cluster_config()})


def dask_cluster_config() -> dict:
    if address := os.environ.get(DASK_ADDRESS_ENV):
        return {"existing": {"address": address}}
    workers = int(os.environ.get(DASK_WORKERS_ENV) or os.cpu_count() or 1)
    # Processes, not threads: parsing is CPU-bound Python. The dashboard listens on loopback only.
    return {"local": {"n_workers": workers, "threads_per_worker": 1, "processes": True, "dashboard_address": "127.0.0.1:0"}}

"""Where a run's steps execute: in the run's own process (the default), in a process each (Dagster's
multiprocess executor), or on a Dask cluster, the distributed engine for scaling the per-batch work beyond
one machine.

In-process by default: a run's steps mostly wait on one another, and each step spreads its own work over
every core (a process pool over files or parts), so a process per step only added each step's start-up
(the interpreter, Dagster, the code location and Great Expectations imported again: ≈ 3.4 s a step on a
slow host, eight steps in a corpus run) to every run the sensor or the UI launched. `python -m pipeline
build` runs its jobs in-process too.

`PIPELINE_EXECUTOR=multiprocess` selects Dagster's multiprocess executor, `PIPELINE_EXECUTOR=dask` Dask
(dagster-dask). `PIPELINE_DASK_ADDRESS` (e.g. tcp://dask-scheduler:8786) names an existing cluster; without
it the run starts a local cluster of `PIPELINE_DASK_WORKERS` worker processes (default: one per core).
Workers must see the same raw/ and processed/ storage (a shared filesystem or object-store URLs) and the
same Dagster instance.
"""

from __future__ import annotations

import os

import dagster as dg

EXECUTOR_ENV = "PIPELINE_EXECUTOR"
DASK_ADDRESS_ENV = "PIPELINE_DASK_ADDRESS"
DASK_WORKERS_ENV = "PIPELINE_DASK_WORKERS"


def executor_from_env() -> dg.ExecutorDefinition:
    """The executor the environment asks for: in-process unless it names another."""
    kind = os.environ.get(EXECUTOR_ENV, "").strip().lower()
    if kind in ("", "in_process"):
        return dg.in_process_executor
    if kind == "multiprocess":
        return dg.multiprocess_executor
    if kind != "dask":
        raise ValueError(f"{EXECUTOR_ENV}={kind!r}: expected 'in_process' (the default), 'multiprocess' or 'dask'")
    from pipeline.defs.dask_executor import dask_executor  # dask takes a second to import: only when asked for

    return dask_executor.configured({"cluster": dask_cluster_config()})


def dask_cluster_config() -> dict:
    if address := os.environ.get(DASK_ADDRESS_ENV):
        return {"existing": {"address": address}}
    workers = int(os.environ.get(DASK_WORKERS_ENV) or os.cpu_count() or 1)
    # Processes, not threads: parsing is CPU-bound Python. The dashboard listens on loopback only.
    return {"local": {"n_workers": workers, "threads_per_worker": 1, "processes": True, "dashboard_address": "127.0.0.1:0"}}

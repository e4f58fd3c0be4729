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
import dagster_dask
from dagster import multiple_process_executor_requirements
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster_shared.record import copy as record_copy

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
    return dask_executor.configured({"cluster": dask_cluster_config()})


@dg.executor(name="dask", config_schema=dagster_dask.dask_executor.config_schema, requirements=multiple_process_executor_requirements())
def dask_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """dagster-dask's executor, made to work with dynamically partitioned runs (see below)."""
    ((cluster_type, cluster_configuration),) = init_context.executor_config["cluster"].items()
    return _DaskExecutor(cluster_type, cluster_configuration)


class _DaskExecutor(dagster_dask.executor.DaskExecutor):
    """dagster-dask submits the run to dask.distributed, which walks tuple arguments. A run of a dynamically
    partitioned job carries its partition as a KeyRangesPartitionsSubset, a record that refuses iteration,
    so the submission fails. The partition is in the run's tags too, and that is what the steps read: the
    workers get the run without the subset."""

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan):
        run = plan_context.dagster_run
        if run.partitions_subset is not None:
            plan_context = PlanOrchestrationContext(
                plan_data=plan_context.plan_data._replace(dagster_run=record_copy(run, partitions_subset=None)),
                log_manager=plan_context.log,
                executor=self,
                output_capture=plan_context.output_capture,
                resume_from_failure=plan_context.resume_from_failure,
            )
        yield from super().execute(plan_context, execution_plan)


def dask_cluster_config() -> dict:
    if address := os.environ.get(DASK_ADDRESS_ENV):
        return {"existing": {"address": address}}
    workers = int(os.environ.get(DASK_WORKERS_ENV) or os.cpu_count() or 1)
    # Processes, not threads: parsing is CPU-bound Python. The dashboard listens on loopback only.
    return {"local": {"n_workers": workers, "threads_per_worker": 1, "processes": True, "dashboard_address": "127.0.0.1:0"}}

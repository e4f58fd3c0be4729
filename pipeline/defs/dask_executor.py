"""dagster-dask's executor, wrapped for the runs of dynamically partitioned jobs (see executors.py)."""

from __future__ import annotations

import dagster as dg
import dagster_dask
from dagster import multiple_process_executor_requirements
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster_shared.record import copy as record_copy


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

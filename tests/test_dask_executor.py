"""The per-batch assets on a real Dask cluster: a local cluster of worker processes, shared-filesystem
storage, a persistent instance. Steps must run in the workers, not in the test process."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from pipeline.defs import make_defs
from pipeline.defs.executors import dask_cluster_config, executor_from_env

from .conftest import SAMPLE_BATCH, make_dagster_home


@pytest.mark.slow
def test_ingest_batch_runs_on_a_local_dask_cluster(sample_raw_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    processed = tmp_path / "processed"
    for name, value in {
        "PIPELINE_EXECUTOR": "dask",
        "PIPELINE_DASK_WORKERS": "2",
        "PIPELINE_RAW_DIR": str(sample_raw_dir),
        "PIPELINE_PROCESSED_DIR": str(processed),
        "DAGSTER_HOME": str(make_dagster_home(tmp_path / "home")),
    }.items():
        monkeypatch.setenv(name, value)  # the workers rebuild the definitions from the same environment
    job = dg.build_reconstructable_job("pipeline.defs", "job", reconstructable_args=("ingest_batch",))
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("scrape_batches", [SAMPLE_BATCH])
        with dg.execute_job(job, instance=instance, tags={"dagster/partition": SAMPLE_BATCH}) as result:
            assert result.success
            step_pids = {e.pid for e in result.all_events if e.is_step_start}
            assert {e.step_key for e in result.all_events if e.is_step_success} == {"raw_pages", "parsed_pages"}
    assert step_pids and os.getpid() not in step_pids  # executed by the Dask worker processes
    parsed = pq.read_table(processed / "parsed_pages" / f"{SAMPLE_BATCH}.parquet")
    assert parsed.num_rows == len(list((sample_raw_dir / SAMPLE_BATCH).iterdir()))


def test_executor_choice_from_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PIPELINE_EXECUTOR", raising=False)
    assert executor_from_env().name == "in_process"
    assert make_defs().resolve_job_def("build_corpus").executor_def.name == "in_process"  # what the daemon launches
    monkeypatch.setenv("PIPELINE_EXECUTOR", "multiprocess")
    assert executor_from_env().name == "multiprocess"
    monkeypatch.setenv("PIPELINE_EXECUTOR", "dask")
    assert executor_from_env().name == "dask"
    monkeypatch.setenv("PIPELINE_DASK_ADDRESS", "tcp://scheduler:8786")
    assert dask_cluster_config() == {"existing": {"address": "tcp://scheduler:8786"}}
    monkeypatch.setenv("PIPELINE_EXECUTOR", "celery")
    with pytest.raises(ValueError, match="PIPELINE_EXECUTOR"):
        executor_from_env()

"""The Dagster layer: `dagster dev -m pipeline.defs` loads `defs`.

Thin by design: assets call pipeline.core.tables, checks call pipeline.core.validation; nothing here
decides what the data is.
"""

from __future__ import annotations

import os

import dagster as dg

from pipeline.defs.assets import CORPUS_ASSETS, INGEST_ASSETS
from pipeline.defs.executors import executor_from_env
from pipeline.defs.io_manager import ParquetIOManager
from pipeline.defs.jobs import build_corpus, ingest_batch
from pipeline.defs.maintenance import make_corpus_after_verify_sensor, verify_storage
from pipeline.defs.resources import CorpusLock, CorpusPaths, QualitySettings
from pipeline.defs.schedules import make_corpus_schedule
from pipeline.defs.sensors import make_corpus_after_ingest_sensor, make_scrape_batches_sensor


def make_defs(
    raw_dir: str | os.PathLike | None = None,
    processed_dir: str | os.PathLike | None = None,
    *,
    executor: dg.ExecutorDefinition | None = None,
    loggers: dict[str, dg.LoggerDefinition] | None = None,
    quality: QualitySettings | None = None,
) -> dg.Definitions:
    """The definitions, with the folders given or (when None) from the environment / defaults; the
    executor given, else the environment's (executors.py); Dagster's default loggers unless given.

    Sensor and schedule settings are read from the environment here, too (see sensors.py, schedules.py).
    """
    paths = CorpusPaths(
        **({"raw_dir": os.fspath(raw_dir)} if raw_dir is not None else {}),
        **({"processed_dir": os.fspath(processed_dir)} if processed_dir is not None else {}),
    )
    quality = quality or QualitySettings.from_env()
    return dg.Definitions(
        assets=[*INGEST_ASSETS, *CORPUS_ASSETS],
        jobs=[ingest_batch, build_corpus, verify_storage],
        sensors=[make_scrape_batches_sensor(), make_corpus_after_ingest_sensor(), make_corpus_after_verify_sensor()],
        schedules=[make_corpus_schedule()],
        resources={
            "paths": paths,
            "corpus_lock": CorpusLock(processed_dir=paths.processed_dir, raw_dir=paths.raw_dir),
            "quality": quality,
            "io_manager": ParquetIOManager(base_path=paths.processed_dir, corpus_recipe=quality.corpus_recipe()),
        },
        executor=executor or executor_from_env(),
        loggers=loggers,
    )


def job(name: str) -> dg.JobDefinition:
    """A job of this code location, rebuilt by name: what executors that run steps in other processes
    (Dask workers) import, via `dg.build_reconstructable_job("pipeline.defs", "job", (name,))`."""
    return make_defs().resolve_job_def(name)


defs = make_defs()

__all__ = ["defs", "job", "make_defs"]

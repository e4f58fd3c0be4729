"""Sensors: new scrapes trigger ingestion, and every successful ingestion triggers a corpus rebuild.

Settings come from the environment when the code location loads:
`PIPELINE_SENSOR_INTERVAL_SECONDS` (default 30, both sensors) and `PIPELINE_BATCH_QUIET_SECONDS`
(default 300).
"""

from __future__ import annotations

import json
import os
import time

import dagster as dg

from pipeline.core import batches
from pipeline.defs.jobs import build_corpus, ingest_batch
from pipeline.defs.partitions import ingest_key, ingested_key, scrape_batches
from pipeline.defs.resources import CorpusPaths

INTERVAL_ENV = "PIPELINE_SENSOR_INTERVAL_SECONDS"
QUIET_ENV = "PIPELINE_BATCH_QUIET_SECONDS"
DEFAULT_INTERVAL_SECONDS = 30


def interval_seconds() -> int:
    return int(os.environ.get(INTERVAL_ENV) or DEFAULT_INTERVAL_SECONDS)


def quiet_seconds() -> float:
    return float(os.environ.get(QUIET_ENV) or batches.DEFAULT_QUIET_SECONDS)


def make_scrape_batches_sensor() -> dg.SensorDefinition:
    quiet = quiet_seconds()

    @dg.sensor(
        name="scrape_batches_sensor",
        job=ingest_batch,
        minimum_interval_seconds=interval_seconds(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Watches raw/: a batch folder that is ready (a _SUCCESS marker, or no change for "
            f"{quiet:g} s) and new or changed since it was last requested (its files, or the parser) becomes a "
            "partition and an ingest_batch run. The cursor maps batch -> ingest key."
        ),
    )
    def scrape_batches_sensor(context: dg.SensorEvaluationContext, paths: CorpusPaths):
        if not paths.raw_path.is_dir():
            return dg.SkipReason(f"raw folder {paths.raw_path} does not exist")
        requested: dict[str, str] = json.loads(context.cursor or "{}")
        now = time.time()
        keys = {
            snap.name: ingest_key(snap.fingerprint)
            for snap in map(batches.snapshot, batches.batch_dirs(paths.raw_path))
            if snap.is_ready(now, quiet)
        }
        ready = {batch: key for batch, key in keys.items() if requested.get(batch) != key}
        known = set(context.instance.get_dynamic_partitions(scrape_batches.name))
        new_partitions = [batch for batch in ready if batch not in known]
        run_requests = [
            # The run key makes one run per batch content and parser, even if the cursor were lost.
            dg.RunRequest(run_key=f"{batch}:{key}", partition_key=batch)
            for batch, key in ready.items()
            # Already ingested from these files by this parser (e.g. by `python -m pipeline build`): nothing to do.
            if ingested_key(context.instance, batch) != key
        ]
        requested.update(ready)
        return dg.SensorResult(
            run_requests=run_requests,
            dynamic_partitions_requests=[scrape_batches.build_add_request(new_partitions)] if new_partitions else [],
            cursor=json.dumps(requested, sort_keys=True),
        )

    return scrape_batches_sensor


def make_corpus_after_ingest_sensor() -> dg.RunStatusSensorDefinition:
    # A run status sensor rather than declarative automation: it fires exactly once per successful
    # ingest run (its cursor is the run event log), needs no reasoning about the status of every
    # partition (AutomationCondition.eager() waits while any batch is missing or in progress), and can
    # be tested by calling it with the run's success event.
    @dg.run_status_sensor(
        name="corpus_after_ingest",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[ingest_batch],
        request_job=build_corpus,
        minimum_interval_seconds=interval_seconds(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After a batch is ingested, rebuild the corpus (it reads the parsed pages of every batch).",
    )
    def corpus_after_ingest(context: dg.RunStatusSensorContext):
        run = context.dagster_run
        return dg.RunRequest(run_key=f"after-ingest:{run.run_id}", tags={"ingest_run": run.run_id})

    return corpus_after_ingest

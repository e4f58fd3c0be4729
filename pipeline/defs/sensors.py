"""Sensors: new scrapes trigger ingestion, and every successful ingestion triggers a corpus rebuild.

Settings come from the environment when the code location loads:
`PIPELINE_SENSOR_INTERVAL_SECONDS` (default 30, every sensor) and `PIPELINE_BATCH_QUIET_SECONDS`
(default 300).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import dagster as dg

from pipeline.core import batches
from pipeline.defs.assets import INGEST_DATASETS, Storage, needs_ingest
from pipeline.defs.jobs import build_corpus, ingest_batch
from pipeline.defs.partitions import Ingestion, ingest_key, instance_taken, latest_ingestion, scrape_batches
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
        jobs=[ingest_batch, build_corpus],
        minimum_interval_seconds=interval_seconds(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Watches raw/: a batch folder that is ready (a _SUCCESS marker, or no change for "
            f"{quiet:g} s) and new or changed since it was last requested (its files, or the parser) becomes a "
            "partition and an ingest_batch run, as does one whose ingest files in processed/ were deleted since; a partition whose folder is gone is deleted and the corpus made again without it. The cursor "
            "maps batch -> ingest key."
        ),
    )
    def scrape_batches_sensor(context: dg.SensorEvaluationContext, paths: CorpusPaths, io_manager: Storage):
        if not paths.raw_path.is_dir():
            return dg.SkipReason(f"raw folder {paths.raw_path} does not exist")
        if refusal := instance_taken(context.instance, paths.raw_path, paths.processed_path):
            return dg.SkipReason(refusal)
        requested: dict[str, str] = json.loads(context.cursor or "{}")
        for message in batches.skipped_in_raw(paths.raw_path):  # every tick: the tick's log is where a user looks
            context.log.warning(message)
        now = time.time()
        snapshots = [batches.snapshot(folder) for folder in batches.batch_dirs(paths.raw_path)]
        keys = {snap.name: ingest_key(snap.fingerprint) for snap in snapshots if snap.is_ready(now, quiet)}
        ready = {batch: key for batch, key in keys.items() if requested.get(batch) != key}
        known = set(context.instance.get_dynamic_partitions(scrape_batches.name))
        gone = batches.gone_batches(known, [snap.name for snap in snapshots])
        new_partitions = [batch for batch in ready if batch not in known]
        # One listing per ingest dataset, no file read (a tick must stay cheap on object storage): a file deleted
        # since is seen here; one damaged in place fails the step that reads it, and verify_storage removes it.
        held = io_manager.held_batches(INGEST_DATASETS)
        run_requests = []
        for batch, key in keys.items():
            if batch not in ready and batch in held:
                continue  # requested before with these files, and ingested; else its files went since (or are being made)
            latest = latest_ingestion(context.instance, batch)
            # Already ingested from these files by this parser (e.g. by `python -m pipeline build`): nothing to do.
            # A partition added now has no files yet, whatever an earlier life of the batch left in the event log.
            # A request repeated while its run is still to finish has the run key of that run: Dagster skips it.
            if batch in new_partitions or needs_ingest(key, latest, files_held=batch in held):
                run_requests.append(dg.RunRequest(run_key=_ingest_run_key(batch, key, latest), partition_key=batch, job_name=ingest_batch.name))
        if gone:  # the corpus run removes the batches' files and pages (assets.retire_gone_batches)
            run_requests.append(dg.RunRequest(job_name=build_corpus.name, tags={"retired_batches": ",".join(gone)}))
        requested.update(ready)
        for batch in gone:
            requested.pop(batch, None)  # should its folder come back, it is ingested again
        return dg.SensorResult(
            run_requests=run_requests,
            dynamic_partitions_requests=[
                *([scrape_batches.build_add_request(new_partitions)] if new_partitions else []),
                *([scrape_batches.build_delete_request(gone)] if gone else []),
            ],
            cursor=json.dumps(requested, sort_keys=True),
        )

    return scrape_batches_sensor


def _ingest_run_key(batch: str, key: str, latest: Ingestion | None) -> str:
    """One run per state of a batch's files and parser, even if the cursor were lost: its ingest key, and its
    latest ingestion when there is one (files put back as they were before, or a folder back after it was
    removed, would otherwise meet a run key already used, and Dagster skips those)."""
    return f"{batch}:{key}" if latest is None else f"{batch}:{key}:after-{latest.storage_id}"


def make_corpus_after_ingest_sensor() -> dg.RunStatusSensorDefinition:
    return corpus_run_after(
        ingest_batch,
        name="corpus_after_ingest",
        description="After a batch is ingested, rebuild the corpus (it reads the parsed pages of every batch).",
        request=lambda run: dg.RunRequest(run_key=f"after-ingest:{run.run_id}", tags={"ingest_run": run.run_id}),
    )


def corpus_run_after(
    job: dg.JobDefinition, *, name: str, description: str, request: Callable[[dg.DagsterRun], dg.RunRequest | dg.SkipReason]
) -> dg.RunStatusSensorDefinition:
    """A sensor that, after each successful run of `job`, asks for what `request` makes of that run: a
    build_corpus run, or a skip."""

    # A run status sensor rather than declarative automation: it fires exactly once per successful
    # run (its cursor is the run event log), needs no reasoning about the status of every
    # partition (AutomationCondition.eager() waits while any batch is missing or in progress), and can
    # be tested by calling it with the run's success event.
    @dg.run_status_sensor(
        name=name,
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[job],
        request_job=build_corpus,
        minimum_interval_seconds=interval_seconds(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=description,
    )
    def corpus_after(context: dg.RunStatusSensorContext):
        return request(context.dagster_run)

    return corpus_after

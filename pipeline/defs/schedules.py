"""Schedules: rebuild the corpus daily, so it also follows changes that no new scrape announces
(a new expectation suite, new corpus code; a new parser version re-ingests through the sensor). Cron and time zone come from the environment when the
code location loads: `PIPELINE_CORPUS_CRON` (default "0 4 * * *"), `PIPELINE_TIMEZONE` (default Asia/Tokyo).
"""

from __future__ import annotations

import os

import dagster as dg

from pipeline.defs.jobs import build_corpus

CRON_ENV = "PIPELINE_CORPUS_CRON"
TIMEZONE_ENV = "PIPELINE_TIMEZONE"
DEFAULT_CRON = "0 4 * * *"
DEFAULT_TIMEZONE = "Asia/Tokyo"


def make_corpus_schedule() -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="corpus_schedule",
        job=build_corpus,
        cron_schedule=os.environ.get(CRON_ENV) or DEFAULT_CRON,
        execution_timezone=os.environ.get(TIMEZONE_ENV) or DEFAULT_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Rebuilds every corpus dataset from the parsed pages of all batches.",
    )

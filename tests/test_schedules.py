"""The corpus schedule: daily at 04:00 Tokyo time by default, cron and time zone from the environment,
on by default, and a tick requests a build_corpus run."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from pipeline.defs import make_defs
from pipeline.defs.schedules import make_corpus_schedule


def test_defaults(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PIPELINE_CORPUS_CRON", raising=False)
    monkeypatch.delenv("PIPELINE_TIMEZONE", raising=False)
    schedule = make_corpus_schedule()
    assert schedule.cron_schedule == "0 4 * * *"
    assert schedule.execution_timezone == "Asia/Tokyo"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "build_corpus"


def test_cron_and_time_zone_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PIPELINE_CORPUS_CRON", "30 2 * * 1")
    monkeypatch.setenv("PIPELINE_TIMEZONE", "Europe/Paris")
    schedule = make_defs().resolve_schedule_def("corpus_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 2 * * 1", "Europe/Paris")


def test_a_tick_requests_one_corpus_run():
    schedule = make_corpus_schedule()
    tick = dt.datetime(2026, 11, 24, 4, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    data = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick))
    assert len(data.run_requests) == 1
    assert data.run_requests[0].job_name in (None, "build_corpus")  # None: the schedule's own job

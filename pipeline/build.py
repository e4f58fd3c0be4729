"""`python -m pipeline build`: run the `build_corpus` job in-process and print a reconciled summary.

The run is recorded in a persistent Dagster instance ($DAGSTER_HOME, else ./.dagster_home), so the
webserver (`dagster dev -m pipeline.defs` with the same DAGSTER_HOME) shows the runs built from the CLI.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import dagster as dg
import pyarrow.parquet as pq

from pipeline.defs import make_defs
from pipeline.defs.checks import failed_check_summary

JOB_NAME = "build_corpus"
DEFAULT_HOME = ".dagster_home"
ROW_COUNT = "dagster/row_count"
# Dagster's own console log: warnings and errors only; progress is printed one line per asset instead.
RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@contextlib.contextmanager
def open_instance() -> Iterator[dg.DagsterInstance]:
    """The persistent instance: $DAGSTER_HOME when set, else ./.dagster_home (created, telemetry off)."""
    if os.environ.get("DAGSTER_HOME"):
        instance = dg.DagsterInstance.get()
    else:
        home = Path.cwd() / DEFAULT_HOME
        home.mkdir(parents=True, exist_ok=True)
        config = home / "dagster.yaml"
        if not config.exists():  # the same local instance `make ui` creates
            config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
        instance = dg.DagsterInstance.local_temp(tempdir=str(home))
    with instance:
        yield instance


@dataclasses.dataclass
class Summary:
    rows: dict[str, int]  # dataset -> rows written in this run
    rejects_by_reason: dict[tuple[str, str], int]  # (stage, reason) -> rows
    checks_passed: list[str]
    checks_failed: list[str]
    failed_steps: list[str]
    success: bool

    @property
    def duplicates(self) -> int | None:
        if "rejects" not in self.rows:
            return None
        return sum(n for (stage, _), n in self.rejects_by_reason.items() if stage == "dedupe")

    @property
    def reconciles(self) -> bool | None:
        """raw_pages == consultations + rejects; None when one of them was not built."""
        if not all(name in self.rows for name in ("raw_pages", "consultations", "rejects")):
            return None
        return self.rows["raw_pages"] == self.rows["consultations"] + self.rows["rejects"]


class _Progress:
    """Prints one line per materialised asset, check result and failed step, as the run goes."""

    def __init__(self, out: TextIO):
        self.out = out

    def __call__(self, entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        if event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
            rows = materialization.metadata.get(ROW_COUNT)
            count = f"{rows.value:>7} rows" if rows is not None else ""
            self._line(f"  built   {materialization.asset_key.to_user_string():<20} {count}")
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            verdict = "passed" if evaluation.passed else f"FAILED ({evaluation.severity.value})"
            self._line(f"  check   {evaluation.asset_key.to_user_string()}:{evaluation.check_name} {verdict}")
        elif event.is_step_failure:
            error = event.step_failure_data.error
            first_line = error.message.strip().splitlines()[0] if error is not None else ""
            reason = re.sub(r"^[\w.]+(Error|Exception): ", "", first_line).rstrip(":")
            self._line(f"  FAILED  step {event.step_key}: {reason} (its downstream assets will not run)")

    def _line(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def run_build(raw_dir: Path, processed_dir: Path, *, out: TextIO = sys.stdout) -> int:
    """Build every dataset from `raw_dir` into `processed_dir`; 0 on success, 1 on any failure."""
    raw_dir, processed_dir = Path(raw_dir).resolve(), Path(processed_dir).resolve()
    if not raw_dir.is_dir():
        print(f"error: raw folder {raw_dir} does not exist", file=out)
        return 1
    processed_dir.mkdir(parents=True, exist_ok=True)
    job = make_defs(raw_dir=raw_dir, processed_dir=processed_dir).resolve_job_def(JOB_NAME)

    print(f"Building {processed_dir} from {raw_dir}", file=out, flush=True)
    with open_instance() as instance:
        run_id = str(uuid.uuid4())
        instance.add_event_listener(run_id, _Progress(out))
        result = job.execute_in_process(
            instance=instance, run_id=run_id, run_config=RUN_CONFIG, raise_on_error=False
        )
    summary = summarise(result, processed_dir)
    print_summary(summary, out, run_id=run_id)
    ok = summary.success and summary.reconciles is True and not summary.checks_failed
    return 0 if ok else 1


def summarise(result: dg.ExecuteInProcessResult, processed_dir: Path) -> Summary:
    rows: dict[str, int] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        count = materialization.metadata.get(ROW_COUNT)
        if count is not None:
            rows[materialization.asset_key.to_user_string()] = int(count.value)
    rejects_by_reason: dict[tuple[str, str], int] = {}
    if "rejects" in rows:
        rejects = pq.read_table(processed_dir / "rejects", columns=["stage", "reject_reason"])
        counter = collections.Counter(zip(rejects["stage"].to_pylist(), rejects["reject_reason"].to_pylist()))
        rejects_by_reason = dict(sorted(counter.items()))
    evaluations = result.get_asset_check_evaluations()
    return Summary(
        rows=rows,
        rejects_by_reason=rejects_by_reason,
        checks_passed=sorted(f"{e.asset_key.to_user_string()}:{e.check_name}" for e in evaluations if e.passed),
        checks_failed=sorted(failed_check_summary(e) for e in evaluations if not e.passed),
        failed_steps=sorted(result.get_failed_step_keys()),
        success=result.success,
    )


def print_summary(summary: Summary, out: TextIO, *, run_id: str = "") -> None:
    def count(name: str) -> str:
        return str(summary.rows[name]) if name in summary.rows else "not built"

    duplicates = summary.duplicates
    lines: list[tuple[str, object]] = [
        ("pages in (raw_pages)", count("raw_pages")),
        ("parsed pages", count("parsed_pages")),
        ("consultations out", count("consultations")),
        ("rejects", count("rejects")),
        *((f"  {stage} / {reason}", n) for (stage, reason), n in summary.rejects_by_reason.items()),
        ("duplicates", duplicates if duplicates is not None else "not built"),
        ("sections", count("sections")),
        ("related questions", count("related_questions")),
        (f"checks passed ({len(summary.checks_passed)})", ", ".join(summary.checks_passed) or "-"),
        (f"checks failed ({len(summary.checks_failed)})", ", ".join(summary.checks_failed) or "-"),
    ]
    if summary.failed_steps:
        lines.append(("failed steps", ", ".join(summary.failed_steps)))
    width = max(len(label) for label, _ in lines) + 2

    print("", file=out)
    print(f"Summary (run {run_id})" if run_id else "Summary", file=out)
    for label, value in lines:
        print(f"  {label:<{width}}{value}", file=out)

    if summary.reconciles is True:
        r = summary.rows
        print(
            f"Counts reconcile: raw_pages {r['raw_pages']} = consultations {r['consultations']}"
            f" + rejects {r['rejects']}",
            file=out,
        )
    elif summary.reconciles is False:
        r = summary.rows
        print(
            f"ERROR: COUNTS DO NOT RECONCILE: raw_pages {r['raw_pages']} != consultations"
            f" {r['consultations']} + rejects {r['rejects']}",
            file=out,
        )
    else:
        print("Counts not reconciled: raw_pages, consultations or rejects was not built", file=out)
    status = "succeeded" if summary.success and not summary.checks_failed else "FAILED"
    print(f"Build {status}", file=out, flush=True)

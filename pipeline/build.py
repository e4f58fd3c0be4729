"""`python -m pipeline build`: ingest new or changed batches, rebuild the corpus, print a reconciled summary.

Like the sensor, it adds a partition for every batch folder under raw/ (but does not wait for a batch
to be ready: it processes what is there). A batch is ingested (job `ingest_batch`, one run per batch)
when its ingest key (its files' fingerprint, the parser's version, the parsed_pages schema) differs
from the one recorded with its last `parsed_pages` materialisation or one of its files is gone or unreadable. A
batch whose folder left raw/ loses its partition. The corpus (job `build_corpus`) is rebuilt when a batch was
ingested or removed, or when some file of a corpus dataset is missing or unreadable, or the dataset is older than
the latest ingestion, or still holds a removed batch (a build killed half-way). `force` does both regardless. A
raw/ with no batch folder changes nothing (it may be unmounted); links to folders in raw/ are not batches. Runs
are recorded in a persistent instance ($DAGSTER_HOME, else ./.dagster_home), so the webserver (`dagster dev -m
pipeline.defs` with the same DAGSTER_HOME) shows them and the partitions.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import gc
import json
import logging
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from pipeline.core import batches
from pipeline.core.locking import corpus_reader, corpus_writer
from pipeline.core.memory import release_freed_memory
from pipeline.core.parts import PARTED_DATASETS
from pipeline.core.schemas import DATASETS
from pipeline.defs import make_defs
from pipeline.defs.assets import INGEST_DATASETS, RECOMPUTE_TAG, needs_ingest, orphaned_batches
from pipeline.defs.checks import VALIDATED_DATASETS, expectation_check_key, failed_check_summary
from pipeline.defs.io_manager import ParquetUPathIOManager, data_files, read_parquet, readable_footer
from pipeline.defs.maintenance import remove_damaged_files
from pipeline.defs.partitions import (
    CORPUS_RECIPE,
    DATASET_CARD,
    PARSED_PAGES,
    add_batches,
    ingest_key,
    instance_taken,
    latest_ingestion,
    metadata_value,
    retire_batches,
)
from pipeline.defs.resources import QualitySettings

INGEST_JOB = "ingest_batch"
CORPUS_JOB = "build_corpus"
CORPUS_DATASETS = ("consultations", "page_versions", "rejects", "sections", "related_questions")  # in the summary
# The datasets a corpus run stores in one file each (the parted ones are checked part by part).
WHOLE_CORPUS_DATASETS = tuple(name for name in DATASETS if name not in (*INGEST_DATASETS, *PARTED_DATASETS))
ROLES = ("current", "unchanged", "superseded", "alias")
# What a corpus run materialises: each records the corpus recipe it was made under (a failed run or a UI run of
# some of them leaves them apart).
CORPUS_ASSET_KEYS = (*(dg.AssetKey(name) for name in DATASETS if name not in INGEST_DATASETS), DATASET_CARD)
DEFAULT_HOME = ".dagster_home"
LOCAL_INSTANCE_CONFIG = Path(__file__).with_name("dagster.yaml")  # the local instance's settings (run queue limits)
ROW_COUNT = "dagster/row_count"
# Dagster's own console log: warnings and errors only; progress is printed one line per asset instead.
RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}, "progress": {}}}
PROGRESS_LOGGER = "pipeline.build.progress"


def empty_raw(raw_dir: Path, processed_dir: Path) -> str:
    # As `batches.gone_batches` has it: an empty raw/ is likelier unmounted than every scrape deleted.
    return (
        f"{raw_dir} holds no batch folder: nothing is ingested, removed or rebuilt, and {processed_dir} stays as it is"
        " (an empty raw folder is likelier unmounted than every scrape deleted)"
    )


@contextlib.contextmanager
def open_instance() -> Iterator[dg.DagsterInstance]:
    """The persistent instance: $DAGSTER_HOME when set, else ./.dagster_home; a folder missing or empty is set up
    with the project's dagster.yaml (the same local instance `make ui` creates)."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / DEFAULT_HOME)
    home.mkdir(parents=True, exist_ok=True)
    if not any(not entry.name.startswith(".") for entry in home.iterdir()):  # hidden files aside (.DS_Store)
        shutil.copyfile(LOCAL_INSTANCE_CONFIG, home / "dagster.yaml")
    with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
        yield instance


@dataclasses.dataclass
class Summary:
    rows: dict[str, int]  # dataset -> rows on disk (every batch); absent when not built
    ingested: list[str]  # batches ingested by this build
    retired: list[str]  # batches whose folder left raw/, taken out of the corpus by this build
    corpus_rebuilt: bool
    roles: dict[str, int]  # page_versions role -> rows
    rejects_by_reason: dict[tuple[str, str], int]  # (stage, reason) -> rows
    checks_passed: list[str]
    checks_failed: list[str]
    checks_standing: bool  # no corpus run now: the checks are the latest results of each (the corpus as it stands)
    failed_steps: list[str]
    run_ids: list[str]
    success: bool

    @property
    def reconciles(self) -> bool | None:
        """raw_pages == page_versions + rejects and consultations == current versions; None if one is missing."""
        if not all(name in self.rows for name in ("raw_pages", "consultations", "page_versions", "rejects")):
            return None
        r = self.rows
        return r["raw_pages"] == r["page_versions"] + r["rejects"] and r["consultations"] == self.roles.get("current", 0)

    @property
    def ok(self) -> bool:
        return self.success and self.reconciles is True and not self.checks_failed


@dg.logger(description="Hands the run's events to the Python logger pipeline.build.progress (the build's progress lines).")
def progress_logger(_init_context) -> logging.Logger:
    logger = logging.getLogger(PROGRESS_LOGGER)
    logger.setLevel(logging.DEBUG)  # every event: materialisations are logged at debug level
    logger.propagate = False
    return logger


def build_job(name: str, raw_dir: str, processed_dir: str, quality: str) -> dg.JobDefinition:
    """A job as the build runs it: every step in this process, progress through `progress_logger`, the quality
    settings given (`QualitySettings.as_json`: Dagster keeps a job made from the same arguments, so settings read
    here would be those of the process's first build). Module-level, so `dg.build_reconstructable_job` can name
    it (the run gets no captured outputs)."""
    loggers = {"console": dg.colored_console_logger, "progress": progress_logger}
    settings = QualitySettings(**json.loads(quality))
    defs = make_defs(raw_dir, processed_dir, executor=dg.in_process_executor, loggers=loggers, quality=settings)
    return defs.resolve_job_def(name)


class _Progress(logging.Handler):
    """Prints one line per materialised asset, check result and failed step, as the run goes."""

    def __init__(self, out: TextIO):
        super().__init__(logging.DEBUG)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_event", None)
        if event is None:
            return
        if event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
            rows = materialization.metadata.get(ROW_COUNT)
            count = f"{rows.value:>7} rows" if rows is not None else ""
            name = materialization.asset_key.to_user_string()
            if materialization.partition:
                name += f"[{materialization.partition}]"
            self._line(f"  built   {name:<30} {count}")
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


@contextlib.contextmanager
def progress_to(out: TextIO) -> Iterator[None]:
    logger = logging.getLogger(PROGRESS_LOGGER)
    handler = _Progress(out)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def run_build(raw_dir: Path, processed_dir: Path, *, force: bool = False, verify: bool = False, out: TextIO = sys.stdout) -> int:
    """Bring `processed_dir` up to date with `raw_dir`; 0 on success, 1 on any failure. `verify`: every stored file
    is read whole first, and those damaged are made again (`remove_damaged`)."""
    raw_dir, processed_dir = Path(raw_dir).resolve(), Path(processed_dir).resolve()
    if not raw_dir.is_dir():
        print(f"error: raw folder {raw_dir} {'is not a folder' if raw_dir.exists() else 'does not exist'}", file=out)
        return 1
    if processed_dir.exists() and not processed_dir.is_dir():
        print(f"error: processed folder {processed_dir} is not a folder", file=out)
        return 1
    processed_dir.mkdir(parents=True, exist_ok=True)

    print(f"Building {processed_dir} from {raw_dir}", file=out, flush=True)
    with open_instance() as instance, progress_to(out), frozen_imports():
        if refusal := instance_taken(instance, raw_dir, processed_dir):
            print(f"error: {refusal}", file=out, flush=True)
            return 1
        # Not built on files it could not verify: the summary would call them sound (or a build replace them)
        if verify and not remove_damaged(processed_dir, out):
            advice = "make them readable or remove them, then build again"
            print(f"error: --verify could not read the files named above: {advice}", file=out, flush=True)
            return 1
        for message in batches.skipped_in_raw(raw_dir):
            print(message, file=out, flush=True)
        snapshots = [batches.snapshot(folder) for folder in batches.batch_dirs(raw_dir)]
        if snapshots:
            done = update(instance, snapshots, raw_dir, processed_dir, force=force, out=out)
        else:
            print(empty_raw(raw_dir, processed_dir), file=out, flush=True)
            done = Done(standing=standing_checks(instance))
    with corpus_reader(processed_dir, waiting=lambda message: print(message, file=out, flush=True)):
        summary = summarise(done, processed_dir)
    if not snapshots and not summary.rows:
        print(f"Nothing to build: add scrapes as folders {raw_dir}/<batch>/", file=out, flush=True)
        return 0
    print_summary(summary, out)
    return 0 if summary.ok else 1


def remove_damaged(processed_dir: Path, out: TextIO) -> bool:
    """Remove every stored file that does not read whole because it is damaged (`remove_damaged_files`): the build
    then makes each again, as it does any file gone (a batch's ingest files: the batch is ingested again; a corpus
    file: the corpus is made again). True when every file was read, or found damaged."""
    with corpus_writer(processed_dir, waiting=lambda message: print(message, file=out, flush=True)):
        found = remove_damaged_files(UPath(processed_dir))
    for file in found:
        print(file.report(), file=out, flush=True)
    if not found:
        print("Verified: every stored file reads whole", file=out, flush=True)
    return all(file.damaged for file in found)


@dataclasses.dataclass(frozen=True)
class Done:
    """What a build ran: its runs, the batches it ingested and removed, and the checks it stands on when it made
    no corpus (`standing_checks`)."""

    results: list[RunOutcome] = dataclasses.field(default_factory=list)
    ingested: list[str] = dataclasses.field(default_factory=list)
    retired: list[str] = dataclasses.field(default_factory=list)
    corpus_rebuilt: bool = False
    standing: tuple[dg.AssetCheckEvaluation, ...] = ()


def update(
    instance: dg.DagsterInstance, snapshots: list[batches.BatchSnapshot], raw_dir: Path, processed_dir: Path, *, force: bool, out: TextIO
) -> Done:
    """Ingest the batches that are new or changed (all with `force`), then make the corpus when it is not current."""
    in_raw = [snap.name for snap in snapshots]
    add_batches(instance, in_raw)  # as the sensor would
    retired = retire_batches(instance, in_raw)
    for batch in retired:
        print(f"Batch {batch} left {raw_dir}: the corpus is made again without it", file=out, flush=True)
    storage = ParquetUPathIOManager(UPath(processed_dir))
    stale = [
        snap.name for snap in snapshots
        if force
        or needs_ingest(ingest_key(snap.fingerprint), latest_ingestion(instance, snap.name), files_held=storage.holds_batch(INGEST_DATASETS, snap.name))
    ]  # fmt: skip
    results = []
    for batch in stale:
        print(f"Ingesting batch {batch}", file=out, flush=True)
        results.append(run_job(INGEST_JOB, raw_dir, processed_dir, instance, partition_key=batch))
    if not all(result.success for result in results):
        print("Not rebuilding the corpus: a batch failed to ingest", file=out, flush=True)
        return Done(results, stale, retired)
    why_stale = None if force or stale or retired else corpus_staleness(instance, processed_dir, in_raw)
    if force or stale or retired or why_stale:
        print("Building the corpus from every batch" + (f" ({why_stale})" if why_stale else ""), file=out, flush=True)
        freeze_validation_imports()
        results.append(run_job(CORPUS_JOB, raw_dir, processed_dir, instance, recompute=force))
        return Done(results, stale, retired, corpus_rebuilt=True)
    print("nothing new: every batch is ingested and the corpus is up to date", file=out, flush=True)
    return Done(results, stale, retired, standing=standing_checks(instance))


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """What the summary needs of a finished run (its result is only valid inside `execute_job`'s context)."""

    run_id: str
    success: bool
    materialized: frozenset[str]  # asset keys
    evaluations: tuple[dg.AssetCheckEvaluation, ...]
    failed_steps: frozenset[str]


def run_job(
    name: str,
    raw_dir: Path,
    processed_dir: Path,
    instance: dg.DagsterInstance,
    partition_key: str | None = None,
    *,
    recompute: bool = False,
) -> RunOutcome:
    """Runs the job in this process. Through `execute_job`, not `execute_in_process`: the latter keeps
    every output of the run (every table) in memory until it ends, for `output_for_node`. `recompute`: the
    corpus steps make every part again rather than keep the stored ones."""
    quality = QualitySettings.from_env().as_json()
    job = dg.build_reconstructable_job("pipeline.build", "build_job", (name, str(raw_dir), str(processed_dir), quality))
    tags = {"dagster/partition": partition_key} if partition_key else {}
    tags |= {RECOMPUTE_TAG: "true"} if recompute else {}
    with dg.execute_job(job, instance, run_config=RUN_CONFIG, tags=tags or None, raise_on_error=False) as result:
        outcome = RunOutcome(
            run_id=result.run_id,
            success=result.success,
            materialized=frozenset(event.asset_key.to_user_string() for event in result.get_asset_materialization_events()),
            evaluations=tuple(result.get_asset_check_evaluations()),
            failed_steps=frozenset(result.get_failed_step_keys()),
        )
    # The step hooks release what a step freed, but its output table is still referenced when they run: it
    # goes with the run. Released here, or every ingested batch's table stayed with the allocator (≈ 100 MB
    # a 10k batch: 1 GB after ten batches, before the corpus run even starts).
    release_freed_memory()
    return outcome


@contextlib.contextmanager
def frozen_imports() -> Iterator[None]:
    """Everything loaded so far (Dagster, GX, the instance) moved out of the cycle collector's way: the
    collections after every step and run then walk only what the runs made (0.02 s instead of 0.2 s)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def freeze_validation_imports() -> None:
    """Great Expectations imported before the corpus run (which validates every dataset) and frozen with the
    rest: imported inside a step, its objects were walked by every later collection (≈ 0.09 s each, after
    every step). Not before: the ingest runs and a no-op build do without it (≈ 2 s to import)."""
    from pipeline.core.validation import import_gx

    import_gx()
    gc.freeze()


def dataset_files(processed_dir: Path, dataset: str) -> list[Path]:
    """The dataset's Parquet files (one per batch, or part-0); hidden temp files are not part of it."""
    return data_files(processed_dir / dataset)


def corpus_staleness(instance: dg.DagsterInstance, processed_dir: Path, in_raw: list[str]) -> str | None:
    """Why the corpus must be made again, or None when it is current: every dataset of the corpus run is on disk
    and readable, a parted one as the parts its latest materialisation stored (a part deleted or damaged since,
    or left by a build stopped half-way, or a corpus written before parts, is made again), was materialised after
    the latest batch was ingested, holds no batch that is no partition any more (its folder left raw/, and the
    corpus run that was to remove it did not finish), and was made by the corpus code, suites and quality
    settings of now."""
    storage = ParquetUPathIOManager(UPath(processed_dir))
    if not all(storage.stored_as_recorded(instance, name) for name in PARTED_DATASETS):
        return "a part file is missing, damaged or not the one its last run recorded"
    for name in WHOLE_CORPUS_DATASETS:
        files = dataset_files(processed_dir, name)
        if not files or any(readable_footer(UPath(path)) is None for path in files):
            return f"{name} is missing or damaged"
    if orphaned_batches(instance, storage, lambda: in_raw):
        return "it still holds a batch whose folder left raw/"
    ingested = _latest_storage_id(instance, PARSED_PAGES)
    latest = [instance.fetch_materializations(key, limit=1).records for key in CORPUS_ASSET_KEYS]
    if not all(records and records[0].storage_id > ingested for records in latest):
        return "its last run did not finish after the latest ingest"
    recipe = QualitySettings.from_env().corpus_recipe()
    if any(metadata_value(records[0], CORPUS_RECIPE) != recipe for records in latest):
        return "the corpus code, an expectation suite or a quality setting changed since its last run"
    return None


def _latest_storage_id(instance: dg.DagsterInstance, key: dg.AssetKey) -> int:
    records = instance.fetch_materializations(key, limit=1).records
    return records[0].storage_id if records else -1


def standing_checks(instance: dg.DagsterInstance) -> tuple[dg.AssetCheckEvaluation, ...]:
    """The latest result of every dataset check: what a build that runs nothing reports, so that its verdict is
    the one of the run that made the corpus as it stands (a failed check fails every build until fixed)."""
    keys = [expectation_check_key(dataset) for dataset in VALIDATED_DATASETS]
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    events = [records[key].event for key in keys if key in records and records[key].event is not None]
    return tuple(
        event.dagster_event.asset_check_evaluation_data
        for event in events
        if event.dagster_event is not None and event.dagster_event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    )


def summarise(done: Done, processed_dir: Path) -> Summary:
    """Counts from the Parquet files (every batch, whether rebuilt now or not); checks from the runs, else the
    `standing` ones."""
    materialized = {key for result in done.results for key in result.materialized}
    # A corpus dataset the rebuild did not reach (a blocking check stopped it) is stale on disk: not built.
    present = [
        name
        for name in (*INGEST_DATASETS, *CORPUS_DATASETS)
        if _on_disk(processed_dir, name) and (name in materialized or name in INGEST_DATASETS or not done.corpus_rebuilt)
    ]
    rows = {name: sum(pq.read_metadata(f).num_rows for f in dataset_files(processed_dir, name)) for name in present}
    evaluations = [e for result in done.results for e in result.evaluations] + list(done.standing)
    return Summary(
        rows=rows,
        ingested=done.ingested,
        retired=done.retired,
        corpus_rebuilt=done.corpus_rebuilt,
        roles=_count(processed_dir, "page_versions", ["role"]) if "page_versions" in rows else {},
        rejects_by_reason=_count(processed_dir, "rejects", ["stage", "reject_reason"]) if "rejects" in rows else {},
        checks_passed=sorted(f"{e.asset_key.to_user_string()}:{e.check_name}" for e in evaluations if e.passed),
        checks_failed=sorted(failed_check_summary(e) for e in evaluations if not e.passed),
        checks_standing=bool(done.standing),
        failed_steps=sorted(step for result in done.results for step in result.failed_steps),
        run_ids=[result.run_id for result in done.results],
        success=all(result.success for result in done.results),
    )


def _on_disk(processed_dir: Path, dataset: str) -> bool:
    """Whether a build wrote the dataset: its files, or a parted dataset's folder, which holds no file when no
    batch has a page in it (every page rejected)."""
    return bool(dataset_files(processed_dir, dataset)) or (dataset in PARTED_DATASETS and (processed_dir / dataset).is_dir())


def _count(processed_dir: Path, dataset: str, columns: list[str]) -> dict:
    # File by file, through read_parquet: a damaged file fails naming itself and the way out (--verify).
    tables = [read_parquet(UPath(path), columns) for path in dataset_files(processed_dir, dataset)]
    if not tables:
        return {}
    table = pa.concat_tables(tables)
    values = [table[name].to_pylist() for name in columns]
    keys = values[0] if len(columns) == 1 else zip(*values)
    return dict(sorted(collections.Counter(keys).items()))


def print_summary(summary: Summary, out: TextIO) -> None:
    def count(name: str) -> object:
        return summary.rows.get(name, "not built")

    roles = summary.roles
    as_of = ", last corpus run" if summary.checks_standing else ""
    lines: list[tuple[str, object]] = [
        ("batches ingested now", ", ".join(summary.ingested) or "none"),
        *([("batches removed now", ", ".join(summary.retired))] if summary.retired else []),
        ("corpus rebuilt now", "yes" if summary.corpus_rebuilt else "no"),
        ("pages in (raw_pages)", count("raw_pages")),
        ("parsed pages", count("parsed_pages")),
        ("consultations out", count("consultations")),
        ("page versions", count("page_versions")),
        *(_role_lines(roles) if "page_versions" in summary.rows else []),
        ("rejects", count("rejects")),
        *((f"  {stage} / {reason}", n) for (stage, reason), n in summary.rejects_by_reason.items()),
        ("sections", count("sections")),
        ("related questions", count("related_questions")),
        (f"checks passed ({len(summary.checks_passed)}{as_of})", ", ".join(summary.checks_passed) or "-"),
        (f"checks failed ({len(summary.checks_failed)}{as_of})", ", ".join(summary.checks_failed) or "-"),
    ]
    if summary.failed_steps:
        lines.append(("failed steps", ", ".join(summary.failed_steps)))
    width = max(len(label) for label, _ in lines) + 2

    print("", file=out)
    print(f"Summary (runs: {', '.join(summary.run_ids)})" if summary.run_ids else "Summary (no runs)", file=out)
    for label, value in lines:
        print(f"  {label:<{width}}{value}", file=out)

    if summary.reconciles is None:
        print("Counts not reconciled: raw_pages, consultations, page_versions or rejects was not built", file=out)
    else:
        verdict = "Counts reconcile" if summary.reconciles else "ERROR: COUNTS DO NOT RECONCILE"
        print(f"{verdict}: {_equations(summary.rows, roles.get('current', 0))}", file=out)
        if not summary.reconciles and not summary.checks_failed and not summary.failed_steps:
            hint = "a dataset's file edited or replaced outside the build? `python -m pipeline build --force` makes every file again"
            print(f"  ({hint})", file=out)
    print(f"Build {'succeeded' if summary.ok else 'FAILED'}", file=out, flush=True)


def _role_lines(roles: dict[str, int]) -> list[tuple[str, int]]:
    """Versions by role; "collapsed" are the versions that are not a page's current one."""
    collapsed = sum(n for role, n in roles.items() if role != "current")
    return [*((f"  {role}", roles.get(role, 0)) for role in ROLES), ("  collapsed (not current)", collapsed)]


def _equations(rows: dict[str, int], current: int) -> str:
    raw, versions, rejects, consultations = (rows[n] for n in ("raw_pages", "page_versions", "rejects", "consultations"))
    return (
        f"raw_pages {raw} {'=' if raw == versions + rejects else '!='} page_versions {versions} + rejects {rejects};"
        f" consultations {consultations} {'=' if consultations == current else '!='} current versions {current}"
    )

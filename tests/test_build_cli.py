"""`python -m pipeline build`: exit code, summary numbers, outputs, the persistent instance; and
`run_build`'s failure paths."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from upath import UPath

from pipeline.build import _count, dataset_files, run_build
from pipeline.core import screening
from pipeline.core.parts import PARTED_DATASETS
from pipeline.core.schemas import DATASETS
from pipeline.defs.checks import CHECK_NAME, VALIDATED_DATASETS
from pipeline.defs.io_manager import DamagedFileError, write_parquet_atomic
from pipeline.defs.jobs import CORPUS_RUN_TAG, build_corpus

from .conftest import SAMPLE_BATCH, copy_sample_raw, make_dagster_home
from .parquet_damage import flip_bytes_in_column, refuse_to_open


def summary_value(output: str, label: str) -> str:
    match = re.search(rf"^  {re.escape(label)}\s+(.+)$", output, flags=re.MULTILINE)
    assert match, f"no {label!r} line in:\n{output}"
    return match.group(1).strip()


def rows(processed: Path, name: str) -> int:
    return pq.read_table(processed / name).num_rows


@pytest.fixture(scope="module")
def cli_build(repo_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """One `python -m pipeline build` in a fresh tmp working directory, without DAGSTER_HOME."""
    workdir = tmp_path_factory.mktemp("cli")
    raw = copy_sample_raw(repo_root, workdir / "raw_copy")
    processed = workdir / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "PIPELINE_RAW_DIR", "PIPELINE_PROCESSED_DIR")}
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", "build", "--raw", str(raw), "--processed", str(processed)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    return workdir, processed, completed


def test_cli_build_exits_0_and_writes_every_dataset(cli_build):
    _, processed, completed = cli_build
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for name in ("raw_pages", "parsed_pages", *PARTED_DATASETS):
        assert (processed / name / "sample.parquet").is_file()  # one file per batch
    for name in set(DATASETS) - {"raw_pages", "parsed_pages", *PARTED_DATASETS}:
        assert (processed / name / "part-0.parquet").is_file()


def test_cli_summary_has_the_right_numbers(cli_build):
    _, processed, completed = cli_build
    out = completed.stdout
    assert int(summary_value(out, "pages in (raw_pages)")) == rows(processed, "raw_pages") > 0
    assert int(summary_value(out, "consultations out")) == rows(processed, "consultations") > 0
    assert int(summary_value(out, "page versions")) == rows(processed, "page_versions")
    roles = pq.read_table(processed / "page_versions")["role"].to_pylist()
    for role in ("current", "unchanged", "superseded", "alias"):
        assert int(summary_value(out, f"  {role}")) == roles.count(role)
    assert int(summary_value(out, "  collapsed (not current)")) == len(roles) - roles.count("current")
    assert int(summary_value(out, "rejects")) == rows(processed, "rejects")
    assert int(summary_value(out, "sections")) == rows(processed, "sections")
    assert int(summary_value(out, "related questions")) == rows(processed, "related_questions")

    rejects = pq.read_table(processed / "rejects").to_pylist()
    for stage, reason in {(r["stage"], r["reject_reason"]) for r in rejects}:
        expected = sum(1 for r in rejects if (r["stage"], r["reject_reason"]) == (stage, reason))
        assert int(summary_value(out, f"  {stage} / {reason}")) == expected
    assert {r["stage"] for r in rejects} <= {"parse", "validate"}

    assert summary_value(out, "batches ingested now") == "sample"
    assert summary_value(out, "corpus rebuilt now") == "yes"
    assert summary_value(out, "checks failed (0)") == "-"
    passed = summary_value(out, f"checks passed ({len(VALIDATED_DATASETS)})")
    for name in VALIDATED_DATASETS:
        assert f"{name}:expectations" in passed
    n, current = rows(processed, "raw_pages"), roles.count("current")
    assert (
        f"Counts reconcile: raw_pages {n} = page_versions {len(roles)} + rejects {rows(processed, 'rejects')};"
        f" consultations {current} = current versions {current}" in out
    )
    assert "Build succeeded" in out


def test_cli_prints_progress_one_line_per_asset(cli_build):
    _, _, completed = cli_build
    built = re.findall(r"^  built\s+(\S+)\s+\d+ rows$", completed.stdout, flags=re.MULTILINE)
    assert sorted(built) == sorted(
        f"{name}[sample]" if name in ("raw_pages", "parsed_pages") else name for name in DATASETS
    )


def test_cli_records_the_run_in_a_persistent_default_instance(cli_build):
    workdir, _, _ = cli_build
    home = workdir / ".dagster_home"
    assert (home / "dagster.yaml").is_file()
    with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
        runs = instance.get_runs()
        partitions = instance.get_dynamic_partitions("scrape_batches")
    assert [(run.job_name, run.status) for run in reversed(runs)] == [
        ("ingest_batch", dg.DagsterRunStatus.SUCCESS),
        ("build_corpus", dg.DagsterRunStatus.SUCCESS),
    ]
    assert runs[-1].tags["dagster/partition"] == "sample"
    assert partitions == ["sample"]  # what `make ui` shows as the asset partitions


def test_the_default_instance_queues_runs_within_the_project_limits(cli_build):
    """The daemon of `make ui` launches at most two runs at once (a parser upgrade queues every batch) and
    one corpus run at a time; Dagster's own default is ten runs and no tag limit."""
    workdir, _, _ = cli_build
    with dg.DagsterInstance.local_temp(tempdir=str(workdir / ".dagster_home")) as instance:
        queue = instance.get_concurrency_config().run_queue_config
    assert queue.max_concurrent_runs == 2
    corpus_tags = build_corpus.tags
    assert [(limit["key"], limit["value"], limit["limit"]) for limit in queue.tag_concurrency_limits] == [
        (CORPUS_RUN_TAG, corpus_tags[CORPUS_RUN_TAG], 1)
    ]


def test_a_build_that_runs_nothing_reports_the_checks_the_corpus_stands_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Its verdict is the one of the run that made the corpus: a check that failed there fails every build
    until the corpus is made again (cron sees the same exit status every day, not a failure then successes)."""
    raw = copy_sample_raw(Path(__file__).resolve().parents[1], tmp_path / "raw")
    monkeypatch.setenv("DAGSTER_HOME", str(make_dagster_home(tmp_path / "dagster_home")))
    assert run_build(raw, tmp_path / "processed", out=io.StringIO()) == 0
    with dg.DagsterInstance.get() as instance:  # as if the last corpus run had failed this check
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(asset_key=dg.AssetKey("near_duplicates"), check_name=CHECK_NAME, passed=False, severity=dg.AssetCheckSeverity.ERROR)
        )
    out = io.StringIO()
    assert run_build(raw, tmp_path / "processed", out=out) == 1
    text = out.getvalue()
    assert "nothing new" in text
    assert summary_value(text, "checks failed (1, last corpus run)").startswith("near_duplicates:expectations")
    assert len(summary_value(text, "checks passed (7, last corpus run)").split(", ")) == 7
    assert "Build FAILED" in text


def test_run_build_fails_on_a_missing_raw_folder(tmp_path: Path):
    out = io.StringIO()
    assert run_build(tmp_path / "nope", tmp_path / "processed", out=out) == 1
    assert "does not exist" in out.getvalue()


def test_run_build_says_which_folder_is_a_file(tmp_path: Path):
    (tmp_path / "raw").mkdir()
    a_file = tmp_path / "notes.md"
    a_file.write_text("x", encoding="utf-8")
    out = io.StringIO()
    assert run_build(a_file, tmp_path / "processed", out=out) == 1
    assert f"raw folder {a_file} is not a folder" in out.getvalue()
    out = io.StringIO()
    assert run_build(tmp_path / "raw", a_file, out=out) == 1  # was a FileExistsError traceback
    assert f"processed folder {a_file} is not a folder" in out.getvalue()


def test_run_build_returns_1_when_a_blocking_check_fails(sample_raw_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))  # an instance of its own: another corpus
    real_current_plan = screening._current_plan

    def plan_with_a_duplicate(*args) -> list:
        first, *rest = real_current_plan(*args)
        twice = dataclasses.replace(
            first, pages=[*first.pages, first.pages[0]], rows=[*first.rows, first.rows[0]], history=[*first.history, first.history[0]],
        )  # fmt: skip
        return [twice, *rest]

    monkeypatch.setattr(screening, "_current_plan", plan_with_a_duplicate)
    out = io.StringIO()
    assert run_build(sample_raw_dir, tmp_path / "processed", out=out) == 1
    text = out.getvalue()
    assert "consultations:expectations (expect_column_values_to_be_unique(page_id))" in summary_value(
        text, "checks failed (1)"
    )
    assert summary_value(text, "sections") == "not built"
    assert summary_value(text, "related questions") == "not built"
    assert "COUNTS DO NOT RECONCILE" in text
    assert "Build FAILED" in text
    assert not (tmp_path / "processed" / "sections").exists()


def test_counts_that_stop_reconciling_between_builds_say_how_to_make_them_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from .conftest import write_batch
    from .pages import make_page

    monkeypatch.setenv("DAGSTER_HOME", str(make_dagster_home(tmp_path / "dagster_home")))
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    write_batch(raw, "2026-11-01", {"a.txt": make_page(), "empty.txt": b""})
    assert run_build(raw, processed, out=io.StringIO()) == 0
    rejects = processed / "rejects" / "part-0.parquet"
    pq.write_table(pq.read_table(rejects).slice(0, 0), rejects)  # a row taken out by hand
    out = io.StringIO()
    assert run_build(raw, processed, out=out) == 1
    assert "ERROR: COUNTS DO NOT RECONCILE" in out.getvalue() and "build --force" in out.getvalue()
    out = io.StringIO()
    assert run_build(raw, processed, force=True, out=out) == 0, out.getvalue()
    assert "Counts reconcile" in out.getvalue()


def test_a_corpus_whose_every_page_is_rejected_is_built_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A batch of bot-check pages and an empty file: every input a reject, no consultation, no part to write.
    The parted datasets are built with no rows, not "not built", and the counts reconcile (was: Build FAILED)."""
    from .conftest import write_batch

    monkeypatch.setenv("DAGSTER_HOME", str(make_dagster_home(tmp_path / "dagster_home")))
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    notice = "アクセスが集中しています。しばらくしてから再度お試しください。\n"
    write_batch(raw, "2026-11-02", {"busy.txt": notice, "busy-again.txt": notice * 2, "empty.txt": b""})
    for build in ("first", "no-op"):
        out = io.StringIO()
        assert run_build(raw, processed, out=out) == 0, out.getvalue()
        text = out.getvalue()
        assert summary_value(text, "consultations out") == "0", build
        assert summary_value(text, "sections") == "0" and summary_value(text, "related questions") == "0"
        assert summary_value(text, "rejects") == "3"
        assert "Counts reconcile: raw_pages 3 = page_versions 0 + rejects 3" in text and "Build succeeded" in text
    assert "nothing new" in text
    assert not any(dataset_files(processed, name) for name in PARTED_DATASETS)  # the case: no part written


def test_a_build_in_a_locale_that_cannot_write_its_folder_names_escapes_them(repo_root: Path, tmp_path: Path):
    """Folder and batch names are any UTF-8 text; a terminal in ASCII or Latin-1 could not print them, and the
    build stopped at its first line (UnicodeEncodeError), the batches not built."""
    raw = tmp_path / "生データ"
    shutil.copytree(repo_root / "raw" / SAMPLE_BATCH, raw / "2024-01-01_追加")
    for index in range(4):  # loose files: their line ends in "…"
        (raw / f"memo{index}.txt").write_text("x", encoding="utf-8")
    env = {**os.environ, "DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home")), "PYTHONIOENCODING": "ascii"}
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", "build", "--raw", str(raw), "--processed", str(tmp_path / "out")],
        env=env, capture_output=True, timeout=180,
    )  # fmt: skip
    output = completed.stdout.decode("ascii")  # the output is ASCII: anything else would fail here
    assert completed.returncode == 0, output + completed.stderr.decode("ascii", "replace")
    assert "Ingesting batch 2024-01-01_\\u8ffd\\u52a0" in output
    assert "\\u751f\\u30c7\\u30fc\\u30bf" in output and "memo2.txt, \\u2026" in output
    assert "Build succeeded" in output


def test_a_raw_folder_whose_name_is_not_utf8_is_named_escaped(tmp_path: Path):
    """A folder named in Shift_JIS reaches Python as surrogates, which no encoding writes: the first line failed."""
    raw = Path(os.fsdecode(bytes(tmp_path) + b"/\x90\xb6raw"))  # 生 in Shift_JIS
    raw.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home")), "PYTHONIOENCODING": "utf-8"}
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", "build", "--raw", os.fsencode(raw), "--processed", str(tmp_path / "out")],
        env=env, capture_output=True, timeout=180,
    )  # fmt: skip
    output = completed.stdout.decode("utf-8")
    assert completed.returncode == 0, output + completed.stderr.decode("utf-8", "replace")
    assert "\\udc90\\udcb6raw holds no batch folder" in output and "Nothing to build" in output


def test_the_summary_names_a_damaged_file_it_counts(tmp_path: Path):
    """The summary reads page_versions and rejects whole, the only whole read of a file a build kept: a file damaged
    inside its pages failed there with pyarrow's message alone (no file named, no way out), after "nothing new"."""
    schema = DATASETS["page_versions"]
    rows = [{name: f"{name} {i}" for name in schema.names} | {"role": ["current", "alias"][i % 2]} for i in range(2000)]
    path = tmp_path / "page_versions" / "part-0.parquet"
    path.parent.mkdir()
    write_parquet_atomic(pa.Table.from_pylist(rows, schema=schema), schema, UPath(path))
    assert _count(tmp_path, "page_versions", ["role"]) == {"alias": 1000, "current": 1000}
    flip_bytes_in_column(path, "role")
    with pytest.raises(DamagedFileError, match=rf"{re.escape(str(path))} is damaged .*--verify"):
        _count(tmp_path, "page_versions", ["role"])


def test_build_verify_removes_damaged_files_but_stops_at_one_it_may_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A file `--verify` may not read at all (no permission; a folder where a part file should be) may be whole: it
    is named and left, the damaged one beside it removed, and the build stops (exit 1) instead of building on files
    it could not verify. Both were "Damaged: …: removed" (and unlinking the folder raised)."""
    monkeypatch.setenv("DAGSTER_HOME", str(make_dagster_home(tmp_path / "dagster_home")))
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    raw.mkdir()
    folder = processed / "sections"
    damaged, locked, not_a_file = (folder / f"2026-11-0{day}.parquet" for day in (1, 2, 3))
    not_a_file.mkdir(parents=True)
    rows = [{"page_id": f"p{i}", "section_index": 0, "heading": None, "body": f"本文 {i} " * 20} for i in range(2000)]
    for path in (damaged, locked):
        write_parquet_atomic(pa.Table.from_pylist(rows, schema=DATASETS["sections"]), DATASETS["sections"], UPath(path))
    flip_bytes_in_column(damaged, "body")
    refuse_to_open(monkeypatch, UPath(locked))

    out = io.StringIO()
    assert run_build(raw, processed, verify=True, out=out) == 1
    reports = [line for line in out.getvalue().splitlines() if line.startswith(("Damaged: ", "Unreadable: ", "error: "))]
    assert [line.split(" (")[0] for line in reports[:3]] == [f"Damaged: {damaged}", f"Unreadable: {locked}", f"Unreadable: {not_a_file}"]
    assert reports[3] == "error: --verify could not read the files named above: make them readable or remove them, then build again"
    assert reports[1].endswith("Permission denied: '" + str(locked) + "'): not removed") and reports[2].endswith("): not removed")
    assert not damaged.exists() and locked.is_file() and not_a_file.is_dir()
    assert "Build succeeded" not in out.getvalue() and "Build FAILED" not in out.getvalue()  # stopped before building

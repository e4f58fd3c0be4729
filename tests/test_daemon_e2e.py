"""The daemon end to end: `dagster dev` with the sensors on. A batch that lands in raw/ (files, then
the scraper's _SUCCESS marker) is picked up by the sensor, ingested, and the corpus rebuilt after it,
with no one launching anything; a batch folder removed from raw/ leaves the corpus the same way; stored files
deleted or damaged are made again."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from .conftest import make_dagster_home, write_batch
from .dagster_dev import dagster_dev
from .pages import make_page
from .parquet_damage import flip_bytes_in_column

RUNS_TIMEOUT = 180  # seconds for the sensor's ingest run and the chained corpus run, per batch
FIRST = {"a.txt": make_page(), "b.txt": make_page(category="労働問題", consultation="有給休暇の取得を会社に断られました。違法ではありませんか?")}
SECOND = {"c.txt": make_page(category="債権回収", consultation="友人に貸したお金を返してもらうにはどうすればよいですか?")}


def consultations(processed: Path) -> int | None:
    path = processed / "consultations"
    return pq.read_table(path).num_rows if path.is_dir() and list(path.glob("*.parquet")) else None


def daemon_folders(tmp_path: Path) -> tuple[Path, Path, Path, dict[str, str]]:
    """raw/, processed/ and a DAGSTER_HOME under tmp_path, and the environment `dagster dev` runs with them
    (the sensors ticking every second)."""
    raw, processed, home = tmp_path / "raw", tmp_path / "processed", make_dagster_home(tmp_path / "dagster_home")
    env = {
        "DAGSTER_HOME": str(home),
        "PIPELINE_RAW_DIR": str(raw),
        "PIPELINE_PROCESSED_DIR": str(processed),
        "PIPELINE_SENSOR_INTERVAL_SECONDS": "1",
    }
    return raw, processed, home, env


@pytest.mark.slow
def test_a_new_batch_folder_is_ingested_and_the_corpus_grows(tmp_path: Path):
    raw, processed, home, env = daemon_folders(tmp_path)
    write_batch(raw, "2026-11-01", FIRST)
    with dagster_dev(tmp_path, env) as server:
        server.wait_for("the first corpus", lambda: consultations(processed) == 2, RUNS_TIMEOUT)

        write_batch(raw, "2026-11-08", SECOND)  # files first, then the marker
        server.wait_for("the grown corpus", lambda: consultations(processed) == 3, RUNS_TIMEOUT)
        # the corpus run after the second ingest has finished writing every dataset
        server.wait_for("the corpus run to finish", lambda: _finished_corpus_runs(home) >= 2, RUNS_TIMEOUT)
        grown_raw_pages = pq.read_table(processed / "raw_pages").num_rows

        shutil.rmtree(raw / "2026-11-01")
        server.wait_for("the corpus without the removed batch", lambda: consultations(processed) == 1, RUNS_TIMEOUT)
        server.wait_for("its files to go", lambda: not (processed / "parsed_pages" / "2026-11-01.parquet").exists(), RUNS_TIMEOUT)
        server.wait_for("that corpus run to finish", lambda: _finished_corpus_runs(home, "scrape_batches_sensor") == 1, RUNS_TIMEOUT)

    with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
        runs = list(reversed(instance.get_runs()))
        partitions = instance.get_dynamic_partitions("scrape_batches")
    ingests = [run for run in runs if run.job_name == "ingest_batch"]
    assert [(run.tags["dagster/partition"], run.status) for run in ingests] == [
        ("2026-11-01", dg.DagsterRunStatus.SUCCESS),
        ("2026-11-08", dg.DagsterRunStatus.SUCCESS),
    ]  # each batch exactly once
    assert {run.tags["dagster/sensor_name"] for run in ingests} == {"scrape_batches_sensor"}
    chained = [run for run in runs if run.tags.get("dagster/sensor_name") == "corpus_after_ingest"]
    assert [(run.job_name, run.status) for run in chained] == [("build_corpus", dg.DagsterRunStatus.SUCCESS)] * 2
    assert [run.tags["ingest_run"] for run in chained] == [run.run_id for run in ingests]  # one per ingest run
    assert grown_raw_pages == 3
    retiring = [run for run in runs if run.tags.get("retired_batches")]
    assert [(run.job_name, run.tags["retired_batches"], run.tags["dagster/sensor_name"], run.status) for run in retiring] == [
        ("build_corpus", "2026-11-01", "scrape_batches_sensor", dg.DagsterRunStatus.SUCCESS)
    ]
    assert partitions == ["2026-11-08"]
    assert pq.read_table(processed / "raw_pages").num_rows == 1


@pytest.mark.slow
def test_stored_files_gone_or_damaged_are_made_again_under_the_daemon(tmp_path: Path):
    """A batch's parsed pages deleted: the sensor ingests the batch again (it did not, and the corpus went on
    without its pages). A corpus part damaged inside: verify_storage, launched as from the UI, removes it, and
    the corpus run corpus_after_verify asks for makes it again, the same bytes."""
    raw, processed, home, env = daemon_folders(tmp_path)
    write_batch(raw, "2026-11-01", FIRST)
    parsed, part = processed / "parsed_pages" / "2026-11-01.parquet", processed / "consultations" / "2026-11-01.parquet"
    with dagster_dev(tmp_path, env) as server:
        server.wait_for("the first corpus run to finish", lambda: _finished_corpus_runs(home) == 1, RUNS_TIMEOUT)
        parsed.unlink()
        server.wait_for("the batch's parsed pages again", lambda: parsed.exists(), RUNS_TIMEOUT)
        server.wait_for("the corpus run after that ingest", lambda: _finished_corpus_runs(home) == 2, RUNS_TIMEOUT)

        intact = part.read_bytes()
        flip_bytes_in_column(part, "answer")
        verify = server.submit("verify_storage")
        server.wait_for_run(verify, RUNS_TIMEOUT)
        server.wait_for("the corpus run after verify_storage", lambda: _finished_corpus_runs(home, "corpus_after_verify") == 1, RUNS_TIMEOUT)

    assert part.read_bytes() == intact
    with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
        runs = list(reversed(instance.get_runs()))
    ingests = [run for run in runs if run.job_name == "ingest_batch"]
    assert [(run.tags["dagster/partition"], run.status) for run in ingests] == [("2026-11-01", dg.DagsterRunStatus.SUCCESS)] * 2
    [verified] = [run for run in runs if run.job_name == "verify_storage"]
    assert verified.tags["pipeline/removed"] == "corpus"
    after = [run for run in runs if run.tags.get("dagster/sensor_name") == "corpus_after_verify"]
    assert [(run.job_name, run.tags["verify_run"], run.status) for run in after] == [("build_corpus", verify, dg.DagsterRunStatus.SUCCESS)]


def _finished_corpus_runs(home: Path, sensor: str = "corpus_after_ingest") -> int:
    """Successful corpus runs the sensor started."""
    with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="build_corpus", statuses=[dg.DagsterRunStatus.SUCCESS]))
    return sum(run.tags.get("dagster/sensor_name") == sensor for run in runs)

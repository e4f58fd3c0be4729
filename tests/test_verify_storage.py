"""The verify_storage job: `--verify` for the UI and the daemon. It removes the stored files damaged inside since
they were written, and the sensors make them again: a corpus run for corpus files, an ingest for a batch's."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import dagster as dg
import pytest

from pipeline.build import run_build
from pipeline.defs import make_defs
from pipeline.defs.io_manager import ParquetIOManager, read_parquet
from pipeline.defs.maintenance import REMOVED_TAG
from pipeline.defs.resources import CorpusPaths
from pipeline.defs.sensors import make_scrape_batches_sensor
from upath import UPath

from .conftest import make_dagster_home, write_batch
from .pages import make_page
from .parquet_damage import flip_bytes_in_column

BATCH = "2026-12-01"
LOAN = make_page(category="債権回収", consultation="貸したお金が戻ってきません。どうすればよいですか?(背景)Vさんは知人に三十万円を貸しました。")
LEAVE = make_page(category="労働問題", consultation="育児休業を取りたいと伝えたら退職を勧められました。従うしかありませんか?")


class Corpus:
    def __init__(self, root: Path):
        self.raw, self.processed = root / "raw", root / "processed"
        self.defs = make_defs(raw_dir=self.raw, processed_dir=self.processed)
        self.instance = dg.DagsterInstance.get()

    def verify(self) -> dg.ExecuteInProcessResult:
        return self.defs.resolve_job_def("verify_storage").execute_in_process(instance=self.instance, raise_on_error=False)

    def corpus_requests_after(self, run: dg.ExecuteInProcessResult) -> list[str]:
        """The run keys corpus_after_verify requests once `run` is over, ticking as the daemon does."""
        sensor, repository = self.defs.resolve_sensor_def("corpus_after_verify"), self.defs.get_repository_def()
        requests, cursor = [], self._started_cursor
        for _ in range(3):  # a tick takes up one finished run: as many ticks as there are runs, and one more
            tick = sensor.evaluate_tick(dg.build_sensor_context(instance=self.instance, repository_def=repository, cursor=cursor))
            requests, cursor = [*requests, *tick.run_requests], tick.cursor
        assert [target.job_name for target in sensor.targets] == ["build_corpus"]
        return [request.run_key for request in requests]

    def start_watching(self) -> None:
        sensor, repository = self.defs.resolve_sensor_def("corpus_after_verify"), self.defs.get_repository_def()
        self._started_cursor = sensor.evaluate_tick(dg.build_sensor_context(instance=self.instance, repository_def=repository)).cursor

    def ingests_requested(self) -> list[str | None]:
        processed = str(self.processed)
        resources = {"paths": CorpusPaths(raw_dir=str(self.raw), processed_dir=processed), "io_manager": ParquetIOManager(base_path=processed)}
        result = make_scrape_batches_sensor()(dg.build_sensor_context(instance=self.instance, resources=resources))
        return [request.partition_key for request in result.run_requests if request.job_name == "ingest_batch"]

    def tag(self, run: dg.ExecuteInProcessResult) -> str | None:
        return self.instance.get_run_by_id(run.run_id).tags.get(REMOVED_TAG)


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[Corpus]:
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(make_dagster_home(tmp_path / "dagster_home"))}):
        write_batch(tmp_path / "raw", BATCH, {"loan.txt": LOAN, "leave.txt": LEAVE})
        out = io.StringIO()
        assert run_build(tmp_path / "raw", tmp_path / "processed", out=out) == 0, out.getvalue()
        built = Corpus(tmp_path)
        built.start_watching()
        yield built
        built.instance.dispose()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_damaged_corpus_file_is_removed_and_a_corpus_run_makes_it_again(corpus: Corpus):
    part = corpus.processed / "consultations" / f"{BATCH}.parquet"
    intact = sha256(part)
    flip_bytes_in_column(part, "answer")

    verified = corpus.verify()

    assert verified.success and not part.exists()
    assert corpus.tag(verified) == "corpus"
    assert corpus.corpus_requests_after(verified) == [f"after-verify:{verified.run_id}"]
    assert corpus.ingests_requested() == []  # the batch's own files are whole
    assert corpus.defs.resolve_job_def("build_corpus").execute_in_process(instance=corpus.instance).success
    assert sha256(part) == intact
    read_parquet(UPath(part))  # every page's checksum verified


def test_a_damaged_ingest_file_is_removed_and_the_sensor_ingests_the_batch_again(corpus: Corpus):
    parsed = corpus.processed / "parsed_pages" / f"{BATCH}.parquet"
    flip_bytes_in_column(parsed, "answer")

    verified = corpus.verify()

    assert verified.success and not parsed.exists()
    assert corpus.tag(verified) == "ingest"
    assert corpus.corpus_requests_after(verified) == []  # the corpus follows the ingest, not this run
    assert corpus.ingests_requested() == [BATCH]


def test_a_file_it_may_not_read_fails_the_run_naming_it_and_stays(corpus: Corpus):
    part = corpus.processed / "sections" / f"{BATCH}.parquet"
    part.unlink()
    part.mkdir()  # a folder where the part file was: no verdict on what it holds

    verified = corpus.verify()

    assert not verified.success and part.is_dir()
    [failure] = [event for event in verified.all_events if event.is_step_failure]
    assert f"Unreadable: {part}" in failure.step_failure_data.user_failure_data.description
    assert corpus.tag(verified) is None and corpus.corpus_requests_after(verified) == []


def test_with_nothing_damaged_it_removes_nothing_and_asks_for_nothing(corpus: Corpus):
    before = {path: sha256(path) for path in corpus.processed.rglob("*.parquet")}

    verified = corpus.verify()

    assert verified.success and corpus.tag(verified) is None
    assert {path: sha256(path) for path in corpus.processed.rglob("*.parquet")} == before
    assert corpus.corpus_requests_after(verified) == [] and corpus.ingests_requested() == []

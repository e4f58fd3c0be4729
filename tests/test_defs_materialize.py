"""Materialise the real definitions on raw/sample into a tmp folder (ingest_batch for the sample
partition, then build_corpus), and check what comes out.

Also: a failing blocking check on `consultations` stops the real downstream assets.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core.parts import PARTED_DATASETS, Part
from pipeline.core.schemas import DATASETS
from pipeline.defs import make_defs
from pipeline.defs.assets import SCREENED, asset_out, related_questions, sections
from pipeline.defs.checks import CHECK_NAME, VALIDATED_DATASETS, expectation_check_result, expectation_check_spec
from pipeline.defs.io_manager import ParquetIOManager, PartStream, conform_table
from pipeline.defs.resources import CorpusLock

from .conftest import SAMPLE_BATCH

# The last line of a site teaser: 30-45 characters cut off with an ellipsis.
TEASER = "Sさんは、借りた駐車場の契約を途中で解約したいと考えていますが、違約金は..."


@dataclasses.dataclass(frozen=True)
class Build:
    processed: Path
    ingest: dg.ExecuteInProcessResult
    corpus: dg.ExecuteInProcessResult

    @property
    def materializations(self) -> list[dg.AssetMaterialization]:
        return [
            event.step_materialization_data.materialization
            for result in (self.ingest, self.corpus)
            for event in result.get_asset_materialization_events()
        ]

    def materialization(self, name: str) -> dg.AssetMaterialization:
        (materialization,) = [m for m in self.materializations if m.asset_key == dg.AssetKey(name)]
        return materialization


def execute_build(raw_dir: Path, processed: Path) -> Build:
    defs = make_defs(raw_dir=raw_dir, processed_dir=processed)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("scrape_batches", [SAMPLE_BATCH])
        ingest = defs.resolve_job_def("ingest_batch").execute_in_process(
            instance=instance, partition_key=SAMPLE_BATCH, raise_on_error=False
        )
        corpus = defs.resolve_job_def("build_corpus").execute_in_process(instance=instance, raise_on_error=False)
    return Build(processed, ingest, corpus)


def file_name(name: str) -> str:
    """Per-batch datasets are one file per partition, parted corpus datasets one per batch; the others one part-0 file."""
    return f"{SAMPLE_BATCH}.parquet" if name in ("raw_pages", "parsed_pages", *PARTED_DATASETS) else "part-0.parquet"


@pytest.fixture(scope="module")
def build(sample_raw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Build:
    return execute_build(sample_raw_dir, tmp_path_factory.mktemp("materialize") / "processed")


def read(processed: Path, name: str) -> pa.Table:
    return pq.read_table(processed / name)


def test_build_succeeds(build: Build):
    assert build.ingest.success and build.corpus.success
    assert {m.asset_key.to_user_string() for m in build.materializations} == {*DATASETS, "dataset_card"}
    assert {m.partition for m in build.materializations if m.asset_key.path[-1] in ("raw_pages", "parsed_pages")} == {
        SAMPLE_BATCH
    }


def test_ingest_records_what_the_batch_was_parsed_from(build: Build, sample_raw_dir: Path):
    from pipeline.core.batches import snapshot
    from pipeline.core.record import PARSER_VERSION
    from pipeline.defs.partitions import ingest_key

    key = build.materialization("parsed_pages").metadata["ingest_key"].value
    assert key == ingest_key(snapshot(sample_raw_dir / SAMPLE_BATCH).fingerprint)
    assert key.startswith(snapshot(sample_raw_dir / SAMPLE_BATCH).fingerprint) and f" parser {PARSER_VERSION} " in key


def test_corpus_names_the_batches_it_read(build: Build):
    assert build.materialization("consultations").metadata["batches"].value == [SAMPLE_BATCH]


def test_every_check_ran_and_passed(build: Build):
    assert build.ingest.get_asset_check_evaluations() == []
    evaluations = build.corpus.get_asset_check_evaluations()
    assert {(e.asset_key.to_user_string(), e.check_name) for e in evaluations} == {
        (name, CHECK_NAME) for name in VALIDATED_DATASETS
    }
    for evaluation in evaluations:
        assert evaluation.passed, evaluation.metadata
        assert evaluation.severity == dg.AssetCheckSeverity.ERROR
        assert evaluation.metadata["failed"].value == 0


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_dataset_is_a_folder_readable_by_pandas_with_the_schema(build: Build, name: str):
    folder = build.processed / name
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith("_")) == [file_name(name)]  # "_": a step's sidecars
    frame = pd.read_parquet(folder)
    assert list(frame.columns) == DATASETS[name].names
    schema = read(build.processed, name).schema
    assert schema.equals(DATASETS[name]) and schema.metadata[b"doc"] == DATASETS[name].metadata[b"doc"]
    if name not in PARTED_DATASETS:  # a part also carries its key and memo
        assert schema.equals(DATASETS[name], check_metadata=True)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_materialization_metadata(build: Build, name: str):
    metadata = build.materialization(name).metadata
    assert metadata["dagster/row_count"].value == read(build.processed, name).num_rows
    assert [column.name for column in metadata["dagster/column_schema"].schema.columns] == DATASETS[name].names
    assert metadata["preview"].value.startswith("| " + " | ".join(DATASETS[name].names) + " |")
    stored = build.processed / name if name in PARTED_DATASETS else build.processed / name / file_name(name)
    assert Path(metadata["path"].value) == stored


def test_counts_reconcile(build: Build, sample_raw_dir: Path):
    rows = {name: read(build.processed, name).num_rows for name in DATASETS}
    files = [p for p in (sample_raw_dir / "sample").rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert rows["raw_pages"] == len(files) > 0
    assert rows["parsed_pages"] == rows["raw_pages"]
    assert rows["raw_pages"] == rows["page_versions"] + rows["rejects"]
    current = read(build.processed, "page_versions")["role"].to_pylist().count("current")
    assert rows["consultations"] == current > 0


def test_flat_tables_match_consultations(build: Build):
    consultations = read(build.processed, "consultations")
    assert read(build.processed, "sections").num_rows == sum(len(s) for s in consultations["sections"].to_pylist())
    assert read(build.processed, "related_questions").num_rows == sum(
        len(r) for r in consultations["related"].to_pylist()
    )


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_two_builds_write_identical_datasets(build: Build, built_corpus: Path, name: str):
    # built_corpus came from run_build (another instance, another folder): same tables, same bytes.
    assert read(build.processed, name).equals(read(built_corpus, name))
    assert (build.processed / name / file_name(name)).read_bytes() == (built_corpus / name / file_name(name)).read_bytes()


def broken_consultations(good: pa.Table) -> pa.Table:
    """The real consultations plus a copy of the first row (same page_id) whose answer ends with a teaser."""
    rows = good.to_pylist()
    duplicate = dict(rows[0], answer=rows[0]["answer"] + "\n" + TEASER)
    return pa.Table.from_pylist([*rows, duplicate], schema=DATASETS["consultations"])


def test_failing_blocking_check_stops_downstream_assets(build: Build, tmp_path: Path):
    consultations = broken_consultations(
        conform_table(read(build.processed, "consultations"), DATASETS["consultations"], dataset="consultations")
    )
    outputs = {name: read(build.processed, name) for name in SCREENED} | {"consultations": consultations}

    @dg.multi_asset(
        name="screen_pages",
        outs={name: asset_out(name) for name in SCREENED},
        check_specs=[expectation_check_spec(name) for name in SCREENED],
    )
    def broken_screen_pages(context):  # (no annotation: this module uses postponed annotations)
        for name in SCREENED:
            table = outputs[name]
            yield dg.Output(PartStream([Part(SAMPLE_BATCH, "broken", {}, table)]) if name in PARTED_DATASETS else table, output_name=name)
            yield expectation_check_result(context, name, table)

    processed = tmp_path / "processed"
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [broken_screen_pages, sections, related_questions],
            instance=instance,
            resources={
                "io_manager": ParquetIOManager(base_path=str(processed)),
                "corpus_lock": CorpusLock(processed_dir=str(processed)),
            },
            raise_on_error=False,
        )

    assert not result.success
    evaluations = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == set(SCREENED)  # the downstream checks never ran
    failed = evaluations["consultations"]
    assert not failed.passed
    assert failed.severity == dg.AssetCheckSeverity.ERROR
    names = {failure["name"] for failure in failed.metadata["failures"].value}
    assert "expect_column_values_to_be_unique(page_id)" in names
    assert "expect_column_values_to_not_match_regex(answer, teaser_ending)" in names
    assert "expect_column_values_to_be_unique(page_id)" in failed.metadata["failed_expectations"].value
    assert evaluations["rejects"].passed and evaluations["page_versions"].passed

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == set(SCREENED)
    started = {event.step_key for event in result.all_events if event.is_step_start}
    assert started == {"screen_pages"}  # sections and related_questions were never started
    assert result.get_failed_step_keys() == {"screen_pages"}
    assert not (processed / "sections").exists()
    assert not (processed / "related_questions").exists()


def test_a_corpus_run_reads_raw_only_to_remove_a_batch(sample_raw_dir: Path, tmp_path: Path):
    """raw/ out of reach (unmounted, its bucket down) does not stop a corpus run that has no batch to remove."""
    processed = tmp_path / "processed"
    assert execute_build(sample_raw_dir, processed).corpus.success
    defs = make_defs(raw_dir=tmp_path / "unreachable", processed_dir=processed)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("scrape_batches", [SAMPLE_BATCH])
        corpus = defs.resolve_job_def("build_corpus").execute_in_process(instance=instance, raise_on_error=False)
    assert corpus.success
    assert (processed / "parsed_pages" / f"{SAMPLE_BATCH}.parquet").is_file()


def test_a_corpus_step_refuses_an_instance_that_keeps_another_corpus(tmp_path: Path):
    """A schedule or the UI run with other folders took the instance's batches for its corpus's, and removed
    that corpus's parts as orphans; the corpus lock is where every corpus step starts, so it refuses there."""
    from pipeline.defs.partitions import instance_taken

    @dg.asset
    def corpus_step(corpus_lock: CorpusLock) -> None:
        return None

    (tmp_path / "home").mkdir()
    (tmp_path / "a" / "processed" / "consultations").mkdir(parents=True)  # corpus a, built
    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "home")) as instance:
        assert instance_taken(instance, tmp_path / "a" / "raw", tmp_path / "a" / "processed") is None  # a build of corpus a
        lock = CorpusLock(raw_dir=str(tmp_path / "b" / "raw"), processed_dir=str(tmp_path / "b" / "processed"))
        result = dg.materialize([corpus_step], instance=instance, resources={"corpus_lock": lock}, raise_on_error=False)
        same = CorpusLock(raw_dir=str(tmp_path / "a" / "raw"), processed_dir=str(tmp_path / "a" / "processed"))
        assert dg.materialize([corpus_step], instance=instance, resources={"corpus_lock": same}).success
    assert not result.success
    failure = next(event for event in result.all_events if event.is_failure)
    assert "keeps the batches of" in str(failure.event_specific_data)

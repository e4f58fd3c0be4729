"""The Dagster definitions load, and hold the assets, checks, jobs, partitions, sensors, schedule and
resources we expect."""

from __future__ import annotations

import dagster as dg
import pytest

from pipeline.core.schemas import DATASETS
from pipeline.defs import defs, make_defs
from pipeline.defs import hooks as hooks_module
from pipeline.defs.checks import CHECK_NAME, VALIDATED_DATASETS
from pipeline.defs.io_manager import ParquetIOManager
from pipeline.defs.metadata import column_schema, describe
from pipeline.defs.resources import CorpusPaths

from .conftest import write_batch
from .pages import make_page

INGEST = {"raw_pages", "parsed_pages"}
CORPUS_DATASETS = {
    "consultations", "page_versions", "rejects", "pii_originals", "sections", "related_questions",
    "missing_pages", "near_duplicates",
}  # fmt: skip
CORPUS = CORPUS_DATASETS | {"dataset_card"}  # the card is markdown, not a dataset
ASSETS = INGEST | CORPUS
CHECKS = {dg.AssetCheckKey(dg.AssetKey(name), CHECK_NAME) for name in CORPUS_DATASETS}


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_asset_keys_are_the_datasets():
    assert {key.to_user_string() for key in defs.resolve_all_asset_keys()} == ASSETS
    assert ASSETS - {"dataset_card"} == set(DATASETS)


def test_check_keys_are_one_blocking_check_per_validated_dataset():
    graph = defs.resolve_asset_graph()
    assert set(graph.asset_check_keys) == CHECKS
    assert set(VALIDATED_DATASETS) == {key.asset_key.to_user_string() for key in CHECKS}
    for key in CHECKS:
        spec = graph.get_check_spec(key)
        assert spec.blocking, key


def test_build_corpus_job_selects_the_unpartitioned_corpus_and_its_checks():
    job = defs.resolve_job_def("build_corpus")
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == CORPUS
    assert set(job.asset_layer.asset_graph.asset_check_keys) == CHECKS
    assert job.partitions_def is None


def test_ingest_batch_job_is_partitioned_by_scrape_batch():
    job = defs.resolve_job_def("ingest_batch")
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == INGEST
    assert job.partitions_def == dg.DynamicPartitionsDefinition(name="scrape_batches")
    graph = defs.resolve_asset_graph()
    for name in ASSETS:
        assert (graph.get(dg.AssetKey(name)).partitions_def is not None) == (name in INGEST), name


@pytest.mark.parametrize("name", ["ingest_batch", "build_corpus"])
def test_every_job_has_the_hooks_that_hand_freed_memory_back(name: str):
    hooks = {"release_memory_after_success", "release_memory_after_failure"}
    assert {hook.name for hook in defs.resolve_job_def(name).hook_defs} == hooks


def test_every_step_hands_the_memory_it_freed_back(tmp_path, monkeypatch):
    released = []
    monkeypatch.setattr(hooks_module, "release_freed_memory", lambda: released.append("step"))
    write_batch(tmp_path / "raw", "2026-11-01", {"a.txt": make_page()})
    local_defs = make_defs(raw_dir=tmp_path / "raw", processed_dir=tmp_path / "processed")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("scrape_batches", ["2026-11-01"])
        result = local_defs.resolve_job_def("ingest_batch").execute_in_process(instance=instance, partition_key="2026-11-01")
    steps = result.get_step_success_events()
    assert steps and len(released) == len(steps)


def test_sensors_and_schedule_are_on_by_default():
    assert {s.name for s in defs.sensors} == {"scrape_batches_sensor", "corpus_after_ingest", "corpus_after_verify"}
    for sensor in defs.sensors:
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    (schedule,) = defs.schedules
    assert schedule.job_name == "build_corpus"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    # ingest runs for new batches; a corpus run when a batch's folder left raw/
    assert [t.job_name for t in defs.resolve_sensor_def("scrape_batches_sensor").targets] == ["ingest_batch", "build_corpus"]


def test_lineage():
    graph = defs.resolve_asset_graph()

    def parents(name: str) -> set[str]:
        return {key.to_user_string() for key in graph.get(dg.AssetKey(name)).parent_keys}

    assert parents("raw_pages") == set()
    assert parents("parsed_pages") == {"raw_pages"}
    assert parents("consultations") == parents("page_versions") == parents("rejects") == {"parsed_pages"}
    assert parents("sections") == parents("related_questions") == {"consultations"}


@pytest.mark.parametrize("name", sorted(ASSETS - {"dataset_card"}))
def test_descriptions_and_column_schema_come_from_the_schema(name: str):
    spec = next(s for s in defs.resolve_all_asset_specs() if s.key == dg.AssetKey(name))
    assert spec.description == describe(name) != ""
    assert spec.group_name == ("ingest" if name in INGEST else "corpus")
    assert spec.metadata["dagster/column_schema"] == column_schema(DATASETS[name])


def test_resources_default_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("PIPELINE_RAW_DIR", str(tmp_path / "r"))
    monkeypatch.setenv("PIPELINE_PROCESSED_DIR", str(tmp_path / "p"))
    resources = make_defs().resources
    assert resources["paths"].raw_dir == str(tmp_path / "r")
    assert resources["paths"].processed_dir == str(tmp_path / "p")
    assert resources["io_manager"].base_path == str(tmp_path / "p")


def test_resources_default_to_relative_folders(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PIPELINE_RAW_DIR", raising=False)
    monkeypatch.delenv("PIPELINE_PROCESSED_DIR", raising=False)
    assert CorpusPaths().raw_dir == "raw"
    assert CorpusPaths().processed_dir == "processed"
    assert ParquetIOManager().base_path == "processed"


def test_markdown_preview_shows_five_rows_with_short_one_line_cells():
    import pyarrow as pa

    from pipeline.defs.metadata import PREVIEW_CHARS, markdown_preview

    table = pa.table({"id": list(range(8)), "text": ["長い|本文\n" * 50] * 8, "tags": [["a", "b"]] * 8})
    lines = markdown_preview(table).splitlines()
    assert lines[0] == "| id | text | tags |"
    body = lines[2:7]
    assert all(len(cell.strip()) <= PREVIEW_CHARS + 1 for line in body for cell in line.split(" | "))
    assert "\\|" in body[0] and body[0].count("…") == 1 and "[2] a, b" in body[0]
    assert lines[-1] == "_… 3 more rows_"

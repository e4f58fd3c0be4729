"""The sensors: new scrape batches become partitions and ingest runs (once per batch content, only
when the batch is ready), and a successful ingest run requests a corpus rebuild."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from pipeline.core.batches import snapshot
from pipeline.core.schemas import DATASETS
from pipeline.defs import make_defs
from pipeline.defs.assets import INGEST_DATASETS
from pipeline.defs.io_manager import ParquetIOManager
from pipeline.defs.partitions import INGEST_KEY, ingest_key, scrape_batches
from pipeline.defs.resources import CorpusPaths
from pipeline.defs.sensors import make_scrape_batches_sensor

from .conftest import write_batch
from .pages import make_page

PAGE = make_page()
OTHER_PAGE = make_page(category="労働問題", consultation="有給休暇の取得を断られました。違法ではありませんか?")


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    return tmp_path / "raw"


@pytest.fixture
def instance():
    return dg.DagsterInstance.ephemeral()


def processed_of(raw: Path) -> Path:
    return raw.parent / "processed"


def sensor_context(raw: Path, instance: dg.DagsterInstance, cursor: str | None = None) -> dg.SensorEvaluationContext:
    """The sensor's context as the code location gives it: raw/ and processed/ beside it, and the IO manager."""
    processed = str(processed_of(raw))
    resources = {"paths": CorpusPaths(raw_dir=str(raw), processed_dir=processed), "io_manager": ParquetIOManager(base_path=processed)}
    return dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)


def evaluate(raw: Path, instance: dg.DagsterInstance, cursor: str | None = None) -> dg.SensorResult:
    """One tick of the sensor, with the partitions it asks for added to the instance (as the daemon does)."""
    result = make_scrape_batches_sensor()(sensor_context(raw, instance, cursor))
    for request in result.dynamic_partitions_requests:
        if isinstance(request, dg.DeleteDynamicPartitionsRequest):
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
        else:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def requested(result: dg.SensorResult) -> list[tuple[str, str]]:
    """The ingest runs requested: (partition, run key)."""
    return [(request.partition_key, request.run_key) for request in result.run_requests if request.job_name == "ingest_batch"]


def corpus_runs(result: dg.SensorResult) -> list[dg.RunRequest]:
    return [request for request in result.run_requests if request.job_name == "build_corpus"]


def partitions_asked(result: dg.SensorResult, kind: type) -> list[str]:
    return [key for request in result.dynamic_partitions_requests if isinstance(request, kind) for key in request.partition_keys]


def added(result: dg.SensorResult) -> list[str]:
    return partitions_asked(result, dg.AddDynamicPartitionsRequest)


def deleted(result: dg.SensorResult) -> list[str]:
    return partitions_asked(result, dg.DeleteDynamicPartitionsRequest)


def ingested(instance: dg.DagsterInstance, batch: str, folder: Path, key: str | None = None) -> None:
    """What an ingest_batch run of the batch as it stands leaves: its files in processed/ (empty, with the datasets'
    columns) and its ingestion in the instance (`key`: that of another parser, say)."""
    for dataset in INGEST_DATASETS:
        path = processed_of(folder.parent) / dataset / f"{batch}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(DATASETS[dataset].empty_table(), path)
    key = key or ingest_key(snapshot(folder).fingerprint)
    instance.report_runless_asset_event(dg.AssetMaterialization("parsed_pages", partition=batch, metadata={INGEST_KEY: key}))


def test_a_new_batch_becomes_a_partition_and_one_run(raw: Path, instance):
    folder = write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    key = ingest_key(snapshot(folder).fingerprint)

    result = evaluate(raw, instance)

    assert requested(result) == [("2026-11-01", f"2026-11-01:{key}")]
    assert result.dynamic_partitions_requests[0].partitions_def_name == scrape_batches.name
    assert added(result) == ["2026-11-01"]
    assert json.loads(result.cursor) == {"2026-11-01": key}
    assert instance.get_dynamic_partitions(scrape_batches.name) == ["2026-11-01"]


def test_the_same_batch_is_not_requested_twice(raw: Path, instance):
    folder = write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    first = evaluate(raw, instance)
    ingested(instance, "2026-11-01", folder)
    second = evaluate(raw, instance, cursor=first.cursor)
    assert requested(second) == [] and added(second) == []
    assert second.cursor == first.cursor


def test_a_request_whose_run_has_not_finished_is_repeated_with_its_run_key(raw: Path, instance):
    """Its files are not there yet: the tick asks again for the same run, which Dagster skips (a run key used)."""
    write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    first = evaluate(raw, instance)
    second = evaluate(raw, instance, cursor=first.cursor)
    assert requested(second) == requested(first) and added(second) == []
    assert second.cursor == first.cursor


@pytest.mark.parametrize("dataset", INGEST_DATASETS)
def test_a_batch_whose_ingest_file_was_deleted_since_is_ingested_again(raw: Path, instance, dataset: str):
    """The daemon never made it again (the corpus runs then went on without the batch's pages, with a warning);
    `python -m pipeline build` did. verify_storage removes a damaged file: this is how its batch comes back."""
    folder = write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    write_batch(raw, "2026-11-02", {"b.txt": OTHER_PAGE})
    first = evaluate(raw, instance)
    ingested(instance, "2026-11-01", folder)
    ingested(instance, "2026-11-02", raw / "2026-11-02")
    assert requested(evaluate(raw, instance, cursor=first.cursor)) == []
    (processed_of(raw) / dataset / "2026-11-01.parquet").unlink()

    again = evaluate(raw, instance, cursor=first.cursor)

    [(partition, run_key)] = requested(again)
    assert partition == "2026-11-01" and added(again) == []
    assert run_key not in {key for _, key in requested(first)}  # a run key already used would be skipped
    assert again.cursor == first.cursor


def test_a_tick_reads_no_stored_file(raw: Path, instance, monkeypatch: pytest.MonkeyPatch):
    """A listing per ingest dataset, no footer: reading two files a batch at every tick would cost thousands of
    requests a minute on object storage. A file damaged in place fails the step that reads it (verify_storage
    removes it)."""
    folder = write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    first = evaluate(raw, instance)
    ingested(instance, "2026-11-01", folder)

    def no_footer(path):
        raise AssertionError(f"the tick read {path}")

    monkeypatch.setattr("pipeline.defs.io_manager._footer", no_footer)
    assert requested(evaluate(raw, instance, cursor=first.cursor)) == []


def test_only_the_new_batch_is_requested(raw: Path, instance):
    folder = write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    first = evaluate(raw, instance)
    ingested(instance, "2026-11-01", folder)
    write_batch(raw, "2026-11-08", {"a.txt": OTHER_PAGE})
    second = evaluate(raw, instance, cursor=first.cursor)
    assert [partition for partition, _ in requested(second)] == ["2026-11-08"]
    assert added(second) == ["2026-11-08"]
    assert set(json.loads(second.cursor)) == {"2026-11-01", "2026-11-08"}


def test_a_half_written_batch_is_ignored(raw: Path, instance):
    write_batch(raw, "2026-11-01", {"a.txt": PAGE}, marker=False)  # no marker, files just written
    result = evaluate(raw, instance)
    assert requested(result) == [] and added(result) == []
    assert json.loads(result.cursor) == {}
    assert instance.get_dynamic_partitions(scrape_batches.name) == []


def test_a_batch_quiet_for_the_quiet_period_is_ready_without_marker(raw: Path, instance, monkeypatch):
    monkeypatch.setenv("PIPELINE_BATCH_QUIET_SECONDS", "60")
    write_batch(raw, "old", {"a.txt": PAGE}, marker=False, age_seconds=61)
    write_batch(raw, "fresh", {"a.txt": PAGE}, marker=False, age_seconds=30)
    result = evaluate(raw, instance)
    assert [partition for partition, _ in requested(result)] == ["old"]


def test_the_default_quiet_period_is_five_minutes(raw: Path, instance, monkeypatch):
    monkeypatch.delenv("PIPELINE_BATCH_QUIET_SECONDS", raising=False)
    write_batch(raw, "old", {"a.txt": PAGE}, marker=False, age_seconds=301)
    write_batch(raw, "fresh", {"a.txt": PAGE}, marker=False, age_seconds=295)
    assert [partition for partition, _ in requested(evaluate(raw, instance))] == ["old"]


def test_a_batch_already_ingested_with_these_files_is_not_run_again(raw: Path, instance):
    # e.g. by `python -m pipeline build` before the daemon started: no cursor, but the instance knows.
    folder = write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    instance.add_dynamic_partitions(scrape_batches.name, ["2026-11-01"])
    ingested(instance, "2026-11-01", folder)
    result = evaluate(raw, instance)
    assert requested(result) == [] and added(result) == []
    assert json.loads(result.cursor) == {"2026-11-01": ingest_key(snapshot(folder).fingerprint)}


def test_a_batch_parsed_by_another_parser_version_is_requested_again(raw: Path, instance, monkeypatch):
    folder = write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    monkeypatch.setattr("pipeline.defs.partitions.PARSER_VERSION", "0.9.0")
    first = evaluate(raw, instance)
    ingested(instance, "2026-11-01", folder, key=requested(first)[0][1].split(":", 1)[1])  # by that parser
    monkeypatch.undo()  # the parser is upgraded

    second = evaluate(raw, instance, cursor=first.cursor)

    assert [partition for partition, _ in requested(second)] == ["2026-11-01"]
    assert requested(second) != requested(first)  # a new run key: the old one would be skipped as already run
    assert added(second) == []
    assert " parser 0.9.0 " not in json.loads(second.cursor)["2026-11-01"]


def test_a_missing_raw_folder_is_a_skip(raw: Path, instance):
    assert isinstance(make_scrape_batches_sensor()(sensor_context(raw, instance)), dg.SkipReason)


def test_interval_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("PIPELINE_SENSOR_INTERVAL_SECONDS", raising=False)
    assert make_scrape_batches_sensor().minimum_interval_seconds == 30
    monkeypatch.setenv("PIPELINE_SENSOR_INTERVAL_SECONDS", "5")
    defs = make_defs()
    for name in ("scrape_batches_sensor", "corpus_after_ingest"):
        assert defs.resolve_sensor_def(name).minimum_interval_seconds == 5


def test_a_successful_ingest_run_requests_the_corpus_and_a_corpus_run_requests_nothing(tmp_path: Path, raw: Path):
    """The sensor evaluated as the daemon does (its job and status filters too): one corpus run per ingest run,
    none for a corpus run (which would start another, for ever)."""
    write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    defs = make_defs(raw_dir=raw, processed_dir=tmp_path / "processed")
    sensor, repository = defs.resolve_sensor_def("corpus_after_ingest"), defs.get_repository_def()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(scrape_batches.name, ["2026-11-01"])
        started = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, repository_def=repository))  # from now on
        ingest = defs.resolve_job_def("ingest_batch").execute_in_process(instance=instance, partition_key="2026-11-01")
        defs.resolve_job_def("build_corpus").execute_in_process(instance=instance)
        requests, cursor = [], started.cursor
        for _ in range(4):  # a tick takes up one finished run: as many ticks as there are runs, and one more
            tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, repository_def=repository, cursor=cursor))
            requests, cursor = [*requests, *tick.run_requests], tick.cursor
    assert [request.run_key for request in requests] == [f"after-ingest:{ingest.run_id}"]
    assert [target.job_name for target in sensor.targets] == ["build_corpus"]


def test_a_batch_whose_folder_is_gone_is_deleted_and_the_corpus_made_without_it(raw: Path, instance):
    write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    kept = write_batch(raw, "2026-11-02", {"b.txt": OTHER_PAGE})
    first = evaluate(raw, instance)
    ingested(instance, "2026-11-02", kept)
    shutil.rmtree(raw / "2026-11-01")

    second = evaluate(raw, instance, cursor=first.cursor)

    assert deleted(second) == ["2026-11-01"] and added(second) == [] and requested(second) == []
    assert [request.tags["retired_batches"] for request in corpus_runs(second)] == ["2026-11-01"]
    assert instance.get_dynamic_partitions(scrape_batches.name) == ["2026-11-02"]
    assert list(json.loads(second.cursor)) == ["2026-11-02"]
    third = evaluate(raw, instance, cursor=second.cursor)
    assert deleted(third) == [] and corpus_runs(third) == []  # retired once


def test_a_raw_folder_holding_no_batch_retires_nothing(raw: Path, instance):
    """An empty listing is likelier an unmounted raw/ than every scrape deleted: the corpus is left as it is."""
    write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    first = evaluate(raw, instance)
    shutil.rmtree(raw / "2026-11-01")

    second = evaluate(raw, instance, cursor=first.cursor)

    assert deleted(second) == [] and second.run_requests == []
    assert instance.get_dynamic_partitions(scrape_batches.name) == ["2026-11-01"]


def test_a_batch_folder_that_comes_back_is_ingested_again(raw: Path, instance, tmp_path: Path):
    """Restored as it was (same files, sizes and times): its ingest key is the one of its first life, which
    the event log still holds, and so would be its first run key."""
    folder = write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    other = write_batch(raw, "2026-11-02", {"b.txt": OTHER_PAGE})
    first = evaluate(raw, instance)
    ingested(instance, "2026-11-01", folder)
    ingested(instance, "2026-11-02", other)
    shutil.move(folder, tmp_path / "aside")
    second = evaluate(raw, instance, cursor=first.cursor)
    shutil.move(tmp_path / "aside", folder)

    third = evaluate(raw, instance, cursor=second.cursor)

    assert added(third) == ["2026-11-01"]
    [(partition, run_key)] = requested(third)
    assert partition == "2026-11-01"
    assert run_key not in {key for _, key in requested(first)}  # a run key already used would be skipped


def test_a_batch_back_to_files_it_had_before_is_ingested_again(raw: Path, instance):
    folder = write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    first = evaluate(raw, instance)
    ingested(instance, "2026-11-01", folder)
    (folder / "b.txt").write_text(OTHER_PAGE, encoding="utf-8")
    second = evaluate(raw, instance, cursor=first.cursor)
    ingested(instance, "2026-11-01", folder)
    (folder / "b.txt").unlink()

    third = evaluate(raw, instance, cursor=second.cursor)

    assert [partition for partition, _ in requested(third)] == ["2026-11-01"]
    assert requested(third)[0][1] not in {key for _, key in requested(first) + requested(second)}


def test_a_link_to_a_batch_folder_is_no_batch_and_the_tick_says_so(raw: Path, instance, capfd):
    folder = write_batch(raw, "2026-11-01", {"a.txt": PAGE})
    (raw / "latest").symlink_to(folder, target_is_directory=True)

    result = evaluate(raw, instance)

    assert [batch for batch, _key in requested(result)] == ["2026-11-01"]
    assert added(result) == ["2026-11-01"]
    assert f"Skipping {raw}/latest: a link to a folder, not a batch" in capfd.readouterr().err  # the tick's log


def test_the_sensor_leaves_alone_an_instance_that_keeps_another_corpus(tmp_path: Path):
    """As the build does: watching another raw/ with it would take the other corpus's batches out as gone."""
    first, second = tmp_path / "first" / "raw", tmp_path / "second" / "raw"
    folder = write_batch(first, "2026-11-01", {"a.txt": PAGE})
    write_batch(second, "2026-11-08", {"b.txt": OTHER_PAGE})
    (tmp_path / "home").mkdir()
    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "home")) as instance:
        assert requested(evaluate(first, instance)) != []
        ingested(instance, "2026-11-01", folder)  # that corpus holds files now
        skipped = make_scrape_batches_sensor()(sensor_context(second, instance))
        assert instance.get_dynamic_partitions(scrape_batches.name) == ["2026-11-01"]
    assert isinstance(skipped, dg.SkipReason)
    assert f"keeps the batches of {first}" in skipped.skip_message

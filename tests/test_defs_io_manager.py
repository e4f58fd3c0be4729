"""The Parquet IO manager: folder layout, round trips on local paths and fsspec URLs, atomic writes,
and refusal of tables that do not conform to the dataset's schema."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from upath import UPath

from pipeline.core.schemas import DATASETS
from pipeline.defs.io_manager import (
    ParquetIOManager,
    ParquetUPathIOManager,
    SchemaMismatchError,
    TableStream,
    conform_table,
)


def related_table(n: int = 3) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"page_id": f"2024010112000{i}-1", "position": i, "question": f"質問{i}", "preview": "答え", "truncated": True}
            for i in range(n)
        ],
        schema=DATASETS["related_questions"],
    )


def consultation_row() -> dict:
    return {
        "page_id": "20240101120000-1",
        "url": None,
        "posted_at": pd.Timestamp("2024-01-01 03:00:00", tz="UTC"),
        "category": "労働",
        "title": None,
        "question": "残業代は請求できますか?",
        "background": None,
        "answer": "できます。",
        "headings": [{"level": 1, "number": None, "text": "はじめに"}],
        "sections": [{"heading": None, "body": "できます。"}],
        "related": [],
        "warnings": [],
        "content_hash": "0123456789abcdef",
        "batch": "b",
        "first_seen": "b",
        "last_seen": "b",
        "n_versions": 1,
        "aliases": [],
        "source": "b/x.txt",
        "sha256": "0" * 64,
        "encoding": "utf-8",
        "format": "text",
        "parser_version": "1.0.0",
        "question_key": "残業代は請求できますか",
        "answer_key": "できます",
        **dict.fromkeys(["question_chars", "answer_chars", "n_headings", "n_sections", "n_related", "n_warnings"], 1),
        **dict.fromkeys(["kana_share", "kanji_share", "ascii_share"], 0.5),
        **dict.fromkeys(["pii_email", "pii_phone", "pii_postal", "pii_url"], 0),
    }


def write(manager: dg.IOManager, asset: str, table) -> None:
    manager.handle_output(dg.build_output_context(asset_key=asset), table)


def read(manager: dg.IOManager, asset: str) -> pa.Table:
    return manager.load_input(dg.build_input_context(asset_key=asset, upstream_output=dg.build_output_context(asset_key=asset)))


def io_manager(base_path: str) -> dg.IOManager:
    return ParquetIOManager(base_path=base_path).create_io_manager(dg.build_init_resource_context())


def test_local_round_trip_writes_a_dataset_folder(tmp_path):
    manager = io_manager(str(tmp_path))
    table = related_table()
    write(manager, "related_questions", table)

    assert sorted(p.name for p in (tmp_path / "related_questions").iterdir()) == ["part-0.parquet"]
    assert read(manager, "related_questions").equals(table)
    assert pd.read_parquet(tmp_path / "related_questions").shape == (3, len(DATASETS["related_questions"]))
    parquet = pq.ParquetFile(tmp_path / "related_questions" / "part-0.parquet")
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
    assert parquet.schema_arrow.equals(DATASETS["related_questions"], check_metadata=True)


def test_relative_base_path(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    manager = io_manager("processed")
    write(manager, "related_questions", related_table())
    assert (tmp_path / "processed" / "related_questions" / "part-0.parquet").is_file()
    assert read(manager, "related_questions").num_rows == 3


def test_file_url_round_trip(tmp_path):
    manager = io_manager(tmp_path.as_uri())
    write(manager, "related_questions", related_table())
    assert (tmp_path / "related_questions" / "part-0.parquet").is_file()
    assert read(manager, "related_questions").equals(related_table())


def test_memory_url_round_trip():
    base = f"memory://pipeline-test-{uuid.uuid4().hex}"
    manager = io_manager(base)
    table = related_table()
    write(manager, "related_questions", table)
    folder = UPath(base) / "related_questions"
    assert sorted(p.name for p in folder.iterdir()) == ["part-0.parquet"]
    assert read(manager, "related_questions").equals(table)


def test_lists_structs_and_timestamps_read_back_with_the_exact_schema(tmp_path):
    manager = io_manager(str(tmp_path))
    table = pa.Table.from_pylist([consultation_row()], schema=DATASETS["consultations"])
    write(manager, "consultations", table)
    loaded = read(manager, "consultations")
    assert loaded.schema.equals(DATASETS["consultations"], check_metadata=True)
    assert loaded.equals(table)
    # a plain reader (the notebooks) sees the same schema, list child names included
    assert pq.read_table(tmp_path / "consultations").schema.equals(DATASETS["consultations"], check_metadata=True)


def test_partitioned_assets_are_files_in_the_dataset_folder(tmp_path):
    manager = ParquetUPathIOManager(base_path=UPath(tmp_path))
    partitions = dg.StaticPartitionsDefinition(["b1", "b2"])
    for key in ("b1", "b2"):
        context = dg.build_output_context(asset_key="related_questions", partition_key=key, asset_partitions_def=partitions)
        manager.handle_output(context, related_table())
    assert sorted(p.name for p in (tmp_path / "related_questions").iterdir()) == ["b1.parquet", "b2.parquet"]
    assert pd.read_parquet(tmp_path / "related_questions").shape == (6, len(DATASETS["related_questions"]))


def test_rewrite_is_atomic_and_leaves_no_temp_files(tmp_path):
    manager = io_manager(str(tmp_path))
    write(manager, "related_questions", related_table(3))
    write(manager, "related_questions", related_table(5))
    assert [p.name for p in (tmp_path / "related_questions").iterdir()] == ["part-0.parquet"]
    assert read(manager, "related_questions").num_rows == 5


def test_failed_write_keeps_the_old_file_and_no_temp_file(tmp_path):
    manager = io_manager(str(tmp_path))
    write(manager, "related_questions", related_table(3))

    def parts_then_a_failure():
        yield related_table(5)  # written to the temp file...
        raise OSError("disk full")  # ...which is then left half-written

    with pytest.raises(OSError, match="disk full"):
        write(manager, "related_questions", TableStream(parts_then_a_failure()))
    assert [p.name for p in (tmp_path / "related_questions").iterdir()] == ["part-0.parquet"]  # temp file gone
    assert read(manager, "related_questions").num_rows == 3


def test_a_table_stream_is_written_part_by_part_into_one_file(tmp_path):
    manager = io_manager(str(tmp_path))
    parts = [related_table(3), related_table(0), related_table(2).select(list(reversed(DATASETS["related_questions"].names)))]
    context = dg.build_output_context(asset_key="related_questions")
    manager.handle_output(context, TableStream(iter(parts), lambda: {"note": "after the last part"}))

    assert [p.name for p in (tmp_path / "related_questions").iterdir()] == ["part-0.parquet"]
    assert read(manager, "related_questions").equals(pa.concat_tables([related_table(3), related_table(2)]))
    assert pq.ParquetFile(tmp_path / "related_questions" / "part-0.parquet").metadata.num_row_groups == 2  # one per non-empty part
    metadata = context.get_logged_metadata()
    assert metadata["dagster/row_count"].value == 5 and metadata["note"].value == "after the last part"


def test_a_stream_part_not_matching_the_schema_is_refused(tmp_path):
    manager = io_manager(str(tmp_path))
    with pytest.raises(SchemaMismatchError, match="missing"):
        write(manager, "related_questions", TableStream([related_table(2), related_table(2).drop_columns(["preview"])]))
    assert not list((tmp_path / "related_questions").iterdir())  # nothing published, no temp file


def test_columns_are_reordered_and_safely_cast(tmp_path):
    manager = io_manager(str(tmp_path))
    loose = pa.table(
        {
            "truncated": [False],
            "preview": ["p"],
            "question": ["q"],
            "position": pa.array([0], type=pa.int64()),
            "page_id": ["20240101120000-1"],
            "url": pa.array([None], type=pa.string()),
            "link_method": pa.array([None], type=pa.string()),
            "target_page_id": pa.array([None], type=pa.string()),
        }
    )
    write(manager, "related_questions", loose)
    assert read(manager, "related_questions").schema.equals(DATASETS["related_questions"], check_metadata=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["preview"]), "missing"),
        (lambda t: t.append_column("extra", pa.array([1, 2, 3])), "unexpected"),
        (lambda t: t.set_column(1, "position", pa.array(["a", "b", "c"])), "cannot cast"),
        (lambda t: t.set_column(1, "position", pa.array([0, 1, 2**40])), "cannot cast"),
        (lambda t: t.set_column(0, "page_id", pa.array(["a", None, "c"])), "non-nullable"),
    ],
    ids=["missing-column", "extra-column", "wrong-type", "overflow", "null-in-key"],
)
def test_a_table_not_matching_the_schema_is_refused(tmp_path, change, message):
    manager = io_manager(str(tmp_path))
    with pytest.raises(SchemaMismatchError, match=message):
        write(manager, "related_questions", change(related_table()))
    assert not (tmp_path / "related_questions" / "part-0.parquet").exists()
    assert list(tmp_path.rglob(".*")) == []  # no temp file left behind


def test_unknown_dataset_and_non_tables_are_refused(tmp_path):
    manager = io_manager(str(tmp_path))
    with pytest.raises(dg.DagsterInvariantViolationError, match="No schema"):
        write(manager, "not_a_dataset", related_table())
    with pytest.raises(TypeError):
        conform_table([1, 2, 3], DATASETS["related_questions"], dataset="related_questions")


def test_a_dead_writers_temp_file_goes_with_the_next_write_to_its_folder(tmp_path):
    manager = io_manager(str(tmp_path))
    write(manager, "related_questions", related_table(3))
    folder = tmp_path / "related_questions"
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid, host = int(exited.stdout), socket.gethostname()
    dead = folder / f".b1.parquet.{'0' * 32}.{dead_pid}@{host}.tmp"  # another file of the folder
    live = folder / f".b2.parquet.{'1' * 32}.{os.getpid()}@{host}.tmp"  # a writer still at work
    elsewhere = folder / f".b3.parquet.{'2' * 32}.{dead_pid}@another-host.tmp"  # can't tell: keep
    for path in (dead, live, elsewhere):
        path.write_bytes(b"PAR1 half a file")

    write(manager, "related_questions", related_table(5))

    assert sorted(p.name for p in folder.iterdir()) == sorted([live.name, elsewhere.name, "part-0.parquet"])
    assert read(manager, "related_questions").num_rows == 5


@pytest.mark.parametrize(
    ("batches", "written"), [([], []), (["b1"], ["b1"]), (["b1", "b2"], ["b1", "b2"]), (["b1", "b2"], ["b2"])],
    ids=["none", "one", "two", "one-missing"],
)
def test_an_unpartitioned_reader_gets_a_dict_of_every_partition(tmp_path, batches, written):
    partitions = dg.DynamicPartitionsDefinition(name="batches")
    manager = ParquetUPathIOManager(
        base_path=UPath(tmp_path), schemas={"per_batch": DATASETS["related_questions"], "whole": DATASETS["related_questions"]}
    )
    seen = []

    @dg.asset(partitions_def=partitions)
    def per_batch(context):  # (no annotation: this module uses postponed annotations)
        return related_table(int(context.partition_key[1:]))

    @dg.asset(ins={"per_batch": dg.AssetIn(metadata={"allow_missing_partitions": True})})
    def whole(per_batch):
        seen.append({batch: table.num_rows for batch, table in per_batch.items()})
        return pa.concat_tables(per_batch.values()) if per_batch else related_table(0)

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("batches", batches)
        for batch in written:
            dg.materialize([per_batch], partition_key=batch, instance=instance, resources={"io_manager": manager})
        dg.materialize([per_batch, whole], selection=[whole], instance=instance, resources={"io_manager": manager})
    assert seen == [{batch: int(batch[1:]) for batch in written}]  # a partition never written is left out


def test_an_input_with_columns_reads_only_those_columns(tmp_path):
    manager = io_manager(str(tmp_path))
    write(manager, "consultations", pa.Table.from_pylist([consultation_row()], schema=DATASETS["consultations"]))
    upstream = dg.build_output_context(asset_key="consultations")
    context = dg.build_input_context(asset_key="consultations", upstream_output=upstream, definition_metadata={"columns": ["sections", "page_id"]})
    loaded = manager.load_input(context)
    assert loaded.column_names == ["sections", "page_id"]
    assert loaded.schema.field("sections").type == DATASETS["consultations"].field("sections").type
    assert loaded["page_id"].to_pylist() == ["20240101120000-1"]


def test_partitions_are_read_when_looked_up_and_missing_ones_fail_unless_allowed(tmp_path, monkeypatch: pytest.MonkeyPatch):
    partitions = dg.StaticPartitionsDefinition(["b1", "b2"])
    manager = ParquetUPathIOManager(base_path=UPath(tmp_path), schemas={"per_batch": DATASETS["related_questions"]})
    output = dg.build_output_context(asset_key="per_batch", partition_key="b1", asset_partitions_def=partitions)
    manager.handle_output(output, related_table(2))
    reads = []
    real_read = ParquetUPathIOManager.load_from_path
    monkeypatch.setattr(ParquetUPathIOManager, "load_from_path", lambda self, ctx, path: reads.append(path.name) or real_read(self, ctx, path))

    def context(allow_missing: bool) -> dg.InputContext:
        return dg.build_input_context(
            asset_key="per_batch", asset_partitions_def=partitions, asset_partition_key_range=dg.PartitionKeyRange("b1", "b2"),
            definition_metadata={"allow_missing_partitions": allow_missing},
            upstream_output=dg.build_output_context(asset_key="per_batch", asset_partitions_def=partitions),
        )

    loaded = manager.load_input(context(allow_missing=True))
    assert list(loaded) == ["b1"] and reads == []  # nothing read until looked up
    assert loaded["b1"].num_rows == 2 and reads == ["b1.parquet"]
    with pytest.raises(FileNotFoundError, match=r"\['b2'\]"):
        manager.load_input(context(allow_missing=False))

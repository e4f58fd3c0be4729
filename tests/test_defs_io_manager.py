"""The Parquet IO manager: folder layout, round trips on local paths and fsspec URLs, atomic writes,
parted datasets (a file per batch, kept or written), and refusal of tables that do not conform to the
dataset's schema."""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from upath import UPath

from pipeline.core.parts import Part, parts_key
from pipeline.core.schemas import DATASETS
from pipeline.defs import io_manager as io_manager_module
from pipeline.defs.io_manager import (
    PARTS,
    PARTS_KEY,
    ParquetIOManager,
    ParquetUPathIOManager,
    PartStream,
    SchemaMismatchError,
    conform_table,
)

from .parquet_damage import flip_bytes_in_column, refuse_to_open

WHOLE = "near_duplicates"  # a dataset stored as one file
PARTED = "sections"  # a dataset stored as a file per batch


def duplicates_table(n: int = 3) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"page_id": f"2024010112000{i}-1", "content_hash": "0123456789abcdef", "dup_cluster": f"2024010112000{i}-1", "dup_cluster_size": 1}
            for i in range(n)
        ],
        schema=DATASETS[WHOLE],
    )


def sections_table(n: int, page: str = "20240101120000-1") -> pa.Table:
    rows = [{"page_id": page, "section_index": i, "heading": f"見出し{i}", "body": "本文です。"} for i in range(n)]
    return pa.Table.from_pylist(rows, schema=DATASETS[PARTED])


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
    table = duplicates_table()
    write(manager, WHOLE, table)

    assert sorted(p.name for p in (tmp_path / WHOLE).iterdir()) == ["part-0.parquet"]
    assert read(manager, WHOLE).equals(table)
    assert pd.read_parquet(tmp_path / WHOLE).shape == (3, len(DATASETS[WHOLE]))
    parquet = pq.ParquetFile(tmp_path / WHOLE / "part-0.parquet")
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
    assert parquet.schema_arrow.equals(DATASETS[WHOLE], check_metadata=True)


def test_relative_base_path(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    manager = io_manager("processed")
    write(manager, WHOLE, duplicates_table())
    assert (tmp_path / "processed" / WHOLE / "part-0.parquet").is_file()
    assert read(manager, WHOLE).num_rows == 3


def test_file_url_round_trip(tmp_path):
    manager = io_manager(tmp_path.as_uri())
    write(manager, WHOLE, duplicates_table())
    assert (tmp_path / WHOLE / "part-0.parquet").is_file()
    assert read(manager, WHOLE).equals(duplicates_table())


def test_memory_url_round_trip():
    base = f"memory://pipeline-test-{uuid.uuid4().hex}"
    manager = io_manager(base)
    table = duplicates_table()
    write(manager, WHOLE, table)
    folder = UPath(base) / WHOLE
    assert sorted(p.name for p in folder.iterdir()) == ["part-0.parquet"]
    assert read(manager, WHOLE).equals(table)


def test_lists_structs_and_timestamps_read_back_with_the_exact_schema(tmp_path):
    manager = io_manager(str(tmp_path))
    table = pa.Table.from_pylist([consultation_row()], schema=DATASETS["consultations"])
    write(manager, "consultations", PartStream([Part("b", "key", {}, table)]))
    loaded = read(manager, "consultations")
    assert loaded.schema.equals(DATASETS["consultations"], check_metadata=True)
    assert loaded.equals(table)
    # a plain reader (the notebooks) sees the same schema, list child names included; the part's tags come along
    plain = pq.read_table(tmp_path / "consultations").schema
    assert plain.equals(DATASETS["consultations"]) and plain.metadata[b"doc"] == DATASETS["consultations"].metadata[b"doc"]


def test_partitioned_assets_are_files_in_the_dataset_folder(tmp_path):
    manager = ParquetUPathIOManager(base_path=UPath(tmp_path))
    partitions = dg.StaticPartitionsDefinition(["b1", "b2"])
    for key in ("b1", "b2"):
        context = dg.build_output_context(asset_key=WHOLE, partition_key=key, asset_partitions_def=partitions)
        manager.handle_output(context, duplicates_table())
    assert sorted(p.name for p in (tmp_path / WHOLE).iterdir()) == ["b1.parquet", "b2.parquet"]
    assert pd.read_parquet(tmp_path / WHOLE).shape == (6, len(DATASETS[WHOLE]))


def test_a_rewrite_replaces_the_file_and_leaves_no_temp_files(tmp_path):
    """What is left after a rewrite; that it is atomic (a run killed mid-write leaves the previous file) is
    tests/test_crash_safety.py's."""
    manager = io_manager(str(tmp_path))
    write(manager, WHOLE, duplicates_table(3))
    write(manager, WHOLE, duplicates_table(5))
    assert [p.name for p in (tmp_path / WHOLE).iterdir()] == ["part-0.parquet"]
    assert read(manager, WHOLE).num_rows == 5


def test_columns_are_reordered_and_safely_cast(tmp_path):
    manager = io_manager(str(tmp_path))
    loose = pa.table(
        {
            "dup_similarity": pa.array([None], type=pa.float64()),
            "dup_cluster_size": pa.array([1], type=pa.int64()),
            "dup_cluster": ["20240101120000-1"],
            "content_hash": ["0123456789abcdef"],
            "page_id": ["20240101120000-1"],
        }
    )
    write(manager, WHOLE, loose)
    assert read(manager, WHOLE).schema.equals(DATASETS[WHOLE], check_metadata=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["content_hash"]), "missing"),
        (lambda t: t.append_column("extra", pa.array([1, 2, 3])), "unexpected"),
        (lambda t: t.set_column(3, "dup_cluster_size", pa.array(["a", "b", "c"])), "cannot cast"),
        (lambda t: t.set_column(3, "dup_cluster_size", pa.array([0, 1, 2**40])), "cannot cast"),
        (lambda t: t.set_column(0, "page_id", pa.array(["a", None, "c"])), "non-nullable"),
    ],
    ids=["missing-column", "extra-column", "wrong-type", "overflow", "null-in-key"],
)
def test_a_table_not_matching_the_schema_is_refused(tmp_path, change, message):
    manager = io_manager(str(tmp_path))
    with pytest.raises(SchemaMismatchError, match=message):
        write(manager, WHOLE, change(duplicates_table()))
    assert not (tmp_path / WHOLE / "part-0.parquet").exists()
    assert list(tmp_path.rglob(".*")) == []  # no temp file left behind


def test_unknown_dataset_and_non_tables_are_refused(tmp_path):
    manager = io_manager(str(tmp_path))
    with pytest.raises(dg.DagsterInvariantViolationError, match="No schema"):
        write(manager, "not_a_dataset", duplicates_table())
    with pytest.raises(TypeError):
        conform_table([1, 2, 3], DATASETS[WHOLE], dataset=WHOLE)


def test_a_dead_writers_temp_file_goes_with_the_next_write_to_its_folder(tmp_path):
    manager = io_manager(str(tmp_path))
    write(manager, WHOLE, duplicates_table(3))
    folder = tmp_path / WHOLE
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid, host = int(exited.stdout), socket.gethostname()
    dead = folder / f".b1.parquet.{'0' * 32}.{dead_pid}@{host}.tmp"  # another file of the folder
    live = folder / f".b2.parquet.{'1' * 32}.{os.getpid()}@{host}.tmp"  # a writer still at work
    elsewhere = folder / f".b3.parquet.{'2' * 32}.{dead_pid}@another-host.tmp"  # can't tell: keep
    for path in (dead, live, elsewhere):
        path.write_bytes(b"PAR1 half a file")

    write(manager, WHOLE, duplicates_table(5))

    assert sorted(p.name for p in folder.iterdir()) == sorted([live.name, elsewhere.name, "part-0.parquet"])
    assert read(manager, WHOLE).num_rows == 5


@pytest.mark.parametrize(
    ("batches", "written"), [([], []), (["b1"], ["b1"]), (["b1", "b2"], ["b1", "b2"]), (["b1", "b2"], ["b2"])],
    ids=["none", "one", "two", "one-missing"],
)
def test_an_unpartitioned_reader_gets_a_dict_of_every_partition(tmp_path, batches, written):
    partitions = dg.DynamicPartitionsDefinition(name="batches")
    manager = ParquetUPathIOManager(
        base_path=UPath(tmp_path), schemas={"per_batch": DATASETS[WHOLE], "whole": DATASETS[WHOLE]}
    )
    seen = []

    @dg.asset(partitions_def=partitions)
    def per_batch(context):  # (no annotation: this module uses postponed annotations)
        return duplicates_table(int(context.partition_key[1:]))

    @dg.asset(ins={"per_batch": dg.AssetIn(metadata={"allow_missing_partitions": True})})
    def whole(per_batch):
        seen.append({batch: table.num_rows for batch, table in per_batch.items()})
        return pa.concat_tables(per_batch.values()) if per_batch else duplicates_table(0)

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("batches", batches)
        for batch in written:
            dg.materialize([per_batch], partition_key=batch, instance=instance, resources={"io_manager": manager})
        dg.materialize([per_batch, whole], selection=[whole], instance=instance, resources={"io_manager": manager})
    assert seen == [{batch: int(batch[1:]) for batch in written}]  # a partition never written is left out


def test_an_input_with_columns_reads_only_those_columns(tmp_path):
    manager = io_manager(str(tmp_path))
    write(manager, "consultations", PartStream([Part("b", "key", {}, pa.Table.from_pylist([consultation_row()], schema=DATASETS["consultations"]))]))
    upstream = dg.build_output_context(asset_key="consultations")
    context = dg.build_input_context(asset_key="consultations", upstream_output=upstream, definition_metadata={"columns": ["sections", "page_id"]})
    loaded = manager.load_input(context)
    assert loaded.column_names == ["sections", "page_id"]
    assert loaded.schema.field("sections").type == DATASETS["consultations"].field("sections").type
    assert loaded["page_id"].to_pylist() == ["20240101120000-1"]


def test_partitions_are_read_when_looked_up_and_missing_ones_fail_unless_allowed(tmp_path, monkeypatch: pytest.MonkeyPatch):
    partitions = dg.StaticPartitionsDefinition(["b1", "b2"])
    manager = ParquetUPathIOManager(base_path=UPath(tmp_path), schemas={"per_batch": DATASETS[WHOLE]})
    output = dg.build_output_context(asset_key="per_batch", partition_key="b1", asset_partitions_def=partitions)
    manager.handle_output(output, duplicates_table(2))
    reads = []
    real_read = io_manager_module.read_parquet
    monkeypatch.setattr(io_manager_module, "read_parquet", lambda path, columns: reads.append((path.name, columns)) or real_read(path, columns))

    def context(allow_missing: bool) -> dg.InputContext:
        return dg.build_input_context(
            asset_key="per_batch", asset_partitions_def=partitions, asset_partition_key_range=dg.PartitionKeyRange("b1", "b2"),
            definition_metadata={"allow_missing_partitions": allow_missing},
            upstream_output=dg.build_output_context(asset_key="per_batch", asset_partitions_def=partitions),
        )

    loaded = manager.load_input(context(allow_missing=True))
    assert list(loaded) == ["b1"] and reads == []  # nothing read until looked up
    assert loaded["b1"].num_rows == 2 and reads == [("b1.parquet", None)]
    assert loaded.read("b1", ["page_id"]).column_names == ["page_id"] and reads[-1] == ("b1.parquet", ["page_id"])
    with pytest.raises(FileNotFoundError, match=r"\['b2'\]"):
        manager.load_input(context(allow_missing=False))


# --- parted datasets -------------------------------------------------------------------------------


def write_parts(manager: ParquetUPathIOManager, parts: list[Part], metadata=dict) -> dg.OutputContext:
    context = dg.build_output_context(asset_key=PARTED)
    manager.handle_output(context, PartStream(iter(parts), metadata))
    return context


def test_a_parted_dataset_is_a_file_per_batch_tagged_with_its_key_and_memo(tmp_path):
    manager = io_manager(str(tmp_path))
    context = write_parts(manager, [Part("b1", "k1", {"check": 1}, sections_table(2)), Part("b2", "k2", {}, sections_table(3))], lambda: {"note": "after"})

    assert sorted(p.name for p in (tmp_path / PARTED).iterdir()) == ["b1.parquet", "b2.parquet"]
    stored = manager.stored_parts(PARTED)
    assert {batch: (part.key, dict(part.memo), part.rows) for batch, part in stored.items()} == {
        "b1": ("k1", {"check": 1}, 2), "b2": ("k2", {}, 3),
    }  # fmt: skip
    assert stored["b2"].read(["section_index"]).column_names == ["section_index"]
    assert read(manager, PARTED).equals(pa.concat_tables([sections_table(2), sections_table(3)]))  # batch order
    assert pd.read_parquet(tmp_path / PARTED).shape == (5, len(DATASETS[PARTED]))  # plain readers see one dataset
    metadata = context.get_logged_metadata()
    assert metadata["dagster/row_count"].value == 5 and metadata["note"].value == "after"
    assert metadata["parts_written"].value == ["b1", "b2"]
    assert metadata[PARTS_KEY].value == parts_key({"b1": "k1", "b2": "k2"})  # what a later build checks its files against


def test_a_kept_part_is_left_as_it_is_and_parts_of_other_batches_go(tmp_path):
    manager = io_manager(str(tmp_path))
    write_parts(manager, [Part("b1", "k1", {}, sections_table(2)), Part("b2", "k2", {}, sections_table(3))])
    (tmp_path / PARTED / "part-0.parquet").write_bytes(b"an older layout")
    kept = tmp_path / PARTED / "b1.parquet"
    before = (kept.read_bytes(), kept.stat().st_mtime_ns)

    context = write_parts(manager, [Part("b1", "k1", {}), Part("b3", "k3", {}, sections_table(1))])

    assert (kept.read_bytes(), kept.stat().st_mtime_ns) == before
    assert sorted(p.name for p in (tmp_path / PARTED).iterdir()) == ["b1.parquet", "b3.parquet"]
    assert context.get_logged_metadata()["dagster/row_count"].value == 3
    assert context.get_logged_metadata()["parts_written"].value == ["b3"]


@pytest.mark.parametrize("on_memory_url", [False, True])
def test_a_folder_named_like_a_part_is_no_part_and_is_left_alone(tmp_path, on_memory_url):
    base = UPath(f"memory://pipeline-test-{uuid.uuid4().hex}") if on_memory_url else UPath(tmp_path)
    manager = io_manager(str(base))
    write_parts(manager, [Part("b1", "k1", {}, sections_table(2))])
    stray = base / PARTED / "stray.parquet"
    stray.mkdir()
    (stray / "notes.txt").write_text("a user's folder")  # on object storage, the folder is this file's prefix

    assert manager.stored_batches([PARTED]) == {"b1"}  # a corpus step retiring gone batches would unlink it
    assert set(manager.stored_parts(PARTED)) == {"b1"}
    write_parts(manager, [Part("b1", "k1", {}), Part("b2", "k2", {}, sections_table(1))])  # other batches' files go

    assert (stray / "notes.txt").read_text() == "a user's folder"
    assert read(manager, PARTED).num_rows == 3


def test_a_folder_where_a_part_goes_stops_the_write_with_its_name(tmp_path):
    manager = io_manager(str(tmp_path))
    (tmp_path / PARTED / "b1.parquet").mkdir(parents=True)

    with pytest.raises(IsADirectoryError, match=r"b1\.parquet is a folder, not a file of ours"):
        write_parts(manager, [Part("b1", "k1", {}, sections_table(2))])
    assert [p.name for p in (tmp_path / PARTED).iterdir()] == ["b1.parquet"]  # no temp file left beside it


@pytest.mark.parametrize(
    "error, held",
    [
        (FileNotFoundError(2, "No such file"), False),
        (PermissionError(13, "Permission denied"), False),  # to be made again: an ingest then says why it cannot
        (pa.ArrowNotImplementedError("Unsupported encoding"), False),  # a damaged footer naming no encoding pyarrow has
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), False),  # a column name damaged
        (None, True),
    ],
)
def test_a_batch_is_held_while_each_of_its_files_has_a_footer_that_reads(tmp_path, monkeypatch: pytest.MonkeyPatch, error, held):
    """What the sensor asks at every tick of every batch: any word of damage means "ingest it again" (an error the
    sensor did not expect would fail every tick, and every batch's ingest with it)."""
    manager = io_manager(str(tmp_path))
    write_parts(manager, [Part("b1", "k1", {}, sections_table(2))])
    if error is not None:
        def footer(path):
            raise error

        monkeypatch.setattr(io_manager_module, "_footer", footer)
    assert manager.holds_batch([PARTED], "b1") is held
    assert manager.holds_batch([PARTED], "b2") is False


def test_a_part_whose_footer_names_an_encoding_pyarrow_has_not_is_no_part(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """Made again, as a part with no footer is; it failed the step (only ArrowInvalid was taken for damage)."""
    manager = io_manager(str(tmp_path))
    write_parts(manager, [Part("b1", "k1", {}, sections_table(2)), Part("b2", "k2", {}, sections_table(3))])
    real_footer = io_manager_module._footer

    def footer(path):
        if path.stem == "b1":
            raise pa.ArrowNotImplementedError("Unsupported encoding")
        return real_footer(path)

    monkeypatch.setattr(io_manager_module, "_footer", footer)
    assert set(manager.stored_parts(PARTED)) == {"b2"}


def test_a_read_short_of_memory_is_no_verdict_on_a_batchs_files(tmp_path, monkeypatch: pytest.MonkeyPatch):
    manager = io_manager(str(tmp_path))
    write_parts(manager, [Part("b1", "k1", {}, sections_table(2))])

    def footer(path):
        raise pa.ArrowMemoryError("malloc of size 8 failed")

    monkeypatch.setattr(io_manager_module, "_footer", footer)
    with pytest.raises(pa.ArrowMemoryError):
        manager.holds_batch([PARTED], "b1")


def test_a_part_to_keep_must_be_stored_with_its_key(tmp_path):
    manager = io_manager(str(tmp_path))
    write_parts(manager, [Part("b1", "k1", {}, sections_table(2))])
    with pytest.raises(ValueError, match="not stored with their key"):
        write_parts(manager, [Part("b1", "another key", {})])
    with pytest.raises(ValueError, match="not stored with their key"):
        write_parts(manager, [Part("b2", "k2", {})])


def test_a_part_not_matching_the_schema_is_refused_and_earlier_files_stay_whole(tmp_path):
    manager = io_manager(str(tmp_path))
    with pytest.raises(SchemaMismatchError, match="missing"):
        write_parts(manager, [Part("b1", "k1", {}, sections_table(2)), Part("b2", "k2", {}, sections_table(2).drop_columns(["body"]))])
    assert sorted(p.name for p in (tmp_path / PARTED).iterdir()) == ["b1.parquet"]  # no temp file left behind
    assert read(manager, PARTED).num_rows == 2


def test_a_parted_input_can_be_its_stored_parts(tmp_path):
    manager = io_manager(str(tmp_path))
    write_parts(manager, [Part("b1", "k1", {"rows": 2}, sections_table(2))])
    upstream = dg.build_output_context(asset_key=PARTED)
    loaded = manager.load_input(dg.build_input_context(asset_key=PARTED, upstream_output=upstream, definition_metadata={PARTS: True}))
    assert list(loaded) == ["b1"] and loaded["b1"].key == "k1" and loaded["b1"].read(None).equals(sections_table(2))
    columns = manager.load_input(dg.build_input_context(asset_key=PARTED, upstream_output=upstream, definition_metadata={"columns": ["body"]}))
    assert columns.column_names == ["body"] and columns.num_rows == 2


@pytest.mark.parametrize("on_memory_url", [False, True])
def test_a_stored_part_reads_only_the_rows_asked_for_in_the_datasets_types(tmp_path, on_memory_url):
    manager = io_manager(f"memory://pipeline-test-{uuid.uuid4().hex}" if on_memory_url else str(tmp_path))
    table = sections_table(4).set_column(2, "heading", pa.array(["見出しA", None, "見出しB", None]))
    write_parts(manager, [Part("b1", "k1", {}, table)])

    read_back = manager.stored_parts(PARTED)["b1"].read(["heading", "section_index"], where=pc.field("heading").is_valid())

    assert read_back.schema.equals(pa.schema([DATASETS[PARTED].field("heading"), DATASETS[PARTED].field("section_index")]))
    assert read_back.to_pydict() == {"heading": ["見出しA", "見出しB"], "section_index": [0, 2]}


def test_an_empty_parted_dataset_reads_as_an_empty_table(tmp_path):
    manager = io_manager(str(tmp_path))
    write_parts(manager, [])
    assert read(manager, PARTED).equals(DATASETS[PARTED].empty_table())


def test_parts_on_a_memory_url():
    base = f"memory://pipeline-test-{uuid.uuid4().hex}"
    manager = io_manager(base)
    write_parts(manager, [Part("b1", "k1", {}, sections_table(2))])
    write_parts(manager, [Part("b1", "k1", {}), Part("b2", "k2", {}, sections_table(1))])
    assert sorted(p.name for p in (UPath(base) / PARTED).iterdir()) == ["b1.parquet", "b2.parquet"]
    assert read(manager, PARTED).num_rows == 3


def test_a_whole_dataset_refuses_parts_and_a_parted_one_refuses_a_table(tmp_path):
    manager = io_manager(str(tmp_path))
    with pytest.raises(TypeError, match="PartStream"):
        write(manager, WHOLE, PartStream([Part("b1", "k1", {}, duplicates_table())]))
    with pytest.raises(TypeError, match="PartStream"):
        write(manager, PARTED, sections_table(1))
    assert not list(tmp_path.rglob("*.parquet"))


def test_sidecars_are_kept_with_their_part_and_go_with_it(tmp_path):
    manager = io_manager(str(tmp_path))
    keys = pa.table({"key": ["a", "b"]})
    write_parts(manager, [Part("b1", "k1", {}, sections_table(2), {"keys": keys}), Part("b2", "k2", {}, sections_table(1), {"keys": keys})])
    assert (tmp_path / PARTED / "_keys" / "b1.parquet").is_file()
    assert pd.read_parquet(tmp_path / PARTED).shape == (3, len(DATASETS[PARTED]))  # readers of the dataset skip "_" folders
    stored = manager.stored_parts(PARTED)
    assert stored["b1"].sidecar("keys").select(["key"]).equals(keys) and stored["b1"].sidecar("other") is None

    write_parts(manager, [Part("b1", "k1", {}), Part("b3", "k3", {}, sections_table(1))])  # b1 kept, b2 gone, b3 without
    assert sorted(p.name for p in (tmp_path / PARTED / "_keys").iterdir()) == ["b1.parquet"]
    stored = manager.stored_parts(PARTED)
    assert stored["b1"].sidecar("keys") is not None and stored["b3"].sidecar("keys") is None

    write_parts(manager, [Part("b1", "k9", {}, sections_table(1))])  # made again without a sidecar: the old one is stale
    assert manager.stored_parts(PARTED)["b1"].sidecar("keys") is None


def test_a_file_damaged_after_it_was_written_fails_its_page_checksum_and_is_listed(tmp_path):
    """Every page carries a checksum that reads verify: bytes flipped inside a page (the footer intact, so the
    file still looks whole to a build reading footers) fail the read, and `unreadable_files` names the file (damaged), a
    sidecar's too, and not the intact ones."""
    rng = random.Random(3)
    bodies = ["".join(rng.choice("あいうえおかきくけこ法律相談") for _ in range(60)) for _ in range(2000)]
    table = pa.Table.from_pylist(
        [{"page_id": f"p{i}", "section_index": 0, "heading": None, "body": body} for i, body in enumerate(bodies)], schema=DATASETS[PARTED]
    )
    base = UPath(tmp_path)
    damaged, intact = base / PARTED / "2024-01-01.parquet", base / PARTED / "2024-01-02.parquet"
    sidecar = base / PARTED / "_keys" / "2024-01-01.parquet"
    for path in (damaged, intact, sidecar):
        path.parent.mkdir(parents=True, exist_ok=True)
        io_manager_module.write_parquet_atomic(table, DATASETS[PARTED], path)
    for path in (damaged, sidecar):
        flip_bytes_in_column(Path(path.path), "body")

    assert pq.read_metadata(damaged.path).num_rows == 2000  # the footer reads
    with pytest.raises(io_manager_module.DamagedFileError, match=rf"^{damaged} is damaged \(.*CRC checksum verification failed.*--verify"):
        io_manager_module.read_parquet(damaged)
    assert io_manager_module.read_parquet(intact).equals(table)
    found = io_manager_module.unreadable_files(base)
    assert [(file.path, file.damaged) for file in found] == [(damaged, True), (sidecar, True)]
    assert all("CRC checksum verification failed" in file.reason for file in found)


def test_a_file_the_system_does_not_let_be_read_is_not_called_damaged(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """No permission, or a folder where a part file should be, is the system's word on the file, not pyarrow's on its
    content: a read raises it as itself (its message names the file) and `unreadable_files` lists it as not damaged,
    so that `--verify` leaves a file that may be whole. Both were "damaged" (PermissionError is an OSError)."""
    base = UPath(tmp_path)
    locked, damaged = base / PARTED / "2024-01-01.parquet", base / PARTED / "2024-01-02.parquet"
    locked.parent.mkdir(parents=True)
    rows = [{"page_id": f"p{i}", "section_index": 0, "heading": None, "body": f"本文 {i} " * 20} for i in range(2000)]
    for path in (locked, damaged):
        io_manager_module.write_parquet_atomic(pa.Table.from_pylist(rows, schema=DATASETS[PARTED]), DATASETS[PARTED], path)
    flip_bytes_in_column(Path(damaged.path), "body")
    folder = base / PARTED / "2024-01-03.parquet"  # named like a part file
    folder.mkdir()
    refuse_to_open(monkeypatch, locked)

    with pytest.raises(PermissionError, match=re.escape(locked.path)):  # not DamagedFileError, an OSError beside it
        io_manager_module.read_parquet(locked)
    with pytest.raises(io_manager_module.DamagedFileError):  # damage is still damage
        io_manager_module.read_parquet(damaged)
    found = {file.path: file for file in io_manager_module.unreadable_files(base)}
    assert {path: file.damaged for path, file in found.items()} == {locked: False, damaged: True, folder: False}
    assert "Permission denied" in found[locked].reason and "Is a directory" in found[folder].reason


@pytest.mark.parametrize(
    "error, damage",
    [
        (OSError("Corrupt snappy compressed data."), True),  # pyarrow on a page: a bare OSError
        (pa.ArrowInvalid("Parquet magic bytes not found in footer"), True),
        (pa.ArrowNotImplementedError("Unsupported encoding"), True),  # a damaged footer naming no encoding pyarrow has
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), True),  # a column name damaged
        (PermissionError(13, "Permission denied"), False),
        (OSError(5, "Input/output error"), False),  # the disk's word, with an errno
        (pa.ArrowCancelled("Operation cancelled"), False),
        (pa.ArrowMemoryError("malloc of size 8 failed"), False),
    ],
)
def test_damage_is_pyarrows_word_on_the_content(error, damage):
    """Only what pyarrow says of a file's content makes `--verify` remove the file (to be made again)."""
    assert io_manager_module._is_damage(error) is damage


def test_columns_a_file_does_not_have_are_named_not_called_damage(tmp_path):
    """A file written under an older schema is not damaged: asking it for a column it does not have fails naming the
    file and the column, not with --verify's advice (which would find nothing to make again)."""
    base = UPath(tmp_path)
    path = base / PARTED / "2024-01-01.parquet"
    path.parent.mkdir(parents=True)
    older = sections_table(2).drop_columns(["heading"])
    io_manager_module.write_parquet_atomic(older, older.schema, path)

    with pytest.raises(io_manager_module.MissingColumnsError, match=rf"^{re.escape(path.path)} has no column heading: written under another schema$"):
        io_manager_module.read_parquet(path, ["page_id", "heading", "body"])
    assert io_manager_module.read_parquet(path, ["page_id", "body"]).equals(older.select(["page_id", "body"]))
    assert io_manager_module.unreadable_files(base) == []
    cut = base / PARTED / "2024-01-02.parquet"  # no footer to look the columns up in: damaged
    cut.write_bytes(path.read_bytes()[:100])
    with pytest.raises(io_manager_module.DamagedFileError, match=r"magic bytes not found"):
        io_manager_module.read_parquet(cut, ["page_id", "heading"])


def test_a_sidecar_that_does_not_read_is_computed_again(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A part's sidecar is a step's cache: damaged, or refused by the system, the step computes it again (None) rather
    than fail (read_parquet raises both as OSErrors, DamagedFileError and PermissionError)."""
    manager = io_manager(str(tmp_path))
    keys = pa.table({"key": [f"鍵{i}" for i in range(5000)]})
    write_parts(manager, [Part(batch, f"k{batch}", {}, sections_table(1), {"keys": keys}) for batch in ("b1", "b2", "b3")])
    sidecars = UPath(tmp_path) / PARTED / "_keys"
    flip_bytes_in_column(Path((sidecars / "b1.parquet").path), "key")
    refuse_to_open(monkeypatch, sidecars / "b2.parquet")

    stored = manager.stored_parts(PARTED)
    assert [stored[batch].sidecar("keys") is None for batch in ("b1", "b2", "b3")] == [True, True, False]

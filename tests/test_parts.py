"""The parts machinery of pipeline.core.parts: keys, reuse, reading parts back (storage-free, in memory)."""

from __future__ import annotations

import types

import numpy as np
import pyarrow as pa
import pyarrow.parquet

from pipeline.core import parts
from pipeline.core.schemas import SECTIONS


def sections(pages: list[str]) -> pa.Table:
    return pa.Table.from_pylist([{"page_id": p, "section_index": 0, "heading": None, "body": f"{p}の本文"} for p in pages], schema=SECTIONS)


def stored(table: pa.Table, key: str = "k", reads: list | None = None) -> parts.StoredPart:
    def read(columns):
        if reads is not None:
            reads.append(columns)
        return table if columns is None else table.select(list(columns))

    return parts.StoredPart(key=key, memo={}, rows=table.num_rows, read=read)


def test_a_stored_part_is_reused_only_with_the_same_key():
    part = stored(sections(["a"]), key="k1")
    assert parts.reusable({"b1": part}, "b1", "k1") is part
    assert parts.reusable({"b1": part}, "b1", "k2") is None
    assert parts.reusable({"b1": part}, "b2", "k1") is None
    assert parts.reusable(None, "b1", "k1") is None


def test_digests_are_stable_and_see_every_value():
    assert parts.digest({"b": 1, "a": [1, None]}) == parts.digest({"a": [1, None], "b": 1})
    assert parts.digest("x", 1) != parts.digest("x", 2)
    one = sections(["a", "b"])
    chunked = pa.concat_tables([one.slice(0, 1), one.slice(1, 1)])
    assert parts.column_digest(one, ["page_id"]) == parts.column_digest(chunked, ["page_id"])
    assert parts.column_digest(one, ["page_id"]) != parts.column_digest(sections(["a", "c"]), ["page_id"])


def test_the_code_digest_follows_the_source(tmp_path):
    source = tmp_path / "step.py"
    module = types.SimpleNamespace(__file__=str(source))
    source.write_text("RULE = 1\n")
    before = parts.code_digest([module])
    source.write_text("RULE = 2\n")
    assert parts.code_digest([module]) != before


def test_rows_are_read_from_the_parts_that_hold_them():
    reads: list = []
    stored_parts = {"b2": stored(sections(["c", "d", "e"]), reads=reads), "b1": stored(sections(["a", "b"]), reads=reads)}
    rows = parts.PartRows(stored_parts, ["page_id"])
    assert rows.take(np.array([1, 2, 4]))["page_id"].to_pylist() == ["b", "c", "e"]  # b1 then b2: batch order
    assert rows.take(np.array([3]))["page_id"].to_pylist() == ["d"]
    assert reads == [["page_id"], ["page_id"]]  # each part read once, one column
    assert parts.PartRows({"b1": stored(sections(["a"]), reads=reads)}, ["page_id"]).take(np.array([], np.int64)).num_rows == 0


def test_parts_concatenate_in_batch_order_or_to_an_empty_table():
    stored_parts = {"b2": stored(sections(["c"])), "b1": stored(sections(["a", "b"]))}
    assert parts.concat_parts(stored_parts, SECTIONS, ["page_id"])["page_id"].to_pylist() == ["a", "b", "c"]
    assert parts.concat_parts({}, SECTIONS).equals(SECTIONS.empty_table())


def sections_of_batch(batch: str) -> pa.Table:
    return sections([f"2024010100000{batch[-1]}-1", f"2024010100000{batch[-1]}-2"])


def test_parts_made_in_worker_processes_are_the_parts_made_here(tmp_path, monkeypatch):
    from upath import UPath

    from pipeline.core.schemas import DATASETS
    from pipeline.core.validation import SuiteRun
    from pipeline.defs.io_manager import PartFiles

    keys = {"b1": "k1", "b2": "k2", "b3": "k3"}
    here_suite, there_suite = SuiteRun("sections"), SuiteRun("sections")
    here = list(parts.validated_parts("sections", keys, sections_of_batch, None, here_suite))
    files = PartFiles(UPath(tmp_path), DATASETS)
    monkeypatch.setattr(parts.workers, "PARALLEL_MIN_PAGES", 0)  # three parts of two pages: in two workers
    asked, in_order = [], parts.workers.in_order
    monkeypatch.setattr(parts.workers, "in_order", lambda *args, **kwargs: asked.append(kwargs["parallel"]) or in_order(*args, **kwargs))
    there = list(parts.validated_parts("sections", keys, sections_of_batch, None, there_suite, writer=files, pages=6))
    assert asked == [True]
    assert [part.batch for part in there] == ["b1", "b2", "b3"] and all(part.written for part in there)
    for made, stored in zip(here, there):
        assert (made.key, made.memo) == (stored.key, stored.memo)
        assert pa.parquet.read_table(tmp_path / "sections" / f"{made.batch}.parquet").cast(SECTIONS).equals(made.table)
    assert there_suite.report() == here_suite.report() and here_suite.report().success

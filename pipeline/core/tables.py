"""Records to the datasets: the manifest of a batch, its parsed pages, and the flat tables of the corpus.

Every function returns a pyarrow table with the schema from `schemas.py` and a deterministic row order.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import itertools
import multiprocessing
import multiprocessing.context
import dataclasses
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core import parts, schemas
from pipeline.core.batches import batch_dirs, snapshot
from pipeline.core.page import DEFAULT_MAX_BYTES, SITE_PAGE_ID, content_hash, parse_file
from pipeline.core.parts import Part, StoredPart
from pipeline.core.quality import links
from pipeline.core.quality.links import link_related
from pipeline.core.record import PageResult

if TYPE_CHECKING:  # validation imports pandas: not needed by the parsing workers
    from pipeline.core.validation import SuiteRun

SITE_TIME_ZONE = ZoneInfo("Asia/Tokyo")  # the site's page ids carry local (JST) timestamps


def raw_manifest(raw_dir: Path, batch: str | None = None) -> pa.Table:
    """Every scraped file of one batch (or of every batch), sorted by batch and path."""
    dirs = [raw_dir / batch] if batch is not None else batch_dirs(raw_dir)
    rows = [
        {"batch": batch_dir.name, "source": f"{batch_dir.name}/{relative}", "size_bytes": size}
        for batch_dir in dirs
        for relative, size, _mtime in snapshot(batch_dir).files
    ]
    return pa.Table.from_pylist(rows, schema=schemas.RAW_PAGES)


PARALLEL_MIN_FILES = 2000  # below this, a process pool's start-up costs more than it saves (docs/benchmarks.md)
_CHUNK_FILES = 250  # files per task: large enough to amortise pickling, small enough to balance the workers


def parse_manifest(
    manifest: pa.Table, raw_dir: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, workers: int | None = None
) -> pa.Table:
    """Parse every file of the manifest; rejected inputs are rows too.

    Uses `workers` processes (default: every core) when there are at least PARALLEL_MIN_FILES files on
    the local file system (other storage, e.g. memory:// or s3:// through UPath, is read serially: a
    worker process may not see the parent's file system object); the rows come out in manifest order
    either way, and the table is the same.
    """
    batches, sources = manifest["batch"].to_pylist(), manifest["source"].to_pylist()
    workers = (os.cpu_count() or 1) if workers is None else workers
    local = getattr(raw_dir, "protocol", "") in ("", "file", "local")
    if workers <= 1 or len(sources) < PARALLEL_MIN_FILES or not local:
        return _parse_chunk(raw_dir, batches, sources, max_bytes)
    starts = range(0, len(sources), _CHUNK_FILES)
    with concurrent.futures.ProcessPoolExecutor(min(workers, len(starts)), mp_context=_pool_context()) as pool:
        parts = pool.map(
            _parse_chunk,
            itertools.repeat(raw_dir),
            (batches[i : i + _CHUNK_FILES] for i in starts),
            (sources[i : i + _CHUNK_FILES] for i in starts),
            itertools.repeat(max_bytes),
        )
        return pa.concat_tables(list(parts)).combine_chunks()


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork when this process runs no other thread: the fastest start (≈ 0.02 s), and then nothing can hold
    a lock across the fork. Otherwise forkserver: workers fork from a clean single-threaded server that
    imported the parser once (≈ 0.3 s the first time in a process, ≈ 0.04 s after); the caller's script
    then needs the `if __name__ == "__main__":` guard, as with spawn."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _parse_chunk(raw_dir: Path, batches: list[str], sources: list[str], max_bytes: int) -> pa.Table:
    return parsed_pages_table(
        (batch, parse_file(raw_dir / source, source=source, max_bytes=max_bytes)) for batch, source in zip(batches, sources)
    )


def parsed_pages_table(results: Iterable[tuple[str, PageResult]]) -> pa.Table:
    rows = [
        {"batch": batch, "posted_at": posted_at(result.page_id), "content_hash": _content_hash(result), **result.to_dict()}
        for batch, result in results
    ]
    return pa.Table.from_pylist(rows, schema=schemas.PARSED_PAGES)


def _content_hash(result: PageResult) -> str | None:
    """Hashed here, in the parsing workers, so the corpus fold reads it instead of hashing every text again."""
    if result.status != "ok":
        return None
    return content_hash(result.title, result.question, result.background, result.answer)


def posted_at(page_id: str | None) -> dt.datetime | None:
    """The timestamp in the site's page id (YYYYMMDDhhmmss, JST), in UTC; None for hashed ids."""
    if not page_id or not SITE_PAGE_ID.fullmatch(page_id):
        return None
    try:
        local = dt.datetime.strptime(page_id[:14], "%Y%m%d%H%M%S").replace(tzinfo=SITE_TIME_ZONE)
    except ValueError:  # 14 digits that are no date
        return None
    return local.astimezone(dt.UTC)


def sections_table(consultations: pa.Table) -> pa.Table:
    return explode(consultations, "sections", "section_index", schemas.SECTIONS)


def explode(consultations: pa.Table, list_column: str, position: str, schema: pa.Schema) -> pa.Table:
    """One row per item of a list-of-struct column: page_id, the item's position in its list, its fields.

    Done with Arrow kernels (flatten, parent indices), never through Python objects: the sections
    repeat the answers' text and there are ten teasers a page.
    """
    lists = consultations[list_column].combine_chunks()
    items = lists.flatten()
    parents = pc.list_parent_indices(lists)
    lengths = pc.list_value_length(lists).fill_null(0).to_numpy()
    starts = np.cumsum(lengths) - lengths
    positions = np.arange(len(items)) - starts[parents.to_numpy()]
    columns = {"page_id": consultations["page_id"].take(parents), position: pa.array(positions, schema.field(position).type)}
    columns |= {name: items.field(name) for name in items.type.names if name in schema.names}
    present = pa.schema([field for field in schema if field.name in columns], metadata=schema.metadata)
    return pa.table(columns).select(present.names).cast(present)


def related_questions_table(consultations: pa.Table) -> pa.Table:
    """One row per teaser, linked to the corpus page it points to when that page is in the corpus."""
    return link_related(explode(consultations, "related", "position", schemas.RELATED_QUESTIONS), consultations).table


# --- the corpus tables derived from consultations, part by part (parts.py) ------------------------------

# The columns related-question linking reads of every page (link_related's target index).
LINK_TARGET_COLUMNS = ["page_id", "title", "question", "background", "answer", "aliases"]


def sections_parts(
    consultations: Mapping[str, StoredPart], stored: Mapping[str, StoredPart] | None, suite: SuiteRun
) -> Iterator[Part]:
    """sections, one part per consultations part: kept while that part (and this code) is the same."""
    code = parts.code_digest([sys.modules[__name__], schemas], [_suite_file("sections")])
    keys = {batch: parts.digest("sections", code, part.key) for batch, part in consultations.items()}
    make = lambda batch: sections_table(consultations[batch].read(["page_id", "sections"]))  # noqa: E731
    return parts.validated_parts("sections", keys, make, stored, suite)


@dataclasses.dataclass(frozen=True)
class RelatedParts:
    """related_questions linked against the whole corpus, to be stored per batch (`parts`)."""

    linked: pa.Table  # every teaser of every part, in batch order
    parts: Iterator[Part]  # a part is kept when its teasers and their links are the same as stored


def related_parts(
    consultations: Mapping[str, StoredPart], stored: Mapping[str, StoredPart] | None, suite: SuiteRun
) -> RelatedParts:
    """Every teaser linked against every page; a batch's part is remade only where its links changed (a page
    added elsewhere can become a teaser's target)."""
    batches = sorted(consultations)
    teasers = [explode(consultations[batch].read(["page_id", "related"]), "related", "position", schemas.RELATED_QUESTIONS) for batch in batches]
    linked = link_related(
        pa.concat_tables([_unlinked(schemas.RELATED_QUESTIONS).empty_table(), *teasers]),
        parts.concat_parts(consultations, schemas.CONSULTATIONS, LINK_TARGET_COLUMNS),
    ).table
    starts = np.cumsum([0, *(table.num_rows for table in teasers)])
    of_batch = {batch: linked.slice(start, table.num_rows) for batch, start, table in zip(batches, starts, teasers)}
    code = parts.code_digest([sys.modules[__name__], schemas, links], [_suite_file("related_questions")])
    keys = {
        batch: parts.digest("related_questions", code, consultations[batch].key, parts.column_digest(table, ["target_page_id", "link_method"]))
        for batch, table in of_batch.items()
    }
    return RelatedParts(linked, parts.validated_parts("related_questions", keys, of_batch.__getitem__, stored, suite))


def _unlinked(schema: pa.Schema) -> pa.Schema:
    """The teasers' schema before linking adds its columns."""
    return pa.schema(list(schema)[: schema.get_field_index("target_page_id")], metadata=schema.metadata)


def _suite_file(dataset: str) -> Path:
    from pipeline.core.validation import suite_path

    return suite_path(dataset)

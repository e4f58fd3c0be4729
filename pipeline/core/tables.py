"""Records to the datasets: manifest, parsed pages, screened consultations and rejects, flat tables.

Every function returns a pyarrow table with the schema from `schemas.py` and a deterministic row order.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import enum
import functools
import gc
import multiprocessing
import multiprocessing.context
import operator
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core import schemas
from pipeline.core.batches import batch_dirs, snapshot
from pipeline.core.page import DEFAULT_MAX_BYTES, SITE_PAGE_ID, content_hash, parse_file
from pipeline.core.quality.links import link_related
from pipeline.core.quality.pii import pii_originals, redact_consultations
from pipeline.core.quality.signals import add_signals
from pipeline.core.record import PageResult

if TYPE_CHECKING:  # validation imports pandas: not needed by the parsing workers
    from pipeline.core.validation import PartCheck, ValidationReport

SITE_TIME_ZONE = ZoneInfo("Asia/Tokyo")  # the site's page ids carry local (JST) timestamps


@dataclasses.dataclass(frozen=True)
class Screened:
    """A whole screening in memory (`screen_pages`): for tests and small corpora."""

    consultations: pa.Table
    page_versions: pa.Table
    rejects: pa.Table
    pii_originals: pa.Table  # private; empty unless asked for
    consultations_report: ValidationReport  # the consultations suite's report on exactly `consultations`


class Role(enum.StrEnum):
    """What became of an input that parsed (dataset page_versions)."""

    CURRENT = "current"  # the version in consultations: the page's latest scrape
    UNCHANGED = "unchanged"  # an earlier scrape with the same content as the current one
    SUPERSEDED = "superseded"  # an earlier scrape whose content has since changed
    ALIAS = "alias"  # the same content under another page id; collapsed into the kept page
    INVALID = "invalid"  # the current version failed a row-level expectation (its row is in rejects)


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
_CHUNK_FILES = 250  # files per table part: Python objects of one part live at a time; a pool task apiece


def parse_manifest(
    manifest: pa.Table, raw_dir: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, workers: int | None = None
) -> pa.Table:
    """Parse every file of the manifest; rejected inputs are rows too.

    Uses `workers` processes (default: every core) when there are at least PARALLEL_MIN_FILES files on
    the local file system (other storage, e.g. memory:// or s3:// through UPath, is read serially: a
    worker process may not see the parent's file system object); the rows come out in manifest order
    either way, and the table is the same. The files are parsed in chunks of _CHUNK_FILES, each a table
    before the next is parsed, and the parts are combined into one chunk: the bytes of the Parquet file
    depend on the chunks it is written from.
    """
    batches, sources = manifest["batch"].to_pylist(), manifest["source"].to_pylist()
    if not sources:
        return schemas.PARSED_PAGES.empty_table()
    starts = range(0, len(sources), _CHUNK_FILES)
    chunks = ([batches[i : i + _CHUNK_FILES] for i in starts], [sources[i : i + _CHUNK_FILES] for i in starts])
    parse_chunk = functools.partial(_parse_chunk, raw_dir, max_bytes=max_bytes)
    workers = (os.cpu_count() or 1) if workers is None else workers
    local = getattr(raw_dir, "protocol", "") in ("", "file", "local")
    if workers <= 1 or len(sources) < PARALLEL_MIN_FILES or not local:
        parts = list(map(parse_chunk, *chunks))
    else:
        # gc.freeze: a worker's collections skip what it inherited from this process (≈ 220k objects in a
        # Dagster step; there they cost ≈ 15% of the workers' CPU, copying the inherited pages too).
        with concurrent.futures.ProcessPoolExecutor(
            min(workers, len(starts)), mp_context=_pool_context(), initializer=gc.freeze
        ) as pool:
            parts = list(pool.map(parse_chunk, *chunks))
    return pa.concat_tables(parts).combine_chunks()


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
    """The rows of (batch, result) pairs, built column by column: a dict per row and `Table.from_pylist`
    cost twice as much (docs/benchmarks.md). The columns other than batch, posted_at and content_hash are
    the PageResult fields of the same name."""
    pairs = list(results)
    pages = [result for _, result in pairs]
    derived = {
        "batch": [batch for batch, _ in pairs],
        "posted_at": [posted_at(result.page_id) for result in pages],
        "content_hash": [_content_hash(result) for result in pages],
    }
    columns = [
        pa.array(derived[field.name], field.type)
        if field.name in derived
        else _column(list(map(operator.attrgetter(field.name), pages)), field.type)
        for field in schemas.PARSED_PAGES
    ]
    return pa.Table.from_arrays(columns, schema=schemas.PARSED_PAGES)


def _column(values: list, dtype: pa.DataType) -> pa.Array:
    """Values of one PageResult field as an array of `dtype`: a list column from its items and their offsets,
    a struct from its items' attributes (Heading, Section, Related: named as the struct's fields)."""
    if pa.types.is_list(dtype):
        items = [item for sequence in values for item in sequence]
        offsets = np.cumsum([0, *map(len, values)], dtype=np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), _column(items, dtype.value_type), type=dtype)
    if pa.types.is_struct(dtype):
        children = [_column(list(map(operator.attrgetter(field.name), values)), field.type) for field in dtype]
        return pa.StructArray.from_arrays(children, fields=list(dtype))
    return pa.array(values, dtype)


def _content_hash(result: PageResult) -> str | None:
    """Hashed here, in the parsing workers, so the corpus fold reads it instead of hashing every text again.
    A page without the site's id already carries it: its id is "h" + this hash (page.page_id)."""
    if result.status != "ok":
        return None
    if result.page_id.startswith("h"):
        return result.page_id[1:]
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


# What the fold reads of every parsed input; the texts are read only for the current versions.
_KEY_COLUMNS = ["batch", "source", "status", "page_id", "sha256", "content_hash", "reject_reason", "reject_detail"]


def screen_pages(parsed_by_batch: Mapping[str, pa.Table], *, keep_pii_originals: bool = False) -> Screened:
    """The whole screening (see `Screening`) with consultations as one table."""
    screening = Screening(parsed_by_batch, keep_pii_originals=keep_pii_originals)
    parts = list(screening.consultations())
    return Screened(
        consultations=pa.concat_tables(parts),
        page_versions=screening.page_versions(),
        rejects=screening.rejects(),
        pii_originals=screening.pii_originals(),
        consultations_report=screening.consultations_report(),
    )


class Screening:
    """Fold the parsed pages of every batch (a mapping batch -> parsed_pages table) into the corpus.

    One row per page_id, its latest scrape winning; exact duplicates under other page ids collapse into
    one page; PII is redacted and quality signals added; current versions failing a row-level expectation
    go to rejects. Every parsed input is in exactly one of rejects or page_versions, and consultations
    are the page_versions marked current. The scraped text of redacted pages is kept only when
    `keep_pii_originals`.

    Constructing it decides every input's role from the key columns alone. `consultations()` then
    screens the current versions one batch at a time, as it is iterated (its parts are the consultations
    table, ordered by batch, then page_id): with a mapping that loads its tables lazily, one batch's texts
    are in memory at a time, not the corpus's. The other results are complete once it has been iterated
    to the end.
    """

    def __init__(self, parsed_by_batch: Mapping[str, pa.Table], *, keep_pii_originals: bool = False):
        from pipeline.core.validation import SuiteRun  # GX costs seconds to import

        self._parsed = parsed_by_batch
        self._keys = _keys(parsed_by_batch)
        self._accepted = self._keys.filter(pc.equal(self._keys["status"], "ok"))
        self._ledger = _version_ledger(self._accepted)
        self._keep_pii_originals = keep_pii_originals
        self._suite = SuiteRun("consultations")
        self._invalid: list[dict] = []
        self._originals: list[pa.Table] = []
        self._screened = False

    def consultations(self) -> Iterator[pa.Table]:
        """The consultations table in parts, one per batch holding current versions (schema CONSULTATIONS)."""
        if self._screened:
            raise RuntimeError("consultations() was already iterated")
        plan = _current_plan(self._accepted, self._ledger)
        for current in plan:
            part = _screen_part(self._parsed, current, self._keep_pii_originals)
            self._suite.add(part.consultations, part.check)
            self._invalid += part.rejects
            self._originals.append(part.pii_originals)
            yield part.consultations
        if not plan:
            self._suite.add(schemas.CONSULTATIONS.empty_table())  # the table-level expectations judge an empty corpus too
        for reject in self._invalid:
            self._ledger.entries[reject["source_index"]]["role"] = Role.INVALID
        self._screened = True

    def _require_screened(self) -> None:
        if not self._screened:
            raise RuntimeError("iterate consultations() to the end first")

    def page_versions(self) -> pa.Table:
        self._require_screened()
        versions = [entry for entry in self._ledger.entries.values() if entry["role"] != Role.INVALID]
        return pa.Table.from_pylist(
            sorted(versions, key=lambda v: (v["page_id"], v["batch"], v["source"])), schema=schemas.PAGE_VERSIONS
        )

    def rejects(self) -> pa.Table:
        self._require_screened()
        parse_rejects = _reject_rows(self._keys.filter(pc.equal(self._keys["status"], "rejected")), stage="parse")
        rows = sorted(
            ({k: r[k] for k in schemas.REJECTS.names} for r in [*parse_rejects, *self._invalid]),
            key=lambda r: (r["batch"], r["source"]),
        )
        return pa.Table.from_pylist(rows, schema=schemas.REJECTS)

    def pii_originals(self) -> pa.Table:
        self._require_screened()
        return pa.concat_tables([schemas.PII_ORIGINALS.empty_table(), *self._originals])

    def consultations_report(self) -> ValidationReport:
        """The consultations suite's report on exactly the published consultations (every part)."""
        self._require_screened()
        return self._suite.report()


def _keys(parsed_by_batch: Mapping[str, pa.Table]) -> pa.Table:
    """The key columns of every input in batch and source order, with the input's row in its batch table."""
    parts = []
    for batch in sorted(parsed_by_batch):
        table = parsed_by_batch[batch].select(_KEY_COLUMNS)
        parts.append(table.append_column("row", pa.array(range(table.num_rows), pa.int64())))
    if not parts:
        return schemas.PARSED_PAGES.empty_table().select(_KEY_COLUMNS).append_column("row", pa.array([], pa.int64()))
    keys = pa.concat_tables(parts)
    return keys.take(pc.sort_indices(keys, [("batch", "ascending"), ("source", "ascending")]))


@dataclasses.dataclass
class _Ledger:
    entries: dict[int, dict]  # row index in `accepted` -> its page_versions row
    current: dict[str, int]  # kept page_id -> row index of its current version
    history: dict[str, dict]  # kept page_id -> first_seen, last_seen, n_versions, aliases


def _version_ledger(accepted: pa.Table) -> _Ledger:
    """Decide the role of every accepted input. `accepted` is in batch order."""
    keys = accepted.select(["page_id", "batch", "source", "sha256", "content_hash"]).to_pylist()
    rows_of_page: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        rows_of_page.setdefault(key["page_id"], []).append(index)

    # Exact duplicates: pages whose current content is the same collapse into one kept page.
    pages_of_content: dict[str, list[str]] = {}
    for page, rows in rows_of_page.items():
        pages_of_content.setdefault(keys[rows[-1]]["content_hash"], []).append(page)
    kept_of: dict[str, str] = {}
    for pages in pages_of_content.values():
        kept = min(pages, key=lambda page: _keep_preference(page, keys[rows_of_page[page][0]]["batch"]))
        kept_of.update((page, kept) for page in pages)

    entries, current, history = {}, {}, {}
    for page, rows in rows_of_page.items():
        kept = kept_of[page]
        latest = keys[rows[-1]]
        changes = sum(keys[a]["content_hash"] != keys[b]["content_hash"] for a, b in zip(rows, rows[1:]))
        for index in rows:
            role = _role(index == rows[-1], page == kept, keys[index]["content_hash"] == latest["content_hash"])
            entries[index] = {**keys[index], "page_id": kept, "input_page_id": page, "role": role}
        if page == kept:
            current[kept] = rows[-1]
            history[kept] = {"first_seen": keys[rows[0]]["batch"], "last_seen": latest["batch"], "n_versions": changes + 1}
    for page, kept in kept_of.items():
        history[kept].setdefault("aliases", [])
        if page != kept:
            history[kept]["aliases"].append(page)
    for record in history.values():
        record["aliases"] = sorted(record["aliases"])
    return _Ledger(entries, current, history)


def _keep_preference(page_id: str, first_batch: str) -> tuple:
    """Of pages with the same content, keep the one with the site's id, seen first, smallest id."""
    return (page_id.startswith("h"), first_batch, page_id)


def _role(is_latest: bool, is_kept: bool, same_as_latest: bool) -> Role:
    if is_latest:
        return Role.CURRENT if is_kept else Role.ALIAS
    return Role.UNCHANGED if same_as_latest else Role.SUPERSEDED


@dataclasses.dataclass(frozen=True)
class _CurrentPart:
    """The current versions held by one batch: page ids in order, their rows there and their histories."""

    batch: str
    rows: list[int]  # in the batch's parsed_pages table
    source_index: list[int]  # into `accepted` (the ledger's keys)
    history: list[dict]


def _current_plan(accepted: pa.Table, ledger: _Ledger) -> list[_CurrentPart]:
    """Where the current version of every kept page is, one part per batch (batch order), each in page_id order.

    Each batch's current rows are taken from its table alone (one batch in memory at a time); the parts
    in batch order are the corpus: putting it in page_id order would mean holding every text at once.
    """
    batches, rows_in_batch = accepted["batch"].to_pylist(), accepted["row"].to_pylist()
    pages_of: dict[str, list[str]] = {}
    for page, index in ledger.current.items():
        pages_of.setdefault(batches[index], []).append(page)
    plan = []
    for batch in sorted(pages_of):
        pages = sorted(pages_of[batch])
        indices = [ledger.current[page] for page in pages]
        plan.append(_CurrentPart(batch, [rows_in_batch[i] for i in indices], indices, [ledger.history[page] for page in pages]))
    return plan


@dataclasses.dataclass(frozen=True)
class _ScreenedPart:
    consultations: pa.Table  # the part's rows that passed, schema CONSULTATIONS
    check: PartCheck  # the consultations suite's row- and table-level results on exactly those rows
    rejects: list[dict]  # the rows that failed, as rejects rows (with their source_index)
    pii_originals: pa.Table


def _screen_part(parsed_by_batch: Mapping[str, pa.Table], part: _CurrentPart, keep_pii_originals: bool) -> _ScreenedPart:
    """Redact, add signals and run the consultations suite's row-level expectations on one part of the plan;
    rows failing one go to rejects, named by it (the rest is checked again when rows were taken out).

    One part at a time, in this process: screening two batches at once in forked workers was measured
    at 100k pages (22 s instead of 28 s for the step) but took 3.1 GB instead of 1.95 GB, over the
    2 GB budget; parsing is where the cores are used."""
    from pipeline.core.validation import SuiteRun  # GX costs seconds to import

    candidates = parsed_by_batch[part.batch].take(pa.array(part.rows, pa.int64()))
    candidates = candidates.append_column("source_index", pa.array(part.source_index, pa.int64()))
    for name in ("first_seen", "last_seen", "n_versions", "aliases"):
        values = [history[name] for history in part.history]
        candidates = candidates.append_column(name, pa.array(values, schemas.CONSULTATIONS.field(name).type))
    redacted = redact_consultations(candidates)
    consultations = add_signals(redacted).select(schemas.CONSULTATIONS.names).cast(schemas.CONSULTATIONS)
    suite = SuiteRun("consultations")
    check = suite.check(consultations)
    failing = check.failing_rows()
    keys = candidates.select(["batch", "source", "page_id", "sha256", "source_index"]).to_pylist()
    rejects = [
        {
            **keys[position],
            "stage": "validate",
            "reject_reason": outcomes[0].expectation_type,
            "reject_detail": "; ".join(f"{outcome.name}: {outcome.detail}" for outcome in outcomes),
        }
        for position, outcomes in failing.items()
    ]
    if failing:
        consultations = consultations.filter(pa.array([i not in failing for i in range(consultations.num_rows)], pa.bool_()))
        check = suite.check(consultations)
    originals = schemas.PII_ORIGINALS.empty_table()
    if keep_pii_originals:
        originals = pii_originals(candidates, redacted)
        originals = originals.filter(pc.is_in(originals["page_id"], consultations["page_id"]))
    return _ScreenedPart(consultations, check, rejects, originals)


def _reject_rows(rejected: pa.Table, *, stage: str) -> list[dict]:
    columns = ["batch", "source", "reject_reason", "reject_detail", "page_id", "sha256"]
    return [row | {"stage": stage} for row in rejected.select(columns).to_pylist()]


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


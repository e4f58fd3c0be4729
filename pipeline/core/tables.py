"""Records to the datasets: the manifest of a batch, its parsed pages, and the flat tables of the corpus.

Every function returns a pyarrow table with the schema from `schemas.py` and a deterministic row order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import operator
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core import page, parts, schemas
from pipeline.core import workers as pools
from pipeline.core.batches import batch_dirs, is_local, on_disk, snapshot
from pipeline.core.page import DEFAULT_MAX_BYTES, SITE_PAGE_ID, content_hash, parse_file
from pipeline.core.parts import Part, PartWriter, StoredPart
from pipeline.core.quality import links, normalise
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


_CHUNK_FILES = 250  # files per table part: Python objects of one part live at a time; a pool task apiece


def parse_manifest(
    manifest: pa.Table, raw_dir: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, workers: int | None = None
) -> pa.Table:
    """Parse every file of the manifest; rejected inputs are rows too.

    Uses `workers` processes (default: every core) when there are at least workers.PARALLEL_MIN_PAGES files on
    the local file system (other storage, e.g. memory:// or s3:// through UPath, is read serially: a
    worker process may not see the parent's file system object); the rows come out in manifest order
    either way, and the table is the same. The files are parsed in chunks of _CHUNK_FILES, each a table
    before the next is parsed; the table keeps those chunks (the same in either mode, so the Parquet file
    written from it is too): combining them copied a batch's texts once more, ≈ 0.2 s and 100 MB a 10k batch.
    """
    batches, sources = manifest["batch"].to_pylist(), manifest["source"].to_pylist()
    if not sources:
        return schemas.PARSED_PAGES.empty_table()
    chunks = [(batches[i : i + _CHUNK_FILES], sources[i : i + _CHUNK_FILES]) for i in range(0, len(sources), _CHUNK_FILES)]
    parse = functools.partial(_parse_chunk, raw_dir, max_bytes=max_bytes)
    parallel = len(sources) >= pools.PARALLEL_MIN_PAGES and is_local(raw_dir)
    parsed = list(pools.in_order(parse, chunks, parallel=parallel, workers=workers, preload=[__name__], ahead=2, small_tasks=True))
    return pa.concat_tables(parsed)


def _parse_chunk(raw_dir: Path, chunk: tuple[list[str], list[str]], *, max_bytes: int) -> pa.Table:
    batches, sources = chunk
    return parsed_pages_table(
        (batch, parse_file(on_disk(raw_dir, source), source=source, max_bytes=max_bytes))
        for batch, source in zip(batches, sources)
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
    """One row per teaser, linked to the corpus page it points to when that page is in the corpus (a whole
    corpus in memory; the build links part by part: `related_parts`)."""
    return links.link_related(explode(consultations, "related", "position", schemas.RELATED_QUESTIONS), consultations).table


# --- the corpus tables derived from consultations, part by part (parts.py) ------------------------------


def sections_parts(
    consultations: Mapping[str, StoredPart], stored: Mapping[str, StoredPart] | None, suite: SuiteRun, writer: PartWriter | None = None
) -> Iterator[Part]:
    """sections, one part per consultations part: kept while that part (and this code) is the same; made in
    worker processes when there are many pages (stored by the writer where they are made)."""
    code = parts.code_digest([sys.modules[__name__], schemas], [_suite_file("sections")])
    keys = {batch: parts.digest("sections", code, part.key) for batch, part in consultations.items()}
    make = functools.partial(_sections_part, consultations)
    pages = sum(part.rows for part in consultations.values())
    return parts.validated_parts("sections", keys, make, stored, suite, writer=writer, pages=pages)


def _sections_part(consultations: Mapping[str, StoredPart], batch: str) -> pa.Table:
    return sections_table(consultations[batch].read(["page_id", "sections"]))


# What the linking reads of a consultations part (links.target_keys) besides its teasers.
LINK_TARGET_COLUMNS = ["page_id", "title", "question", "background", "answer", "aliases"]
_LINKS = ["target_page_id", "link_method"]


@dataclasses.dataclass(frozen=True)
class RelatedParts:
    """related_questions linked against the whole corpus, to be stored per batch (`parts`)."""

    linked: pa.Table  # the link columns of every teaser of every part, in batch order
    parts: Iterator[Part]
    linked_now: int  # teasers linked in this build (the others kept their links)


@dataclasses.dataclass(frozen=True)
class _LinkKeys:
    """What linking needs of one consultations part: its teasers' keys and its pages' keys (links.py)."""

    teasers: pa.Table  # TEASER_KEYS, one row per teaser of the part
    targets: pa.Table  # TARGET_KEYS, one row per page of the part
    stored: bool  # read from the sidecars of the part's related_questions (else computed from its texts)


def related_parts(
    consultations: Mapping[str, StoredPart],
    stored: Mapping[str, StoredPart] | None,
    suite: SuiteRun,
    *,
    stored_whole: bool = False,
    writer: PartWriter | None = None,
) -> RelatedParts:
    """Every teaser linked against every page. A part is made again only where its teasers or their links changed
    (a page added elsewhere can become a teaser's target); the keys linking reads of each part are kept with it
    (sidecars), so the texts of unchanged parts are never read.

    `stored_whole`: the stored parts are the parts of one finished build (their `parts.parts_key` is the one it recorded), so
    their links were linked against one corpus, the one their sidecars describe: then only the teasers that the
    pages added, removed or changed since could link otherwise are linked again (links.relink). Otherwise (a
    build stopped half-way leaves parts linked against different corpora) every teaser is.

    With a `writer`, the parts to store (made from their consultations part for new teasers, or relinked: their
    stored teasers with the links now) are made and stored in worker processes when there are many pages, as
    `sections` are: only their links (and a relinked part's check) cross to the workers."""
    from pipeline.core.validation import PartCheck, Revision

    # The link keys (kept as sidecars) are made by normalise's rule and page's site ids as well as by links.
    code = parts.code_digest([sys.modules[__name__], schemas, links, normalise, page], [_suite_file("related_questions")])
    batches = sorted(consultations)
    keys = {batch: parts.digest("related_questions", code, consultations[batch].key) for batch in batches}
    same_source = {batch: parts.reusable(stored, batch, keys[batch]) for batch in batches}
    link_keys = _all_link_keys(consultations, same_source)
    # Parts with the same teasers and pages (stored with their keys): their links as stored.
    links_before = {
        batch: same_source[batch].read(_LINKS) for batch in batches if same_source[batch] is not None and link_keys[batch].stored
    }
    linked, linked_now = _link(batches, link_keys, links_before, stored if stored_whole else None)
    starts = np.cumsum([0, *(keys_.teasers.num_rows for keys_ in link_keys.values())])
    links_of = {batch: linked.slice(start, link_keys[batch].teasers.num_rows) for batch, start in zip(batches, starts)}

    # The rows of those parts whose links moved (a page added elsewhere can be a teaser's target now), and those
    # rows checked again, every part's at once.
    moved = {batch: _moved_rows(before, links_of[batch]) for batch, before in links_before.items()}
    relinked = [batch for batch in moved if len(moved[batch])]
    revisions = [
        Revision(PartCheck.from_memo("related_questions", same_source[batch].memo["check"]), links_of[batch], moved[batch])
        for batch in relinked
    ]
    rechecked = dict(zip(relinked, suite.recheck(revisions)))
    # The parts to store: those with new teasers, made from their consultations part, and those whose links moved,
    # their stored teasers with the links now.
    to_store = [
        _NewRelatedPart(consultations[batch], batch, keys[batch], pools.detached(links_of[batch]), link_keys[batch]) if batch not in moved
        else _RelinkedPart(same_source[batch], batch, keys[batch], pools.detached(links_of[batch]), rechecked[batch].to_memo())
        for batch in batches if batch not in moved or batch in rechecked
    ]  # fmt: skip
    made = parts.made_in_workers(
        functools.partial(_stored_related_part, writer), to_store, writer=writer, pages=sum(consultations[item.batch].rows for item in to_store)
    )

    def part(batch: str) -> Part:
        """The batch's part, counted into the suite (a part stored now with the check it was stored with)."""
        if batch in moved and batch not in rechecked:
            return parts.keep(same_source[batch], batch, "related_questions", suite)
        return parts.counted(next(made), batch, "related_questions", suite)

    return RelatedParts(linked, map(part, batches), linked_now)


_TEASER_COLUMNS = schemas.RELATED_QUESTIONS.names[: schemas.RELATED_QUESTIONS.get_field_index("target_page_id")]


@dataclasses.dataclass(frozen=True)
class _NewRelatedPart:
    """What a related_questions part with new teasers is made from (plain data: it may cross to a worker)."""

    consultations: StoredPart
    batch: str
    key: str
    links: pa.Table  # the link columns of its teasers
    link_keys: _LinkKeys  # stored with it, for the next build's link


@dataclasses.dataclass(frozen=True)
class _RelinkedPart:
    """A stored related_questions part whose links moved: its teasers as stored, with the links and check now."""

    stored: StoredPart
    batch: str
    key: str
    links: pa.Table
    check: dict  # the memo of the check of the part with these links (validation.SuiteRun.recheck)


def _stored_related_part(writer: PartWriter | None, item: _NewRelatedPart | _RelinkedPart) -> Part | StoredPart:
    """The part made (in a worker, perhaps): stored by the writer when there is one, else with its rows. A new part
    is checked and stored with its link keys (sidecars); a relinked one keeps its sidecars (its teasers are the same)."""
    if isinstance(item, _RelinkedPart):
        part = Part(item.batch, item.key, {"check": item.check}, _with_links(item.stored.read(_TEASER_COLUMNS), item.links))
        return parts.stored_now("related_questions", part, writer)
    teasers = explode(item.consultations.read(["page_id", "related"]), "related", "position", schemas.RELATED_QUESTIONS)
    sidecars = {"teasers": item.link_keys.teasers, "targets": item.link_keys.targets}
    return parts.checked("related_questions", item.batch, item.key, _with_links(teasers, item.links), writer, sidecars)


def _link(
    batches: list[str], link_keys: Mapping[str, _LinkKeys], links_before: Mapping[str, pa.Table], stored: Mapping[str, StoredPart] | None
) -> tuple[pa.Table, int]:
    """The links of every teaser of every part, and how many were linked now: with the `stored` parts of one
    finished build, only where pages changed (`links_before`: the stored links of the parts whose teasers and pages
    are the same)."""
    teasers = pa.concat_tables([links.TEASER_KEYS.empty_table(), *(link_keys[batch].teasers for batch in batches)])
    targets = pa.concat_tables([links.TARGET_KEYS.empty_table(), *(link_keys[batch].targets for batch in batches)])
    changed = _changed_targets(batches, link_keys, links_before, stored) if stored is not None else None
    if changed is None:
        return links.link(teasers, targets), teasers.num_rows
    sizes = [link_keys[batch].teasers.num_rows for batch in batches]
    before = pa.concat_tables([
        _LINKS_SCHEMA.empty_table(),
        *(links_before[batch].select(_LINKS).cast(_LINKS_SCHEMA) if batch in links_before else _no_links(size)
          for batch, size in zip(batches, sizes)),
    ])  # fmt: skip
    known = np.concatenate([np.zeros(0, dtype=bool), *(np.full(size, batch in links_before) for batch, size in zip(batches, sizes))])
    return links.relink(teasers, targets, before, known, changed)


_LINKS_SCHEMA = schemas.projected(schemas.RELATED_QUESTIONS, _LINKS)


def _no_links(rows: int) -> pa.Table:
    """Links not known yet: the teasers of a new part."""
    return pa.table({field.name: pa.nulls(rows, field.type) for field in _LINKS_SCHEMA}, schema=_LINKS_SCHEMA)


def _changed_targets(
    batches: list[str], link_keys: Mapping[str, _LinkKeys], links_before: Mapping[str, pa.Table], stored: Mapping[str, StoredPart]
) -> pa.Table | None:
    """The pages (TARGET_KEYS) of every part whose pages may have changed since the stored build: as they were (the
    stored parts' sidecars) and as they are. None when a stored part's are not readable (then all is linked)."""
    was = [stored[batch].sidecar("targets") for batch in sorted(stored) if batch not in links_before]
    if any(targets is None for targets in was):
        return None
    now = [link_keys[batch].targets for batch in batches if batch not in links_before]
    return pa.concat_tables([links.TARGET_KEYS.empty_table(), *was, *now])


def _moved_rows(before: pa.Table, now: pa.Table) -> np.ndarray:
    """The positions of the rows whose values differ between two tables of the same rows and columns (null
    equals null)."""
    moved = np.zeros(now.num_rows, dtype=bool)
    for name in now.column_names:
        same = pc.fill_null(pc.equal(before[name], now[name]), False)
        same = pc.or_(same, pc.and_(pc.is_null(before[name]), pc.is_null(now[name])))
        moved |= ~same.to_numpy(zero_copy_only=False)
    return np.flatnonzero(moved)


def _with_links(teasers: pa.Table, linked: pa.Table) -> pa.Table:
    return pa.Table.from_arrays([*teasers.columns, *linked.columns], names=[*teasers.column_names, *_LINKS])


def _all_link_keys(consultations: Mapping[str, StoredPart], same_source: Mapping[str, StoredPart | None]) -> dict[str, _LinkKeys]:
    """Each part's link keys: as stored with its related part (same consultations part), else computed from its
    texts, in worker processes when there are many pages on local storage (normalising every question and answer
    head is most of it, and each part's keys are its own)."""
    stored = {batch: _stored_link_keys(same_source[batch]) for batch in sorted(consultations)}
    to_compute = [batch for batch, keys in stored.items() if keys is None]
    pages = sum(consultations[batch].rows for batch in to_compute)
    readable = all(consultations[batch].local for batch in to_compute)
    parallel = len(to_compute) > 1 and pages >= pools.PARALLEL_MIN_PAGES and readable
    computed = dict(zip(to_compute, pools.in_order(_computed_link_keys, [consultations[batch] for batch in to_compute], parallel=parallel)))
    return {batch: stored[batch] or computed[batch] for batch in stored}


def _stored_link_keys(stored: StoredPart | None) -> _LinkKeys | None:
    if stored is not None and (teasers := stored.sidecar("teasers")) is not None and (targets := stored.sidecar("targets")) is not None:
        return _LinkKeys(teasers, targets, stored=True)
    return None


def _computed_link_keys(consultations: StoredPart) -> _LinkKeys:
    teasers = explode(consultations.read(["page_id", "related"]), "related", "position", schemas.RELATED_QUESTIONS)
    return _LinkKeys(links.teaser_keys(teasers), links.target_keys(consultations.read(LINK_TARGET_COLUMNS)), stored=False)


def _suite_file(dataset: str) -> Path:
    from pipeline.core.validation import suite_path

    return suite_path(dataset)

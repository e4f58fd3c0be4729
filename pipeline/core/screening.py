"""Screening: the parsed pages of every batch folded into the corpus.

One row per page_id, its latest scrape winning; exact duplicates under other page ids collapse into one
page; PII is redacted and quality signals added; current versions failing a row-level expectation go to
rejects. Every parsed input ends up in exactly one of rejects or page_versions, and consultations are the
page_versions marked current. The scraped text of redacted pages is kept (pii_originals) only when asked.

consultations and pii_originals are stored per batch (parts.py): the part of a batch holds the current
versions scraped in that batch. A part whose key is unchanged (same parsed file, same rows and histories,
same code and suites) is kept with its stored check and quarantined rows; only the others are screened.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core import parts, schemas
from pipeline.core.parts import BatchTables, Part, PartWriter, StoredPart
from pipeline.core.quality import normalise, pii, signals
from pipeline.core.quality.pii import pii_originals, pii_totals, redact_consultations
from pipeline.core.quality.signals import add_signals

if TYPE_CHECKING:  # validation imports pandas and, when it runs, GX: not needed to plan a screening
    from pipeline.core.validation import ValidationReport


class Role(enum.StrEnum):
    """What became of an input that parsed (dataset page_versions)."""

    CURRENT = "current"  # the version in consultations: the page's latest scrape
    UNCHANGED = "unchanged"  # an earlier scrape with the same content as the current one
    SUPERSEDED = "superseded"  # an earlier scrape whose content has since changed
    ALIAS = "alias"  # the same content under another page id; collapsed into the kept page


# What the fold reads of every parsed input; the texts are read only for the parts it screens.
KEY_COLUMNS = ["batch", "source", "status", "page_id", "sha256", "content_hash", "reject_reason", "reject_detail"]
_HISTORY = ("first_seen", "last_seen", "n_versions", "aliases")


def _code() -> str:
    """What a part's content depends on besides its rows: this module, redaction, signals, schemas, checks."""
    from pipeline.core import validation

    modules = [sys.modules[__name__], schemas, pii, signals, normalise]
    return parts.code_digest(modules, [validation.suite_path(name) for name in ("consultations", "pii_originals")])


@dataclasses.dataclass(frozen=True)
class ScreenedPart:
    """One batch's share of the corpus: its consultations part and its pii_originals part (same key)."""

    consultations: Part
    pii_originals: Part


@dataclasses.dataclass(frozen=True)
class Screened:
    """A whole screening in memory (`screen_pages`): for tests and small corpora."""

    consultations: pa.Table
    page_versions: pa.Table
    rejects: pa.Table
    pii_originals: pa.Table  # private; empty unless asked for
    consultations_report: ValidationReport  # the consultations suite's report on exactly `consultations`


def screen_pages(parsed_by_batch: Mapping[str, pa.Table], *, keep_pii_originals: bool = False) -> Screened:
    """The whole screening (see `Screening`), nothing stored before, every part as one table."""
    screening = Screening(parts.TablesInMemory(parsed_by_batch), keep_pii_originals=keep_pii_originals)
    made = list(screening.parts())
    return Screened(
        consultations=pa.concat_tables([schemas.CONSULTATIONS.empty_table(), *(p.consultations.table for p in made)]),
        page_versions=screening.page_versions(),
        rejects=screening.rejects(),
        pii_originals=pa.concat_tables([schemas.PII_ORIGINALS.empty_table(), *(p.pii_originals.table for p in made)]),
        consultations_report=screening.report("consultations"),
    )


class Screening:
    """Fold the parsed pages of every batch (batch -> its parsed_pages table) into the corpus.

    Constructing it decides every input's role from the key columns alone. `parts()` then yields each
    batch's part, screening it or keeping the stored one, as it is iterated: the tables are read when
    needed (and only the columns needed), so one batch's texts are in memory at a time. The other results
    are complete once it has been iterated to the end.

    A part's key includes the digest of its batch's parsed table, so it changes when its input does.
    `stored` holds the parts stored before, by dataset (consultations, pii_originals) and batch: a part
    is kept when both are stored with its key. With a `writer`, the parts screened now are stored where
    they are screened (in worker processes when there are many pages: every core is used, and the rows
    never travel back) and come back without their rows; without one, they come back with them.
    """

    def __init__(
        self,
        parsed_by_batch: BatchTables,
        *,
        keep_pii_originals: bool = False,
        stored: Mapping[str, Mapping[str, StoredPart]] | None = None,
        writer: PartWriter | None = None,
    ):
        from pipeline.core.validation import SuiteRun  # GX costs seconds to import: only when screening

        self._parsed = parsed_by_batch
        self._keys = _keys(parsed_by_batch)
        self._accepted = self._keys.filter(pc.equal(self._keys["status"], "ok"))
        self._ledger = _version_ledger(self._accepted)
        self._keep_pii_originals = keep_pii_originals
        self._stored = stored or {}
        self._writer = writer
        self._suites = {name: SuiteRun(name) for name in ("consultations", "pii_originals")}
        self._invalid: list[dict] = []
        self._pii: Counter[str] = Counter()
        self._screened = False

    def parts(self) -> Iterator[ScreenedPart]:
        """Each batch's part (batch order), made or kept; a made part's consultations are ordered by page_id."""
        if self._screened:
            raise RuntimeError("parts() was already iterated")
        plan = _current_plan(self._accepted, self._ledger)
        code = _code()
        keys = [parts.digest("screening", code, self._keep_pii_originals, self._parsed.digest(c.batch), c.identity()) for c in plan]
        kept = [[parts.reusable(self._stored.get(name), c.batch, key) for name in ("consultations", "pii_originals")] for c, key in zip(plan, keys)]
        to_screen = [(current, key) for current, key, stored in zip(plan, keys, kept) if not all(stored)]
        screen = functools.partial(_screen_and_store, self._parsed, self._writer, keep_pii_originals=self._keep_pii_originals)
        pages = sum(len(current.rows) for current, _ in to_screen)
        screened = parts.made_in_workers(screen, to_screen, writer=self._writer, pages=pages)
        for current, key, stored in zip(plan, keys, kept):
            made = self._keep(current, *stored) if all(stored) else self._screened_part(current, next(screened))
            self._invalid += [{**row, "batch": current.batch, "stage": "validate"} for row in made.consultations.memo["rejects"]]
            self._pii.update(made.consultations.memo["pii"])
            yield made
        self._screened = True

    def _keep(self, current: _CurrentPart, consultations: StoredPart, originals: StoredPart) -> ScreenedPart:
        """The stored part, its checks and quarantined rows coming back from its memo."""
        return ScreenedPart(
            parts.keep(consultations, current.batch, "consultations", self._suites["consultations"]),
            parts.keep(originals, current.batch, "pii_originals", self._suites["pii_originals"]),
        )

    def _screened_part(self, current: _CurrentPart, made: tuple[Part, Part] | tuple[StoredPart, StoredPart]) -> ScreenedPart:
        """A part screened now (here or in a worker), stored already or with its rows: counted into the
        suites with the checks it was made with."""
        names = ("consultations", "pii_originals")
        return ScreenedPart(*(parts.counted(part, current.batch, name, self._suites[name]) for name, part in zip(names, made)))

    def _require_screened(self) -> None:
        if not self._screened:
            raise RuntimeError("iterate parts() to the end first")

    def page_versions(self) -> pa.Table:
        """Every accepted input but the current versions that failed validation (they are in rejects)."""
        self._require_screened()
        versions = self._ledger.versions
        invalid = pa.array(sorted({row["source"] for row in self._invalid}), pa.string())
        versions = versions.filter(pc.invert(pc.is_in(versions["source"], value_set=invalid)))
        return versions.sort_by([("page_id", "ascending"), ("batch", "ascending"), ("source", "ascending")]).cast(schemas.PAGE_VERSIONS)

    def rejects(self) -> pa.Table:
        self._require_screened()
        parse_rejects = _reject_rows(self._keys.filter(pc.equal(self._keys["status"], "rejected")), stage="parse")
        rows = sorted(
            ({k: r[k] for k in schemas.REJECTS.names} for r in [*parse_rejects, *self._invalid]),
            key=lambda r: (r["batch"], r["source"]),
        )
        return pa.Table.from_pylist(rows, schema=schemas.REJECTS)

    def pii_found(self) -> dict[str, int]:
        """PII matches redacted in the published consultations, by kind (every part, made or kept)."""
        self._require_screened()
        return {kind: self._pii[kind] for kind in schemas.PII_KINDS}

    def report(self, dataset: str) -> ValidationReport:
        """The dataset's suite (consultations, pii_originals) on exactly the published rows of every part."""
        self._require_screened()
        return self._suites[dataset].report()


def _keys(parsed_by_batch: BatchTables) -> pa.Table:
    """The key columns of every input in batch and source order, with the input's row in its batch table."""
    tables = []
    for batch in sorted(parsed_by_batch):
        table = parsed_by_batch.read(batch, KEY_COLUMNS)
        tables.append(table.append_column("row", pa.array(range(table.num_rows), pa.int64())))
    if not tables:
        return schemas.PARSED_PAGES.empty_table().select(KEY_COLUMNS).append_column("row", pa.array([], pa.int64()))
    keys = pa.concat_tables(tables)
    return keys.take(pc.sort_indices(keys, [("batch", "ascending"), ("source", "ascending")]))


@dataclasses.dataclass(frozen=True)
class _Ledger:
    versions: pa.Table  # a page_versions row per accepted input, in the inputs' order
    pages: pa.Table  # a row per corpus page: page_id, current (its version's index in `accepted`), _HISTORY


def _version_ledger(accepted: pa.Table) -> _Ledger:
    """Decide the role of every accepted input (`accepted` is in batch order), with Arrow and numpy: a
    corpus of 100k pages in a fraction of a second, where a loop over Python dicts took two."""
    count = accepted.num_rows
    page, pages = _codes(accepted["page_id"])  # each row's page, pages in order of first appearance
    content, _ = _codes(accepted["content_hash"])
    row = np.arange(count)
    first, last = np.full(len(pages), count), np.full(len(pages), -1)
    np.minimum.at(first, page, row)
    np.maximum.at(last, page, row)
    latest_content = content[last]

    # Exact duplicates: pages whose current content is the same collapse into one kept page, the one with the
    # site's id, seen first, smallest id.
    batches = accepted["batch"].combine_chunks()
    preference = pa.table({
        "page": np.arange(len(pages)), "content": latest_content, "hashed": pc.starts_with(pages, "h"),
        "first_batch": batches.take(first), "page_id": pages,
    }).sort_by([("content", "ascending"), ("hashed", "ascending"), ("first_batch", "ascending"), ("page_id", "ascending")])  # fmt: skip
    ordered_content = preference["content"].to_numpy()
    leaders = preference["page"].to_numpy()[np.r_[True, ordered_content[1:] != ordered_content[:-1]]] if count else np.array([], np.int64)
    kept_of_content = np.empty(latest_content.max(initial=-1) + 1, np.int64)
    kept_of_content[latest_content[leaders]] = leaders
    kept = kept_of_content[latest_content]  # per page: the page it collapses into (itself when kept)

    roles = np.where(
        row == last[page],  # the page's latest input: current, unless its page collapsed into another
        np.where(kept[page] == page, Role.CURRENT.value, Role.ALIAS.value),
        np.where(content == latest_content[page], Role.UNCHANGED.value, Role.SUPERSEDED.value),
    )
    versions = pa.table({
        "page_id": pages.take(kept[page]), "input_page_id": accepted["page_id"], "batch": batches,
        "source": accepted["source"], "role": pa.array(roles, pa.string()),
        "content_hash": accepted["content_hash"], "sha256": accepted["sha256"],
    })  # fmt: skip
    return _Ledger(versions, _page_history(pages, page, content, first, last, kept, batches))


def _page_history(pages, page, content, first, last, kept, batches) -> pa.Table:
    """Per kept page: its current version, first and last batch, versions (content changes + 1), aliases."""
    order = np.argsort(page, kind="stable")  # each page's inputs together, in batch order
    same_page = page[order][1:] == page[order][:-1]
    changed = same_page & (content[order][1:] != content[order][:-1])
    versions = np.bincount(page[order][1:][changed], minlength=len(pages)) + 1
    is_kept = kept == np.arange(len(pages))
    aliases = pa.table({"kept": pages.take(kept[~is_kept]), "alias": pages.filter(pa.array(~is_kept))}).sort_by([("kept", "ascending"), ("alias", "ascending")])
    alias_lists = dict(_groups(aliases["kept"].to_pylist(), aliases["alias"].to_pylist()))
    kept_ids = pages.filter(pa.array(is_kept))
    return pa.table({
        "page_id": kept_ids,
        "current": pa.array(last[is_kept], pa.int64()),
        "first_seen": batches.take(first[is_kept]),
        "last_seen": batches.take(last[is_kept]),
        "n_versions": pa.array(versions[is_kept], pa.int32()),
        "aliases": pa.array([alias_lists.get(page_id, []) for page_id in kept_ids.to_pylist()], pa.list_(pa.string())),
    })  # fmt: skip


def _codes(values: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Each value's index into the distinct values, which come in order of first appearance."""
    encoded = values.combine_chunks().dictionary_encode() if len(values) else pa.array([], pa.string()).dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary


def _groups(keys: list[str], values: list[str]) -> Iterator[tuple[str, list[str]]]:
    """(key, its values) for runs of equal keys."""
    start = 0
    for end in range(1, len(keys) + 1):
        if end == len(keys) or keys[end] != keys[start]:
            yield keys[start], values[start:end]
            start = end


@dataclasses.dataclass(frozen=True)
class _CurrentPart:
    """The current versions held by one batch: page ids in order, their rows there and their histories."""

    batch: str
    pages: list[str]
    rows: list[int]  # in the batch's parsed_pages table
    history: list[dict]

    def identity(self) -> list:
        """What the part's rows are made of, besides the batch's parsed table: which rows, under which ids,
        with which histories (a re-scrape in a later batch changes last_seen here)."""
        return [self.pages, self.rows, self.history]


def _current_plan(accepted: pa.Table, ledger: _Ledger) -> list[_CurrentPart]:
    """Where the current version of every kept page is, one part per batch (batch order), each in page_id order.

    Each batch's current rows are taken from its table alone (one batch in memory at a time); the parts
    in batch order are the corpus: putting it in page_id order would mean holding every text at once.
    """
    pages = ledger.pages
    current = pa.table({
        "batch": accepted["batch"].take(pages["current"]), "page_id": pages["page_id"],
        "row": accepted["row"].take(pages["current"]), **{name: pages[name] for name in _HISTORY},
    }).sort_by([("batch", "ascending"), ("page_id", "ascending")])  # fmt: skip
    batches = current["batch"].to_pylist()
    plan = []
    for batch, rows in _groups(batches, list(range(len(batches)))):
        part = current.slice(rows[0], len(rows))
        plan.append(_CurrentPart(batch, part["page_id"].to_pylist(), part["row"].to_pylist(), part.select(list(_HISTORY)).to_pylist()))
    return plan


@dataclasses.dataclass(frozen=True)
class _ScreenedRows:
    """One part screened: plain data, as it comes back from a worker process."""

    consultations: pa.Table  # the part's rows that passed, schema CONSULTATIONS
    check: dict  # memo of the consultations suite's row- and table-level results on exactly those rows
    rejects: list[dict]  # the rows that failed: source, page_id, sha256, reject_reason, reject_detail
    pii_originals: pa.Table
    originals_check: dict  # memo of the pii_originals suite's results on its rows


def _screen_and_store(
    parsed_by_batch: BatchTables, writer: PartWriter | None, planned: tuple[_CurrentPart, str], *, keep_pii_originals: bool
) -> tuple[Part, Part] | tuple[StoredPart, StoredPart]:
    """One part screened (in a worker, perhaps) as its consultations and pii_originals parts with their
    memos; stored by the writer when there is one (then only what was stored comes back, not the rows)."""
    current, key = planned
    made = _screen_part(parsed_by_batch, current, keep_pii_originals=keep_pii_originals)
    memo = {"check": made.check, "rejects": made.rejects, "pii": pii_totals(made.consultations)}
    return (
        parts.stored_now("consultations", Part(current.batch, key, memo, made.consultations), writer),
        parts.stored_now("pii_originals", Part(current.batch, key, {"check": made.originals_check}, made.pii_originals), writer),
    )


def _screen_part(parsed_by_batch: BatchTables, part: _CurrentPart, *, keep_pii_originals: bool) -> _ScreenedRows:
    """Redact, add signals and run the consultations suite's row-level expectations on one part of the plan;
    rows failing one go to rejects, named by it (the rest is checked again when rows were taken out).

    Parts are independent: with many pages they are screened in worker processes, one part a worker
    (workers.py), each reading its batch's rows itself and storing what it made (_screen_and_store)."""
    from pipeline.core.validation import SuiteRun  # GX costs seconds to import

    candidates = parsed_by_batch[part.batch].take(pa.array(part.rows, pa.int64()))
    for name in _HISTORY:
        values = [history[name] for history in part.history]
        candidates = candidates.append_column(name, pa.array(values, schemas.CONSULTATIONS.field(name).type))
    redacted = redact_consultations(candidates)
    consultations = add_signals(redacted).select(schemas.CONSULTATIONS.names).cast(schemas.CONSULTATIONS)
    suite = SuiteRun("consultations")
    check = suite.check(consultations)
    failing = check.failing_rows()
    keys = candidates.select(["source", "page_id", "sha256"]).to_pylist()
    rejects = [
        {
            **keys[position],
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
    return _ScreenedRows(consultations, check.to_memo(), rejects, originals, SuiteRun("pii_originals").check(originals).to_memo())


def _reject_rows(rejected: pa.Table, *, stage: str) -> list[dict]:
    columns = ["batch", "source", "reject_reason", "reject_detail", "page_id", "sha256"]
    return [row | {"stage": stage} for row in rejected.select(columns).to_pylist()]

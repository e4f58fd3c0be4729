"""Screening: the parsed pages of every batch folded into the corpus.

One row per page_id, its latest valid scrape winning; exact duplicates under other page ids collapse into one
page; PII is redacted and quality signals added. A version that fails a row-level expectation goes to rejects,
and the page's latest version before it is tried in its place: a bad re-scrape never takes a good page out of
the corpus. Every parsed input ends up in exactly one of rejects or page_versions, and consultations are the
page_versions marked current. The scraped text of redacted pages is kept (pii_originals) only when asked.

consultations and pii_originals are stored per batch (parts.py): the part of a batch holds the current
versions scraped in that batch. A part whose key is unchanged (same parsed file, same rows and histories,
same code and suites) is kept with its stored check and quarantined rows; only the others are screened.
Which versions fail is known from the stored parts' quarantined rows, so a rerun plans the corpus it made; a
version found failing now moves its page to an earlier version, and the parts that changed are screened again.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core import parts, schemas
from pipeline.core.parts import BatchTables, Part, PartWriter, StoredPart
from pipeline.core.quality import normalise, pii, signals
from pipeline.core.quality.pii import pii_originals, pii_totals, redact, redact_consultations
from pipeline.core.quality.signals import add_signals

if TYPE_CHECKING:  # validation imports pandas and, when it runs, GX: not needed to plan a screening
    from pipeline.core.validation import ValidationReport


class Role(enum.StrEnum):
    """What became of an input that parsed (dataset page_versions)."""

    CURRENT = "current"  # the version in consultations: the page's latest scrape that passed validation
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
        self._ledger: _Ledger | None = None  # decided with the parts: which versions pass is part of it
        self._keep_pii_originals = keep_pii_originals
        self._stored = stored or {}
        self._writer = writer
        self._suites = {name: SuiteRun(name) for name in ("consultations", "pii_originals")}
        self._invalid: list[dict] = []
        self._screened_now: set[str] = set()  # batches whose stored part this build replaced (or will)
        self._pii: Counter[str] = Counter()
        self._screened = False

    def parts(self) -> Iterator[ScreenedPart]:
        """Each batch's part (batch order), made or kept; a made part's consultations are ordered by page_id.

        Planned again until the versions that fail are the ones the plan left out: each round screens only the
        parts whose key changed, and folds the corpus again from nothing with the verdicts known so far (stored
        and found now: `_still_tried`), as a build from scratch would. It ends: a version's verdict depends on its
        own row only, so each round either learns a failing version or drops one that passes now."""
        if self._screened:
            raise RuntimeError("parts() was already iterated")
        code = _code()
        known = self._failing_before()  # inputs known to fail: checked by an earlier build or by this one
        failing = _still_tried(self._accepted, known)
        made: dict[str, tuple] = {}  # part key -> (kept, consultations, pii_originals), made or kept this build
        while True:
            is_failing = _is_in(self._accepted, failing)
            tried, valid = self._accepted.filter(is_failing), self._accepted.filter(pc.invert(is_failing))
            ledger = _version_ledger(valid)
            plan = _current_plan(valid, ledger, tried)
            keys = [parts.digest("screening", code, self._keep_pii_originals, self._parsed.digest(c.batch), c.identity()) for c in plan]
            made = self._made_or_kept(plan, keys, made)
            found = _inputs_of(row for _kept, consultations, _originals in made.values() for row in consultations.memo["rejects"])
            if found == failing:
                break
            # The tried inputs were checked again (found says which still fail); the others known keep their verdict.
            # The corpus is planned again from nothing with what is known, as a build from scratch would fold it.
            known = found | (known - failing)
            failing = _still_tried(self._accepted, known)
        self._ledger = ledger
        for current, key in zip(plan, keys):
            kept, consultations, originals = made[key]
            screened = self._keep(current, consultations, originals) if kept else self._screened_part(current, (consultations, originals))
            self._invalid += [{**row, "batch": current.batch, "stage": "validate"} for row in screened.consultations.memo["rejects"]]
            self._pii.update(screened.consultations.memo["pii"])
            yield screened
        self._screened = True

    def _failing_before(self) -> frozenset[tuple[str, str]]:
        """The inputs (source, sha256) the stored parts quarantined: they fail again as long as the code and
        suites are the same (else the rounds of `parts` find out)."""
        stored = self._stored.get("consultations", {}).values()
        return _inputs_of(row for part in stored for row in part.memo["rejects"])

    def _made_or_kept(self, plan: list[_CurrentPart], keys: list[str], made: Mapping[str, tuple]) -> dict[str, tuple]:
        """Part key -> (kept, consultations, pii_originals) of every planned part: made already in this build,
        stored with its key, or screened now (all of those together: in worker processes with many pages)."""
        ready = dict(made)
        for current, key in zip(plan, keys):
            stored = [parts.reusable(self._stored.get(name), current.batch, key) for name in ("consultations", "pii_originals")]
            if key not in ready and all(stored) and current.batch not in self._screened_now:
                ready[key] = (True, *stored)
        to_screen = [(current, key) for current, key in zip(plan, keys) if key not in ready]
        self._screened_now.update(current.batch for current, _ in to_screen)  # a writer replaces what was stored
        screen = functools.partial(_screen_and_store, self._parsed, self._writer, keep_pii_originals=self._keep_pii_originals)
        pages = sum(len(current.rows) + len(current.tried) for current, _ in to_screen)
        for (_current, key), screened in zip(to_screen, parts.made_in_workers(screen, to_screen, writer=self._writer, pages=pages)):
            ready[key] = (False, *screened)
        return {key: ready[key] for key in keys}

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
        """Every accepted input but the versions that failed validation (they are in rejects)."""
        self._require_screened()
        return self._ledger.versions.sort_by([("page_id", "ascending"), ("batch", "ascending"), ("source", "ascending")]).cast(schemas.PAGE_VERSIONS)

    def rejects(self) -> pa.Table:
        """Every input not accepted, its detail redacted: rejects are published, and a detail may quote the page
        (a parser's reject quotes its first line)."""
        self._require_screened()
        parse_rejects = _reject_rows(self._keys.filter(pc.equal(self._keys["status"], "rejected")), stage="parse")
        rows = sorted(
            ({k: r[k] for k in schemas.REJECTS.names} | {"reject_detail": redact(r["reject_detail"])[0]} for r in [*parse_rejects, *self._invalid]),
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
    first = np.full(len(pages), count)
    np.minimum.at(first, page, row)
    last = _last_rows(page, len(pages))
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


def _last_rows(page: np.ndarray, pages: int) -> np.ndarray:
    """Each page's last row (its latest version: rows are in batch order), from each row's page code."""
    last = np.full(pages, -1)
    np.maximum.at(last, page, np.arange(len(page)))
    return last


def _codes(values: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Each value's index into the distinct values, which come in order of first appearance."""
    encoded = values.combine_chunks().dictionary_encode() if len(values) else pa.array([], pa.string()).dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary


def _inputs_of(rows: Iterable[Mapping[str, str]]) -> frozenset[tuple[str, str]]:
    """The inputs named by rows with a source and a sha256 (a quarantined row, an accepted input)."""
    return frozenset((row["source"], row["sha256"]) for row in rows)


def _still_tried(accepted: pa.Table, failed: frozenset[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    """Of the inputs known to fail, those a build from scratch would check, and so quarantine: a build from scratch
    checks only the current versions of the kept pages, takes the failing ones out and plans again. So a version
    is checked only once every later version of its page failed (one with a later version that passes is
    superseded, not a reject), and only while its page is not collapsed into another as an alias (an alias is
    never checked: a version quarantined while its page stood alone is an alias, not a reject, once a page with
    the same content is kept in its place). Folded here from nothing, with the verdicts known standing for the
    checks: unknown verdicts count as passing (the rounds of `Screening.parts` find out)."""
    if not failed:
        return failed
    is_known = _is_in(accepted, failed).to_numpy(zero_copy_only=False)
    involved = _rows_a_failure_concerns(accepted, is_known)  # a step per failing version: over these rows only
    inputs, is_known = accepted.take(pa.array(involved, pa.int64())), is_known[involved]
    excluded = np.zeros(inputs.num_rows, dtype=bool)
    while True:
        valid_rows = np.flatnonzero(~excluded)
        ledger = _version_ledger(inputs.take(pa.array(valid_rows, pa.int64())))
        current = valid_rows[ledger.pages["current"].to_numpy()]  # the kept pages' current versions, rows of inputs
        newly = current[is_known[current]]
        if not newly.size:
            break
        excluded[newly] = True
    return _inputs_of(inputs.filter(pa.array(excluded)).select(["source", "sha256"]).to_pylist())


def _rows_a_failure_concerns(accepted: pa.Table, is_known: np.ndarray) -> np.ndarray:
    """The rows (in order) of the pages holding a known failure, and of the pages whose latest content is the
    content of one of those pages' versions. The fold decides these pages on these rows alone as on the whole
    corpus: it takes out versions of the first pages only, and a page collapses only with pages of the same
    current content, which whatever the fold takes out is one of those contents."""
    page, _ = _codes(accepted["page_id"])
    content, _ = _codes(accepted["content_hash"])
    last = _last_rows(page, page.max(initial=-1) + 1)
    failing = np.isin(page, np.unique(page[is_known]))
    sharing = np.flatnonzero(np.isin(content[last], np.unique(content[failing])))  # pages, by their latest content
    return np.flatnonzero(failing | np.isin(page, sharing))


def _is_in(inputs: pa.Table, chosen: frozenset[tuple[str, str]]) -> pa.ChunkedArray:
    """Which rows of `inputs` (source, sha256 columns) are among the chosen inputs."""
    def joined(source, sha256):
        return pc.binary_join_element_wise(source, sha256, "\n")

    chosen_keys = joined(pa.array([source for source, _ in chosen], pa.string()), pa.array([sha for _, sha in chosen], pa.string()))
    return pc.is_in(joined(inputs["source"], inputs["sha256"]), value_set=chosen_keys)


def _groups(keys: list[str], values: list[str]) -> Iterator[tuple[str, list[str]]]:
    """(key, its values) for runs of equal keys."""
    start = 0
    for end in range(1, len(keys) + 1):
        if end == len(keys) or keys[end] != keys[start]:
            yield keys[start], values[start:end]
            start = end


@dataclasses.dataclass(frozen=True)
class _CurrentPart:
    """The current versions held by one batch: page ids in order, their rows there and their histories; and the
    batch's versions known to fail validation, checked again with the part (they stay out of it)."""

    batch: str
    pages: list[str]
    rows: list[int]  # in the batch's parsed_pages table
    history: list[dict]
    tried: list[int] = dataclasses.field(default_factory=list)  # rows in the batch's table, failing before

    def identity(self) -> list:
        """What the part's rows are made of, besides the batch's parsed table: which rows, under which ids,
        with which histories (a re-scrape in a later batch changes last_seen here), and which rows failed."""
        return [self.pages, self.rows, self.history, self.tried]


def _current_plan(valid: pa.Table, ledger: _Ledger, failing: pa.Table) -> list[_CurrentPart]:
    """Where the current version of every kept page is, one part per batch (batch order), each in page_id order;
    `ledger` is of the `valid` inputs, and each batch's `failing` ones go with its part (a part of its own when
    the batch holds no current version).

    Each batch's current rows are taken from its table alone (one batch in memory at a time); the parts
    in batch order are the corpus: putting it in page_id order would mean holding every text at once.
    """
    pages = ledger.pages
    current = pa.table({
        "batch": valid["batch"].take(pages["current"]), "page_id": pages["page_id"],
        "row": valid["row"].take(pages["current"]), **{name: pages[name] for name in _HISTORY},
    }).sort_by([("batch", "ascending"), ("page_id", "ascending")])  # fmt: skip
    batches = current["batch"].to_pylist()
    tried: dict[str, list[int]] = {}
    for batch, row in sorted(zip(failing["batch"].to_pylist(), failing["row"].to_pylist())):
        tried.setdefault(batch, []).append(row)
    plan = {batch: _CurrentPart(batch, [], [], [], tried_rows) for batch, tried_rows in tried.items()}
    for batch, rows in _groups(batches, list(range(len(batches)))):
        part = current.slice(rows[0], len(rows))
        history = part.select(list(_HISTORY)).to_pylist()
        plan[batch] = _CurrentPart(batch, part["page_id"].to_pylist(), part["row"].to_pylist(), history, tried.get(batch, []))
    return [plan[batch] for batch in sorted(plan)]


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

    candidates, tried = _rows_of(parsed_by_batch[part.batch], part)  # not the whole batch: it is let go here
    redacted = redact_consultations(candidates)
    consultations = _published(redacted)
    suite = SuiteRun("consultations")
    check = suite.check(consultations)
    failing = check.failing_rows()
    rejects = _rejected(candidates, consultations, failing) + _failing_again(tried, part.batch)
    if failing:
        consultations = consultations.filter(pa.array([i not in failing for i in range(consultations.num_rows)], pa.bool_()))
        check = suite.check(consultations)
    originals = schemas.PII_ORIGINALS.empty_table()
    if keep_pii_originals:
        originals = pii_originals(candidates, redacted)
        originals = originals.filter(pc.is_in(originals["page_id"], consultations["page_id"]))
    return _ScreenedRows(consultations, check.to_memo(), rejects, originals, SuiteRun("pii_originals").check(originals).to_memo())


def _rows_of(parsed: pa.Table, part: _CurrentPart) -> tuple[pa.Table, pa.Table]:
    """The part's current rows with their history, and its rows that failed before, from its batch's table."""
    return _with_history(parsed.take(pa.array(part.rows, pa.int64())), part.history), parsed.take(pa.array(part.tried, pa.int64()))


def _with_history(rows: pa.Table, history: list[dict]) -> pa.Table:
    """Parsed rows with their pages' history columns (one dict per row)."""
    for name in _HISTORY:
        rows = rows.append_column(name, pa.array([page[name] for page in history], schemas.CONSULTATIONS.field(name).type))
    return rows


def _published(redacted: pa.Table) -> pa.Table:
    """Redacted rows as consultations: with their quality signals, in the dataset's schema."""
    return add_signals(redacted).select(schemas.CONSULTATIONS.names).cast(schemas.CONSULTATIONS)


def _rejected(candidates: pa.Table, published: pa.Table, failing: Mapping[int, list]) -> list[dict]:
    """The quarantined rows of the failing positions: which input, and the expectations it failed with the value it
    failed them with (as published: redacted)."""
    keys = candidates.select(["source", "page_id", "sha256"]).to_pylist()

    def value(outcome: Any, position: int) -> Any:
        return published[outcome.column][position].as_py() if outcome.column in published.column_names else None

    return [
        {
            **keys[position],
            "reject_reason": outcomes[0].expectation_type,
            "reject_detail": "; ".join(outcome.row_detail(value(outcome, position)) for outcome in outcomes),
        }
        for position, outcomes in failing.items()
    ]


def _failing_again(tried: pa.Table, batch: str) -> list[dict]:
    """A part's versions that failed before (parsed rows of its batch), checked again on their own (never
    published: the part's check is not theirs). The row-level rules read a page's own columns, not its
    history, so each stands alone here."""
    from pipeline.core.validation import SuiteRun

    if not tried.num_rows:
        return []
    alone = [{"first_seen": batch, "last_seen": batch, "n_versions": 1, "aliases": []}] * tried.num_rows
    candidates = _with_history(tried, alone)
    published = _published(redact_consultations(candidates))
    return _rejected(candidates, published, SuiteRun("consultations").check(published).failing_rows())


def _reject_rows(rejected: pa.Table, *, stage: str) -> list[dict]:
    columns = ["batch", "source", "reject_reason", "reject_detail", "page_id", "sha256"]
    return [row | {"stage": stage} for row in rejected.select(columns).to_pylist()]

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
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core import parts, schemas
from pipeline.core.parts import Part, StoredPart
from pipeline.core.quality import normalise, pii, signals
from pipeline.core.quality.pii import pii_originals, pii_totals, redact_consultations
from pipeline.core.quality.signals import add_signals

if TYPE_CHECKING:  # validation imports pandas and, when it runs, GX: not needed to plan a screening
    from pipeline.core.validation import PartCheck, SuiteRun, ValidationReport


class Role(enum.StrEnum):
    """What became of an input that parsed (dataset page_versions)."""

    CURRENT = "current"  # the version in consultations: the page's latest scrape
    UNCHANGED = "unchanged"  # an earlier scrape with the same content as the current one
    SUPERSEDED = "superseded"  # an earlier scrape whose content has since changed
    ALIAS = "alias"  # the same content under another page id; collapsed into the kept page
    INVALID = "invalid"  # the current version failed a row-level expectation (its row is in rejects)


# What the fold reads of every parsed input; the texts are read only for the parts it screens.
KEY_COLUMNS = ["batch", "source", "status", "page_id", "sha256", "content_hash", "reject_reason", "reject_detail"]
_HISTORY = ("first_seen", "last_seen", "n_versions", "aliases")
_REJECT_KEYS = ("source", "page_id", "sha256", "reject_reason", "reject_detail")


def _code() -> str:
    """What a part's content depends on besides its rows: this module, redaction, signals, schemas, checks."""
    from pipeline.core import validation

    modules = [sys.modules[__name__], parts, schemas, pii, signals, normalise, validation]
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
    screening = Screening(parsed_by_batch, keep_pii_originals=keep_pii_originals)
    made = list(screening.parts())
    return Screened(
        consultations=pa.concat_tables([schemas.CONSULTATIONS.empty_table(), *(p.consultations.table for p in made)]),
        page_versions=screening.page_versions(),
        rejects=screening.rejects(),
        pii_originals=pa.concat_tables([schemas.PII_ORIGINALS.empty_table(), *(p.pii_originals.table for p in made)]),
        consultations_report=screening.report("consultations"),
    )


class Screening:
    """Fold the parsed pages of every batch (a mapping batch -> parsed_pages table) into the corpus.

    Constructing it decides every input's role from the key columns alone. `parts()` then yields each
    batch's part, screening it or keeping the stored one, as it is iterated: with a mapping that loads its
    tables lazily, one batch's texts are in memory at a time. The other results are complete once it has
    been iterated to the end.

    `digests` identify each batch's parsed table (e.g. a hash of its file), so that a part's key changes
    when its input does; without them the tables are digested here. `stored` holds the parts stored
    before, by dataset (consultations, pii_originals) and batch: a part is kept when both are stored
    with its key.
    """

    def __init__(
        self,
        parsed_by_batch: Mapping[str, pa.Table],
        *,
        keep_pii_originals: bool = False,
        digests: Mapping[str, str] | None = None,
        stored: Mapping[str, Mapping[str, StoredPart]] | None = None,
    ):
        from pipeline.core.validation import SuiteRun  # GX costs seconds to import: only when screening

        self._parsed = parsed_by_batch
        self._keys = _keys(parsed_by_batch)
        self._accepted = self._keys.filter(pc.equal(self._keys["status"], "ok"))
        self._ledger = _version_ledger(self._accepted)
        self._keep_pii_originals = keep_pii_originals
        self._digests = digests
        self._stored = stored or {}
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
        for current in plan:
            key = parts.digest("screening", code, self._keep_pii_originals, self._digest(current.batch), current.identity())
            kept = [parts.reusable(self._stored.get(name), current.batch, key) for name in ("consultations", "pii_originals")]
            made = self._keep(current, *kept) if all(kept) else self._screen(current, key)
            self._invalid += [{**row, "batch": current.batch, "stage": "validate"} for row in made.consultations.memo["rejects"]]
            self._pii.update(made.consultations.memo["pii"])
            yield made
        if not plan:  # the table-level expectations judge an empty corpus too
            for name, suite in self._suites.items():
                suite.add(schemas.DATASETS[name].empty_table())
        invalid = {row["source"] for row in self._invalid}
        for entry in self._ledger.entries.values():
            if entry["source"] in invalid:
                entry["role"] = Role.INVALID
        self._screened = True

    def _digest(self, batch: str) -> str:
        if self._digests is not None:
            return self._digests[batch]
        return parts.column_digest(self._parsed[batch], schemas.PARSED_PAGES.names)

    def _keep(self, current: _CurrentPart, consultations: StoredPart, originals: StoredPart) -> ScreenedPart:
        """The stored part: its checks come back from its memo, the rows the suite compares across parts
        (page_id) from its file."""
        from pipeline.core.validation import PartCheck

        for name, stored in (("consultations", consultations), ("pii_originals", originals)):
            suite = self._suites[name]
            suite.add(stored.read(suite.whole_table_columns), PartCheck.from_memo(name, stored.memo["check"]))
        return ScreenedPart(
            Part(current.batch, consultations.key, consultations.memo), Part(current.batch, originals.key, originals.memo)
        )

    def _screen(self, current: _CurrentPart, key: str) -> ScreenedPart:
        made = _screen_part(self._parsed, current, self._keep_pii_originals)
        checks = {"consultations": made.check, "pii_originals": self._suites["pii_originals"].check(made.pii_originals)}
        self._suites["consultations"].add(made.consultations, made.check)
        self._suites["pii_originals"].add(made.pii_originals, checks["pii_originals"])
        memo = {"check": made.check.to_memo(), "rejects": made.rejects, "pii": pii_totals(made.consultations)}
        return ScreenedPart(
            Part(current.batch, key, memo, made.consultations),
            Part(current.batch, key, {"check": checks["pii_originals"].to_memo()}, made.pii_originals),
        )

    def _require_screened(self) -> None:
        if not self._screened:
            raise RuntimeError("iterate parts() to the end first")

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

    def pii_found(self) -> dict[str, int]:
        """PII matches redacted in the published consultations, by kind (every part, made or kept)."""
        self._require_screened()
        return {kind: self._pii[kind] for kind in schemas.PII_KINDS}

    def report(self, dataset: str) -> ValidationReport:
        """The dataset's suite (consultations, pii_originals) on exactly the published rows of every part."""
        self._require_screened()
        return self._suites[dataset].report()


def _keys(parsed_by_batch: Mapping[str, pa.Table]) -> pa.Table:
    """The key columns of every input in batch and source order, with the input's row in its batch table."""
    tables = []
    for batch in sorted(parsed_by_batch):
        table = parsed_by_batch[batch].select(KEY_COLUMNS)
        tables.append(table.append_column("row", pa.array(range(table.num_rows), pa.int64())))
    if not tables:
        return schemas.PARSED_PAGES.empty_table().select(KEY_COLUMNS).append_column("row", pa.array([], pa.int64()))
    keys = pa.concat_tables(tables)
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
    batches, rows_in_batch = accepted["batch"].to_pylist(), accepted["row"].to_pylist()
    pages_of: dict[str, list[str]] = {}
    for page, index in ledger.current.items():
        pages_of.setdefault(batches[index], []).append(page)
    plan = []
    for batch in sorted(pages_of):
        pages = sorted(pages_of[batch])
        rows = [rows_in_batch[ledger.current[page]] for page in pages]
        plan.append(_CurrentPart(batch, pages, rows, [ledger.history[page] for page in pages]))
    return plan


@dataclasses.dataclass(frozen=True)
class _ScreenedRows:
    consultations: pa.Table  # the part's rows that passed, schema CONSULTATIONS
    check: PartCheck  # the consultations suite's row- and table-level results on exactly those rows
    rejects: list[dict]  # the rows that failed: source, page_id, sha256, reject_reason, reject_detail
    pii_originals: pa.Table


def _screen_part(parsed_by_batch: Mapping[str, pa.Table], part: _CurrentPart, keep_pii_originals: bool) -> _ScreenedRows:
    """Redact, add signals and run the consultations suite's row-level expectations on one part of the plan;
    rows failing one go to rejects, named by it (the rest is checked again when rows were taken out).

    One part at a time, in this process: screening two batches at once in forked workers was measured
    at 100k pages (22 s instead of 28 s for the step) but took 3.1 GB instead of 1.95 GB, over the
    2 GB budget; parsing is where the cores are used."""
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
    return _ScreenedRows(consultations, check, rejects, originals)


def _reject_rows(rejected: pa.Table, *, stage: str) -> list[dict]:
    columns = ["batch", "source", "reject_reason", "reject_detail", "page_id", "sha256"]
    return [row | {"stage": stage} for row in rejected.select(columns).to_pylist()]

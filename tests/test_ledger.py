"""The version ledger (screening._version_ledger, vectorised) against a plain reading of its rules.

The reference below walks the inputs one by one: a page's latest input is its current version, unless
its content is also the current content of a page preferred to it (site id over hash id, then seen
first, then smallest id): then it is an alias of that page; earlier inputs are unchanged or superseded.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core import schemas, screening
from pipeline.core.parts import TablesInMemory

KEY_SCHEMA = schemas.PARSED_PAGES.empty_table().select(screening.KEY_COLUMNS).schema


def reference(accepted: pa.Table) -> tuple[list[dict], dict[str, dict]]:
    """(page_versions rows in input order, kept page -> its history), one input at a time."""
    keys = accepted.to_pylist()
    inputs_of: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        inputs_of.setdefault(key["page_id"], []).append(index)
    pages_of_content: dict[str, list[str]] = {}
    for page, rows in inputs_of.items():
        pages_of_content.setdefault(keys[rows[-1]]["content_hash"], []).append(page)
    kept_of = {}
    for pages in pages_of_content.values():
        kept = min(pages, key=lambda page: (page.startswith("h"), keys[inputs_of[page][0]]["batch"], page))
        kept_of.update((page, kept) for page in pages)
    versions, history = [None] * len(keys), {}
    for page, rows in inputs_of.items():
        latest = keys[rows[-1]]
        for index in rows:
            if index == rows[-1]:
                role = "current" if kept_of[page] == page else "alias"
            else:
                role = "unchanged" if keys[index]["content_hash"] == latest["content_hash"] else "superseded"
            versions[index] = {"page_id": kept_of[page], "input_page_id": page, "role": role}
        if kept_of[page] == page:
            changes = sum(keys[a]["content_hash"] != keys[b]["content_hash"] for a, b in zip(rows, rows[1:]))
            history[page] = {
                "first_seen": keys[rows[0]]["batch"], "last_seen": latest["batch"], "n_versions": changes + 1,
                "aliases": sorted(p for p, kept in kept_of.items() if kept == page and p != page),
            }  # fmt: skip
    return versions, history


page_ids = st.sampled_from(["20240101000000-1", "20240101000000-2", "20240102000000-3", "h00000000000000aa", "h00000000000000bb"])
inputs = st.lists(
    st.tuples(st.integers(0, 3), page_ids, st.sampled_from(["c1", "c2", "c3"]), st.booleans()), max_size=14
)


@settings(max_examples=300, deadline=None)
@given(inputs)
def test_the_vectorised_ledger_follows_the_rules(rows):
    parsed = {}
    for n, (batch, page_id, content, ok) in enumerate(rows):
        parsed.setdefault(f"b{batch}", []).append({
            "batch": f"b{batch}", "source": f"b{batch}/{n:02d}.txt", "status": "ok" if ok else "rejected",
            "page_id": page_id, "sha256": "0" * 64, "content_hash": content,
        })  # fmt: skip
    keys = screening._keys(TablesInMemory({batch: pa.Table.from_pylist(r, schema=KEY_SCHEMA) for batch, r in parsed.items()}))
    accepted = keys.filter(pc.equal(keys["status"], "ok"))

    ledger = screening._version_ledger(accepted)
    versions, history = reference(accepted)

    assert ledger.versions.select(["page_id", "input_page_id", "role"]).to_pylist() == versions
    pages = ledger.pages.to_pylist()
    assert {page["page_id"]: {k: page[k] for k in ("first_seen", "last_seen", "n_versions", "aliases")} for page in pages} == history
    latest = {v["input_page_id"]: i for i, v in enumerate(versions)}  # the last input of each page id
    assert all(page["current"] == latest[page["page_id"]] for page in pages)


def whole_fold(accepted: pa.Table, failing: set[str]) -> set[str]:
    """A build from scratch's quarantine, folding every input: the kept pages' current versions that are among the
    failing sources go out, and the corpus is folded again, until no current version fails."""
    out: set[str] = set()
    while True:
        valid = accepted.filter(pa.array([source not in out for source in accepted["source"].to_pylist()], pa.bool_()))
        ledger = screening._version_ledger(valid)
        current = {valid["source"][index].as_py() for index in ledger.pages["current"].to_pylist()}
        if not current & failing:
            return out
        out |= current & failing


@settings(max_examples=300, deadline=None)
@given(inputs, st.sets(st.integers(0, 13), max_size=6))
def test_the_quarantine_folds_only_the_pages_a_failure_concerns_as_the_whole_corpus_would(rows, failing_rows):
    """`_still_tried` folds the rows of the pages a known failure can concern (those holding one, and those of the
    same current content as one of their versions), a step per failing version: it quarantines what folding every
    input does."""
    accepted = pa.Table.from_pylist([
        {"batch": f"b{batch}", "source": f"b{batch}/{n:02d}.txt", "page_id": page_id, "sha256": f"{n:064d}", "content_hash": content}
        for n, (batch, page_id, content, _ok) in sorted(enumerate(rows), key=lambda item: item[1][0])
    ], schema=pa.schema([(name, pa.string()) for name in ("batch", "source", "page_id", "sha256", "content_hash")]))  # fmt: skip
    failing = {row["source"] for n, row in enumerate(accepted.to_pylist()) if n in failing_rows}
    known = frozenset((row["source"], row["sha256"]) for row in accepted.to_pylist() if row["source"] in failing)
    assert {source for source, _ in screening._still_tried(accepted, known)} == whole_fold(accepted, failing)

"""The crawl frontier: pages the corpus recommends but does not hold, one row per missing page."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core import schemas
from pipeline.core.parts import StoredPart
from pipeline.core.quality.normalise import each_distinct, matching_keys
from pipeline.core.schemas import MISSING_PAGES

# What the frontier reads of related_questions.
TEASER_COLUMNS = ["page_id", "position", "url", "question", "preview", "target_page_id"]
# A teaser no corpus page was found for.
UNLINKED = pc.field("target_page_id").is_null()


def unlinked_teasers(related_parts: Mapping[str, StoredPart]) -> pa.Table:
    """The teasers no corpus page was found for, only those kept of each part as it is read (most teasers are
    linked: the whole dataset in memory would be several times what the frontier needs)."""
    wanted = schemas.projected(schemas.RELATED_QUESTIONS, TEASER_COLUMNS)
    unlinked = [related_parts[batch].read(TEASER_COLUMNS, where=UNLINKED) for batch in sorted(related_parts)]
    return pa.concat_tables([wanted.empty_table(), *unlinked])


def missing_pages(linked: pa.Table) -> pa.Table:
    """Unlinked teasers grouped by target: by url when known, else by the question's matching key.

    A teaser without a url whose question is the question of a teaser with one joins that url's group:
    text dumps and HTML scrapes recommend the same pages. Representative question and preview come from
    the first referrer (page_id, position); rows are ordered by n_referrers descending, then key.
    """
    unlinked = linked.filter(UNLINKED) if linked["target_page_id"].null_count < linked.num_rows else linked
    # Each row's place in referrer order (page_id, position): of a group, the row of least rank is the first
    # referrer's, found without sorting (or copying) the texts.
    order = pc.sort_indices(unlinked, [("page_id", "ascending"), ("position", "ascending")])
    rank = np.empty(len(order), dtype=np.int64)
    rank[order.to_numpy()] = np.arange(len(order))
    # Questions by the index of their matching key (each key computed and held once, not per row).
    question_keys = each_distinct(unlinked["question"], matching_keys)
    question = question_keys.indices
    shown_with_url = pa.table({"question": question, "rank": rank}).filter(pc.is_valid(unlinked["url"]))
    first_url = shown_with_url.group_by("question").aggregate([("rank", "min")])
    urls_first = pc.take(unlinked["url"], pc.take(order, first_url["rank_min"]))
    url = pc.coalesce(unlinked["url"], pc.take(urls_first, pc.index_in(question, value_set=first_url["question"])))
    # Grouped by the url, else by the question's key.
    by_question = pc.if_else(pc.is_valid(url), pa.scalar(None, question.type), question)
    teasers = pa.table({"url": url, "question": by_question, "rank": rank, "page_id": unlinked["page_id"]})
    groups = teasers.group_by(["url", "question"]).aggregate([("rank", "min"), ("page_id", "distinct")])
    key = pc.coalesce(groups["url"], pc.take(question_keys.dictionary, groups["question"]))
    first = pc.take(order, groups["rank_min"])
    referrers = _sorted_lists(groups["page_id_distinct"].combine_chunks())  # "distinct" keeps no order
    missing = pa.table({
        "key": key, "url": pc.take(url, first), "question": pc.take(unlinked["question"], first),
        "preview": pc.take(unlinked["preview"], first), "n_referrers": pc.list_value_length(referrers).cast(pa.int32()), "referrers": referrers,
    })  # fmt: skip
    return missing.sort_by([("n_referrers", "descending"), ("key", "ascending")]).cast(MISSING_PAGES)


def _sorted_lists(lists: pa.ListArray) -> pa.ListArray:
    """Each list's values in order."""
    values = pa.table({"list": pc.list_parent_indices(lists), "value": pc.list_flatten(lists)})
    values = values.sort_by([("list", "ascending"), ("value", "ascending")])
    return pa.ListArray.from_arrays(pc.subtract(lists.offsets, lists.offsets[0]), values["value"].combine_chunks())


def frontier_csv(missing: pa.Table) -> str:
    """A plain list for the crawler: the url (else the question) and how many corpus pages point to it."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["target", "n_referrers"])
    for url, question, count in zip(
        missing["url"].to_pylist(), missing["question"].to_pylist(), missing["n_referrers"].to_pylist()
    ):
        writer.writerow([url or question, count])
    return buffer.getvalue()

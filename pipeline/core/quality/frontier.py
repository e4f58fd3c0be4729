"""The crawl frontier: pages the corpus recommends but does not hold, one row per missing page."""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core.quality.normalise import matching_keys
from pipeline.core.schemas import MISSING_PAGES


def missing_pages(linked: pa.Table) -> pa.Table:
    """Unlinked teasers grouped by target: by url when known, else by the question's matching key.

    A teaser without a url whose question is the question of a teaser with one joins that url's group:
    text dumps and HTML scrapes recommend the same pages. Representative question and preview come from
    the first referrer (page_id, position); rows are ordered by n_referrers descending, then key.
    """
    unlinked = linked.filter(pc.is_null(linked["target_page_id"]))
    unlinked = unlinked.sort_by([("page_id", "ascending"), ("position", "ascending")])
    teasers = unlinked.select(["page_id", "url", "question", "preview"]).to_pylist()
    question_keys = matching_keys(unlinked["question"]).to_pylist()
    url_of_question: dict[str, str] = {}
    for teaser, question_key in zip(teasers, question_keys):
        if teaser["url"]:
            url_of_question.setdefault(question_key, teaser["url"])
    groups: dict[str, dict] = {}
    for teaser, question_key in zip(teasers, question_keys):
        url = teaser["url"] or url_of_question.get(question_key)
        first = {"url": url, "question": teaser["question"], "preview": teaser["preview"], "referrers": set()}
        groups.setdefault(url or question_key, first)["referrers"].add(teaser["page_id"])
    rows = [
        {**group, "key": key, "n_referrers": len(group["referrers"]), "referrers": sorted(group["referrers"])}
        for key, group in groups.items()
    ]
    rows.sort(key=lambda row: (-row["n_referrers"], row["key"]))
    return pa.Table.from_pylist(rows, schema=MISSING_PAGES)


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

"""The related-question graph: link every recommendation teaser to the corpus page it points to.

Three rules, tried in order; the first that finds a page wins:

1. url: the HTML linked the teaser; the site id at the end of its URL names the page (or an alias of it).
2. question: the teaser's question is the target's consultation text. The site shows the whole
   consultation (title, question and background in the page's original order, which the parser no
   longer knows), so the teaser key is compared with every order of the target's parts; failing that, a
   long enough question contained in the teaser counts.
3. preview: the teaser preview is the first characters of the target's answer, cut by the site.

All texts are compared by their matching keys (NFKC, no whitespace, no punctuation).
"""

from __future__ import annotations

import dataclasses
import enum
from collections import defaultdict

import pyarrow as pa

from pipeline.core import schemas
from pipeline.core.page import SITE_PAGE_ID
from pipeline.core.quality.normalise import matching_keys

# A shorter question is too generic ("どうすればよいですか") to name a page by being contained in a teaser.
MIN_CONTAINED_QUESTION = 12
# A preview key must be this long to name a page; it is also the length of the index probe.
MIN_PREVIEW_KEY = 12


class LinkMethod(enum.StrEnum):
    URL = "url"
    QUESTION = "question"
    PREVIEW = "preview"


@dataclasses.dataclass(frozen=True)
class LinkedRelated:
    table: pa.Table  # schema RELATED_QUESTIONS, in the input's row order
    coverage: dict[str, int | float]  # see link_coverage


@dataclasses.dataclass(frozen=True)
class _Corpus:
    """Lookups from teaser evidence to corpus page ids."""

    site_ids: dict[str, str]  # page id or alias -> corpus page id
    consultation_keys: dict[str, list[str]]  # key of a consultation in some part order -> page ids
    question_probes: dict[str, list[tuple[str, str]]]  # first chars of a long question key -> (page id, key)
    answer_probes: dict[str, list[str]]  # first chars of an answer key -> page ids
    answer_keys: dict[str, str]  # page id -> answer key


def link_related(related: pa.Table, consultations: pa.Table) -> LinkedRelated:
    """The teasers (related_questions without the link columns) plus target_page_id and link_method."""
    corpus = _index_corpus(consultations)
    question_keys = matching_keys(related["question"]).to_pylist()
    preview_keys = matching_keys(related["preview"]).to_pylist()
    targets, methods = [], []
    for referrer, url, question_key, preview_key in zip(
        related["page_id"].to_pylist(), related["url"].to_pylist(), question_keys, preview_keys
    ):
        target, method = _link_one(corpus, referrer, url, question_key, preview_key)
        targets.append(target)
        methods.append(method)
    schema = schemas.RELATED_QUESTIONS
    table = related.select(schema.names[: schema.get_field_index("target_page_id")])
    table = table.append_column(schema.field("target_page_id"), pa.array(targets, pa.string()))
    table = table.append_column(schema.field("link_method"), pa.array(methods, pa.string()))
    return LinkedRelated(table=table.cast(schema), coverage=link_coverage(table))


def link_coverage(linked: pa.Table) -> dict[str, int | float]:
    """Teasers linked, in all and by method, as counts and shares of all teasers (for run metadata)."""
    methods = linked["link_method"].to_pylist()
    total = len(methods)
    coverage: dict[str, int | float] = {"teasers": total, "linked": total - methods.count(None)}
    coverage["linked_share"] = _share(coverage["linked"], total)
    for method in LinkMethod:
        coverage[f"{method}_share"] = _share(methods.count(method), total)
    return coverage


def _share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def _link_one(
    corpus: _Corpus, referrer: str, url: str | None, question_key: str, preview_key: str
) -> tuple[str | None, str | None]:
    if url and (site_id := SITE_PAGE_ID.search(url)) and site_id[1] in corpus.site_ids:
        return corpus.site_ids[site_id[1]], LinkMethod.URL
    # A page never recommends itself: a text match on the referrer is a coincidence of shared wording.
    by_question = [page for page in _question_candidates(corpus, question_key) if page != referrer]
    if by_question:
        return _best(corpus, by_question, preview_key), LinkMethod.QUESTION
    by_preview = [page for page in _preview_candidates(corpus, preview_key) if page != referrer]
    if by_preview:
        return min(by_preview), LinkMethod.PREVIEW
    return None, None


def _question_candidates(corpus: _Corpus, teaser_key: str) -> list[str]:
    """Pages whose consultation is the teaser question; else pages whose long question it contains."""
    if exact := corpus.consultation_keys.get(teaser_key):
        return exact
    contained = set()
    for start in range(len(teaser_key) - MIN_CONTAINED_QUESTION + 1):
        for page, key in corpus.question_probes.get(teaser_key[start : start + MIN_CONTAINED_QUESTION], ()):
            if teaser_key.startswith(key, start):
                contained.add(page)
    return sorted(contained)


def _preview_candidates(corpus: _Corpus, preview_key: str) -> list[str]:
    # The site cuts raw characters: the last one may be half of what NFKC joins (ﾊ + ﾞ = バ), so drop it.
    prefix = preview_key[:-1]
    if len(prefix) < MIN_PREVIEW_KEY:
        return []
    probe = corpus.answer_probes.get(prefix[:MIN_PREVIEW_KEY], ())
    return [page for page in probe if corpus.answer_keys[page].startswith(prefix)]


def _best(corpus: _Corpus, pages: list[str], preview_key: str) -> str:
    """Of several pages with the teaser's question, the one whose answer the preview starts; else the smallest id."""
    confirmed = set(_preview_candidates(corpus, preview_key))
    return min(pages, key=lambda page: (page not in confirmed, page))


def _index_corpus(consultations: pa.Table) -> _Corpus:
    page_ids = consultations["page_id"].to_pylist()
    titles, questions, backgrounds, answers = (
        matching_keys(consultations[name]).to_pylist() for name in ("title", "question", "background", "answer")
    )
    site_ids: dict[str, str] = {}
    consultation_keys: dict[str, list[str]] = defaultdict(list)
    question_probes: dict[str, list[tuple[str, str]]] = defaultdict(list)
    answer_probes: dict[str, list[str]] = defaultdict(list)
    for page, aliases, title, question, background, answer in zip(
        page_ids, consultations["aliases"].to_pylist(), titles, questions, backgrounds, answers
    ):
        site_ids.update({alias: page for alias in aliases} | {page: page})
        for key in _consultation_orders(title or "", question, background or ""):
            consultation_keys[key].append(page)
        if len(question) >= MIN_CONTAINED_QUESTION:
            question_probes[question[:MIN_CONTAINED_QUESTION]].append((page, question))
        answer_probes[answer[:MIN_PREVIEW_KEY]].append(page)
    answer_keys = dict(zip(page_ids, answers))
    return _Corpus(site_ids, dict(consultation_keys), dict(question_probes), dict(answer_probes), answer_keys)


def _consultation_orders(title: str, question: str, background: str) -> set[str]:
    """Keys of the consultation in every order the site may show its parts (title always first)."""
    bodies = {question, question + background, background + question}
    return bodies | {title + body for body in bodies}

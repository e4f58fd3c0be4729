"""The related-question graph: link every recommendation teaser to the corpus page it points to.

Three rules, tried in order; the first that finds a page wins:

1. url: the HTML linked the teaser; the site id at the end of its URL names the page (or an alias of it).
2. question: the teaser's question is the target's consultation text. The site shows the whole
   consultation (title, question and background in the page's original order, which the parser no
   longer knows), so the teaser key is compared with every order of the target's parts; failing that, a
   long enough question contained in the teaser counts when the preview starts that page's answer (a
   common question is contained in the teasers of many other pages).
3. preview: the teaser preview is the first characters of the target's answer, cut by the site (compared
   on at most the first ANSWER_HEAD characters of its key: the site cuts teasers at 39).

All texts are compared by their matching keys (NFKC, no whitespace, no punctuation), computed once per page
(`target_keys`) and per teaser (`teaser_keys`): `link` reads only these keys, so keys kept from an earlier
build link again without any text being read.

A page is recommended by many pages with the same teaser, so each rule runs once per distinct url, question
and preview and gives its candidate pages sorted by id; every teaser then takes, with pyarrow, the first
candidate that is not its referrer. The corpus is indexed only for the keys the teasers ask about.

A teaser's link depends only on its own keys and on the pages some rule matches them with, so after pages
are added, removed or changed, `relink` links again only the teasers one of those pages could match
(`affected`, by the same rules, loosely) and keeps the others' links.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.core import schemas
from pipeline.core.page import SITE_PAGE_ID
from pipeline.core.quality.normalise import each_distinct, matching_keys

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
    """Lookups from teaser evidence to corpus page ids (sorted, distinct), for the teasers' keys only."""

    site_ids: dict[str, str]  # page id or alias -> corpus page id
    consultation_keys: dict[str, tuple[str, ...]]  # key of a consultation in some part order -> page ids
    question_probes: dict[str, list[tuple[str, tuple[str, ...]]]]  # first chars of a long question key -> (key, pages)
    answers: _Heads  # the heads of the answers some preview may start


@dataclasses.dataclass(frozen=True)
class _Heads:
    """Answer heads (keys) in order, with their pages: the heads a prefix starts are one run of them, found by
    bisection however many answers open alike (a common opening is the first characters of thousands)."""

    heads: list[str]
    pages: list[str]

    def starting_with(self, prefix: str) -> list[str]:
        """The pages whose answer head starts with `prefix`, sorted."""
        start = bisect.bisect_left(self.heads, prefix)
        end = bisect.bisect_left(self.heads, prefix + _LAST_CHARACTER, start)
        return sorted(self.pages[start:end])


_LAST_CHARACTER = chr(0x10FFFF)  # after every character a text holds: prefix + it bounds the texts prefix starts


@dataclasses.dataclass(frozen=True)
class _Distinct:
    """A column as its distinct values and, per row, the index of the row's value."""

    values: list
    index: pa.ChunkedArray


# What linking reads of a corpus page and of a teaser: keys computed once, from the texts, which can be kept
# with what they come from (tables.related_parts) and linked again later without reading any text.
TARGET_KEYS = pa.schema([
    ("page_id", pa.string()), ("aliases", pa.list_(pa.string())), ("title_key", pa.string()),
    ("question_key", pa.string()), ("background_key", pa.string()), ("answer_head", pa.string()),
])  # fmt: skip
# A teaser's keys are dictionary-encoded: a page is recommended by many pages with the same teaser, so its keys
# are stored, read and linked once per distinct value (the dictionary).
_KEY = pa.dictionary(pa.int32(), pa.string())
TEASER_KEYS = pa.schema([("page_id", pa.string()), ("site_id", _KEY), ("question_key", _KEY), ("preview_key", _KEY)])
# Answer key characters a target keeps: a preview is compared on as many at most (the site cuts teasers at 39).
ANSWER_HEAD = 64


def link_related(related: pa.Table, consultations: pa.Table) -> LinkedRelated:
    """The teasers (related_questions without the link columns) plus target_page_id and link_method."""
    links = link(teaser_keys(related), target_keys(consultations))
    schema = schemas.RELATED_QUESTIONS
    table = related.select(schema.names[: schema.get_field_index("target_page_id")])
    for name in ("target_page_id", "link_method"):
        table = table.append_column(schema.field(name), links[name])
    return LinkedRelated(table=table.cast(schema), coverage=link_coverage(table))


def target_keys(consultations: pa.Table) -> pa.Table:
    """The keys of each page (page_id, aliases, title, question, background, answer) that teasers are linked to."""
    title, question, background = (pc.fill_null(matching_keys(consultations[name]), "") for name in ("title", "question", "background"))
    columns = [consultations["page_id"], consultations["aliases"], title, question, background, _answer_heads(consultations["answer"], ANSWER_HEAD)]
    return pa.Table.from_arrays(columns, schema=TARGET_KEYS)


def teaser_keys(related: pa.Table) -> pa.Table:
    """Per teaser: its referrer (page_id), the site id of its url, the keys of its question and preview."""
    columns = [related["page_id"], each_distinct(related["url"], _site_ids), each_distinct(related["question"], matching_keys), each_distinct(related["preview"], matching_keys)]
    return pa.Table.from_arrays(columns, schema=TEASER_KEYS)


def link(teasers: pa.Table, targets: pa.Table) -> pa.Table:
    """target_page_id and link_method of each teaser (TEASER_KEYS) among the pages (TARGET_KEYS)."""
    referrers = teasers["page_id"]
    urls, questions, previews = (_distinct(teasers[name]) for name in ("site_id", "question_key", "preview_key"))
    prefixes = _preview_prefixes(pa.array(previews.values, pa.string())).to_pylist()
    corpus = _index_corpus(targets, urls.values, questions.values, prefixes)
    # Only a text match can be a coincidence: a url naming the referrer still links to it.
    by_url = _per_row([corpus.site_ids.get(site_id) for site_id in urls.values], urls)
    whole = [corpus.consultation_keys.get(key, ()) for key in questions.values]
    # Pages whose consultation is the teaser's question; else pages whose long question it contains.
    candidates = [exact or _contained_candidates(corpus, key) for key, exact in zip(questions.values, whole)]
    previewed = [corpus.answers.starting_with(prefix) if prefix else [] for prefix in prefixes]
    # Of several pages with the teaser's question, the one whose answer the preview starts; else, when the
    # question is a page's whole consultation, the smallest id (a contained question needs the preview).
    both = _pairs(questions, previews, where=pc.and_(_found(candidates, questions), _found(previewed, previews)))
    confirmed = [_confirmed(candidates[question], previewed[preview]) for question, preview in both.values]
    by_question = pc.coalesce(
        _first_but_referrer(confirmed, both, referrers), _first_but_referrer(whole, questions, referrers)
    )
    by_preview = _first_but_referrer(previewed, previews, referrers)
    found = pc.make_struct(pc.is_valid(by_url), pc.is_valid(by_question), pc.is_valid(by_preview))
    methods = pc.case_when(found, *(pa.scalar(method.value) for method in LinkMethod))  # the first rule that found one
    return pa.table({"target_page_id": pc.coalesce(by_url, by_question, by_preview), "link_method": methods})


def affected(teasers: pa.Table, changed: pa.Table) -> np.ndarray:
    """Which teasers (TEASER_KEYS) could link otherwise once the pages `changed` (TARGET_KEYS: pages added,
    removed or changed, as they were and as they are) are: those for which a rule finds one of them. (A teaser
    found here may keep its link: the pages it finds elsewhere may still come first.) A question contained in
    the teaser needs the preview to name a page, so the preview rule finds every teaser it could concern: the
    containment scan, the costliest of the rules, is not needed here.

    Each rule as a membership test on the keys' dictionaries (the changed pages are few, the teasers the corpus's):
    a site id among theirs, a question among their consultations, a preview's prefix among their answers' heads."""
    site_ids = pa.concat_arrays([changed["page_id"].combine_chunks(), pc.list_flatten(changed["aliases"]).combine_chunks()])
    orders = _consultation_orders(changed["title_key"], changed["question_key"], changed["background_key"])
    consultations = pa.concat_arrays([order.combine_chunks() for order in orders])
    found = [
        _rows_in(teasers["site_id"], site_ids),
        _rows_in(teasers["question_key"], consultations),
        _rows_in(teasers["preview_key"], _head_prefixes(changed["answer_head"]), derive=_preview_prefixes),
    ]
    return np.logical_or.reduce(found)


def _rows_in(column: pa.ChunkedArray, values: pa.Array, derive: Callable[[pa.Array], pa.Array] | None = None) -> np.ndarray:
    """Per row of a dictionary column, whether its value (`derive`d, if given) is one of `values`; each chunk's
    dictionary looked up once."""
    rows = [
        pc.take(pc.is_in(derive(chunk.dictionary) if derive else chunk.dictionary, value_set=values, skip_nulls=True), chunk.indices)
        for chunk in column.chunks
    ]
    return np.concatenate([np.zeros(0, dtype=bool), *(pc.fill_null(row, False).to_numpy(zero_copy_only=False) for row in rows)])


def relink(teasers: pa.Table, targets: pa.Table, before: pa.Table, known: np.ndarray, changed: pa.Table) -> tuple[pa.Table, int]:
    """What `link(teasers, targets)` gives, and how many teasers it linked again: only those it may differ for,
    whose links `before` are not `known` (new teasers) or which the pages `changed` since `before` was linked
    (against the corpus of that time) may concern (`affected`)."""
    again = ~known | affected(teasers, changed)
    if not again.any():  # nothing to link: the corpus is not even indexed
        return before, 0
    if again.all():
        return link(teasers, targets), len(again)
    mask = pa.array(again)
    fresh = link(teasers.filter(mask), targets)
    columns = {name: pc.replace_with_mask(before[name].combine_chunks(), mask, fresh[name].combine_chunks()) for name in fresh.column_names}
    return pa.table(columns), int(again.sum())


def link_coverage(linked: pa.Table) -> dict[str, int | float]:
    """Teasers linked, in all and by method, as counts and shares of all teasers (for run metadata)."""
    methods = linked["link_method"]
    counts = {count["values"]: count["counts"] for count in pc.value_counts(methods).to_pylist()}
    total = len(methods)
    coverage: dict[str, int | float] = {"teasers": total, "linked": total - methods.null_count}
    coverage["linked_share"] = _share(coverage["linked"], total)
    for method in LinkMethod:
        coverage[f"{method}_share"] = _share(counts.get(method, 0), total)
    return coverage


def _share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def _distinct(column: pa.ChunkedArray) -> _Distinct:
    """The column's distinct values and each row's index into them (null for a null): the values its rows use,
    not its chunks' whole dictionaries (filtered rows keep the dictionary of all: relinking a few teasers must
    neither unify nor look up every key of the corpus)."""
    used = pa.chunked_array([_used_values(chunk) for chunk in column.chunks], column.type)
    unified = pa.table({"column": used}).unify_dictionaries()["column"]
    values = unified.chunk(0).dictionary if unified.num_chunks else pa.array([], column.type.value_type)
    indices = pa.chunked_array([chunk.indices for chunk in unified.chunks], column.type.index_type)
    return _Distinct(values.to_pylist(), indices)


def _used_values(chunk: pa.DictionaryArray) -> pa.DictionaryArray:
    """The chunk with only the dictionary values its rows use."""
    used = pc.drop_null(pc.unique(chunk.indices))
    if len(used) == len(chunk.dictionary):
        return chunk
    return pa.DictionaryArray.from_arrays(pc.index_in(chunk.indices, value_set=used).cast(chunk.type.index_type), chunk.dictionary.take(used))


def _pairs(first: _Distinct, second: _Distinct, where: pa.ChunkedArray) -> _Distinct:
    """The distinct (first, second) pairs of the rows where `where` holds, as pairs of value indices."""
    width = len(second.values)
    codes = pc.add(pc.multiply(first.index.cast(pa.int64()), width), second.index.cast(pa.int64()))
    codes = pc.if_else(where, codes, pa.scalar(None, pa.int64()))
    distinct = pc.drop_null(pc.unique(codes))
    return _Distinct([divmod(code, width) for code in distinct.to_pylist()], pc.index_in(codes, value_set=distinct))


def _per_row(values: list, distinct: _Distinct, value_type: pa.DataType = pa.string()) -> pa.ChunkedArray:
    return pc.take(pa.array(values, value_type), distinct.index)


def _found(pages: list[Sequence[str]], distinct: _Distinct) -> pa.ChunkedArray:
    """Per row, whether its value has pages."""
    return _per_row([bool(row) for row in pages], distinct, pa.bool_())


def _first_but_referrer(pages: list[Sequence[str]], distinct: _Distinct, referrers: pa.ChunkedArray) -> pa.Array:
    """Per row, the first of its value's pages that is not the row's referrer (null when none).

    A page never recommends itself: a text match on the referrer is a coincidence of shared wording.
    """
    first = _per_row([row[0] if row else None for row in pages], distinct)
    second = _per_row([row[1] if len(row) > 1 else None for row in pages], distinct)
    return pc.if_else(pc.equal(first, referrers), second, first)


def _site_ids(urls: pa.Array) -> pa.Array:
    """The site id at the end of each URL (null without one)."""
    matches = [SITE_PAGE_ID.search(url) if url else None for url in urls.to_pylist()]
    return pa.array([match[1] if match else None for match in matches], pa.string())


def _contained_candidates(corpus: _Corpus, teaser_key: str) -> Sequence[str]:
    """Pages whose long question the teaser question contains."""
    contained = []
    for start in range(len(teaser_key) - MIN_CONTAINED_QUESTION + 1):
        for key, pages in corpus.question_probes.get(teaser_key[start : start + MIN_CONTAINED_QUESTION], ()):
            if teaser_key.startswith(key, start):
                contained.append(pages)
    return contained[0] if len(contained) == 1 else sorted(set().union(*contained))


def _preview_prefixes(preview_keys: pa.Array) -> pa.Array:
    """Per preview key, the part of it an answer key must start with; null when too short to name a page."""
    # The site cuts raw characters: the last one may be half of what NFKC joins (ﾊ + ﾞ = バ), so drop it.
    prefixes = pc.utf8_slice_codeunits(pc.utf8_slice_codeunits(preview_keys, 0, -1), 0, ANSWER_HEAD)
    return pc.if_else(pc.greater_equal(pc.utf8_length(prefixes), MIN_PREVIEW_KEY), prefixes, pa.scalar(None, pa.string()))


def _head_prefixes(answer_heads: pa.ChunkedArray) -> pa.Array:
    """Every prefix of the answer heads a preview prefix can be (MIN_PREVIEW_KEY to ANSWER_HEAD characters): a
    preview's prefix is one of them exactly when it starts one of these answers."""
    heads = answer_heads.combine_chunks()
    lengths = pc.utf8_length(heads)
    cuts = [pc.utf8_slice_codeunits(heads.filter(pc.greater_equal(lengths, n)), 0, n) for n in range(MIN_PREVIEW_KEY, ANSWER_HEAD + 1)]
    return pa.concat_arrays([pa.array([], pa.string()), *cuts])


def _confirmed(candidates: Sequence[str], previewed: Sequence[str]) -> list[str]:
    """The candidates whose answer the preview starts."""
    return [page for page in previewed if _holds(candidates, page)]


def _holds(pages: Sequence[str], page: str) -> bool:
    """Whether the sorted pages hold the page (a common question has hundreds of candidates)."""
    index = bisect.bisect_left(pages, page)
    return index < len(pages) and pages[index] == page


def _index_corpus(targets: pa.Table, site_ids: list, question_keys: list, preview_prefixes: list) -> _Corpus:
    page_ids, question = targets["page_id"], targets["question_key"]
    orders = _consultation_orders(targets["title_key"], question, targets["background_key"])
    return _Corpus(
        site_ids=_kept_pages(targets, site_ids),
        consultation_keys=_consultation_keys(page_ids, orders, question_keys),
        question_probes=_question_probes(page_ids, question),
        answers=_answers(targets, preview_prefixes),
    )


def _consultation_keys(page_ids: pa.ChunkedArray, orders: list[pa.ChunkedArray], teaser_keys: list) -> dict:
    """Consultation key (in some part order) -> its pages, for the keys of teaser questions."""
    keys = pa.concat_tables(pa.table({"key": order, "page_id": page_ids}) for order in orders)
    keys = keys.filter(pc.is_in(keys["key"], value_set=pa.array(teaser_keys, pa.string())))
    return _pages_by_key(keys["key"], keys["page_id"])


def _question_probes(page_ids: pa.ChunkedArray, question: pa.ChunkedArray) -> dict:
    long = pc.greater_equal(pc.utf8_length(question), MIN_CONTAINED_QUESTION)
    probes = defaultdict(list)
    for key, pages in _pages_by_key(question.filter(long), page_ids.filter(long)).items():
        probes[key[:MIN_CONTAINED_QUESTION]].append((key, pages))
    return dict(probes)


def _pages_by_key(keys: pa.ChunkedArray, page_ids: pa.ChunkedArray) -> dict[str, tuple[str, ...]]:
    pages = defaultdict(set)
    for key, page in zip(keys.to_pylist(), page_ids.to_pylist()):
        pages[key].add(page)
    return {key: tuple(sorted(group)) for key, group in pages.items()}


def _kept_pages(targets: pa.Table, site_ids: list) -> dict[str, str]:
    """Site id (page id or alias) -> corpus page, for the given ids.

    As in a dict filled row by row (a page's aliases, then its own id), the last claim wins.
    """
    page_ids, aliases = targets["page_id"], targets["aliases"]
    claims = pa.concat_tables([
        pa.table({"site_id": pc.list_flatten(aliases), "order": pc.multiply(pc.list_parent_indices(aliases), 2)}),
        pa.table({"site_id": page_ids, "order": np.arange(1, 2 * targets.num_rows, 2)}),
    ])  # fmt: skip
    claims = claims.filter(pc.is_in(claims["site_id"], value_set=pa.array(site_ids, pa.string()))).sort_by("order")
    rows = pc.divide(claims["order"], 2)  # integer division
    return dict(zip(claims["site_id"].to_pylist(), pc.take(page_ids, rows).to_pylist()))


def _answers(targets: pa.Table, preview_prefixes: list[str | None]) -> _Heads:
    """The answer heads that start like some preview (on its first MIN_PREVIEW_KEY characters), in order."""
    probes = {prefix[:MIN_PREVIEW_KEY] for prefix in preview_prefixes if prefix is not None}
    answers = targets["answer_head"]
    asked = pc.is_in(pc.utf8_slice_codeunits(answers, 0, MIN_PREVIEW_KEY), value_set=pa.array(sorted(probes), pa.string()))
    heads = pa.table({"head": answers.filter(asked), "page_id": targets["page_id"].filter(asked)}).sort_by("head")
    return _Heads(heads["head"].to_pylist(), heads["page_id"].to_pylist())  # Arrow sorts by code point, as Python does


def _answer_heads(answers: pa.ChunkedArray, length: int) -> pa.ChunkedArray:
    """The answers' keys, cut once at least `length` characters are known (whole answers are slow to key)."""
    cut = 2 * length
    while True:
        keys = matching_keys(pc.utf8_slice_codeunits(answers, 0, cut))
        was_cut = pc.not_equal(pc.utf8_slice_codeunits(answers, cut, cut + 1), "")
        # NFKC joins a character with the marks after it (ﾊ + ﾞ = バ): the characters after the cut may change
        # the key's last character and marks, so a cut key goes without them.
        heads = pc.if_else(was_cut, pc.replace_substring_regex(keys, pattern=r"\P{M}?\p{M}*$", replacement=""), keys)
        if not pc.any(pc.and_(was_cut, pc.less(pc.utf8_length(heads), length))).as_py():
            return heads
        cut *= 4  # mostly whitespace and punctuation so far


def _consultation_orders(title: pa.Array, question: pa.Array, background: pa.Array) -> list[pa.Array]:
    """Keys of the consultation in every order the site may show its parts (title always first)."""
    bodies = [question, _join(question, background), _join(background, question)]
    return bodies + [_join(title, body) for body in bodies]


def _join(first: pa.Array, second: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(first, second, "")

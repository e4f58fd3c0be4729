"""The Parquet schemas of every dataset, defined once: used by the writer, the checks and the docs."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

HEADING = pa.struct([("level", pa.int8()), ("number", pa.string()), ("text", pa.string())])
SECTION = pa.struct([("heading", pa.string()), ("body", pa.string())])
RELATED = pa.struct(
    [("question", pa.string()), ("preview", pa.string()), ("truncated", pa.bool_()), ("url", pa.string())]
)
TIMESTAMP = pa.timestamp("ms", tz="UTC")  # Parquet has no second unit: ms round-trips exactly


def _schema(*fields: tuple[str, pa.DataType, bool], doc: str) -> pa.Schema:
    return pa.schema(
        [pa.field(name, dtype, nullable=nullable) for name, dtype, nullable in fields],
        metadata={"doc": doc},
    )


RAW_PAGES = _schema(
    ("batch", pa.string(), False),
    ("source", pa.string(), False),
    ("size_bytes", pa.int64(), False),
    doc="One row per file found under raw/<batch>/ (a manifest; the bytes stay in raw/).",
)

PARSED_PAGES = _schema(
    ("batch", pa.string(), False),
    ("source", pa.string(), False),
    ("status", pa.string(), False),
    ("page_id", pa.string(), True),
    ("url", pa.string(), True),
    ("posted_at", TIMESTAMP, True),
    ("category", pa.string(), True),
    ("title", pa.string(), True),
    ("question", pa.string(), True),
    ("background", pa.string(), True),
    ("answer", pa.string(), True),
    ("headings", pa.list_(HEADING), False),
    ("sections", pa.list_(SECTION), False),
    ("related", pa.list_(RELATED), False),
    ("warnings", pa.list_(pa.string()), False),
    ("sha256", pa.string(), True),
    ("content_hash", pa.string(), True),  # of the parsed text (page.content_hash); null for rejects
    ("encoding", pa.string(), True),
    ("format", pa.string(), True),
    ("parser_version", pa.string(), False),
    ("reject_reason", pa.string(), True),
    ("reject_detail", pa.string(), True),
    doc="Every raw input after parsing, accepted or rejected by the parser.",
)

CONSULTATIONS = _schema(
    ("page_id", pa.string(), False),
    ("url", pa.string(), True),
    ("posted_at", TIMESTAMP, True),
    ("category", pa.string(), False),
    ("title", pa.string(), True),
    ("question", pa.string(), False),
    ("background", pa.string(), True),
    ("answer", pa.string(), False),
    ("headings", pa.list_(HEADING), False),
    ("sections", pa.list_(SECTION), False),
    ("related", pa.list_(RELATED), False),
    ("warnings", pa.list_(pa.string()), False),
    ("content_hash", pa.string(), False),
    ("batch", pa.string(), False),
    ("first_seen", pa.string(), False),
    ("last_seen", pa.string(), False),
    ("n_versions", pa.int32(), False),
    ("aliases", pa.list_(pa.string()), False),
    ("source", pa.string(), False),
    ("sha256", pa.string(), False),
    ("encoding", pa.string(), False),
    ("format", pa.string(), False),
    ("parser_version", pa.string(), False),
    # Signals, not destruction (quality.signals): matching keys and measures for consumers' thresholds.
    ("question_key", pa.string(), False),  # NFKC, no whitespace, no punctuation
    ("answer_key", pa.string(), False),
    ("question_chars", pa.int32(), False),
    ("answer_chars", pa.int32(), False),
    ("n_headings", pa.int32(), False),
    ("n_sections", pa.int32(), False),
    ("n_related", pa.int32(), False),
    ("kana_share", pa.float64(), False),  # of the answer's non-whitespace characters
    ("kanji_share", pa.float64(), False),
    ("ascii_share", pa.float64(), False),
    ("n_warnings", pa.int32(), False),
    # PII found and redacted in title, question, background and answer (quality.pii).
    ("pii_email", pa.int32(), False),
    ("pii_phone", pa.int32(), False),
    ("pii_postal", pa.int32(), False),
    ("pii_url", pa.int32(), False),
    doc="One row per page (page_id), its current version across every scrape batch so far, PII redacted.",
)

SECTIONS = _schema(
    ("page_id", pa.string(), False),
    ("section_index", pa.int32(), False),
    ("heading", pa.string(), True),
    ("body", pa.string(), False),
    doc="One row per answer section; section_index 0 with a null heading is the intro.",
)

RELATED_QUESTIONS = _schema(
    ("page_id", pa.string(), False),
    ("position", pa.int32(), False),
    ("question", pa.string(), False),
    ("preview", pa.string(), False),
    ("truncated", pa.bool_(), False),
    ("url", pa.string(), True),
    ("target_page_id", pa.string(), True),  # the corpus page the teaser points to; null when not in the corpus
    ("link_method", pa.string(), True),  # url | question | preview; null when unlinked
    doc="One row per recommendation teaser, with the page it was shown on and the corpus page it points to.",
)

MISSING_PAGES = _schema(
    ("key", pa.string(), False),  # the url when known, else the question's matching key
    ("url", pa.string(), True),
    ("question", pa.string(), False),
    ("preview", pa.string(), False),
    ("n_referrers", pa.int32(), False),
    ("referrers", pa.list_(pa.string()), False),
    doc="The crawl frontier: pages recommended by corpus pages but not in the corpus, one row per page.",
)

NEAR_DUPLICATES = _schema(
    ("page_id", pa.string(), False),
    ("content_hash", pa.string(), False),
    ("dup_cluster", pa.string(), False),  # smallest page_id of the connected group; the page itself when alone
    ("dup_cluster_size", pa.int32(), False),
    ("dup_similarity", pa.float64(), True),  # max estimated Jaccard with a member; null when alone
    doc="One row per consultation: its near-duplicate cluster (MinHash LSH over character n-grams).",
)

PII_ORIGINALS = _schema(
    ("page_id", pa.string(), False),
    ("title", pa.string(), True),
    ("question", pa.string(), False),
    ("background", pa.string(), True),
    ("answer", pa.string(), False),
    doc="PRIVATE: the text as scraped of pages where PII was redacted; empty unless originals are kept.",
)

PAGE_VERSIONS = _schema(
    ("page_id", pa.string(), False),
    ("input_page_id", pa.string(), False),
    ("batch", pa.string(), False),
    ("source", pa.string(), False),
    ("role", pa.string(), False),
    ("content_hash", pa.string(), False),
    ("sha256", pa.string(), False),
    doc="Every input that parsed, with what became of it: the current version of its page, an unchanged "
    "re-scrape, a superseded version, or an alias (the same content under another page id).",
)

REJECTS = _schema(
    ("batch", pa.string(), False),
    ("source", pa.string(), False),
    ("stage", pa.string(), False),
    ("reject_reason", pa.string(), False),
    ("reject_detail", pa.string(), False),
    ("page_id", pa.string(), True),
    ("sha256", pa.string(), True),
    doc="Every raw input that was not accepted (parse failures, rows failing an expectation), with stage and reason.",
)

DATASETS: dict[str, pa.Schema] = {
    "raw_pages": RAW_PAGES,
    "parsed_pages": PARSED_PAGES,
    "consultations": CONSULTATIONS,
    "sections": SECTIONS,
    "related_questions": RELATED_QUESTIONS,
    "page_versions": PAGE_VERSIONS,
    "rejects": REJECTS,
    "missing_pages": MISSING_PAGES,
    "near_duplicates": NEAR_DUPLICATES,
    "pii_originals": PII_ORIGINALS,
}
PRIVATE_DATASETS = frozenset({"pii_originals"})  # never part of a publication (dataset card, loaders)
PII_KINDS = ("email", "phone", "postal", "url")
PII_TEXT_COLUMNS = ("title", "question", "background", "answer")
SIGNAL_COLUMNS = CONSULTATIONS.names[CONSULTATIONS.get_field_index("question_key") : CONSULTATIONS.get_field_index("pii_email")]
# Consultations as screening makes them, before PII redaction and signals add their columns.
SCREENED_CONSULTATIONS = pa.schema(list(CONSULTATIONS)[: CONSULTATIONS.get_field_index("question_key")])


def projected(schema: pa.Schema, columns: Sequence[str] | None) -> pa.Schema:
    """The schema restricted to `columns`, in the order asked for (all of it for None)."""
    if columns is None:
        return schema
    return pa.schema([schema.field(name) for name in columns], metadata=schema.metadata)

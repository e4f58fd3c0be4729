"""The Parquet schemas of every dataset, defined once: used by the writer, the checks and the docs."""

from __future__ import annotations

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
    doc="One row per page (page_id), its current version, across every scrape batch so far.",
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
    doc="One row per recommendation teaser, with the page it was shown on.",
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
    doc="Every raw input that did not become a consultation, with the stage and reason.",
)

DATASETS: dict[str, pa.Schema] = {
    "raw_pages": RAW_PAGES,
    "parsed_pages": PARSED_PAGES,
    "consultations": CONSULTATIONS,
    "sections": SECTIONS,
    "related_questions": RELATED_QUESTIONS,
    "page_versions": PAGE_VERSIONS,
    "rejects": REJECTS,
}

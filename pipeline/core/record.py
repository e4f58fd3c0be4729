"""The parsed-page record: what one raw input becomes, whether it made it or not."""

from __future__ import annotations

import dataclasses
import enum
import functools
from typing import Any

PARSER_VERSION = "1.4.4"


class RejectReason(enum.StrEnum):
    """Why an input was quarantined. Small and stable: downstream reports group by it."""

    UNREADABLE = "unreadable"  # the path could not be read (missing, permission) or is no file (a folder, a broken link)
    EMPTY_FILE = "empty_file"  # zero bytes, or only whitespace (Unicode's: ideographic spaces too)
    TOO_LARGE = "too_large"  # larger than the configured byte limit
    BINARY_CONTENT = "binary_content"  # NUL or control bytes: not a text or HTML page
    UNDECODABLE = "undecodable"  # no supported encoding decodes it (e.g. UTF-16 text)
    TOO_DEEP = "too_deep"  # HTML nested deeper than the HTML parser's limit: it would cut the page
    NO_CONTENT = "no_content"  # HTML whose main content is empty once chrome is dropped
    NO_CATEGORY = "no_category"  # first line is not a category label
    NO_CONSULTATION = "no_consultation"  # nothing between the category and the answer
    NO_ANSWER = "no_answer"  # a consultation but no answer text
    PARSER_ERROR = "parser_error"  # a bug in the parser: kept, never raised


class PageWarning(enum.StrEnum):
    """Soft findings on a page that was parsed: kept as a list column for consumers to filter."""

    NO_RELATED_BLOCK = "no_related_block"
    NO_QUESTION_SENTENCE = "no_question_sentence"
    NO_HEADINGS = "no_headings"
    UNPAIRED_RELATED_LINE = "unpaired_related_line"
    CUT_CHARACTER_DROPPED = "cut_character_dropped"  # the site cut a teaser inside a character: its start dropped
    CONTROL_CHARACTERS_REMOVED = "control_characters_removed"  # a few stray control characters (ESC, BEL, ...) removed


class RejectError(Exception):
    """A data error found while parsing: becomes a rejected PageResult, never escapes parse_page."""

    def __init__(self, reason: RejectReason, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclasses.dataclass(frozen=True, slots=True)
class Heading:
    level: int  # 1 = title lines, ■, 【】, 第N; 2 = "1." and ●; 3 = "(1)" and ①
    number: str | None  # the number as ASCII digits, None for unnumbered and marker headings
    text: str  # the heading without its number or marker


@dataclasses.dataclass(frozen=True, slots=True)
class Section:
    heading: str | None  # the heading line as written; None for the intro before the first heading
    body: str  # paragraphs separated by one blank line


@dataclasses.dataclass(frozen=True, slots=True)
class Related:
    question: str
    preview: str  # the teaser without its trailing ellipsis
    truncated: bool  # the site cut the teaser ("..." or "…")
    url: str | None = None  # the related page, when the HTML links it


@dataclasses.dataclass(frozen=True, slots=True)
class PageResult:
    """One input, parsed or rejected. Field order is the CLI's JSON key order."""

    source: str
    status: str  # "ok" | "rejected"
    page_id: str | None = None
    url: str | None = None
    category: str | None = None
    title: str | None = None
    question: str | None = None
    background: str | None = None
    answer: str | None = None
    headings: tuple[Heading, ...] = ()
    sections: tuple[Section, ...] = ()
    related: tuple[Related, ...] = ()
    warnings: tuple[str, ...] = ()
    sha256: str | None = None
    encoding: str | None = None
    format: str | None = None  # "text" | "html"
    parser_version: str = PARSER_VERSION
    reject_reason: str | None = None
    reject_detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        # What dataclasses.asdict gives, with lists for the sequences, without its deep copies (every value
        # here is immutable): asdict cost more than parsing the page (docs/benchmarks.md).
        return {name: getattr(self, name) for name in _field_names(PageResult)} | {
            "headings": [_shallow_dict(h) for h in self.headings],
            "sections": [_shallow_dict(s) for s in self.sections],
            "related": [_shallow_dict(r) for r in self.related],
            "warnings": list(self.warnings),
        }


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(cls))


def _shallow_dict(item: Heading | Section | Related) -> dict[str, Any]:
    return {name: getattr(item, name) for name in _field_names(type(item))}


def rejected(source: str, reason: RejectReason, detail: str, **provenance: Any) -> PageResult:
    return PageResult(
        source=source, status="rejected", reject_reason=str(reason), reject_detail=detail, **provenance
    )

"""The answer: headings told apart from list items, and the sections they open."""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Sequence

from pipeline.core.record import Heading, Section

_DIGITS = "0-9０-９"
_DIGIT_CHARS = "0123456789０１２３４５６７８９"
_KANJI_DIGITS = "一二三四五六七八九十"
_KANJI_NUMBERS = dict(zip(_KANJI_DIGITS, range(1, 11)))
# 第N章 (節, 部, 編) is a 第N heading too; 第N + a counter is a word: 第三者 (a third party), 第一審, 第1回, 第2条.
_DAI_UNITS = "章節部編"
_DAI_COUNTERS = "条項号者審回子位種類級期次世代弾週"


@dataclasses.dataclass(frozen=True, slots=True)
class _Marker:
    style: str  # lines of one style in a row form a list, not headings
    level: int
    first_chars: str  # what a line it matches starts with (markers sharing one never match the same line)
    pattern: re.Pattern[str]


_CIRCLED_CHARS = "".join(map(chr, range(ord("①"), ord("⑳") + 1)))
_MARKERS = (
    _Marker("dot", 2, _DIGIT_CHARS,
            re.compile(rf"^(?P<number>[{_DIGITS}]{{1,2}})[.．](?![{_DIGITS}])\s*(?P<text>.*)$")),
    _Marker("paren", 3, "(（", re.compile(rf"^[(（](?P<number>[{_DIGITS}]{{1,2}})[)）]\s*(?P<text>.*)$")),
    _Marker("half_paren", 3, _DIGIT_CHARS, re.compile(rf"^(?P<number>[{_DIGITS}]{{1,2}})[)）]\s*(?P<text>.*)$")),
    _Marker("circled", 3, _CIRCLED_CHARS, re.compile(r"^(?P<number>[①-⑳])\s*(?P<text>.*)$")),
    _Marker("dai", 1, "第",
            re.compile(rf"^第(?P<number>[{_DIGITS}]{{1,3}}+|[{_KANJI_DIGITS}]{{1,3}}+)[{_DAI_UNITS}]?"
                       rf"(?![{_DAI_COUNTERS}{_KANJI_DIGITS}{_DIGITS}])[\s.．:：、]*(?P<text>.*)$")),
    _Marker("square", 1, "■◆□◇", re.compile(r"^[■◆□◇](?P<number>)\s*(?P<text>.+)$")),
    _Marker("circle", 2, "●", re.compile(r"^[●](?P<number>)\s*(?P<text>.+)$")),
    _Marker("bracket", 1, "【", re.compile(r"^【(?P<number>)(?P<text>[^】]+)】$")),
)  # fmt: skip
# The markers a line can match, by its first character: other lines skip the regexes.
_MARKERS_BY_FIRST_CHAR = {
    char: tuple(marker for marker in _MARKERS if char in marker.first_chars) for char in "".join(m.first_chars for m in _MARKERS)
}
_BULLET_CHARS = frozenset("・-‐－―*•◦▪")  # a line starting with one is a list item
_SENTENCE_PUNCTUATION = re.compile(r"[。．.!！?？、,：:…]$|。")
_MAX_HEADING_CHARS = 40  # a numbered line longer than this is a list item written as a sentence
_MAX_TITLE_CHARS = 30  # an unnumbered heading is a short title line
_NOT_TITLE_STARTS = ("「", "http://", "https://")  # a quotation, a bare link: short lines that are no heading


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    text: str
    headings: tuple[Heading, ...]
    sections: tuple[Section, ...]


def structure_answer(paragraphs: Sequence[str]) -> Answer:
    """Paragraphs (one line each) to the answer text, its headings and its sections."""
    candidates = [_heading_candidate(line) for line in paragraphs]
    is_heading = _confirm_headings(candidates)
    headings: list[Heading] = []
    sections: list[Section] = []
    current_heading: str | None = None
    body: list[str] = []
    for line, candidate, confirmed in zip(paragraphs, candidates, is_heading):
        if not confirmed:
            body.append(line)
            continue
        if current_heading is not None or body:
            sections.append(Section(current_heading, "\n\n".join(body)))
        headings.append(candidate[1])
        current_heading, body = line, []
    if current_heading is not None or body:
        sections.append(Section(current_heading, "\n\n".join(body)))
    return Answer("\n\n".join(paragraphs), tuple(headings), tuple(sections))


def _heading_candidate(line: str) -> tuple[str, Heading] | None:
    """(style, heading) when the line looks like a heading on its own; None for body text and bullets."""
    first = line[:1]
    if first in _BULLET_CHARS:
        return None
    for marker in _MARKERS_BY_FIRST_CHAR.get(first, ()):
        if match := marker.pattern.match(line):
            text = match["text"].strip()
            if len(text) > _MAX_HEADING_CHARS or _SENTENCE_PUNCTUATION.search(text):
                return None
            number = _number(match["number"])
            return marker.style, Heading(marker.level, number, text or line)
    if len(line) <= _MAX_TITLE_CHARS and not _SENTENCE_PUNCTUATION.search(line) and not line.startswith(_NOT_TITLE_STARTS):
        return "title", Heading(1, None, line)
    return None


def _confirm_headings(candidates: Sequence[tuple[str, Heading] | None]) -> list[bool]:
    """A candidate is a heading unless it is the last line or in a run of two or more of one style."""
    confirmed = [candidate is not None for candidate in candidates]
    run_start = 0
    for i in range(1, len(candidates) + 1):
        if i < len(candidates) and _same_style(candidates[i - 1], candidates[i]):
            continue
        if i - run_start >= 2 and candidates[run_start] is not None:
            confirmed[run_start:i] = [False] * (i - run_start)
        run_start = i
    if confirmed:
        confirmed[-1] = False  # a heading opens a section: nothing follows the last line
    return confirmed


def _same_style(a: tuple[str, Heading] | None, b: tuple[str, Heading] | None) -> bool:
    return a is not None and b is not None and a[0] == b[0]


@functools.lru_cache(maxsize=1024)  # a few dozen distinct numbers in practice
def _number(raw: str) -> str | None:
    if not raw:
        return None
    if raw[0] in _KANJI_NUMBERS:
        return _kanji_number(raw)
    ascii_digits = unicodedata.normalize("NFKC", raw)  # full-width digits and ① to ASCII
    return str(int(ascii_digits)) if ascii_digits.isdigit() else raw


def _kanji_number(raw: str) -> str | None:
    """一 to 九十九 as ASCII digits (十二 = 12, 二十 = 20); None for what is no such numeral (一二)."""
    if "十" not in raw:
        return str(_KANJI_NUMBERS[raw]) if len(raw) == 1 else None
    tens, _, ones = raw.partition("十")
    if len(tens) > 1 or len(ones) > 1 or ones == "十":  # tens holds none: partition cut at the first
        return None
    return str((_KANJI_NUMBERS[tens] if tens else 1) * 10 + (_KANJI_NUMBERS[ones] if ones else 0))

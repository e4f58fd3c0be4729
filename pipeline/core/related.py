"""The recommendation block ("おすすめ法律相談"): related questions and their cut-off teasers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from pipeline.core.record import Related

# The header as the page may lay it out: a space inside it (text justification, two spans) is still the header.
BLOCK_HEADER_PATTERN = re.compile(r"おすすめ[ \u3000]*法律相談")
# How the site cuts a teaser: a mark at the end of its line ("...", "…", and the full-width forms "．．．", "・・・",
# "‥"), or one standing on a line of its own.
TEASER_ENDINGS = ("...", "…", "．．．", "・・・", "‥")
# Marks askers type at the end of a question too ("離婚したいのですが・・・"): with no question pending, a line
# ending in one is a question, not the teaser of a lost one.
_TYPED_MARKS = ("．．．", "・・・", "‥")
ELLIPSIS_LINE = re.compile(r"^(?:\.{2,}|…+|‥+|．{2,}|・{3,})$")
_ELLIPSIS_LINE_STARTS = ".…‥．・"  # what a line ELLIPSIS_LINE matches starts with
# How the site's questions end, a consultation's or a related one shown whole (its closing brackets aside).
QUESTION_MARKS = ("?", "？")
_QUESTION_CLOSERS = "」』)）"


def parse_related(block: str, link_targets: Mapping[str, str] | None = None) -> tuple[tuple[Related, ...], int]:
    """Pairs of (question line, teaser line); returns the items and how many lines had no partner.

    `link_targets` (from HTML) gives the URL of a related question whose text is a link.
    """
    links = link_targets or {}
    items: list[Related] = []
    unpaired = 0
    pending_question: str | None = None
    lines = content_lines(block)
    for index, line in enumerate(lines):
        if is_header_line(line):  # the block again (a page that shows it twice): a new run of pairs
            unpaired += pending_question is not None
            pending_question = None
            continue
        if line.endswith(TEASER_ENDINGS) and not (pending_question is None and _question_ending_as_teasers_do(lines, index)):
            if pending_question is None:
                unpaired += 1  # a teaser whose question was lost
                continue
            preview = _strip_teaser_ellipsis(line).rstrip()
            items.append(Related(pending_question, preview, True, links.get(pending_question)))
            pending_question = None
        elif pending_question is None:
            pending_question = line
        elif _question_of_the_next_teaser(lines, index):  # the pending question's teaser was lost
            unpaired += 1
            pending_question = line
        else:  # a teaser short enough to be shown whole
            items.append(Related(pending_question, line, False, links.get(pending_question)))
            pending_question = None
    if pending_question is not None:
        unpaired += 1
    return tuple(items), unpaired


def _question_ending_as_teasers_do(lines: list[str], index: int) -> bool:
    """Whether lines[index], which ends as a teaser does and comes when no question is pending, is a question: one
    ending in a mark askers type, or one the site cut too, a teaser following it (else the question and its teaser
    were both lost, one line apart)."""
    following = index + 1
    return lines[index].endswith(_TYPED_MARKS) or (following < len(lines) and lines[following].endswith(TEASER_ENDINGS))


def _question_of_the_next_teaser(lines: list[str], index: int) -> bool:
    """Whether lines[index], which comes when a question is pending and is not cut, is the next question rather than
    the pending one's teaser: it asks (ends in a question mark, as a teaser, the start of an answer, does not) and
    the next line is a teaser. Else the pending question would take it as its teaser and the next teaser, its own,
    would be dropped as unpaired. A next line followed by a teaser of its own is a question the site cut, not a
    teaser: lines[index] is then the pending question's whole teaser (one that happens to end in a question mark)."""
    following = index + 1
    return (
        following < len(lines)
        and lines[index].rstrip(_QUESTION_CLOSERS).endswith(QUESTION_MARKS)
        and lines[following].endswith(TEASER_ENDINGS)
        and not is_header_line(lines[following])
        and not (following + 1 < len(lines) and lines[following + 1].endswith(TEASER_ENDINGS))
    )


def is_decoration(text: str) -> bool:
    """Whether the text holds no letter and no digit: spaces, brackets, marks (▼, ■, ★, ：, --) only. A modifier
    letter is no letter here: the long vowel mark "ー" is drawn as a rule (ーー おすすめ法律相談 ーー)."""
    return not any((category := unicodedata.category(char))[0] in "LN" and category != "Lm" for char in text)


def is_header_line(line: str) -> bool:
    """Whether the line is the block's header, decoration around it included (▼おすすめ法律相談▼, 「おすすめ法律相談」)."""
    header = BLOCK_HEADER_PATTERN.search(line) if "法律相談" in line else None
    return header is not None and is_decoration(line[: header.start()]) and is_decoration(line[header.end() :])


def _strip_teaser_ellipsis(line: str) -> str:
    """The teaser without its cut mark: the last "...", or the run of the mark's character ("…", "．", "・", "‥")."""
    return line[:-3] if line.endswith("...") else line.rstrip(line[-1])


def content_lines(text: str) -> list[str]:
    """Non-empty lines, stripped of surrounding spaces, without the lone "..." lines."""
    # The first-character test spares the regex on most lines.
    return [
        line
        for line in map(str.strip, text.split("\n"))
        if line and not (line[0] in _ELLIPSIS_LINE_STARTS and ELLIPSIS_LINE.match(line))
    ]

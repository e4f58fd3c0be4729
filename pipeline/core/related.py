"""The recommendation block ("おすすめ法律相談"): related questions and their cut-off teasers."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipeline.core.record import Related

BLOCK_HEADER = "おすすめ法律相談"
TEASER_ELLIPSIS = re.compile(r"(?:\.{3}|…+)$")
ELLIPSIS_LINE = re.compile(r"^(?:\.{2,}|…+|・{3,})$")


def parse_related(block: str, link_targets: Mapping[str, str] | None = None) -> tuple[tuple[Related, ...], int]:
    """Pairs of (question line, teaser line); returns the items and how many lines had no partner.

    `link_targets` (from HTML) gives the URL of a related question whose text is a link.
    """
    links = link_targets or {}
    items: list[Related] = []
    unpaired = 0
    pending_question: str | None = None
    for line in _lines(block):
        if TEASER_ELLIPSIS.search(line):
            if pending_question is None:
                unpaired += 1  # a teaser whose question was lost
                continue
            preview = TEASER_ELLIPSIS.sub("", line).rstrip()
            items.append(Related(pending_question, preview, True, links.get(pending_question)))
            pending_question = None
        elif pending_question is None:
            pending_question = line
        else:  # a teaser short enough to be shown whole
            items.append(Related(pending_question, line, False, links.get(pending_question)))
            pending_question = None
    if pending_question is not None:
        unpaired += 1
    return tuple(items), unpaired


def _lines(block: str) -> list[str]:
    stripped = (line.strip() for line in block.split("\n"))
    return [line for line in stripped if line and not ELLIPSIS_LINE.match(line)]

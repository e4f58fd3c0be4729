"""The consultation block: title, question and background."""

from __future__ import annotations

import dataclasses
import re

# "〜について" / "〜さんの場合" topic line before the story, on the same line after a space.
_TITLE_ENDINGS = r"(?:について|に関して|に関する相談|についての相談|の場合|の件)"
TITLE_LINE = re.compile(rf"^[^。？?！!\s]{{2,60}}?{_TITLE_ENDINGS}$")
# A title the site cut with its own mark ("…", "..."), as it cuts teasers; the lone "..." line after the category
# of some pages is one cut to nothing. Not the marks askers type themselves (・・・, ．．．): see related.py.
CUT_TITLE_LINE = re.compile(r"^[^。？?！!]{2,60}(?:\.\.\.|…)$")
_TITLE_PREFIX = re.compile(rf"^(?P<title>[^。？?！!\s]{{2,60}}?{_TITLE_ENDINGS})\s+(?P<rest>\S.*)$", re.DOTALL)
# Where the asker's background starts. "背景として" only counts at a sentence boundary.
BACKGROUND_MARKER = re.compile(r"[(（]背景[)）]|【背景】|背景[:：]|(?:^|(?<=[?？。!！」』)）\s]))背景として[、,]?")
_QUOTED = re.compile(r"^「([^「」]+)」$")
_SENTENCE_END = frozenset("。！？!?")
_CLOSERS = frozenset("」』）)】\"'")
_OPENERS = {"「": "」", "『": "』", "（": "）", "(": ")", "【": "】"}
# The only characters the sentence splitter acts on (the regex skips the rest of a text, in C), and the
# run of ends and closers that a sentence end takes along.
_SENTENCE_SYNTAX = re.compile("[" + re.escape("".join(sorted({*_OPENERS, *_OPENERS.values(), *_SENTENCE_END}))) + "]")
_SENTENCE_TAIL = re.compile("[" + re.escape("".join(sorted(_SENTENCE_END | _CLOSERS))) + "]*")
# A question, or a request that stands for one ("教えてください", "知りたいです", "お願いしたい"), at the end of a
# sentence: then only closing brackets, at most one full stop, closing brackets.
_QUESTION_ENDINGS = (
    "?", "？", "か", "ください", "下さい", "たい", "たいです", "ほしい", "欲しい", "ほしいです", "欲しいです",
    "願います", "お願いします", "でしょうか", "ですか", "ますか",
)  # fmt: skip
_QUESTION_CLOSERS = "」』)）"
_FULL_STOPS = ("。", ".", "．")


@dataclasses.dataclass(frozen=True, slots=True)
class Consultation:
    title: str | None
    question: str
    background: str | None
    has_question_sentence: bool


def split_consultation(block: str, title: str | None = None) -> Consultation:
    """Split the consultation text (already one string) into its parts."""
    block = block.strip()
    if title is None and (prefixed := _TITLE_PREFIX.match(block)):
        title, block = prefixed["title"], prefixed["rest"]
    marker = find_background_marker(block)
    if marker and (before := block[: marker.start()].strip()):
        after = block[marker.end() :].strip()
        return Consultation(title, _unquote(before), after or None, is_question(before))
    if marker:  # the marker opens the block: what follows is narrative ending in the question
        block = block[marker.end() :].strip()
    return _split_narrative(block, title)


def find_background_marker(text: str) -> re.Match[str] | None:
    """BACKGROUND_MARKER.search(text), started one character before the first "背景" (every marker holds it,
    one character in at most): re tries the whole pattern at every position it passes, slow on a long text."""
    first = text.find("背景")
    return None if first < 0 else BACKGROUND_MARKER.search(text, max(first - 1, 0))


def _split_narrative(block: str, title: str | None) -> Consultation:
    sentences = split_sentences(block)
    flags = [is_question(sentence) for sentence in sentences]
    if not any(flags):
        return Consultation(title, _unquote(block), None, False)
    end = len(flags) - flags[::-1].index(True)  # the last run of question sentences
    start = end
    while start > 0 and flags[start - 1]:
        start -= 1
    question = "".join(sentences[start:end])
    background = "".join(sentences[:start] + sentences[end:]) or None
    return Consultation(title, _unquote(question), background, True)


def split_sentences(text: str) -> list[str]:
    """Sentences ending in 。！？!? (with their closing brackets); brackets are never split."""
    sentences: list[str] = []
    expected_closers: list[str] = []
    start = i = 0
    while found := _SENTENCE_SYNTAX.search(text, i):  # from one bracket or sentence end to the next
        char, i = found[0], found.end()
        if char in _OPENERS:
            expected_closers.append(_OPENERS[char])
        elif expected_closers and char == expected_closers[-1]:
            expected_closers.pop()
        elif char in _SENTENCE_END and not expected_closers:
            i = _SENTENCE_TAIL.match(text, i).end()
            sentences.append(text[start:i].strip())
            start = i
    if tail := text[start:].strip():
        sentences.append(tail)
    return [sentence for sentence in sentences if sentence]


def is_question(sentence: str) -> bool:
    """Whether the sentence ends in a question (_QUESTION_ENDINGS, then closers, a full stop, closers).

    String tests rather than an end-anchored regex search, which re tries at every position of the sentence.
    """
    end = sentence.rstrip().rstrip(_QUESTION_CLOSERS)
    if end.endswith(_FULL_STOPS):  # no ending ends in a full stop or a closer: this cut is the only one
        end = end[:-1].rstrip(_QUESTION_CLOSERS)
    return end.endswith(_QUESTION_ENDINGS)


def _unquote(question: str) -> str:
    quoted = _QUOTED.match(question.strip())
    return quoted[1].strip() if quoted else question.strip()

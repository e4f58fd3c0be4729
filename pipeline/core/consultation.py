"""The consultation block: title, question and background."""

from __future__ import annotations

import dataclasses
import re

# "〜について" / "〜さんの場合" topic line before the story, on the same line after a space.
_TITLE_ENDINGS = r"(?:について|に関して|に関する相談|についての相談|の場合|の件)"
TITLE_LINE = re.compile(rf"^[^。？?！!\s]{{2,60}}?{_TITLE_ENDINGS}$")
_TITLE_PREFIX = re.compile(rf"^(?P<title>[^。？?！!\s]{{2,60}}?{_TITLE_ENDINGS})\s+(?P<rest>\S.*)$", re.DOTALL)
# Where the asker's background starts. "背景として" only counts at a sentence boundary.
BACKGROUND_MARKER = re.compile(r"[(（]背景[)）]|【背景】|背景[:：]|(?:^|(?<=[?？。!！」』)）\s]))背景として[、,]?")
_QUOTED = re.compile(r"^「([^「」]+)」$")
_SENTENCE_END = frozenset("。！？!?")
_CLOSERS = frozenset("」』）)】\"'")
_OPENERS = {"「": "」", "『": "』", "（": "）", "(": ")", "【": "】"}
# A question, or a request that stands for one ("教えてください", "知りたいです", "お願いしたい").
_QUESTION_SENTENCE = re.compile(
    r"(?:[?？]|か|ください|下さい|たい(?:です)?|(?:ほ|欲)しい(?:です)?|願います|お願いします|でしょうか|ですか|ますか)[」』)）]*[。.．]?[」』)）]*$"
)


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
    marker = BACKGROUND_MARKER.search(block)
    if marker and (before := block[: marker.start()].strip()):
        after = block[marker.end() :].strip()
        return Consultation(title, _unquote(before), after or None, is_question(before))
    if marker:  # the marker opens the block: what follows is narrative ending in the question
        block = block[marker.end() :].strip()
    return _split_narrative(block, title)


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
    start = 0
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in _OPENERS:
            expected_closers.append(_OPENERS[char])
        elif expected_closers and char == expected_closers[-1]:
            expected_closers.pop()
        elif char in _SENTENCE_END and not expected_closers:
            while i + 1 < n and (text[i + 1] in _SENTENCE_END or text[i + 1] in _CLOSERS):
                i += 1
            sentences.append(text[start : i + 1].strip())
            start = i + 1
        i += 1
    if tail := text[start:].strip():
        sentences.append(tail)
    return [sentence for sentence in sentences if sentence]


def is_question(sentence: str) -> bool:
    return _QUESTION_SENTENCE.search(sentence.rstrip()) is not None


def _unquote(question: str) -> str:
    quoted = _QUOTED.match(question.strip())
    return quoted[1].strip() if quoted else question.strip()

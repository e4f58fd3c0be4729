"""One raw page (bytes) to a PageResult: the parser's entry point. Never raises on data."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Callable
from pathlib import Path

from pipeline.core.answer import structure_answer
from pipeline.core.consultation import (
    BACKGROUND_MARKER,
    CUT_TITLE_LINE,
    TITLE_LINE,
    find_background_marker,
    is_question,
    split_consultation,
    split_sentences,
)
from pipeline.core.decode import decode_page, normalise_text
from pipeline.core.html_text import html_to_text
from pipeline.core.quality.pii import redact
from pipeline.core.record import PageResult, PageWarning, RejectError, RejectReason, rejected
from pipeline.core.related import BLOCK_HEADER_PATTERN, QUESTION_MARKS, content_lines, is_decoration, parse_related

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
SITE_PAGE_ID = re.compile(r"(\d{14}-\d+)/?(?:[?#].*)?$")
_CATEGORY = re.compile(r"^[^。？?！!]{1,40}$")
# A category is a label (労働問題, 離婚・男女問題), never a sentence: a first line ending as one does is the
# notice of a bot check, maintenance or error page (アクセスが集中しています), not a consultation's category.
_SENTENCE_END = re.compile(r"(?:です|ます|ません|ました|でした|さい)$")  # さい: ください, 下さい
# Decoration around the block header ("【おすすめ法律相談】", "■おすすめ法律相談") left on either side of the cut,
# when the header shares its line with text; on a line of its own, whatever holds no letter or digit goes with it.
_HEADER_DECORATION_BEFORE_CHARS = "【[(（■●◆▼★☆<《「『〈＜［〔≪"  # and whitespace
_HEADER_DECORATION_AFTER = re.compile(r"^[\s】\])）>》」』〉＞］〕≫:：]*")
# What NFKC changes most often in Japanese text (full-width ASCII, the ideographic space, circled numbers),
# each with its NFKD.
_NFKD = {
    char: unicodedata.normalize("NFKD", char)
    for char in map(chr, [*range(0xFF01, 0xFF5F), 0x3000, *range(0x2460, 0x2474)])
}
_COMMON_COMPATIBILITY_CHARS = re.compile(f"[{re.escape(''.join(_NFKD))}]")


def checked_byte_limit(max_bytes: int) -> int:
    """The size limit, or ValueError: 0 or less would reject every input (the caller's mistake, not a page's)."""
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be a positive number of bytes, not {max_bytes!r}")
    return max_bytes


def parse_file(path: Path, *, source: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> PageResult:
    checked_byte_limit(max_bytes)
    source = source if source is not None else str(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # never read: a fifo would wait for a writer forever
            return rejected(source, RejectReason.UNREADABLE, _not_a_file(path, info.st_mode))
        if info.st_size > max_bytes:  # refuse before reading a huge file into memory
            return rejected(source, RejectReason.TOO_LARGE, f"{info.st_size} bytes > limit of {max_bytes}")
        data = path.read_bytes()
    except OSError as error:
        problem = f"{type(error).__name__}: {error.strerror or error}"
        target = _link_target(path)
        return rejected(source, RejectReason.UNREADABLE, problem if target is None else f"broken symbolic link to {target} ({problem})")
    return parse_page(data, source, max_bytes=max_bytes)


def _not_a_file(path: Path, mode: int) -> str:
    what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a pipe, socket or device)"
    target = _link_target(path)
    return what if target is None else f"symbolic link to {target}: {what}, not followed"


def _link_target(path: Path) -> str | None:
    """Where the path links to, when it is a symbolic link."""
    try:
        return os.readlink(path) if path.is_symlink() else None
    except OSError:  # gone since
        return None


def parse_page(data: bytes, source: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> PageResult:
    """The record of one page, or a rejection with a reason; data errors never raise."""
    checked_byte_limit(max_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    if len(data) > max_bytes:
        return rejected(source, RejectReason.TOO_LARGE, f"{len(data)} bytes > limit of {max_bytes}", sha256=sha256)
    try:
        return _parse(data, source, sha256)
    except RejectError as error:
        return rejected(source, error.reason, error.detail, sha256=sha256)
    except Exception as error:  # a parser bug must not lose the input or stop a run
        return rejected(source, RejectReason.PARSER_ERROR, f"{type(error).__name__}: {error}", sha256=sha256)


def _parse(data: bytes, source: str, sha256: str) -> PageResult:
    decoded = decode_page(data)
    text, url, link_targets = decoded.text, None, None
    if decoded.format == "html":
        text, url, link_targets = _html_content(text)
        if not text:
            raise RejectError(RejectReason.NO_CONTENT, "no text left once page chrome is dropped")
    main, block = split_recommendations(text)
    lines = content_lines(main)
    category = _category(lines)
    title, consultation, answer_lines = _consultation_and_answer(lines[1:])
    parts = split_consultation(consultation, title)
    answer = structure_answer(answer_lines)
    related, unpaired = parse_related(block, link_targets) if block is not None else ((), 0)
    warnings = [
        *([PageWarning.NO_RELATED_BLOCK] if block is None else []),
        *([] if parts.has_question_sentence else [PageWarning.NO_QUESTION_SENTENCE]),
        *([] if answer.headings else [PageWarning.NO_HEADINGS]),
        *([PageWarning.UNPAIRED_RELATED_LINE] if unpaired else []),
        *([PageWarning.CUT_CHARACTER_DROPPED] if decoded.cut_character_dropped else []),
        *([PageWarning.CONTROL_CHARACTERS_REMOVED] if decoded.control_characters_removed else []),
    ]
    return PageResult(
        source=source,
        status="ok",
        page_id=page_id(url, lambda: content_hash(parts.title, parts.question, parts.background, answer.text)),
        url=url,
        category=category,
        title=parts.title,
        question=parts.question,
        background=parts.background,
        answer=answer.text,
        headings=answer.headings,
        sections=answer.sections,
        related=related,
        warnings=tuple(str(warning) for warning in warnings),
        sha256=sha256,
        encoding=decoded.encoding,
        format=decoded.format,
    )


def _html_content(html: str) -> tuple[str, str | None, dict[str, str]]:
    """(text, url, link targets) of an HTML page, its text normalised as a text dump's is.

    Entities (&nbsp;, &#8203;) are decoded by the HTML parser, after the raw text was normalised: without a
    second pass their NBSP and zero-width characters would reach the fields (and a zero-width character inside
    the block header would hide the block). The link texts get the same pass, so they still match their lines.
    """
    page = html_to_text(html)
    text = normalise_text(page.text)
    if text == page.text:  # the common case: no such entity
        return text, page.url, page.link_targets
    targets: dict[str, str] = {}
    for line, href in page.link_targets.items():  # in document order: the first link still wins
        targets.setdefault(normalise_text(line).strip(), href)
    return "\n".join(filter(None, map(str.strip, text.split("\n")))), page.url, targets


def split_recommendations(text: str) -> tuple[str, str | None]:
    """(page before the block, block) — the block is None when the page has none.

    Cut at the first occurrence wherever it stands, so nothing of the block can reach a field.
    """
    header = BLOCK_HEADER_PATTERN.search(text)
    if header is None:
        return text, None
    before, after = text[: header.start()], text[header.end() :]
    line_start = before.rfind("\n") + 1
    if is_decoration(before[line_start:]):  # "▼", "-- ", "「" before the header on its line
        before = before[:line_start]
    line_end = after.find("\n") % (len(after) + 1)  # the end of the header's line: its newline, else the text's end
    if is_decoration(after[:line_end]):  # "▼", " --", "」", "：" after it
        after = after[line_end:]
    return _strip_header_decoration_before(before), _HEADER_DECORATION_AFTER.sub("", after)


def _strip_header_decoration_before(text: str) -> str:
    """The text without its trailing run of whitespace and decoration characters.

    Same as re.sub(r"[\\s【\\[(（■●◆▼★☆<《]*$", "", text) (str.isspace is exactly regex \\s), without the
    regex's attempt at every position of the page.
    """
    end = len(text)
    while end and (text[end - 1].isspace() or text[end - 1] in _HEADER_DECORATION_BEFORE_CHARS):
        end -= 1
    return text[:end]


def page_id(url: str | None, text_hash: Callable[[], str]) -> str:
    """The site's <14 digits>-<n> id when the URL is known, else "h" + the content hash (computed only then)."""
    if url and (site_id := SITE_PAGE_ID.search(url)):
        return site_id[1]
    return "h" + text_hash()


def content_hash(title: str | None, question: str, background: str | None, answer: str) -> str:
    """16 hex digits identifying the consultation and answer, blind to width and whitespace (NFKC)."""
    text = "\x1f".join(part or "" for part in (title, question, background, answer))
    key = "".join(_nfkc(text).split())  # str.split() splits at exactly the characters regex \s matches
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), faster: unicodedata's full path is slow (≈ 0.1 µs a character) and
    takes a whole text for one full-width "？".

    First each common compatibility character is replaced by its NFKD (str.replace, in C): the same NFKC,
    since NFKC is NFKD then composition. What is left is normalised line by line: the same result again (a
    line break is a stable starter: nothing composes or reorders across it), and only the lines with
    something to normalise take the slow path.
    """
    if unicodedata.is_normalized("NFKC", text):
        return text
    for char in set(_COMMON_COMPATIBILITY_CHARS.findall(text)):
        text = text.replace(char, _NFKD[char])
    if unicodedata.is_normalized("NFKC", text):
        return text
    return "\n".join(unicodedata.normalize("NFKC", line) for line in text.split("\n"))


def _category(lines: list[str]) -> str:
    if not lines:
        raise RejectError(RejectReason.NO_CATEGORY, "no text before the recommendation block")
    if not _CATEGORY.match(lines[0]) or _SENTENCE_END.search(lines[0]):
        # Redacted before it is cut: a phone number cut in two is no longer found (rejects are published).
        raise RejectError(RejectReason.NO_CATEGORY, f"first line is not a category label: {redact(lines[0])[0][:40]!r}")
    return lines[0]


def _consultation_and_answer(lines: list[str]) -> tuple[str | None, str, list[str]]:
    """(title line or None, consultation text, answer paragraphs) from the lines after the category."""
    if not lines:
        raise RejectError(RejectReason.NO_CONSULTATION, "nothing after the category line")
    title, start = None, 0
    if len(lines) > 1 and (TITLE_LINE.match(lines[0]) or CUT_TITLE_LINE.match(lines[0])) and _reads_as_story(lines[1]):
        title, start = lines[0], 1
    consultation, start = lines[start], start + 1
    if start < len(lines) and BACKGROUND_MARKER.match(lines[start]):  # background on a line of its own
        consultation, start = f"{consultation}{lines[start]}", start + 1
    # Only with a line after it: a story, then one paragraph ending in "?", may as well be a one-paragraph answer.
    elif start + 1 < len(lines) and _question_follows_story(consultation, lines[start]):
        consultation, start = f"{consultation}{lines[start]}", start + 1
    if start >= len(lines):
        raise RejectError(RejectReason.NO_ANSWER, "no answer text after the consultation")
    return title, consultation, lines[start:]


def _question_follows_story(story: str, line: str) -> bool:
    """A consultation broken over two lines (a `<br>` in its paragraph): a story that asks nothing, then a line
    ending in a question mark, as the site's consultations end. Only a question mark: a request (〜してください),
    which a consultation's question may be, is also how an answer's advice reads."""
    # the cheap test first: most answers do not open on a question mark
    return line.endswith(QUESTION_MARKS) and find_background_marker(story) is None and not _asks(story)


def _reads_as_story(line: str) -> bool:
    """A title line is followed by the asker's story: it asks something or carries a background marker."""
    return find_background_marker(line) is not None or _asks(line)


def _asks(text: str) -> bool:
    """Whether one of the text's sentences is a question (or a request standing for one)."""
    return any(map(is_question, split_sentences(text)))
